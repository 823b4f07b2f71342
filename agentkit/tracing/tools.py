"""Tool calls and their approvals as spans: `execute_tool <name>` from `ToolStart` to
`ToolEnd` (timed by the `agentkit.tool.duration` histogram, failures counted), and
`agentkit.tool_approval` while the app decides. Both are children of the response that
asked for the call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .conventions import (
    APPROVAL_SPAN,
    ERROR_TYPE,
    GEN_AI_AGENT_NAME,
    GEN_AI_OPERATION_NAME,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_NAME,
    GEN_AI_TOOL_TYPE,
)
from .records import SessionPart, Shared

if TYPE_CHECKING:
    from ..events import ToolApprovalRequired, ToolApprovalResolved, ToolEnd, ToolStart

__all__ = ["ToolSpans"]

# Tool endings that are not failures of the tool: the caller interrupted, the app said no.
_NOT_FAILURES: Final = frozenset({"cancelled", "rejected"})


class ToolSpans(SessionPart):
    """The tool call and approval spans of one session (a part of its `SessionTracer`).

    Args:
        response_context: Where work a response asked for goes (the latest response, else
            the turn); read when a call or an approval starts.
    """

    def __init__(
        self,
        shared: Shared,
        response_context: Callable[[], Context],
    ) -> None:
        super().__init__(shared)
        self._response_context = response_context
        self._tools: dict[str, tuple[Span, float]] = {}
        self._approvals: dict[str, Span] = {}
        self._call_parents: dict[str, Context] = {}

    @contextmanager
    def tool_context(self, call_id: str) -> Iterator[None]:
        """See `SessionTracer.tool_context`."""
        entry = self._tools.get(call_id)
        if entry is None:
            yield
            return
        with trace.use_span(
            entry[0], end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            yield


    def on_tool_start(self, event: ToolStart) -> None:
        now = self._clock()
        parent = self._call_parents.pop(event.call_id, None) or self._response_context()
        attributes: dict[str, Any] = {
            GEN_AI_OPERATION_NAME: "execute_tool",
            GEN_AI_TOOL_NAME: event.tool_name,
            GEN_AI_TOOL_CALL_ID: event.call_id,
            GEN_AI_TOOL_TYPE: "function",
            GEN_AI_AGENT_NAME: event.agent_name,
        }
        if self._capture:
            attributes[GEN_AI_TOOL_CALL_ARGUMENTS] = event.arguments
        span = self._tracer.start_span(
            f"execute_tool {event.tool_name}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=self._ns(now),
        )
        self._tools[event.call_id] = (span, now)

    def on_tool_end(self, event: ToolEnd) -> None:
        entry = self._tools.pop(event.call_id, None)
        if entry is None:
            return  # rejected before it ran: its approval span tells the story
        span, started = entry
        now = self._clock()
        error = event.error
        ended: dict[str, AttributeValue] = {
            "agentkit.tool.timeout": error == "timeout",
            "agentkit.tool.cancelled": error == "cancelled",
        }
        if self._capture:
            ended[GEN_AI_TOOL_CALL_RESULT] = event.output
        attributes = {GEN_AI_TOOL_NAME: event.tool_name, GEN_AI_AGENT_NAME: event.agent_name}
        if error is not None:
            ended[ERROR_TYPE] = error
            attributes[ERROR_TYPE] = error
            if error not in _NOT_FAILURES:
                span.set_status(Status(StatusCode.ERROR, error))
                self._metrics.tool_failures.add(attributes)
        span.set_attributes(ended)
        span.end(self._ns(now))
        self._metrics.tool_duration.record(now - started, attributes)

    def on_approval_required(self, event: ToolApprovalRequired) -> None:
        parent = self._response_context()
        # The call runs later (if approved); it still belongs to the response that made it.
        self._call_parents[event.call_id] = parent
        attributes: dict[str, Any] = {
            GEN_AI_TOOL_NAME: event.tool_name,
            GEN_AI_TOOL_CALL_ID: event.call_id,
            GEN_AI_AGENT_NAME: event.agent_name,
            "agentkit.approval.default": event.default,
        }
        if event.timeout_s is not None:
            attributes["agentkit.approval.timeout_s"] = event.timeout_s
        if self._capture:
            attributes[GEN_AI_TOOL_CALL_ARGUMENTS] = event.arguments
        self._approvals[event.call_id] = self._tracer.start_span(
            APPROVAL_SPAN, context=parent, attributes=attributes, start_time=self._ns(self._clock())
        )

    def on_approval_resolved(self, event: ToolApprovalResolved) -> None:
        span = self._approvals.pop(event.call_id, None)
        if span is None:
            return
        span.set_attributes(
            {"agentkit.approval.approved": event.approved, "agentkit.approval.by": event.by}
        )
        span.end(self._ns(self._clock()))
        if not event.approved:
            self._call_parents.pop(event.call_id, None)


    def close(self, end_ns: int) -> None:
        """The session ended: end the spans of calls still running and approvals pending."""
        for call_id, (span, _) in list(self._tools.items()):
            span.set_attributes({"agentkit.tool.cancelled": True, ERROR_TYPE: "session_ended"})
            span.end(end_ns)
            del self._tools[call_id]
        for span in self._approvals.values():
            span.set_attribute("agentkit.approval.by", "session_ended")
            span.end(end_ns)
        self._approvals.clear()
