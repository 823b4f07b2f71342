"""The local server plays the phone network: simulated SIP calls, and the REST endpoints that
answer them (`POST /v1/realtime/calls/{call_id}/accept|reject|refer|hangup`).

`place_call(url, secret)` rings: it POSTs a signed `realtime.call.incoming` webhook (the
standard-webhooks scheme, as the service signs it) to the app's URL and returns the
`SipCall`, a handle on the caller's end of the line:

- the app answers over REST: `accept` (its body is a GA session, checked like a
  `session.update`'s), `reject` with a SIP status, `refer` to a `sip:`/`tel:` URI,
  `hangup`; a call that is not ringing (or not live) is refused with the REST error body;
- once accepted, the call is a `ServerSession` in a `SipHub`; the app attaches a sideband
  WebSocket to it with `?call_id=` and gets every event but the audio;
- the caller speaks (`say(text)`: synthetic speech; `play(ulaw)`, `play_wav(path)`), as
  G.711 μ-law at 8 kHz, the line's codec (converted to the session's input format only if
  that is not μ-law, as the service would); presses keys (`press("0")`:
  `input_audio_buffer.dtmf_event_received`, SIP only); hangs up (`hang_up()`);
- what the agent says is played to the caller (`heard`), with the output buffer's events
  (`output_audio_buffer.started` / `.stopped`, `.cleared` on a barge-in or the client's
  `output_audio_buffer.clear`), and never sent on the sideband, as on the service.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson
import pybase64
from websockets.http11 import Request, Response

from .. import audio
from ..protocol.client_schema import InvalidClientEvent, check_session
from ..protocol.dialects import Dialect
from ..telephony.signatures import sign_webhook
from ..transports.webrtc_signaling import http_post
from .errors import ClientError
from .faults import FaultPlan
from .http import http_error, json_response
from .session import CloseConnection, ServerSession
from .session_config import without_type
from .webrtc import CallHub

if TYPE_CHECKING:
    from .app import LocalRealtimeServer

__all__ = ["SipCall", "SipCallStatus", "SipEndpoint", "SipHub"]

_CALL_ACTION: Final = re.compile(r"^(?:/openai)?/v1/realtime/calls/([^/]+)/(accept|reject|refer|hangup)$")
_REFER_URI: Final = re.compile(r"^(?:sips?|tel):\S+$")
_ULAW_CHUNK: Final = 160  # 20 ms of 8 kHz μ-law, what a SIP trunk sends per packet

SipCallStatus = Literal["ringing", "accepted", "rejected", "referred", "ended"]
"""Where a simulated call stands."""


@dataclass
class SipCall:
    """The caller's end of a simulated SIP call (see the module docs)."""

    call_id: str
    endpoint: SipEndpoint
    status: SipCallStatus = "ringing"
    webhook_status: int | None = None
    """The HTTP status the app answered the webhook with."""
    accept_body: dict[str, Any] | None = None
    """The session the app accepted with, as it sent it."""
    reject_status: int | None = None
    refer_uri: str | None = None
    heard: bytearray = field(default_factory=bytearray)
    """Everything the agent said to the caller, in the session's output format (μ-law when
    the app configured the line's codec)."""
    hub: SipHub | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, *statuses: SipCallStatus, timeout: float = 10.0) -> SipCallStatus:
        """Wait until the call is in one of `statuses`; `TimeoutError` after `timeout`."""
        async with asyncio.timeout(timeout):
            while self.status not in statuses:
                self.changed.clear()
                await self.changed.wait()
        return self.status

    def _set(self, status: SipCallStatus) -> None:
        self.status = status
        self.changed.set()

    # -- the caller ---------------------------------------------------------------------------

    def play(self, ulaw: bytes) -> None:
        """The caller's audio: G.711 μ-law at 8 kHz (the line's codec)."""
        hub = self.hub
        if hub is None or hub.ended:
            return
        core = hub.core
        data = ulaw if core.input_format == "g711_ulaw" else audio.convert(ulaw, "g711_ulaw", core.input_format)
        now = asyncio.get_running_loop().time()
        for start in range(0, len(data), _ULAW_CHUNK):
            core.append_audio(data[start : start + _ULAW_CHUNK], now)
        hub.wake()

    def play_wav(self, path: str | Path) -> None:
        """The caller speaks the WAV file at `path` (any rate; mono or its first channel)."""
        # Read at the line's 8 kHz, then only μ-law encoded (no second resampling).
        self.play(audio.ulaw_encode(audio.pcm16_samples(audio.read_wav(path, rate=8000))))

    def say(self, text: str, *, silence_ms: int = 900) -> None:
        """The caller says `text` (synthetic speech), then is silent for `silence_ms` so the
        server's turn detection ends the turn."""
        speech = audio.synthesize_speech(text, words_per_minute=200, engine=self.endpoint.speech_engine)
        ulaw = audio.convert(speech, "pcm16", "g711_ulaw")
        self.play(ulaw + audio.generate_silence(silence_ms, "g711_ulaw"))

    def press(self, keys: str) -> None:
        """The caller presses keypad `keys`: one `input_audio_buffer.dtmf_event_received` each."""
        hub = self.hub
        if hub is None or hub.ended:
            return
        for key in keys:
            hub.pending.append(
                {"type": "input_audio_buffer.dtmf_event_received", "event": key, "received_at": int(time.time())}
            )
        hub.wake()

    async def hang_up(self) -> None:
        """The caller hangs up: the call ends, the sideband closes."""
        await self.endpoint.end(self, "ended")


@dataclass
class SipHub(CallHub):
    """A SIP call's session: a `CallHub` whose media is the simulated phone line."""

    call: SipCall | None = None
    playing: str | None = None  # the response whose audio the caller hears now

    def receive_client(self, message: bytes, now: float, dialect: Dialect) -> None:
        """A sideband message: `output_audio_buffer.clear` is the line's, the rest the core's."""
        if b'"output_audio_buffer.clear"' in message[:120]:
            self._clear()
        else:
            self.core.receive(message, now, dialect)

    def _clear(self) -> None:
        if self.playing is not None:
            self.pending.append(_event("output_audio_buffer.cleared", self.playing))
            self.playing = None
        self.wake()


def _event(kind: str, response_id: str | None) -> dict[str, Any]:
    return {"type": kind, "event_id": "event_sip" + secrets.token_hex(6), "response_id": response_id}


def _bad(status: int, message: str, code: str, param: str | None = None) -> Response:
    return json_response(status, http_error(message, code, param=param))


class SipEndpoint:
    """The SIP side of a `LocalRealtimeServer` (see the module docs)."""

    def __init__(self, server: LocalRealtimeServer) -> None:
        self._server = server
        self.calls: dict[str, SipCall] = {}
        """Every call placed, by id (ended ones too)."""

    @property
    def speech_engine(self) -> Any:
        """The server's speech engine (what `SipCall.say` speaks with)."""
        return self._server.speech_engine

    async def place_call(
        self,
        url: str,
        secret: str,
        *,
        sip_headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        signature_secret: str | None = None,
    ) -> SipCall:
        """Ring the app at `url`: a `realtime.call.incoming` webhook signed with `secret`.

        Args:
            url: The app's webhook URL (`http://127.0.0.1:8000/sip/webhook`).
            secret: The webhook secret the app trusts (`whsec_...`).
            sip_headers: The INVITE's headers (default: a `From` and a `To`).
            timestamp: The signature's time (Unix seconds; default now): an old one tests
                the app's replay window.
            signature_secret: Sign with this secret instead (tests a forged webhook).
        """
        call_id = "rtc_" + secrets.token_hex(12)
        call = SipCall(call_id, self)
        self.calls[call_id] = call
        headers = sip_headers or {"From": "<sip:+14155550100@trunk.example>", "To": "<sip:support@agents.example>"}
        body = orjson.dumps(
            {
                "object": "event",
                "id": "evt_" + secrets.token_hex(12),
                "type": "realtime.call.incoming",
                "created_at": int(time.time()),
                "data": {"call_id": call_id, "sip_headers": [{"name": k, "value": v} for k, v in headers.items()]},
            }
        )
        stamp = int(time.time()) if timestamp is None else timestamp
        signed = sign_webhook(signature_secret or secret, "wh_" + secrets.token_hex(12), stamp, body)
        status, _, _ = await http_post(url, body, {**signed, "Content-Type": "application/json"})
        call.webhook_status = status
        if status >= 300:
            call._set("ended")
        return call

    def route(self, method: str, path: str) -> bool:
        """True for `/calls/{id}/accept|reject|refer` and for a SIP call's `/hangup`."""
        match = _CALL_ACTION.match(path)
        return match is not None and (match.group(2) != "hangup" or match.group(1) in self.calls)

    async def handle(
        self, method: str, path: str, query: dict[str, list[str]], request: Request, body: bytes
    ) -> Response:
        """Answer one call-control request."""
        if method != "POST":
            return _bad(405, "Use POST.", "method_not_allowed")
        keys = self._server.keys
        problem = keys.auth_error(keys.key_of(request, query))
        if problem is not None:
            return _bad(401, problem, "invalid_api_key")
        match = _CALL_ACTION.match(path)
        assert match is not None  # `route` said so
        call_id, action = match.group(1), match.group(2)
        call = self.calls.get(call_id)
        if call is None:
            return _bad(404, f"No call with call_id '{call_id}'.", "call_not_found", "call_id")
        try:
            payload = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            return _bad(400, "We could not parse the JSON body of your request.", "invalid_json")
        if not isinstance(payload, dict):
            return _bad(400, "Expected a JSON object.", "invalid_type")
        if action == "hangup":
            if call.status not in ("ringing", "accepted"):
                return _bad(400, f"The call is {call.status}.", "call_not_active")
            await self.end(call, "ended")
            return json_response(200, {})
        if action == "refer":
            if call.status != "accepted":
                return _bad(400, f"The call is {call.status}: only an accepted call can be referred.", "call_not_active")
            return await self.refer(call, payload)
        if call.status != "ringing":
            return _bad(400, f"The call is {call.status}, not ringing: it cannot be {action}ed.", "call_not_ringing")
        if action == "reject":
            code = payload.get("status_code", 603)
            if type(code) is not int or not 400 <= code <= 699:
                return _bad(400, "status_code must be a SIP status from 400 to 699.", "invalid_value", "status_code")
            call.reject_status = code
            call._set("rejected")
            return json_response(200, {})
        try:
            await self._accept(call, payload)
        except ClientError as exc:
            return _bad(400, exc.message, exc.code, exc.param)
        return json_response(200, {})

    async def refer(self, call: SipCall, payload: dict[str, Any]) -> Response:
        """`/refer` on an accepted call: the caller leaves for `target_uri`."""
        uri = payload.get("target_uri")
        if not isinstance(uri, str) or not _REFER_URI.match(uri):
            return _bad(400, "target_uri must be a sip: or tel: URI.", "invalid_value", "target_uri")
        call.refer_uri = uri
        await self.end(call, "referred")
        return json_response(200, {})

    async def _accept(self, call: SipCall, session: dict[str, Any]) -> None:
        if session.get("type") != "realtime":
            raise ClientError("The session must have type 'realtime'.", "invalid_value", "type")
        try:
            check_session(without_type(session) or {})
        except InvalidClientEvent as exc:
            raise ClientError(exc.message, exc.code, exc.param) from exc
        server = self._server
        loop = asyncio.get_running_loop()
        core = ServerSession(
            model=server._model_factory(),
            now=loop.time(),
            options=server._options(session),
            session=without_type(session),
            session_id=call.call_id,
            wall_clock=time.time(),
        )
        server._opened += 1
        hub = SipHub(core=core, faults=FaultPlan.of(server.faults, session_ordinal=server._opened))
        hub.call_id, hub.call = call.call_id, call
        call.hub, call.accept_body = hub, session
        server._hubs[call.call_id] = hub
        core.start(loop.time())
        hub.pump = loop.create_task(self._pump(hub, call))
        call._set("accepted")

    async def end(self, call: SipCall, status: SipCallStatus) -> None:
        """End `call` (hung up, referred): its session, its sideband connections."""
        if call.status in ("ended", "referred", "rejected"):
            return
        call._set(status)
        hub = call.hub
        if hub is None or hub.ended:
            return
        hub.ended = True
        hub.wake()
        self._server._hubs.pop(call.call_id, None)
        if hub.pump is not None and hub.pump is not asyncio.current_task():
            hub.pump.cancel()
        await hub.close_all(1000, f"call {status}")

    async def close(self) -> None:
        """End every live call (the server stops)."""
        for call in list(self.calls.values()):
            await self.end(call, "ended")

    # -- a call's I/O -----------------------------------------------------------------------

    async def _pump(self, hub: SipHub, call: SipCall) -> None:
        loop = asyncio.get_running_loop()
        core = hub.core
        while not hub.ended:
            for out in core.poll(loop.time()):
                if isinstance(out, CloseConnection):
                    await self.end(call, "ended")
                    return
                await self._deliver(hub, call, out)
            while hub.pending:
                await hub.send_event(hub.pending.pop(0))
            deadline = core.next_deadline()
            if deadline is None:
                await self.end(call, "ended")
                return
            if deadline > loop.time():
                await hub.sleep_until(loop, deadline)

    async def _deliver(self, hub: SipHub, call: SipCall, out: dict[str, Any]) -> None:
        kind = out.get("type")
        if kind in ("response.output_audio.delta", "response.audio.delta"):
            response_id = out.get("response_id")
            if hub.playing != response_id:
                hub.playing = response_id if isinstance(response_id, str) else None
                await hub.send_event(_event("output_audio_buffer.started", hub.playing))
            call.heard += pybase64.b64decode(out.get("delta", ""))
            return  # the line plays it; the sideband never gets audio
        if kind == "input_audio_buffer.speech_started" and hub.playing is not None:
            turn = core_turn_detection(hub.core)
            if turn.get("interrupt_response", True) is not False:
                hub._clear()
        await hub.send_event(out)
        if kind == "response.done" and hub.playing is not None:
            response = out.get("response") or {}
            if response.get("id") == hub.playing:
                await hub.send_event(_event("output_audio_buffer.stopped", hub.playing))
                hub.playing = None


def core_turn_detection(core: ServerSession) -> dict[str, Any]:
    """The session's turn detection settings (`{}` when off)."""
    turn = core.session.get("audio", {}).get("input", {}).get("turn_detection")
    return turn if isinstance(turn, dict) else {}
