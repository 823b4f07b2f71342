"""Transfers as spans: `agentkit.handoff` from the transfer call until the new agent's first
audio (the silence the caller hears, timed by `agentkit.handoff.duration`), and an instant
one when the app switches agents itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode

from ..events import HandoffEvent
from .conventions import (
    ERROR_TYPE,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_NAME,
    HANDOFF_SPAN,
)
from .records import SessionPart, Shared

__all__ = ["HandoffCall", "HandoffSpans"]


@dataclass(slots=True)
class _Handoff:
    span: Span
    call_id: str
    started: float
    from_agent: str
    to_agent: str | None = None


class HandoffSpans(SessionPart):
    """The handoff spans of one session (a part of its `SessionTracer`)."""

    def __init__(
        self,
        shared: Shared,
    ) -> None:
        super().__init__(shared)
        self._handoffs: dict[str, _Handoff] = {}
        self._awaiting_speaker: _Handoff | None = None

    @contextmanager
    def handoff(
        self, call_id: str, tool_name: str, parent: Context, from_agent: str
    ) -> Iterator[HandoffCall]:
        """See `SessionTracer.handoff`; `parent`: the response that asked for the transfer,
        `from_agent`: the agent active now."""
        now = self._clock()
        span = self._tracer.start_span(
            HANDOFF_SPAN,
            context=parent,
            attributes={
                GEN_AI_TOOL_NAME: tool_name,
                GEN_AI_TOOL_CALL_ID: call_id,
                "agentkit.handoff.from": from_agent,
            },
            start_time=self._ns(now),
        )
        handoff = _Handoff(span, call_id, now, from_agent)
        self._handoffs[call_id] = handoff
        call = HandoffCall(self, call_id)
        try:
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                yield call
        except BaseException as exc:
            # Cancelled (the caller hung up, the session closed) or a bug in the runtime.
            self.finish(call_id, error=type(exc).__name__)
            raise
        if not call.reported:
            self.finish(call_id, error="unreported")

    def on_handoff(self, event: HandoffEvent, agent_context: Context, now: float) -> None:
        """The session switched agents (`agent_context`: the one it leaves)."""
        if event.call_id is not None:
            # A transfer call: its span is still running the callback or, accepted, waits
            # for the new agent to speak.
            handoff = self._handoffs.get(event.call_id)
            waiting = self._awaiting_speaker
            if handoff is None and waiting is not None and waiting.call_id == event.call_id:
                handoff = waiting
            if handoff is not None:
                handoff.to_agent = event.to_agent
                handoff.span.set_attribute("agentkit.handoff.to", event.to_agent)
        else:
            # The app switched agents (`update_agent`): nothing to wait for, nobody to time.
            span = self._tracer.start_span(
                HANDOFF_SPAN,
                context=agent_context,
                attributes={
                    "agentkit.handoff.from": event.from_agent,
                    "agentkit.handoff.to": event.to_agent,
                    "agentkit.handoff.trigger": "app",
                },
                start_time=self._ns(now),
            )
            span.end(self._ns(now))

    def caller_spoke(self, now: float) -> None:
        """The caller spoke before the new agent did: the transfer is over, silently."""
        if self._awaiting_speaker is not None:
            self._end_handoff(self._awaiting_speaker, now, spoke=False)

    def agent_spoke(self, agent: str, now: float) -> None:
        """`agent` started to speak: if a transfer waited for it, it is over."""
        handoff = self._awaiting_speaker
        if handoff is not None and handoff.to_agent == agent:
            self._end_handoff(handoff, now, spoke=True)

    def close(self, now: float) -> None:
        """The session ended: end every transfer still running or waiting."""
        for pending in list(self._handoffs):
            self.finish(pending, error="session_ended")
        if self._awaiting_speaker is not None:
            self._end_handoff(self._awaiting_speaker, now, spoke=False)

    def finish(
        self, call_id: str, *, target: str | None = None, error: str | None = None
    ) -> None:
        handoff = self._handoffs.pop(call_id, None)
        if handoff is None:
            return
        now = self._clock()
        if target is not None and error is None:
            # Accepted: wait for the new agent to speak (see `handoff`).
            handoff.to_agent = handoff.to_agent or target
            handoff.span.set_attribute("agentkit.handoff.to", handoff.to_agent)
            if self._awaiting_speaker is not None:
                self._end_handoff(self._awaiting_speaker, now, spoke=False)
            self._awaiting_speaker = handoff
            return
        handoff.span.set_attribute(ERROR_TYPE, error or "refused")
        handoff.span.set_status(Status(StatusCode.ERROR, error or "refused"))
        handoff.span.end(self._ns(now))
        self._metrics.handoff_duration.record(
            now - handoff.started,
            {"agentkit.handoff.from": handoff.from_agent, ERROR_TYPE: error or "refused"},
        )

    def _end_handoff(self, handoff: _Handoff, now: float, *, spoke: bool) -> None:
        if self._awaiting_speaker is handoff:
            self._awaiting_speaker = None
        handoff.span.set_attribute("agentkit.handoff.new_agent_spoke", spoke)
        handoff.span.end(self._ns(now))
        if spoke:
            self._metrics.handoff_duration.record(
                now - handoff.started,
                {
                    "agentkit.handoff.from": handoff.from_agent,
                    "agentkit.handoff.to": handoff.to_agent or "",
                },
            )


class HandoffCall:
    """The handle `SessionTracer.handoff` yields: report how the transfer went."""

    __slots__ = ("_call_id", "_tracer", "reported")

    def __init__(self, tracer: HandoffSpans, call_id: str) -> None:
        self._tracer = tracer
        self._call_id = call_id
        self.reported = False

    def finished(self, target: str | None, refusal: str | None = None) -> None:
        """`target`: the agent taken over to; `None` when the transfer was refused, with
        `refusal` the output the model was sent (recorded only with content capture)."""
        self.reported = True
        tracer = self._tracer
        handoff = tracer._handoffs.get(self._call_id)
        if handoff is not None and refusal is not None and tracer._capture:
            handoff.span.set_attribute(GEN_AI_TOOL_CALL_RESULT, refusal)
        tracer.finish(self._call_id, target=target, error=None if target else "refused")
