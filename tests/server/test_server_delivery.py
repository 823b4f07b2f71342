"""`agentkit.server.delivery`: the shared timer pumps every session at its deadline, earliest
first, with a single timer armed for the whole server (on a fake loop clock: no sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentkit.server.delivery import Timers


@dataclass
class FakeHub:
    name: str
    scheduled: float | None = None


class Handle:
    def __init__(self, loop: FakeLoop, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False
        self._loop = loop

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """The two things `Timers` asks of an event loop: its clock and `call_at`."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(self, when, callback)
        self.handles.append(handle)
        return handle

    def armed(self) -> list[float]:
        return [h.when for h in self.handles if not h.cancelled]

    def advance(self, to: float) -> None:
        self.now = to
        for handle in list(self.handles):
            if not handle.cancelled and handle.when <= to:
                handle.cancelled = True  # fired
                handle.callback()


def make() -> tuple[FakeLoop, Timers, list[tuple[str, float]]]:
    loop = FakeLoop()
    pumped: list[tuple[str, float]] = []
    timers = Timers(loop, lambda hub, now: pumped.append((hub.name, now)))  # type: ignore[arg-type,attr-defined]
    return loop, timers, pumped


def test_one_timer_for_every_session_at_the_earliest_deadline() -> None:
    loop, timers, pumped = make()
    a, b, c = FakeHub("a"), FakeHub("b"), FakeHub("c")
    timers.schedule(a, 0.3)  # type: ignore[arg-type]
    timers.schedule(b, 0.1)  # type: ignore[arg-type]
    timers.schedule(c, 0.2)  # type: ignore[arg-type]
    assert loop.armed() == [0.1]
    loop.advance(0.25)
    assert pumped == [("b", 0.25), ("c", 0.25)]  # everything due, in deadline order
    assert loop.armed() == [0.3] and (b.scheduled, c.scheduled) == (None, None)
    loop.advance(0.3)
    assert pumped[-1] == ("a", 0.3) and loop.armed() == []


def test_an_earlier_deadline_wins_and_the_stale_one_is_skipped() -> None:
    loop, timers, pumped = make()
    hub: Any = FakeHub("a")
    timers.schedule(hub, 0.5)
    timers.schedule(hub, 0.8)  # later than what is already asked: ignored
    timers.schedule(hub, 0.2)  # earlier: wins
    assert hub.scheduled == 0.2 and loop.armed() == [0.2]
    loop.advance(1.0)
    assert pumped == [("a", 1.0)]  # pumped once, not for the superseded 0.5
    assert loop.armed() == []


def test_cancel_all_forgets_every_session() -> None:
    loop, timers, pumped = make()
    timers.schedule(FakeHub("a"), 0.1)  # type: ignore[arg-type]
    timers.cancel_all()
    assert loop.armed() == []
    loop.advance(1.0)
    assert pumped == []
