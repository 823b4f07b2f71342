"""The `agentkit.session` span: the root of a session's trace, its events (errors,
interruptions and truncations no response owns, text fallbacks) and its final status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .conventions import ERROR_TYPE, SESSION_SPAN, error_type

__all__ = ["SessionSpan"]

# Session span events held for one `add_event` batch (the SDK keeps 128 per span).
_SESSION_EVENTS_BATCH: Final = 16


class SessionSpan:
    """A session's root span, started now (`start_ns`) with the session's `attributes`.

    Attributes:
        span: The SDK span (its context, `context`, is the parent of the agent spans).
        limit: The session limit that ended the session, if one did.
    """

    def __init__(
        self, tracer: trace.Tracer, attributes: Mapping[str, AttributeValue], start_ns: int
    ) -> None:
        self.span = tracer.start_span(
            SESSION_SPAN,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=start_ns,
        )
        self.context = trace.set_span_in_context(self.span)
        self.limit: str | None = None
        self._events: list[tuple[str, Mapping[str, AttributeValue], int]] = []

    def event(self, name: str, attributes: Mapping[str, AttributeValue], at: int) -> None:
        """An event of the session span, added with others in one batch: nothing reads the
        span's events before it ends, and a batch runs the SDK's code while it is warm."""
        events = self._events
        events.append((name, attributes, at))
        if len(events) >= _SESSION_EVENTS_BATCH:
            self._flush_events()

    def _flush_events(self) -> None:
        events, self._events = self._events, []
        add = self.span.add_event
        for name, attributes, at in events:
            add(name, attributes, at)

    def end(self, end_ns: int, error: BaseException | None) -> None:
        """End the span with the session's status (`error`: why it failed, if it did)."""
        self._flush_events()
        span = self.span
        attributes: dict[str, AttributeValue] = {}
        if error is not None:
            status = "failed"
            attributes[ERROR_TYPE] = error_type(error)
            span.set_status(Status(StatusCode.ERROR, error_type(error)))
        elif self.limit is not None:
            status = "limit_reached"
            attributes["agentkit.session.limit"] = self.limit
        else:
            status = "closed"
        attributes["agentkit.session.status"] = status
        span.set_attributes(attributes)
        span.end(end_ns)
