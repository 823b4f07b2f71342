"""`agentkit serve` at its door: the key stays on the server, ephemeral keys expire, the rate
limit holds, other origins are refused, bad input gets a JSON 4xx and the server serves on."""

from __future__ import annotations

import logging

import pytest
from serve_harness import SECRET, call_events, http, sdp_offer, served

from agentkit.serve import RateLimit

SDP = {"Content-Type": "application/sdp"}


def _no_secret(*texts: str | bytes) -> None:
    for text in texts:
        shown = text.decode(errors="replace") if isinstance(text, bytes) else text
        assert SECRET not in shown


async def test_the_api_key_never_reaches_a_response_the_page_or_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with served(log_level="debug") as web:
        replies = [
            await http("GET", f"{web.url}/"),
            await http("GET", f"{web.url}/static/app.js"),
            await http("GET", f"{web.url}/api/config"),
            await http("POST", f"{web.url}/api/session", b"{}", {"Content-Type": "application/json"}),
            await http("POST", f"{web.url}/api/calls", b"not sdp", SDP),
        ]
        call = await http("POST", f"{web.url}/api/calls", (await sdp_offer()).encode(), SDP)
        assert call.status == 201, call.body
        call_id = (call.header("Location") or "").rsplit("/", 1)[-1]
        events = await call_events(web.url, call_id, until="agent")
        assert events[-1] == {"type": "agent", "agent": "desk"}
        hangup = await http("POST", f"{web.url}/api/calls/{call_id}/hangup")
        assert hangup.status == 204
        replies += [call, hangup]
    minted = replies[3].json()
    assert minted["value"].startswith("ek_") and minted["session"]["tools"]  # the compiled session
    for reply in replies:
        _no_secret(reply.body, *reply.headers.keys(), *reply.headers.values())
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG was really on
    _no_secret(caplog.text, *(str(r.args) for r in caplog.records))


async def test_an_ephemeral_key_opens_a_call_whose_sideband_the_server_runs_until_it_expires() -> None:
    async with served(key_expiry_s=10) as web:
        before = web.server.keys.clock()
        minted = (await http("POST", f"{web.url}/api/session", b"{}")).json()
        assert 9 < minted["expires_at"] - before <= 10  # whole seconds on the wire
        calls_url = (await http("GET", f"{web.url}/api/config")).json()["provider"]["calls_url"]
        auth = {**SDP, "Authorization": f"Bearer {minted['value']}"}
        # The page posts its offer to the provider itself, from its own origin: CORS.
        preflight = await http("OPTIONS", calls_url, None, {"Origin": web.url, "Access-Control-Request-Method": "POST"})
        assert preflight.status == 204 and "Authorization" in (preflight.header("Access-Control-Allow-Headers") or "")
        opened = await http("POST", calls_url, (await sdp_offer()).encode(), auth)
        assert opened.status == 201
        assert opened.header("Access-Control-Expose-Headers") == "Location"
        call_id = (opened.header("Location") or "").rsplit("/", 1)[-1]
        attached = await http("POST", f"{web.url}/api/calls/{call_id}/sideband")
        assert attached.status == 201, attached.body
        assert (await call_events(web.url, call_id, until="agent"))[-1]["agent"] == "desk"
        # Ten seconds later the same key opens nothing.
        clock = web.server.keys.clock
        web.server.keys.clock = lambda: clock() + 10.5
        refused = await http("POST", calls_url, (await sdp_offer()).encode(), auth)
        assert refused.status == 401
        assert "expired" in refused.json()["error"]["message"]
        await http("POST", f"{web.url}/api/calls/{call_id}/hangup")


async def test_a_sideband_for_a_call_that_does_not_exist_is_a_404() -> None:
    async with served() as web:
        reply = await http("POST", f"{web.url}/api/calls/rtc_nosuchcall/sideband")
        assert reply.status == 404 and reply.json()["error"]["code"] == "call_not_found"
        bad = await http("POST", f"{web.url}/api/calls/not-a-call/sideband")
        assert bad.status == 400 and bad.json()["error"]["param"] == "call_id"


async def test_the_rate_limit_holds_per_client_and_refills() -> None:
    now = [0.0]
    async with served(rate_limit=RateLimit(per_minute=60, burst=2), clock=lambda: now[0]) as web:
        statuses = [(await http("POST", f"{web.url}/api/session")).status for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = await http("POST", f"{web.url}/api/session")
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.header("Retry-After") == "1"
        offer = await http("POST", f"{web.url}/api/calls", b"v=0", SDP)
        assert offer.status == 429  # the calls endpoint shares the client's bucket
        now[0] += 1.0
        assert (await http("POST", f"{web.url}/api/session")).status == 200


async def test_a_disallowed_origin_is_refused_and_an_allowed_one_gets_cors() -> None:
    async with served(allow_origins=["https://shop.example"]) as web:
        evil = await http("POST", f"{web.url}/api/session", b"{}", {"Origin": "https://evil.example"})
        assert evil.status == 403 and evil.json()["error"]["code"] == "origin_not_allowed"
        assert "value" not in evil.json()
        own = await http("POST", f"{web.url}/api/session", b"{}", {"Origin": web.url})
        assert own.status == 200
        shop = await http("POST", f"{web.url}/api/session", b"{}", {"Origin": "https://shop.example"})
        assert shop.status == 200 and shop.header("Access-Control-Allow-Origin") == "https://shop.example"
        preflight = await http("OPTIONS", f"{web.url}/api/calls", None, {
            "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        })
        assert preflight.status == 204 and "POST" in (preflight.header("Access-Control-Allow-Methods") or "")


async def test_a_malformed_offer_is_a_400_in_json_and_the_server_serves_on() -> None:
    async with served() as web:
        garbage = await http("POST", f"{web.url}/api/calls", b"hello there", SDP)
        assert garbage.status == 400
        assert garbage.json()["error"]["code"] == "invalid_offer"
        # Passes our door, but the provider refuses it: its 400, as JSON, passed on.
        no_channel = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
        refused = await http("POST", f"{web.url}/api/calls", no_channel.encode(), SDP)
        assert refused.status == 400 and "data channel" in refused.json()["error"]["message"]
        typed = await http("POST", f"{web.url}/api/calls", b"v=0", {"Content-Type": "text/plain"})
        assert typed.status == 415 and typed.json()["error"]["code"] == "unsupported_content_type"
        assert (await http("GET", f"{web.url}/healthz")).json()["status"] == "ok"
        good = await http("POST", f"{web.url}/api/calls", (await sdp_offer()).encode(), SDP)
        assert good.status == 201 and good.body.startswith(b"v=0")
        await http("POST", f"{web.url}/api/calls/{(good.header('Location') or '').rsplit('/', 1)[-1]}/hangup")


async def test_oversized_bodies_unknown_paths_and_bad_approvals_get_json_errors() -> None:
    async with served(max_body_bytes=4096) as web:
        big = await http("POST", f"{web.url}/api/calls", b"v=0\n" + b"a" * 5000, SDP)
        assert big.status == 413 and big.json()["error"]["code"] == "request_too_large"
        missing = await http("GET", f"{web.url}/api/nothing")
        assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"
        wrong = await http("GET", f"{web.url}/api/session")
        assert wrong.status == 405 and "error" in wrong.json()
        call = await http("POST", f"{web.url}/api/calls", (await sdp_offer()).encode(), SDP)
        call_id = (call.header("Location") or "").rsplit("/", 1)[-1]
        await call_events(web.url, call_id, until="agent")
        body = await http("POST", f"{web.url}/api/calls/{call_id}/approvals/call_1", b'{"approve": "maybe"}')
        assert body.status == 400 and body.json()["error"]["param"] == "approve"
        idle = await http("POST", f"{web.url}/api/calls/{call_id}/approvals/call_1", b'{"approve": true}')
        assert idle.status == 409 and idle.json()["error"]["code"] == "not_pending"
        await http("POST", f"{web.url}/api/calls/{call_id}/hangup")
