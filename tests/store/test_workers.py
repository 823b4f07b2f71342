"""Stateless workers sharing a real Redis: `kill -9` of a worker during a tool call, in the
middle of a response and during a handoff; the app reconnects to another worker and the
conversation goes on with no history item lost, every call answered exactly once, and the
side-effecting tool never run twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from redis_process import RedisServer
from store_agents import SCRIPT
from store_workers import App, Worker, app, workers
from websockets.exceptions import ConnectionClosed

from agentkit.server import LocalRealtimeServer
from agentkit.store import RedisStore, SessionState
from agentkit.transports import realtime_url


@pytest.fixture
async def provider() -> AsyncIterator[str]:
    # Each answer waits 0.6 s before its first output: long enough to kill a worker while a
    # response is under way, short enough for a fast test.
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", response_latency=600) as server:
        yield realtime_url("gpt-realtime", server.url)


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    if redis_server.process is None:
        redis_server.start()
    store = RedisStore.from_url(redis_server.url)
    await store.client.flushdb()
    yield store
    await store.close()


async def stored(store: RedisStore, session_id: str, ready: str) -> SessionState:
    """The session's state once `ready` holds of it (polled: the writer is asynchronous)."""
    with anyio.fail_after(5):
        while True:
            state = await store.load(session_id)
            if state is not None and eval(ready, {}, {"state": state}):
                return state
            await anyio.sleep(0.01)


def check_calls(history: list[dict[str, object]]) -> None:
    """Every function call has exactly one output."""
    calls = [i["call_id"] for i in history if i["kind"] == "function_call"]
    outputs = Counter(i["call_id"] for i in history if i["kind"] == "function_call_output")
    assert calls and all(outputs[c] == 1 for c in calls), history
    assert set(outputs) == set(calls)


async def crash(worker: Worker, app: App) -> set[str]:
    """`kill -9` the worker `app` is connected to; the items the app saw completed."""
    seen = app.completed_items()
    worker.kill()
    await worker.process.wait()
    with pytest.raises(ConnectionClosed):  # the app's connection died with the worker
        await app.until("never")
    return seen


def check_resumed(resumed: App, seen: set[str]) -> None:
    """The session was carried on, with every item the app had seen completed."""
    assert resumed.hello["resumed"] is True
    kept = {i["item_id"] for i in resumed.hello["history"]}
    assert seen <= kept, f"lost items: {seen - kept}"
    check_calls(resumed.hello["history"])


async def test_kill_9_during_a_tool_call(
    redis_server: RedisServer, store: RedisStore, provider: str, ledger: Path
) -> None:
    env = {"AGENTKIT_TEST_LEDGER": str(ledger), "AGENTKIT_TEST_CHARGE_S": "30"}
    async with workers(2, redis_server.url, provider, env) as (first, second):
        async with app(first, "tool-call") as before:
            assert before.hello["resumed"] is False
            await before.send(type="text", text="Charge my card for order 42")
            await before.until("tool_start", tool_name="charge_card")
            with anyio.fail_after(5):
                while "charged" not in ledger.read_text():
                    await anyio.sleep(0.01)
            state = await stored(store, "tool-call", "any(c.status == 'running' for c in state.calls.values())")
            seen = await crash(first, before)
        async with app(second, "tool-call") as resumed:
            check_resumed(resumed, seen)
            [call_id] = state.calls
            assert resumed.hello["answered"] == [call_id]
            said = await resumed.until("assistant_transcript", transcript="The charge answered:")
            assert said["transcript"] == "The charge answered: worker_lost."
            assert not [e for e in resumed.events if e["type"] == "tool_start"]
    assert ledger.read_text().count("charged") == 1  # the side effect happened once


async def test_kill_9_in_the_middle_of_a_response(
    redis_server: RedisServer, store: RedisStore, provider: str
) -> None:
    async with workers(2, redis_server.url, provider, {}) as (first, second):
        async with app(first, "mid-response") as before:
            await before.send(type="text", text="Where is my order 42?")
            await before.until("assistant_transcript", transcript="Order 42 is shipped.")
            await before.send(type="text", text="Tell me a story")
            started = await before.until("agent_start")
            # Killed once the store has the response in flight (writes trail the session by
            # one batch interval: what was written is what a crash keeps).
            await stored(
                store, "mid-response",
                f"state.response is not None and state.response.response_id == {started['response_id']!r}",
            )
            seen = await crash(first, before)
        async with app(second, "mid-response") as resumed:
            check_resumed(resumed, seen)
            said = await resumed.until("assistant_transcript", transcript="Once upon a time")
            assert said["transcript"] == "Once upon a time there was a parcel that always arrived."
            state = await stored(
                store, "mid-response", "state.response is None and len(state.items) >= 7"
            )
    texts = [i.text for i in state.items if i.kind == "message"]
    assert texts.count("Tell me a story") == 1
    assert texts.count("Once upon a time there was a parcel that always arrived.") == 1


async def test_kill_9_during_a_handoff(
    redis_server: RedisServer, store: RedisStore, provider: str
) -> None:
    async with workers(2, redis_server.url, provider, {}) as (first, second):
        async with app(first, "handoff") as before:
            await before.send(type="text", text="I want a refund")
            await before.until("handoff", to_agent="Billing")
            await stored(store, "handoff", "state.agent == 'Billing'")
            seen = await crash(first, before)
        async with app(second, "handoff") as resumed:
            check_resumed(resumed, seen)
            assert resumed.hello["agent"] == "Billing"
            assert resumed.hello["answered"] == []  # the transfer had its output already
            await resumed.until("assistant_transcript", transcript="Billing here. I can refund")
            await resumed.send(type="end")
        state = await stored(store, "handoff", "state.ended")  # before the workers stop
    assert state.agent == "Billing"
