"""What a session sends, and when: ids, the ready list and the heap of paced events.

Output pacing is data: a response is planned up front as events with due times (audio
deltas one chunk apart, transcript words as their audio starts), pushed here with
`schedule`, and released by `release_due(now)`. What has been released is what the client
has "heard": a released event that carries a `track` is reported to `on_release`, which is
how the responses know how far each output got. Events that are due at once go straight to
the ready list with `emit`.

Ids (`new_id`) and event ids come from one counter, so every id of a session is unique and
increasing.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

import orjson

from ..protocol.wire_types import JsonObject

__all__ = ["Out", "Outbox", "copy_json"]



def copy_json(value: JsonObject) -> JsonObject:
    """A deep copy of a JSON object (orjson round trip: faster than `copy.deepcopy`)."""
    out: JsonObject = orjson.loads(orjson.dumps(value))
    return out


class Out:
    """A planned outbound event and what releasing it means (kept in the heap as
    `(due, seq, Out)` so ordering is a C-level tuple comparison)."""

    __slots__ = ("event", "response_id", "track")

    def __init__(self, event: JsonObject, response_id: str | None, track: tuple[Any, ...] | None) -> None:
        self.event = event
        self.response_id = response_id
        self.track = track


class Outbox:
    """The session's outbound queue: `emit` now, `schedule` for later, `take` what is out."""

    def __init__(self, token: str) -> None:
        self._ids = itertools.count(1)
        self._token = token
        self._event_prefix = f"event_{token}"
        self.heap: list[tuple[float, int, Out]] = []
        self.ready: list[Any] = []  # JSON events, and the session's CloseConnection
        self._seq = itertools.count()
        self.on_release: Callable[[Out, float], None] = lambda out, due: None
        """Called with each released event that has a `track`, and its due time."""

    def new_id(self, prefix: str) -> str:
        """A new id of the session, e.g. `item_<token>000042`."""
        return f"{prefix}_{self._token}{next(self._ids):06d}"

    def emit(self, event: JsonObject, now: float) -> None:
        """Send `event` now, after everything already due by `now`."""
        self.release_due(now)
        event["event_id"] = f"{self._event_prefix}{next(self._ids):06d}"
        self.ready.append(event)

    def schedule(self, due: float, event: JsonObject, response_id: str, track: tuple[Any, ...] | None = None) -> None:
        """Send `event` at `due` (its event id is taken now, in planning order)."""
        event["event_id"] = f"{self._event_prefix}{next(self._ids):06d}"
        heapq.heappush(self.heap, (due, next(self._seq), Out(event, response_id, track)))

    def release_due(self, now: float) -> None:
        """Move every scheduled event due by `now` to the ready list, in due order."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            due, _, out = heapq.heappop(heap)
            if out.track is not None:
                self.on_release(out, due)
            self.ready.append(out.event)

    def drop_response(self, response_id: str) -> None:
        """Forget every scheduled event of `response_id` (it was cancelled)."""
        self.heap = [entry for entry in self.heap if entry[2].response_id != response_id]
        heapq.heapify(self.heap)

    def take(self) -> list[Any]:
        """Everything ready, in order; the ready list starts over."""
        ready, self.ready = self.ready, []
        return ready
