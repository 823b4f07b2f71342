"""Leases against a real Redis (a race: exactly one owner), and a live call through a Redis
that freezes, then dies and comes back empty: the call goes on, the app is warned, and the
state catches up with nothing lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from redis_process import RedisServer
from store_agents import SCRIPT, support

from agentkit import RealtimeRunner
from agentkit.events import AssistantTranscript, SessionEvent, StoreCaughtUp, StoreLagging
from agentkit.server import LocalRealtimeServer
from agentkit.session import RealtimeSession
from agentkit.store import DurableSessions, RedisStore, SessionBusy, StoreWriter
from agentkit.transports import WebSocketTransport, realtime_url


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    if redis_server.process is None:
        redis_server.start()
    store = RedisStore.from_url(redis_server.url, timeout_s=0.3)
    await store.client.flushdb()
    yield store
    await store.close()


async def test_a_lease_race_has_exactly_one_winner(store: RedisStore, redis_server: RedisServer) -> None:
    others = [RedisStore.from_url(redis_server.url) for _ in range(7)]
    try:
        for round_ in range(20):
            won: list[str] = []

            async def take(
                client: RedisStore, owner: str, session: str, won: list[str] = won
            ) -> None:
                if await client.acquire(session, owner, 5.0) == owner:
                    won.append(owner)

            async with anyio.create_task_group() as group:
                for number, client in enumerate([store, *others]):
                    group.start_soon(take, client, f"w{number}", f"race-{round_}")
            assert len(won) == 1, won
            # Only the winner may renew or release; the others change nothing.
            assert not await others[0].renew(f"race-{round_}", "nobody", 5.0)
            assert not await others[0].release(f"race-{round_}", "nobody")
            assert await store.renew(f"race-{round_}", won[0], 5.0)
    finally:
        for client in others:
            await client.close()


async def test_two_workers_open_one_session_exactly_one_gets_it(store: RedisStore) -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        runner = RealtimeRunner(support)
        opened: list[str] = []
        busy: list[str] = []

        async def worker(owner: str, ready: anyio.Event, done: anyio.Event) -> None:
            transport = WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="k")
            async with DurableSessions(runner, store, owner=owner) as sessions:
                try:
                    async with sessions.open("contested", transport, wait_s=0.0):
                        opened.append(owner)
                        ready.set()
                        await done.wait()
                except SessionBusy as exc:
                    busy.append(exc.owner or "")
                    ready.set()

        done = anyio.Event()
        readies = [anyio.Event(), anyio.Event()]
        async with anyio.create_task_group() as group:
            group.start_soon(worker, "w1", readies[0], done)
            group.start_soon(worker, "w2", readies[1], done)
            for ready in readies:
                await ready.wait()
            done.set()
        assert len(opened) == 1 and busy == opened  # the loser was told who holds it
    assert await store.client.get("agentkit:{contested}:lease") is None  # released


async def said(session: RealtimeSession[Any], text: str, seen: list[SessionEvent]) -> None:
    with anyio.fail_after(10):
        async for event in session:
            seen.append(event)
            if isinstance(event, AssistantTranscript) and event.transcript == text:
                return


async def test_redis_frozen_then_restarted_empty_mid_call(
    store: RedisStore, redis_server: RedisServer
) -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        runner = RealtimeRunner(support)
        # Redis's own socket timeout (0.3 s) reports a frozen server; the writer's deadline is
        # the backstop, loose enough for a loaded machine.
        writer = StoreWriter(store, timeout_s=2.0, backoff_s=(0.05, 0.2))
        transport = WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="k")
        seen: list[SessionEvent] = []
        async with (
            DurableSessions(runner, store, owner="w1", writer=writer) as sessions,
            sessions.open("outage", transport) as durable,
        ):
            session = durable.session
            await session.send_text("Where is my order 42?")
            await said(session, "Order 42 is shipped.", seen)

            redis_server.pause()  # slow: the server answers nothing
            try:
                # The call goes on: a tool runs (its start waits at most a moment),
                # the agent answers.
                await session.send_text("Charge my card for order 42")
                await said(session, "The charge answered: unknown.", seen)
                with anyio.fail_after(5):
                    while not [e for e in seen if isinstance(e, StoreLagging)]:
                        seen.append(await anext(aiter(session)))
            finally:
                redis_server.resume()
            with anyio.fail_after(5):
                while not [e for e in seen if isinstance(e, StoreCaughtUp)]:
                    seen.append(await anext(aiter(session)))
            caught = len(session.history)
            state = await store.load("outage")
            assert state is not None and len(state.items) == caught

            # Down, and back empty (a restart without persistence): written again in full.
            redis_server.stop()
            await session.send_text("Tell me a story")
            await said(session, "Once upon a time there was a parcel that always arrived.", seen)
            # The outage is noticed (the turn's writes failed) before Redis comes back: on a
            # loaded machine the writes can otherwise land after the restart, with no outage.
            with anyio.fail_after(5):
                while len([e for e in seen if isinstance(e, StoreLagging)]) < 2:
                    seen.append(await anext(aiter(session)))
            redis_server.start()
            with anyio.fail_after(5):
                while len([e for e in seen if isinstance(e, StoreCaughtUp)]) < 2:
                    seen.append(await anext(aiter(session)))
            expected = [i.item_id for i in session.history.items()]
        lagging = [e for e in seen if isinstance(e, StoreLagging)]
        assert len(lagging) == 2  # once per outage, not once per failed write
        state = await store.load("outage")
        assert state is not None
        assert [i.item_id for i in state.items] == expected
        assert {c.name: c.status for c in state.calls.values()} == {
            "lookup_order": "done",
            "charge_card": "done",
        }
