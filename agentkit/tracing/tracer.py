"""`SessionTracer`: the spans and metric points of one live session, built from what the
session emits (see the package docstring for the span tree). Turn, tool, handoff and
reconnect spans are kept by its parts (`TurnSpans`, with each turn's response latency;
`ToolSpans`, `HandoffSpans`, `ReconnectSpans`); responses, agents and the session span by the
tracer itself.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from .. import events as _events
from .. import protocol as _protocol
from ..events import AudioOut, ErrorEvent
from ..logs import get_logger
from .conventions import (
    ERROR_TYPE,
    GEN_AI_AGENT_NAME,
    GEN_AI_CONVERSATION_ID,
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_TYPE,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_ID,
    RESPONSE_CREATE_PREFIX,
    is_object,
)
from .deferred import Deferral
from .guardrails import GuardrailCheck, guardrail_round
from .handoffs import HandoffCall, HandoffSpans
from .metrics import AgentAttributes
from .payloads import usage_attributes
from .reconnects import ReconnectSpans
from .records import Pending, Response, Shared
from .session_span import SessionSpan
from .tools import ToolSpans
from .turns import TurnSpans

if TYPE_CHECKING:
    from ..events import (
        AgentEnd,
        AgentStart,
        AssistantTranscript,
        AssistantTranscriptDelta,
        AudioInterrupted,
        GuardrailTripped,
        HandoffEvent,
        SessionEvent,
        SessionLimitReached,
    )
    from ..protocol import (
        ConversationItemTruncated,
        ResponseDone,
        ServerError,
        ServerEvent,
        SessionCreated,
    )
    from .instrumentation import Instrumentation

__all__ = ["SessionTracer"]

logger = get_logger("agentkit.tracing")

# Items of finished responses remembered for interruptions (a few: only the latest plays).
_PLAYED_ITEMS_KEPT: Final = 8
# Every session and wire event class, by its `type` string (`error` names one of each).
_CLASSES_BY_TYPE: Final[dict[str, list[type]]] = {}
for _cls in (*get_args(_events.SessionEvent), *get_args(_protocol.ServerEvent)):
    _CLASSES_BY_TYPE.setdefault(_cls.type, []).append(_cls)
del _cls


_Handler = Callable[[Any], None]


class SessionTracer:
    """Spans and metrics of one session, built from what the session emits.

    Made by `Instrumentation.start_session`. The runtime feeds it:

    * `observe(event)`: the `SessionEvent`s as they are emitted, and the decoded
      `ServerEvent`s before the supervisor handles them (speech start and stop,
      `response.done` usage, truncations and `session.created` exist only there), of the
      classes in `event_types` (others are ignored) — the session has its `Supervisor` do
      this (`Supervisor.observe_with`), so audio deltas never reach it;
    * `response_requested()` when a `response.create` goes out (`frame_sent(frame)` does it
      for a caller that has only the frames): it starts the time-to-first-audio clock;
    * `user_text(text)`, `turn_started()`, `turn_ended()`: typed and push-to-talk turns;
    * `tool_context(call_id)`, `handoff(...)`, `guardrails(...)`: context managers around
      the work the session runs in tasks;
    * `end(error)`: once, when the session closes.

    It never raises into the session: a failure to record is logged and dropped, since a
    call must not fail because its trace did.
    """

    def __init__(
        self,
        instrumentation: Instrumentation,
        *,
        model: str,
        agent_name: str,
        transport: str,
        dialect: str,
        clock: Callable[[], float],
        session_id: str | None,
        provider: str,
    ) -> None:
        self._tracer = instrumentation.tracer
        self._metrics = instrumentation.metrics
        self._capture = instrumentation.capture_content
        self._clock = clock
        self._model = model
        self._provider = provider
        self._session_id = session_id
        now = clock()
        # Span times are wall-clock nanoseconds; the session's clock is monotonic seconds.
        # One anchor per session keeps every span of it on the same, monotonic, timeline.
        self._epoch_ns = time.time_ns() - int(now * 1e9)
        self._common: dict[str, str] = {
            GEN_AI_PROVIDER_NAME: provider,
            GEN_AI_REQUEST_MODEL: model,
        }
        attributes: dict[str, str] = {
            **self._common,
            "agentkit.transport": transport,
            "agentkit.dialect": dialect,
        }
        if session_id is not None:
            attributes[GEN_AI_CONVERSATION_ID] = session_id
        session = self._session = SessionSpan(self._tracer, attributes, self._ns(now))
        self._session_span = session.span
        self._session_context = session.context
        self._session_event = session.event
        # No-op providers: skip building what nothing would record (usage, say).
        self._recording = self._session_span.is_recording()
        self._deferred = Deferral(
            self._tracer,
            instrumentation.defer_spans if self._recording else 1,
            instrumentation.defer_max_s,
            clock,
        )
        self._response_name = f"generate_content {model}"
        self._response_common: dict[str, AttributeValue] = {
            **self._common,
            GEN_AI_OPERATION_NAME: "generate_content",
            GEN_AI_OUTPUT_TYPE: "speech",
        }
        self._agent_name = agent_name
        self._agent_span, self._agent_context = self._start_agent(agent_name, now)
        self._responses: dict[str, Response] = {}
        self._last_response: Response | None = None
        self._audio_response: str | None = None  # the response whose first audio we saw
        self._item_response: dict[str, Response] = {}
        # Items of responses already done, by agent: playback outlives generation, so most
        # barge-ins cut audio whose response has ended.
        self._played_items: dict[str, str] = {}
        self._requests: deque[Pending] = deque()
        shared = self._shared = Shared(self._tracer, self._metrics, self._capture, clock, self._ns)
        self._tool_spans = ToolSpans(shared, self._response_context)
        self._handoff_spans = HandoffSpans(shared)
        self._reconnect_spans = ReconnectSpans(shared, self._session_context, self._session_event)
        self._agent_attributes = AgentAttributes(self._common).of
        self._turns = TurnSpans(
            shared, self._deferred, self._current_agent, self._turn_began, self._agent_attributes
        )
        self._ended = False
        self._metrics.active_sessions.add(1, self._common)
        # Handlers by the event's `type` string; `observe` dispatches on its class, learnt
        # from the string the first time a class is seen (see `observe`).
        handlers: dict[str, _Handler] = {
            "agent_start": self._on_agent_start,
            "agent_end": self._on_agent_end,
            "audio_interrupted": self._on_audio_interrupted,
            "user_transcript": self._turns.on_user_transcript,
            "tool_start": self._tool_spans.on_tool_start,
            "tool_end": self._tool_spans.on_tool_end,
            "tool_approval_required": self._tool_spans.on_approval_required,
            "tool_approval_resolved": self._tool_spans.on_approval_resolved,
            "handoff": self._on_handoff,
            "guardrail_tripped": self._on_guardrail_tripped,
            "reconnecting": self._reconnect_spans.on_reconnecting,
            "reconnected": self._reconnect_spans.on_reconnected,
            "text_fallback": self._reconnect_spans.on_text_fallback,
            "status": self._reconnect_spans.on_status,
            "error": self._on_error,
            "session_limit": self._on_session_limit,
            "input_audio_buffer.speech_started": self._turns.on_speech_started,
            "input_audio_buffer.speech_stopped": self._turns.on_speech_stopped,
            "input_audio_buffer.committed": self._turns.on_committed,
            "response.done": self._on_response_done,
            "conversation.item.truncated": self._on_truncated,
            "session.created": self._on_session_created,
            "session.updated": self._turns.on_session_updated,
        }
        if self._capture:
            # Transcript text is content: without capture its events cost one dict hit.
            handlers["assistant_transcript_delta"] = self._on_assistant_delta
            handlers["assistant_transcript"] = self._on_assistant_transcript
        self._handlers = handlers
        # By event class: `None` for the classes this tracer ignores (most wire events);
        # others (an app's own) are learnt from their `type` when first seen.
        self._by_class: dict[type, _Handler | None] = {
            cls: handlers.get(name) for name, classes in _CLASSES_BY_TYPE.items() for cls in classes
        }
        # The wire `error` is followed by its session `error`, the one counted.
        self._by_class[_protocol.ServerError] = None
        self.event_types: frozenset[type] = frozenset(
            cls for cls, handler in self._by_class.items() if handler is not None
        ) | {AudioOut}
        """The event classes `observe` reads (the others cost it a dict lookup and nothing
        else). Of the audio chunks, only the first of each response matters."""

    # -- inputs -------------------------------------------------------------------------------

    def observe(self, event: SessionEvent | ServerEvent) -> None:
        """Account for one session event (as delivered) or decoded wire event (as received)."""
        cls = type(event)
        if cls is AudioOut:
            # The hot path, inlined (10-50 times a second): only the first chunk of a
            # response does any work.
            if event.response_id != self._audio_response:  # type: ignore[union-attr]
                self._first_audio(event)  # type: ignore[arg-type]
            return
        # A dict hit on the class: cheaper than reading `event.type`, a class attribute
        # looked up through the instance. Audio deltas and most other events stop here.
        try:
            handler = self._by_class[cls]
        except KeyError:  # a class from outside agentkit: known by its `type`, if at all
            handler = self._by_class[cls] = self._handlers.get(event.type)
        if handler is None:
            return
        try:
            handler(event)
        except Exception:
            logger.warning("tracing %r failed", event.type, exc_info=True)

    @property
    def flush_due(self) -> float | None:
        """When deferred spans must go (the session's clock), if any wait (see
        `TracingConfig.defer_spans`): call `tick()` then."""
        return self._deferred.due

    def tick(self, now: float) -> None:
        """Hand deferred spans to the SDK if they waited long enough (`flush_due`)."""
        due = self._deferred.due
        if due is not None and now >= due:
            self._deferred.flush()

    def wake_with(self, waker: Callable[[float], None] | None) -> None:
        """Call `waker(due)` when deferred spans start to wait, so the session's timer can
        `tick()` at `due` (at most once per group)."""
        self._deferred.waker = waker

    def frame_sent(self, frame: str) -> None:
        """A client frame went out; a `response.create` starts the time-to-first-audio clock."""
        try:
            if frame[9] != "r":  # a literal: a slice or a global costs as much as it saves
                return
        except IndexError:
            return  # shorter than any client event
        if frame.startswith(RESPONSE_CREATE_PREFIX):
            self.response_requested()

    def response_requested(self) -> None:
        """A `response.create` goes out now: it starts the time-to-first-audio clock. (What
        `Supervisor.observe_with` calls; `frame_sent` finds it among the frames.)"""
        self._requests.append(Pending(self._clock()))

    def user_text(self, text: str) -> None:
        """The app sent a typed user turn: an instant turn span, its text as the transcript."""
        self._turns.user_text(text)

    def turn_started(self) -> None:
        """Push-to-talk pressed: the caller starts speaking."""
        self._turns.turn_started()

    def turn_ended(self) -> None:
        """Push-to-talk released: the caller's speech ends now."""
        self._turns.turn_ended()

    def tool_context(self, call_id: str) -> AbstractContextManager[None]:
        """Run a tool under its `execute_tool` span (opened by `ToolStart`), so spans the tool
        makes nest under it. Closing is left to `ToolEnd`, which knows how the call ended."""
        return self._tool_spans.tool_context(call_id)

    async def tool_started(self, call_id: str, tool_name: str) -> None:
        """Nothing to do: the `execute_tool` span is opened by `tool_context`."""

    def handoff(self, call_id: str, tool_name: str) -> AbstractContextManager[HandoffCall]:
        """Run a transfer (validation, `on_handoff`, the target's instructions) under an
        `agentkit.handoff` span; report its outcome with `HandoffCall.finished`.

        An accepted transfer's span stays open until the new agent's first audio: that wait
        is the silence the caller hears, and the handoff duration histogram measures it.
        """
        return self._handoff_spans.handoff(
            call_id, tool_name, self._response_context(), self._agent_name
        )

    def guardrails(
        self, stage: Literal["input", "output"], names: Sequence[str]
    ) -> AbstractContextManager[GuardrailCheck]:
        """Run one round of guardrail checks under an `agentkit.guardrails` span (a child of
        the caller's turn for input, of the response for output); report the verdict with
        `GuardrailCheck.finished`."""
        turn = self._turns.turn
        parent = (
            self._turns.turn_context(turn)
            if stage == "input" and turn is not None
            else self._response_context()
        )
        return guardrail_round(self._shared, parent, stage, names)

    def end(self, error: BaseException | None = None) -> None:
        """The session closed (`error`: why, if it failed). Closes every span still open."""
        if self._ended:
            return
        self._ended = True
        now = self._clock()
        end_ns = self._ns(now)
        try:
            self._handoff_spans.close(now)
            self._tool_spans.close(end_ns)
            for response in list(self._responses.values()):
                response.attributes["agentkit.response.status"] = "unfinished"
                self._close_response(response, now)
            self._turns.close()
            self._reconnect_spans.close(now)
            self._deferred.flush()
            self._agent_span.end(end_ns)
            self._session.end(end_ns, error)
        finally:
            self._deferred.flush()  # whatever an error above left (a no-op otherwise)
            self._metrics.active_sessions.add(-1, self._common)

    # -- session events -------------------------------------------------------------------------

    def _first_audio(self, event: AudioOut) -> None:
        self._audio_response = event.response_id
        response = self._responses.get(event.response_id)
        if response is None:
            return
        self._item_response[event.item_id] = response
        now = self._clock()
        since = response.requested_at if response.requested_at is not None else response.started
        response.attributes["agentkit.response.time_to_first_audio_s"] = now - since
        if response.requested_at is not None:
            self._deferred.record(
                self._metrics.time_to_first_audio,
                now - response.requested_at,
                self._agent_attributes(response.agent_name),
            )
        self._turns.answered(response, now)
        self._handoff_spans.agent_spoke(response.agent_name, now)

    def _on_agent_start(self, event: AgentStart) -> None:
        now = self._clock()
        requested = self._requests.popleft().at if self._requests else None
        response = Response(
            self._turns.turn,
            self._agent_context,
            self._ns(now if requested is None else requested),
            event.response_id,
            event.agent_name,
            now,
            requested,
            {
                **self._response_common,
                GEN_AI_AGENT_NAME: event.agent_name,
                GEN_AI_RESPONSE_ID: event.response_id,
                "agentkit.response.trigger": "client" if requested is not None else "server",
            },
        )
        self._responses[event.response_id] = response
        self._last_response = response

    def _response_span(self, response: Response) -> Span:
        """The response's span, made now (with what is known so far) if it does not exist."""
        span = response.span
        if span is None:
            turn = response.turn
            span = response.span = self._deferred.start_span(
                self._response_name,
                context=response.parent if turn is None else self._turns.turn_context(turn),
                kind=SpanKind.CLIENT,
                attributes=response.attributes,
                start_time=response.start_ns,
            )
            response.attributes = {}
            if response.events is not None:
                for name, attributes, at in response.events:
                    span.add_event(name, attributes, at)
                response.events = None
        return span

    def _response_event(
        self, response: Response | None, name: str, attributes: dict[str, AttributeValue], at: int
    ) -> None:
        """An event of `response`'s span; of the session span when no response owns it."""
        if response is None:
            self._session_event(name, attributes, at)
        elif response.span is not None:
            response.span.add_event(name, attributes, at)
        elif response.events is None:
            response.events = [(name, attributes, at)]
        else:
            response.events.append((name, attributes, at))

    def _on_agent_end(self, event: AgentEnd) -> None:
        response = self._responses.get(event.response_id)
        if response is None:
            return
        response.attributes["agentkit.response.status"] = event.status
        self._close_response(response, self._clock())

    def _close_response(self, response: Response, now: float) -> None:
        attributes = response.attributes
        attributes["agentkit.response.interrupted"] = response.interrupted
        if self._capture:
            transcript = response.transcript
            if transcript is None:
                transcript = "".join(response.text)
            if transcript:
                attributes["agentkit.response.transcript"] = transcript
        if response.span is None:
            span = self._response_span(response)  # the usual case: everything in one call
        else:
            span = response.span
            span.set_attributes(attributes)
        span.end(self._ns(now))
        del self._responses[response.response_id]
        if self._audio_response == response.response_id:
            self._audio_response = None
        # Interruptions name the item; forget the finished response's items but their agent.
        played = self._played_items
        for item_id in [i for i, r in self._item_response.items() if r is response]:
            del self._item_response[item_id]
            if len(played) >= _PLAYED_ITEMS_KEPT:
                del played[next(iter(played))]
            played[item_id] = response.agent_name

    def _on_audio_interrupted(self, event: AudioInterrupted) -> None:
        response = self._item_response.get(event.item_id)
        details: dict[str, AttributeValue] = {
            "agentkit.item.id": event.item_id,
            "agentkit.played_ms": event.played_ms,
        }
        attributes: Mapping[str, str]
        if response is not None:
            response.interrupted = True
            self._response_event(
                response, "agentkit.interruption", details, self._ns(self._clock())
            )
            attributes = self._agent_attributes(response.agent_name)
        else:
            # Generated in full, cut while playing: the response span has ended.
            agent = self._played_items.get(event.item_id)
            if agent is not None:
                attributes = self._agent_attributes(agent)
                details[GEN_AI_AGENT_NAME] = agent
            else:
                attributes = self._common
            self._session_event("agentkit.interruption", details, self._ns(self._clock()))
        self._metrics.interruptions.add(attributes)

    def _on_assistant_delta(self, event: AssistantTranscriptDelta) -> None:
        # Only with content capture: text-only responses have no audio to map their items.
        response = self._responses.get(event.response_id)
        if response is None:
            return
        if event.item_id not in self._item_response:
            self._item_response[event.item_id] = response
        response.text.append(event.delta)

    def _on_assistant_transcript(self, event: AssistantTranscript) -> None:
        response = self._item_response.get(event.item_id)
        if response is not None:
            response.transcript = event.transcript

    def _on_handoff(self, event: HandoffEvent) -> None:
        now = self._clock()
        self._handoff_spans.on_handoff(event, self._agent_context, now)
        self._agent_span.end(self._ns(now))
        self._agent_name = event.to_agent
        self._agent_span, self._agent_context = self._start_agent(event.to_agent, now)

    def _on_guardrail_tripped(self, event: GuardrailTripped) -> None:
        attributes: dict[str, AttributeValue] = {
            "agentkit.guardrail.name": event.guardrail_name,
            "agentkit.guardrail.stage": event.stage,
        }
        self._metrics.guardrail_trips.add(attributes)
        response = self._responses.get(event.response_id) if event.response_id else None
        at = self._ns(self._clock())
        self._response_event(response, "agentkit.guardrail_tripped", attributes, at)

    def _on_error(self, event: ErrorEvent | ServerError) -> None:
        if not isinstance(event, ErrorEvent):
            return  # the wire `error` shares the name; its session `error` follows
        kind = event.code or type(event.error).__name__
        if event.code == "conversation_already_has_active_response" and self._requests:
            # Our response.create was refused: no response will answer it.
            self._requests.popleft()
        self._metrics.errors.add({**self._common, ERROR_TYPE: kind})
        attributes = {ERROR_TYPE: kind}
        if self._capture:
            # Messages may quote what the model sent (a malformed call's arguments).
            attributes["exception.message"] = str(event.error)
        self._session_event("agentkit.error", attributes, self._ns(self._clock()))

    def _on_session_limit(self, event: SessionLimitReached) -> None:
        self._session.limit = event.limit

    # -- wire events ----------------------------------------------------------------------------

    def _on_response_done(self, event: ResponseDone) -> None:
        response = self._responses.get(event.response_id)
        if response is None or not self._recording:
            return
        attributes = response.attributes  # set on the span when the response ends
        body = event.response
        details = body.get("status_details")
        reason = details.get("reason") if is_object(details) else None
        if isinstance(reason, str):
            attributes["agentkit.response.status_reason"] = reason
            if reason == "turn_detected":
                response.interrupted = True
        attributes[GEN_AI_RESPONSE_FINISH_REASONS] = [reason or event.status]
        usage_attributes(body.get("usage"), attributes)

    def _on_truncated(self, event: ConversationItemTruncated) -> None:
        response = self._item_response.get(event.item_id)
        details: dict[str, AttributeValue] = {
            "agentkit.item.id": event.item_id,
            "agentkit.audio_end_ms": event.audio_end_ms,
        }
        at = self._ns(self._clock())
        self._response_event(response, "agentkit.truncation", details, at)

    def _on_session_created(self, event: SessionCreated) -> None:
        if self._session_id is None:
            service_id = event.session.get("id")
            if isinstance(service_id, str):
                self._session_id = service_id
                self._session_span.set_attribute(GEN_AI_CONVERSATION_ID, service_id)
        self._turns.on_session_updated(event)

    # -- helpers --------------------------------------------------------------------------------

    def _ns(self, t: float) -> int:
        return self._epoch_ns + int(t * 1e9)

    def _start_agent(self, name: str, now: float) -> tuple[Span, Context]:
        span = self._tracer.start_span(
            f"invoke_agent {name}",
            context=self._session_context,
            kind=SpanKind.INTERNAL,
            attributes={
                **self._common,
                GEN_AI_OPERATION_NAME: "invoke_agent",
                GEN_AI_AGENT_NAME: name,
            },
            start_time=self._ns(now),
        )
        return span, trace.set_span_in_context(span)

    def _response_context(self) -> Context:
        """Where work a response asked for goes: the latest response, else the turn."""
        response = self._last_response
        if response is not None:
            context = response.context
            if context is None:
                context = response.context = trace.set_span_in_context(
                    self._response_span(response)
                )
            return context
        turn = self._turns.turn
        if turn is not None:
            return self._turns.turn_context(turn)
        return self._agent_context

    def _current_agent(self) -> Context:
        return self._agent_context  # a handoff replaces it

    def _turn_began(self, now: float) -> None:
        # The caller spoke: a transfer waiting for the new agent's voice is over, and work
        # asked for from now on belongs to the new turn, not the last response.
        self._handoff_spans.caller_spoke(now)
        self._last_response = None
