"""The recorder, against the in-memory store and the local server: what is written, when,
and how much."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from store_agents import SCRIPT, support

from agentkit import RealtimeAgent, RealtimeRunner, RunContext, tool
from agentkit.events import AssistantTranscript, AssistantTranscriptDelta
from agentkit.server import LocalRealtimeServer
from agentkit.session import RealtimeSession
from agentkit.store import DurableSessions, MemoryStore, RecordPolicy, StoreWriter
from agentkit.transports import WebSocketTransport, realtime_url


@pytest.fixture
async def server() -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as local:
        yield local


def transport(server: LocalRealtimeServer) -> WebSocketTransport:
    return WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="sk-test")


async def said(session: RealtimeSession[Any], text: str) -> int:
    deltas = 0
    with anyio.fail_after(5):
        async for event in session:
            deltas += isinstance(event, AssistantTranscriptDelta)
            if isinstance(event, AssistantTranscript) and event.transcript.startswith(text):
                return deltas
    raise AssertionError(text)


async def test_a_tool_runs_only_once_the_store_holds_its_start(server: LocalRealtimeServer) -> None:
    store = MemoryStore()
    seen_by_tool: list[str] = []

    @tool
    async def lookup_order(ctx: RunContext[Any], order_id: str) -> dict[str, str]:
        """Look an order up (and look at the store while running)."""
        state = await store.load("wal")
        assert state is not None
        seen_by_tool.extend(f"{c.name}:{c.status}" for c in state.calls.values())
        return {"order_id": order_id, "status": "shipped"}

    agent = RealtimeAgent(name="Support", instructions="Orders.", tools=[lookup_order])
    async with (
        DurableSessions(RealtimeRunner(agent), store, owner="w") as sessions,
        sessions.open("wal", transport(server)) as durable,
    ):
        await durable.session.send_text("Where is my order 42?")
        await said(durable.session, "Order 42 is shipped.")
    assert seen_by_tool == ["lookup_order:running"]
    state = await store.load("wal")
    assert state is not None
    [record] = state.calls.values()
    assert record.status == "done" and record.ended_at is not None


async def test_items_are_written_complete_and_writes_are_batched(server: LocalRealtimeServer) -> None:
    store = MemoryStore()
    writer = StoreWriter(store, interval_s=0.05)
    async with (
        DurableSessions(RealtimeRunner(support), store, owner="w", writer=writer) as sessions,
        sessions.open("batched", transport(server)) as durable,
    ):
        await durable.session.send_text("Where is my order 42?")
        deltas = await said(durable.session, "Order 42 is shipped.")
        history = durable.session.history.items()
    state = await store.load("batched")
    assert state is not None
    assert [i.item_id for i in state.items] == [i.item_id for i in history]
    assert all(i.status != "in_progress" for i in state.items)
    answer = [i for i in state.items if i.text == "Order 42 is shipped."]
    assert len(answer) == 1
    # A whole turn (two responses, a tool call, dozens of deltas) in a handful of writes.
    assert deltas > 5
    assert store.writes <= 8, store.writes


async def test_the_log_is_bounded_and_says_what_it_dropped(server: LocalRealtimeServer) -> None:
    store = MemoryStore()
    policy = RecordPolicy(max_log_entries=2)
    async with (
        DurableSessions(RealtimeRunner(support), store, owner="w", policy=policy) as sessions,
        sessions.open("bounded", transport(server)) as durable,
    ):
        await durable.session.send_text("Where is my order 42?")
        await said(durable.session, "Order 42 is shipped.")
        await durable.session.send_text("I want a refund")
        await said(durable.session, "Billing here.")
    state = await store.load("bounded")
    assert state is not None
    assert len(state.log) == 2
    assert state.log[0]["type"] == "log_truncated" and state.log[0]["dropped"] >= 2
    assert len(state.items) >= 8  # items are never dropped
