"""Bad input on the local server's Live endpoint: each gets an `error` of the Live shape that
names the parameter, and the session stays alive (it still answers a valid event after)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import orjson
import pytest
import websockets
from live_conformance import validate_live_server_event

from agentkit.server import LocalRealtimeServer
from agentkit.server.session import MAX_APPEND_BASE64

START: dict[str, Any] = {
    "type": "session.start",
    "session": {
        "model": "gpt-live-1",
        "audio": {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "cedar"}},
        "delegation": {"type": "responses", "responses": {"model": "gpt-5.4-mini"}},
    },
}
HEADERS = {"Authorization": "Bearer sk-test"}


async def _next(ws: Any) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    validate_live_server_event(event)
    return event


async def _error_then_alive(ws: Any, bad: dict[str, Any] | str) -> dict[str, Any]:
    await ws.send(bad if isinstance(bad, str) else orjson.dumps(bad).decode())
    error = await _next(ws)
    assert error["type"] == "error", error
    # Alive: a mute is still acknowledged.
    await ws.send(orjson.dumps({"type": "session.input_audio.mute", "event_id": "alive"}).decode())
    ack = await _next(ws)
    assert (ack["type"], ack.get("client_event_id")) == ("session.input_audio.muted", "alive")
    return error["error"]  # type: ignore[no-any-return]


async def test_events_before_session_start_are_refused_and_the_session_can_still_start() -> None:
    async with LocalRealtimeServer(pace="fast") as server, websockets.connect(server.live_url, additional_headers=HEADERS) as ws:
        await ws.send(orjson.dumps({"type": "session.input_audio.mute", "event_id": "early"}).decode())
        error = await _next(ws)
        assert (error["error"]["code"], error["error"]["param"], error["error"]["client_event_id"]) == ("session_not_started", "type", "early")
        await ws.send(orjson.dumps(START).decode())
        assert (await _next(ws))["type"] == "session.started"


@pytest.mark.parametrize(
    ("bad", "code", "param"),
    [
        # Unknown fields, anywhere.
        ({"type": "session.input_audio.mute", "volume": 0}, "unknown_parameter", "volume"),
        ({"type": "session.update", "session": {"delegation": {"type": "responses", "responses": {"tools": [{"type": "function", "name": "f", "strict": True, "extra": 1}]}}}}, "unknown_parameter", "session.delegation.responses.tools[0].extra"),
        # A second session.start.
        (START, "session_already_started", "type"),
        # The voice (and the format) are fixed at startup: session.update has no audio.
        ({"type": "session.update", "session": {"audio": {"output": {"voice": "marin"}}}}, "unknown_parameter", "session.audio"),
        # The delegation's owner cannot change.
        ({"type": "session.update", "session": {"delegation": {"type": "client"}}}, "invalid_value", "session.delegation.type"),
        # Appended context is session-wide with Responses delegation.
        ({"type": "session.instructions.append", "content": "x", "delegation_id": "dlg_1"}, "invalid_value", "delegation_id"),
        ({"type": "session.thinking.append", "content": "x"}, "invalid_event", "delegation_id"),
        ({"type": "session.input_audio.append", "audio": "not base64!"}, "invalid_value", "audio"),
        ({"type": "session.output_audio.fixture.play", "audio": base64.b64encode(b"\0" * (30 * 48_000 + 2)).decode()}, "invalid_value", "audio"),
        ({"type": "decision.create"}, "unsupported", "type"),
        ({"type": "conversation.item.create"}, "invalid_event", "type"),
    ],
)
async def test_bad_events_after_start_get_an_error_naming_the_param(bad: dict[str, Any], code: str, param: str) -> None:
    async with LocalRealtimeServer(pace="fast") as server, websockets.connect(server.live_url, additional_headers=HEADERS) as ws:
        await ws.send(orjson.dumps(START).decode())
        assert (await _next(ws))["type"] == "session.started"
        error = await _error_then_alive(ws, {**bad, "event_id": "bad_1"})
        assert (error["code"], error["param"], error["client_event_id"]) == (code, param, "bad_1")


async def test_an_oversize_append_is_refused_and_the_session_goes_on() -> None:
    async with LocalRealtimeServer(pace="fast") as server, websockets.connect(server.live_url, additional_headers=HEADERS, max_size=None) as ws:
        await ws.send(orjson.dumps(START).decode())
        assert (await _next(ws))["type"] == "session.started"
        oversize = '{"type":"session.input_audio.append","audio":"' + "A" * (MAX_APPEND_BASE64 + 4) + '"}'
        error = await _error_then_alive(ws, oversize)
        assert (error["code"], error["param"]) == ("invalid_value", "audio")


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({"model": "gpt-live-1", "temperature": 0.8}, "unknown_parameter", "session.temperature"),
        ({"model": "gpt-live-1", "audio": {"format": {"type": "audio/pcm", "rate": 8000}}}, "invalid_value", "session.audio.format.rate"),
        ({"model": "gpt-live-1", "input": [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]}, "invalid_value", "session.input[0].content"),
        ({"model": "gpt-live-1", "delegation": {"type": "decisions"}}, "unsupported", "session.delegation.type"),
        ({"model": "gpt-live-1", "delegation": {"type": "responses", "responses": {"model": "m", "tools": [{"type": "web_search"}]}}}, "unsupported", "session.delegation.responses.tools[0].type"),
        ({"audio": {}}, "missing_required_parameter", "session.model"),
    ],
)
async def test_a_bad_session_start_names_the_param_and_a_good_one_still_starts(session: dict[str, Any], code: str, param: str) -> None:
    async with LocalRealtimeServer(pace="fast") as server, websockets.connect(server.live_url, additional_headers=HEADERS) as ws:
        await ws.send(orjson.dumps({"type": "session.start", "session": session}).decode())
        error = (await _next(ws))["error"]
        assert (error["code"], error["param"]) == (code, param)
        await ws.send(orjson.dumps(START).decode())
        started = await _next(ws)
        assert started["type"] == "session.started"
        assert started["session"]["audio"] == {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "cedar"}}


async def test_the_endpoint_refuses_a_model_query_a_missing_key_and_an_unknown_attach() -> None:
    async with LocalRealtimeServer(pace="fast", api_keys=["sk-test"]) as server:
        for url, headers, status in [
            (server.live_url + "?model=gpt-live-1", HEADERS, 400),
            (server.live_url, {}, 401),
            (server.live_url.replace("/sessions", "/sessions/sess_nope/attach"), HEADERS, 404),
        ]:
            with pytest.raises(websockets.InvalidStatus) as info:
                async with websockets.connect(url, additional_headers=headers):
                    pass
            assert info.value.response.status_code == status
            assert b'"error"' in info.value.response.body
