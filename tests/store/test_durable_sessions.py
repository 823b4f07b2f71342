"""Durable sessions in one process: recorded as they run, resumed by a second `DurableSessions`
(another worker) from the store alone, against the local server. Both stores: the in-memory
double and a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import TaskStatus
from redis_process import RedisServer
from store_agents import SCRIPT, support

from agentkit import RealtimeRunner
from agentkit.events import AssistantTranscript, SessionEvent, ToolStart
from agentkit.server import LocalRealtimeServer
from agentkit.session import RealtimeSession
from agentkit.store import (
    WORKER_LOST,
    DurableSessions,
    MemoryStore,
    RecordPolicy,
    RedisStore,
    SessionBusy,
    SessionStore,
    StoreError,
    transcript,
)
from agentkit.transports import WebSocketTransport, realtime_url


@pytest.fixture
async def server() -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as local:
        yield local


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    redis_server: RedisServer = request.getfixturevalue("redis_server")
    if redis_server.process is None:
        redis_server.start()
    redis = RedisStore.from_url(redis_server.url, timeout_s=0.5)
    await redis.client.flushdb()
    yield redis
    await redis.close()


def transport(server: LocalRealtimeServer) -> WebSocketTransport:
    return WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="sk-test")


async def said(session: RealtimeSession[Any], text: str) -> list[SessionEvent]:
    seen: list[SessionEvent] = []
    with anyio.fail_after(5):
        async for event in session:
            seen.append(event)
            if isinstance(event, AssistantTranscript) and event.transcript.startswith(text):
                return seen
    raise AssertionError(f"the session ended before {text!r}: {seen}")


async def test_a_session_is_recorded_and_resumed_by_another_worker(
    server: LocalRealtimeServer, store: SessionStore
) -> None:
    runner = RealtimeRunner(support)
    async with (
        DurableSessions(runner, store, owner="w1") as first,
        first.open("call-1", transport(server)) as durable,
    ):
        assert not durable.resumed
        await durable.session.send_text("Where is my order 42?")
        await said(durable.session, "Order 42 is shipped.")
        before = durable.session.history.items()
    state = await store.load("call-1")
    assert state is not None
    assert [i.item_id for i in state.items] == [i.item_id for i in before]
    assert state.agent == "Support"
    [call] = state.calls.values()
    assert (call.name, call.status, call.error) == ("lookup_order", "done", None)

    # Another worker (no shared memory: only the store) carries the conversation on.
    async with (
        DurableSessions(RealtimeRunner(support), store, owner="w2") as second,
        second.open("call-1", transport(server)) as durable,
    ):
        assert durable.resumed
        assert durable.plan is not None and durable.plan.answered == ()
        assert [i.item_id for i in durable.session.history.items()] == [
            i.item_id for i in before
        ]
        await durable.session.send_text("I want a refund")
        await said(durable.session, "Billing here. I can refund that.")
        assert durable.session.current_agent.name == "Billing"
        durable.finish()
    state = await store.load("call-1")
    assert state is not None and state.ended and state.agent == "Billing"
    document = transcript(state)
    assert [(h["from"], h["to"]) for h in document["handoffs"]] == [("Support", "Billing")]
    assert [c["name"] for c in document["tool_calls"]] == ["lookup_order", "transfer_to_billing"]
    assert all(c["output"] for c in document["tool_calls"])
    assert len(document["responses"]) >= 3
    with pytest.raises(Exception, match="was finished"):
        async with (
            DurableSessions(runner, store, owner="w3") as third,
            third.open("call-1", transport(server)),
        ):
            pass


class Crashable:
    """A worker's view of the store that goes dark when the worker "dies": from `crash()` on,
    it can write, renew or release nothing (as after `kill -9`)."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.crashed = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.crashed:
                raise StoreError("the worker is dead")
            return await method(*args, **kwargs)

        return call


async def test_a_call_running_when_its_worker_died_is_answered_once_never_rerun(
    server: LocalRealtimeServer, store: SessionStore, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_TEST_CHARGE_S", "30")
    runner = RealtimeRunner(support)
    dying = Crashable(store)

    async def first_worker(task_status: TaskStatus[None]) -> None:
        async with (
            DurableSessions(runner, dying, owner="w1", lease_ttl_s=0.5) as first,  # type: ignore[arg-type]
            first.open("call-2", transport(server)) as durable,
        ):
            await durable.session.send_text("Charge my card for order 42")
            async for event in durable.session:
                if isinstance(event, ToolStart):
                    task_status.started()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            await group.start(first_worker)
            while ledger.read_text().count("charged") == 0:
                await anyio.sleep(0.01)
            dying.crashed = True
            group.cancel_scope.cancel()
    state = await store.load("call-2")
    assert state is not None
    [record] = state.calls.values()
    assert (record.name, record.status) == ("charge_card", "running")

    async with DurableSessions(runner, store, owner="w2", lease_ttl_s=0.5) as second:
        with pytest.raises(SessionBusy):  # w1's lease is still there: w2 may not take it yet
            async with second.open("call-2", transport(server), wait_s=0.0):
                pass
        async with second.open("call-2", transport(server)) as resumed:  # once it expired
            assert resumed.plan is not None
            assert resumed.plan.answered == (record.call_id,)
            seen = await said(resumed.session, "The charge answered: worker_lost")
            assert not [e for e in seen if isinstance(e, ToolStart)]  # nothing ran again
            outputs = [
                i for i in resumed.session.history.items()
                if i.kind == "function_call_output" and i.call_id == record.call_id
            ]
            assert len(outputs) == 1 and WORKER_LOST in (outputs[0].output or "")
    assert ledger.read_text().count("charged") == 1  # never run a second time


async def test_persistence_off_keeps_the_transcript_content_out_of_the_store(
    server: LocalRealtimeServer, redis_store: RedisStore
) -> None:
    runner = RealtimeRunner(support)
    policy = RecordPolicy(content=False)
    async with (
        DurableSessions(runner, redis_store, owner="w1", policy=policy) as sessions,
        sessions.open("private-1", transport(server)) as durable,
    ):
        await durable.session.send_text("Where is my order 42?")
        await said(durable.session, "Order 42 is shipped.")
    stored: list[str] = []
    for key in await redis_store.client.keys("*"):
        kind = await redis_store.client.type(key)
        if kind == "hash":
            stored += (await redis_store.client.hgetall(key)).values()
        elif kind == "list":
            stored += await redis_store.client.lrange(key, 0, -1)
    assert stored
    assert not [v for v in stored if "order 42" in v.lower() or "shipped" in v]
    state = await redis_store.load("private-1")
    assert state is not None and not state.content
    assert [i.kind for i in state.items].count("function_call") == 1
