"""Outages as spans: one `agentkit.reconnect` span per reconnect attempt, under the session
span, ended with its outcome (counted by `agentkit.reconnects`); a fall back to text is a
session span event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from ..events import SessionStatus
from .conventions import RECONNECT_SPAN
from .records import SessionPart, Shared

if TYPE_CHECKING:
    from ..events import Reconnected, Reconnecting, StatusChanged, TextFallback

__all__ = ["ReconnectSpans"]


@dataclass(slots=True)
class _Reconnect:
    span: Span
    attempt: int


class ReconnectSpans(SessionPart):
    """The reconnect spans of one session (a part of its `SessionTracer`).

    Args:
        session_context: The session span's context, the parent of every reconnect span.
        session_event: Adds an event to the session span (name, attributes, time in ns).
    """

    def __init__(
        self,
        shared: Shared,
        session_context: Context,
        session_event: Callable[[str, Mapping[str, AttributeValue], int], None],
    ) -> None:
        super().__init__(shared)
        self._session_context = session_context
        self._session_event = session_event
        self._reconnect: _Reconnect | None = None

    def on_reconnecting(self, event: Reconnecting) -> None:
        now = self._clock()
        if self._reconnect is not None:
            self._end_reconnect("failed", now)
        span = self._tracer.start_span(
            RECONNECT_SPAN,
            context=self._session_context,
            attributes={
                "agentkit.reconnect.attempt": event.attempt,
                "agentkit.reconnect.delay_s": event.delay_s,
                "agentkit.reconnect.reason": event.reason,
            },
            start_time=self._ns(now),
        )
        self._reconnect = _Reconnect(span, event.attempt)

    def on_reconnected(self, event: Reconnected) -> None:
        if self._reconnect is not None:
            self._reconnect.span.set_attribute(
                "agentkit.reconnect.replayed_items", event.replayed_items
            )
            self._end_reconnect("reconnected", self._clock())

    def on_text_fallback(self, event: TextFallback) -> None:
        now = self._clock()
        if self._reconnect is not None:
            self._end_reconnect("text_fallback", now)
        self._session_event(
            "agentkit.text_fallback",
            {"agentkit.reconnect.replayed_items": event.replayed_items},
            self._ns(now),
        )

    def on_status(self, event: StatusChanged) -> None:
        # Only the end of an outage matters here; attempts come as `reconnecting` events.
        if event.new is SessionStatus.DISCONNECTED and self._reconnect is not None:
            self._end_reconnect("gave_up", self._clock())

    def _end_reconnect(self, outcome: str, now: float) -> None:
        reconnect = self._reconnect
        if reconnect is None:
            return
        self._reconnect = None
        reconnect.span.set_attribute("agentkit.reconnect.outcome", outcome)
        if outcome in ("failed", "gave_up"):
            reconnect.span.set_status(Status(StatusCode.ERROR, outcome))
        reconnect.span.end(self._ns(now))
        self._metrics.reconnects.add({"agentkit.reconnect.outcome": outcome})

    def close(self, now: float) -> None:
        """The session ended: an attempt still running gave up."""
        if self._reconnect is not None:
            self._end_reconnect("gave_up", now)
