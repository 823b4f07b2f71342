"""Event delivery: the bounded queue an app iterates, and the handlers it registered.

A session delivers every event it gets from its supervisor (and the few it makes itself)
here: into a queue the async iterator drains, and to each handler registered for the
event's type with `on(name, handler)` (sync or async; one that raises is logged, never
fatal). The queue is bounded (`SessionLimits.max_queued_events`): when the app reads too
slowly the oldest events are dropped and counted, and the iterator reports the count
(`EventsDropped`) before what comes next.

No event loop here: waking the iterator is the session's (`wake`).
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ..events import AudioOut, EventsDropped, SessionEvent, SessionEventName
from ..logs import get_logger

__all__ = ["EventHandler", "EventQueue"]

logger = get_logger("agentkit.session")

EventHandler = Callable[[Any], Awaitable[None] | None]
"""`handler(event)`, sync or async, registered with `session.on(name, handler)`."""


class EventQueue:
    """The events waiting for the app, and its handlers (see the module docs).

    `queue` and `handlers` are never replaced, so the session's flush may hold them and
    take its fast path (no handler, no overflow: `queue.extend(events)`) without a call.

    Args:
        max_queued: Events kept before the oldest are dropped.
        wake: Called after events were added (the iterator may be waiting).
    """

    def __init__(self, max_queued: int, wake: Callable[[], None]) -> None:
        self.max_queued = max_queued
        self.queue: deque[SessionEvent] = deque()
        self.handlers: dict[str, list[EventHandler]] = {}
        self._wake = wake
        self._dropped = (0, 0, 0)  # events, audio chunks, audio bytes

    def on(self, name: SessionEventName, handler: EventHandler) -> Callable[[], None]:
        """Call `handler(event)` for every event of type `name`; returns an unsubscribe."""
        handlers = self.handlers.setdefault(name, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def next(self) -> SessionEvent | None:
        """The next event for the iterator (an `EventsDropped` first if some were), if any."""
        if self._dropped[0]:
            # Tell the app what it missed before what comes next.
            count, chunks, size = self._dropped
            self._dropped = (0, 0, 0)
            return EventsDropped(count, chunks, size)
        if self.queue:
            return self.queue.popleft()
        return None

    async def deliver(self, event: SessionEvent) -> None:
        """Queue `event` (dropping the oldest if full) and call its handlers."""
        queue = self.queue
        if len(queue) >= self.max_queued:
            dropped = queue.popleft()
            count, chunks, size = self._dropped
            if isinstance(dropped, EventsDropped):
                count, chunks, size = (
                    count + dropped.count,
                    chunks + dropped.audio_chunks,
                    size + dropped.audio_bytes,
                )
            elif isinstance(dropped, AudioOut):
                count, chunks, size = count + 1, chunks + 1, size + len(dropped.audio)
            else:
                count += 1
            self._dropped = (count, chunks, size)
        queue.append(event)
        self._wake()
        handlers = self.handlers.get(event.type)
        if handlers:
            for handler in list(handlers):
                try:
                    result = handler(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception("handler for %r raised", event.type)
