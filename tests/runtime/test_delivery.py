"""Event delivery: the bounded queue the app iterates, and its handlers."""

from __future__ import annotations

import pytest

from agentkit.events import AudioOut, Breadcrumb, EventsDropped
from agentkit.runtime.delivery import EventQueue


async def test_a_full_queue_drops_the_oldest_and_counts_what_was_dropped() -> None:
    wakes: list[None] = []
    events = EventQueue(2, lambda: wakes.append(None))
    await events.deliver(AudioOut(b"\x00" * 10, "a1", 0, "r1"))
    await events.deliver(Breadcrumb("one", None))
    await events.deliver(Breadcrumb("two", None))  # drops the audio chunk
    await events.deliver(Breadcrumb("three", None))  # drops "one"
    assert len(wakes) == 4
    assert events.next() == EventsDropped(2, 1, 10)  # told first
    assert [events.next(), events.next(), events.next()] == [
        Breadcrumb("two", None),
        Breadcrumb("three", None),
        None,
    ]


async def test_handlers_sync_and_async_and_a_failing_one_is_only_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = EventQueue(10, lambda: None)
    seen: list[str] = []

    async def later(event: Breadcrumb) -> None:
        seen.append(f"async {event.text}")

    def broken(event: Breadcrumb) -> None:
        raise RuntimeError("app bug")

    events.on("breadcrumb", lambda e: seen.append(f"sync {e.text}"))
    unsubscribe = events.on("breadcrumb", later)
    events.on("breadcrumb", broken)
    await events.deliver(Breadcrumb("a", None))
    unsubscribe()
    await events.deliver(Breadcrumb("b", None))
    assert seen == ["sync a", "async a", "sync b"]
    assert "app bug" in caplog.text
