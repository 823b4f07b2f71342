"""Injected faults over a real socket: each action as a client sees it, and which sessions."""

from __future__ import annotations

import time

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from wire_client import SCRIPT, WireClient

from agentkit.server import Fault, LocalRealtimeServer


async def _run_until_closed(server: LocalRealtimeServer) -> tuple[WireClient, BaseException | None]:
    client = await WireClient.open(server.url)
    await client.until("conversation.created")
    await client.send({"type": "session.update", "session": {"type": "realtime", "tools": [{"type": "function", "name": "lookup_order", "parameters": {}}]}})
    await client.say("Where is my order 42?")
    caught: BaseException | None = None
    try:
        while True:
            await client.recv(timeout=3)
    except (ConnectionClosed, AssertionError, TimeoutError) as exc:
        caught = exc
    return client, caught


async def test_fault_drop_at_event() -> None:
    fault = Fault(action="drop", at_event="response.function_call_arguments.done")
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=[fault]) as server:
        client, caught = await _run_until_closed(server)
    assert isinstance(caught, ConnectionClosed) and caught.rcvd is None  # no close frame: dropped
    assert client.of_type("response.function_call_arguments.delta")
    assert not client.of_type("response.function_call_arguments.done")


async def test_fault_drop_after_events_and_mid_response_close() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=[Fault(action="drop", after_events=3)]) as server:
        client, caught = await _run_until_closed(server)
    assert isinstance(caught, ConnectionClosed) and len(client.events) == 3
    close = Fault(action="close", at_event="response.output_audio.delta", occurrence=3, close_code=1011)
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=[close]) as server:
        client, caught = await _run_until_closed(server)
    assert isinstance(caught, ConnectionClosed) and caught.rcvd is not None and caught.rcvd.code == 1011
    assert len(client.of_type("response.output_audio.delta")) == 2


async def test_fault_error_malformed_unknown_and_rate_limit() -> None:
    faults = [
        Fault(action="error", at_event="response.created", code="server_error", message="boom"),
        Fault(action="rate_limit", at_event="response.done"),
        Fault(action="unknown_event", after_events=1),
    ]
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=faults) as server:
        client = await WireClient.open(server.url)
        await client.recv()
        with pytest.raises(AssertionError, match="agentkit_unknown_event"):
            await client.recv()  # the validator rejects the unknown type
        await client.say("Where is my order 42?")
        error = await client.until("error")
        assert error["error"]["code"] == "server_error" and error["error"]["message"] == "boom"
        assert (await client.recv())["type"] == "response.created"
        limits = await client.until("rate_limits.updated")
        limits = await client.until("rate_limits.updated")
        assert all(limit["remaining"] == 0 for limit in limits["rate_limits"])
        assert (await client.until("error"))["error"]["code"] == "rate_limit_exceeded"
        await client.close()
    async with LocalRealtimeServer(pace="fast", faults=[Fault(action="malformed", after_events=1)]) as server:
        ws = await connect(server.url, additional_headers={"Authorization": "Bearer k"})
        await ws.recv()
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(await ws.recv())
        assert orjson.loads(await ws.recv())["type"] == "conversation.created"
        await ws.close()


async def test_fault_delay_stall_and_expire() -> None:
    async with LocalRealtimeServer(pace="fast", faults=[Fault(action="delay", after_events=1, delay_ms=300)]) as server:
        client = await WireClient.open(server.url)
        await client.recv()
        start = time.monotonic()
        await client.recv()
        assert time.monotonic() - start >= 0.28
        await client.close()
    async with LocalRealtimeServer(pace="fast", faults=[Fault(action="stall", after_events=1)]) as server:
        client = await WireClient.open(server.url)
        await client.recv()
        with pytest.raises(TimeoutError):
            await client.recv(timeout=0.3)
        await client.close()
    async with LocalRealtimeServer(pace="fast", faults=[Fault(action="expire", at_event="response.created")]) as server:
        client, caught = await _run_until_closed(server)
    assert client.events[-1]["error"]["code"] == "session_expired"
    assert isinstance(caught, ConnectionClosed) and caught.rcvd is not None and caught.rcvd.code == 1001


async def test_script_faults_and_session_max_duration() -> None:
    script = {**SCRIPT, "faults": [{"at_event": "response.created", "action": "drop"}]}
    async with LocalRealtimeServer(script=script, pace="fast") as server:
        client, caught = await _run_until_closed(server)
    assert isinstance(caught, ConnectionClosed) and not client.of_type("response.created")
    async with LocalRealtimeServer(pace="fast", max_session_duration_s=0.3) as server:
        client = await WireClient.open(server.url)
        error = await client.until("error", timeout=3)
        assert error["error"]["code"] == "session_expired"
        with pytest.raises(ConnectionClosed):
            await client.recv()


async def test_fault_fires_only_in_the_chosen_sessions() -> None:
    faults = [Fault(action="drop", at_event="response.created", sessions=(1, 3))]
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=faults) as server:
        _, first = await _run_until_closed(server)
        second = await WireClient.open(server.url)
        await second.until("conversation.created")
        await second.send({"type": "response.create"})
        assert (await second.until("response.done"))["response"]["status"] == "completed"
        # A sideband attach joins session 2: it does not count as a session of its own.
        side = await WireClient.open(server.url + f"?call_id={list(server.sessions)[-1]}")
        await side.send({"type": "response.create"})
        assert (await side.until("response.done"))["response"]["status"] == "completed"
        await side.close()
        await second.close()
        _, third = await _run_until_closed(server)
    assert isinstance(first, ConnectionClosed) and first.rcvd is None
    assert isinstance(third, ConnectionClosed) and third.rcvd is None
