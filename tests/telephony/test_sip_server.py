"""The local server's call control (`/v1/realtime/calls/{id}/accept|reject|refer|hangup`):
what a ringing, accepted or ended call allows, and the REST errors for the rest."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentkit.server import LocalRealtimeServer
from agentkit.telephony.serving import bind, serve
from agentkit.transports.webrtc_signaling import http_post

from .harness import WEBHOOK_SECRET


async def _ignore(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"status": "ringing on"})


async def test_call_control_errors() -> None:
    sock = bind()
    async with LocalRealtimeServer(pace="fast") as server, serve(Starlette(routes=[Route("/hook", _ignore, methods=["POST"])]), sock) as app:
        call = await server.sip.place_call(app + "/hook", WEBHOOK_SECRET)
        assert (call.webhook_status, call.status) == (200, "ringing")
        base = f"{server.base_url}/realtime/calls/{call.call_id}"
        auth = {"Authorization": "Bearer sk-test", "Content-Type": "application/json"}

        async def post(action: str, body: object, headers: dict[str, str] = auth, url: str = base) -> tuple[int, dict[str, object]]:
            status, _, answer = await http_post(f"{url}/{action}", orjson.dumps(body), headers)
            return status, orjson.loads(answer) if answer else {}

        status, error = await post("accept", {"type": "realtime"}, headers={})
        assert status == 401
        status, error = await post("refer", {"target_uri": "tel:+14155550123"})
        assert status == 400 and "only an accepted call" in str(error)
        status, error = await post("accept", {"type": "realtime", "audio": {"input": {"format": {"type": "audio/ogg"}}}})
        assert status == 400 and call.status == "ringing"  # a bad session: still ringing
        status, error = await post("accept", {"type": "transcription"})
        assert status == 400
        status, error = await post("reject", {"status_code": 200})
        assert status == 400 and "400 to 699" in str(error)
        status, _ = await post("accept", {"type": "realtime", "instructions": "Hi."})
        assert status == 200 and call.status == "accepted"
        status, error = await post("accept", {"type": "realtime"})
        assert status == 400 and "not ringing" in str(error)
        status, error = await post("refer", {"target_uri": "https://example.com"})
        assert status == 400 and "sip: or tel:" in str(error)
        status, _ = await post("refer", {"target_uri": "sip:desk@example.com"})
        assert status == 200 and (call.status, call.refer_uri) == ("referred", "sip:desk@example.com")
        status, error = await post("hangup", {})
        assert status == 400 and "referred" in str(error)
        status, error = await post("accept", {"type": "realtime"}, url=f"{server.base_url}/realtime/calls/rtc_nope")
        assert status == 404
