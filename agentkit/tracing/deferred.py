"""Spans handed to the SDK in groups: `Deferral` queues turn and response spans (and the
latency samples of their turns) and hands them over together, with their real times (see
`TracingConfig.defer_spans`). The SDK's per-span work, most of tracing's cost, then runs warm.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from ..logs import get_logger

__all__ = ["Deferral", "DeferredSpan", "Sample"]

logger = get_logger("agentkit.tracing")

Sample = tuple[metrics.Histogram, float, Mapping[str, AttributeValue]]


class Deferral:
    """Turn and response spans and the latency samples of their turns, handed to the SDK in
    groups (see `TracingConfig.defer_spans`).

    A deferred span is a `DeferredSpan`: its `end()` only queues it. Anything else asked of
    it (its context, for a child made live; an attribute; an event) makes the real span at
    once; its end still waits in the queue, so the SDK sees spans end in order. A group goes when it is full, when its
    oldest waited `max_s` (`due`, checked by `tick()` at the time `waker` was given), or
    when the session ends. Spans carry their own start and end times, so the trace is the
    same either way; only the moment the SDK sees it moves.
    """

    __slots__ = ("_clock", "_max_s", "_pending", "_size", "due", "tracer", "waker")

    def __init__(
        self, tracer: trace.Tracer, size: int, max_s: float, clock: Callable[[], float]
    ) -> None:
        self.tracer = tracer
        self._size = size
        self._max_s = max_s
        self._clock = clock
        self._pending: list[DeferredSpan | Sample] = []
        self.due: float | None = None  # when the oldest pending item must go
        self.waker: Callable[[float], None] | None = None

    def start_span(
        self,
        name: str,
        *,
        context: Context,
        attributes: dict[str, AttributeValue],
        start_time: int,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> Span:
        if self._size == 1:
            return self.tracer.start_span(
                name, context=context, kind=kind, attributes=attributes, start_time=start_time
            )
        return DeferredSpan(self, name, context, kind, attributes, start_time)

    def record(
        self, histogram: metrics.Histogram, value: float, attributes: Mapping[str, AttributeValue]
    ) -> None:
        if self._size == 1:
            histogram.record(value, attributes)
        else:
            self.add((histogram, value, attributes))

    def add(self, item: DeferredSpan | Sample) -> None:
        pending = self._pending
        pending.append(item)
        if len(pending) >= self._size:
            self.flush()
        elif len(pending) == 1:
            due = self.due = self._clock() + self._max_s
            if self.waker is not None:
                self.waker(due)

    def flush(self) -> None:
        """Hand everything pending to the SDK, in the order it ended."""
        pending, self._pending = self._pending, []
        self.due = None
        for item in pending:
            try:
                if type(item) is tuple:
                    item[0].record(item[1], item[2])
                else:
                    item.hand_over()  # type: ignore[union-attr]
            except Exception:
                logger.warning("tracing: handing a span to the SDK failed", exc_info=True)


class DeferredSpan(Span):
    """A span whose creation waits for its end (see `Deferral`)."""

    def __init__(
        self,
        deferral: Deferral,
        name: str,
        context: Context,
        kind: SpanKind,
        attributes: dict[str, AttributeValue],
        start_time: int,
    ) -> None:
        self._deferral = deferral
        self._name = name
        self._context = context
        self._kind = kind
        self._attributes = attributes
        self._start_time = start_time
        self._span: Span | None = None
        self._end_time: int | None = None

    def real(self) -> Span:
        """The SDK span, made now if it was not yet."""
        span = self._span
        if span is None:
            span = self._span = self._deferral.tracer.start_span(
                self._name,
                context=self._context,
                kind=self._kind,
                attributes=self._attributes,
                start_time=self._start_time,
            )
        return span

    def hand_over(self) -> None:
        self.real().end(self._end_time)

    def end(self, end_time: int | None = None) -> None:
        # Queued even if the span was made already, so spans reach the SDK in the order
        # they ended. A second end is ignored, as the SDK does.
        if self._end_time is None:
            self._end_time = end_time if end_time is not None else time.time_ns()
            self._deferral.add(self)

    def get_span_context(self) -> trace.SpanContext:
        return self.real().get_span_context()

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        self.real().set_attributes(attributes)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.real().set_attribute(key, value)

    def add_event(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue] | None = None,
        timestamp: int | None = None,
    ) -> None:
        self.real().add_event(name, attributes, timestamp)

    def update_name(self, name: str) -> None:
        self.real().update_name(name)

    def is_recording(self) -> bool:
        return self.real().is_recording()

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self.real().set_status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, AttributeValue] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self.real().record_exception(exception, attributes, timestamp, escaped)

