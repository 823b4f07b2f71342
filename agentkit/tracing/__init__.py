"""OpenTelemetry traces and latency metrics of live sessions.

A `SessionTracer` watches one session the way the app does: it is fed the session's typed
events (and the decoded wire events, for what the session does not report: speech start and
stop, usage) and turns them into spans and metric points. A few hooks cover what no event
says: when a `response.create` went out, typed and push-to-talk turns, and the
context managers under which tools, handoff callbacks and guardrails run, so that their own
instrumented calls nest under the right span.

```
agentkit.session                         transport, dialect, model, conversation id, status
└── invoke_agent Triage                  one per stretch an agent is active
    └── agentkit.user_turn               speech start → stop (transcript: opt-in)
        └── generate_content gpt-realtime   one per response: id, status, usage, TTFA
            ├── execute_tool lookup_order   name, call id, error/timeout/cancelled
            ├── agentkit.tool_approval      approved, by
            ├── agentkit.handoff            from, to; until the new agent speaks
            └── agentkit.guardrails         stage, names, tripped
```

`agentkit.reconnect` spans sit under the session span. Interruptions and truncations are span
events of the response they cut. Nothing is recorded per audio frame, and audio frames do not
even reach the tracer: the session's `Supervisor` reports to it only the events it reads
(`Supervisor.observe_with`), and of an item's audio only its first chunk. Turn and response
spans reach the SDK in groups, with their real times (`TracingConfig.defer_spans`): the SDK's
per-span work, most of tracing's cost, runs warm that way.

Privacy: transcripts, tool arguments and results, guardrail texts and refusal messages are
recorded only with `TracingConfig(capture_content=True)` (or the environment variable
`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`, the GenAI instrumentations'
switch). Audio never is.

Names follow the OpenTelemetry GenAI semantic conventions (`gen_ai.*`, checked against
`opentelemetry-semantic-conventions` by the tests) where one exists, `agentkit.*` otherwise.
The tracer and meter come from the global providers unless the `TracingConfig` injects its
own. A session started with neither injected providers nor an SDK installed runs without a
`SessionTracer` at all (`Instrumentation.active`), so unconfigured apps pay one `None` check
per event.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO, TypeGuard, get_args

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .. import events as _events
from .. import protocol as _protocol
from ..errors import ConfigError
from ..events import AudioOut, ErrorEvent, SessionStatus

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

    from ..events import (
        AgentEnd,
        AgentStart,
        AssistantTranscript,
        AssistantTranscriptDelta,
        AudioInterrupted,
        GuardrailTripped,
        HandoffEvent,
        Reconnected,
        Reconnecting,
        SessionEvent,
        SessionLimitReached,
        StatusChanged,
        TextFallback,
        ToolApprovalRequired,
        ToolApprovalResolved,
        ToolEnd,
        ToolStart,
        UserTranscript,
    )
    from ..protocol import (
        ConversationItemTruncated,
        InputAudioBufferCommitted,
        InputAudioBufferSpeechStarted,
        InputAudioBufferSpeechStopped,
        ResponseDone,
        ServerError,
        ServerEvent,
        SessionCreated,
    )
    from ..runtime.policy import GuardrailVerdict

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "RESPONSE_CREATE_PREFIX",
    "GuardrailCheck",
    "HandoffCall",
    "Instrumentation",
    "SessionTracer",
    "TracingConfig",
    "TracingSetup",
    "setup_tracing",
]

logger = logging.getLogger("agentkit.tracing")

# The API's default global meter provider. Private (there is no public name for it): if a
# future API moves it, any meter provider counts as an SDK, which only costs no-op calls.
_PROXY_METER_PROVIDER: type[metrics.MeterProvider] | None
try:
    from opentelemetry.metrics._internal import _ProxyMeterProvider

    _PROXY_METER_PROVIDER = _ProxyMeterProvider
except ImportError:  # pragma: no cover
    _PROXY_METER_PROVIDER = None

CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The environment variable that turns content capture on when `capture_content` is unset
(the same switch the OpenTelemetry GenAI instrumentations read)."""

# --- attribute names ------------------------------------------------------------------------
# GenAI semantic conventions (opentelemetry-semantic-conventions 0.66b2). Spelled out here
# rather than imported: the module that holds them is `_incubating` and moves between
# releases; tests/test_tracing.py checks every one against the installed package.
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
ERROR_TYPE: Final = "error.type"

# Span and metric names.
SESSION_SPAN: Final = "agentkit.session"
USER_TURN_SPAN: Final = "agentkit.user_turn"
HANDOFF_SPAN: Final = "agentkit.handoff"
GUARDRAILS_SPAN: Final = "agentkit.guardrails"
APPROVAL_SPAN: Final = "agentkit.tool_approval"
RECONNECT_SPAN: Final = "agentkit.reconnect"

RESPONSE_LATENCY: Final = "agentkit.turn.response_latency"
TIME_TO_FIRST_AUDIO: Final = "agentkit.response.time_to_first_audio"
TOOL_DURATION: Final = "agentkit.tool.duration"
HANDOFF_DURATION: Final = "agentkit.handoff.duration"
INTERRUPTIONS: Final = "agentkit.interruptions"
GUARDRAIL_TRIPS: Final = "agentkit.guardrail.trips"
RECONNECTS: Final = "agentkit.reconnects"
ERRORS: Final = "agentkit.errors"
TOOL_FAILURES: Final = "agentkit.tool.failures"
ACTIVE_SESSIONS: Final = "agentkit.sessions.active"

# Conversational latencies live between 50 ms and a few seconds; the SDK's default buckets
# (0, 5, 10, 25 ... 10000) are meant for milliseconds and would put them all in two buckets.
_LATENCY_BUCKETS: Final = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]
_DURATION_BUCKETS: Final = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]

RESPONSE_CREATE_PREFIX: Final = '{"type":"response.create"'
"""How a `response.create` frame starts, as `protocol.encode_response_create` writes it (the
`type` key first, pinned by a test): the only client frame `SessionTracer.frame_sent` reads.
The session may skip the others (every audio append) before calling it."""
# Session span events held for one `add_event` batch (the SDK keeps 128 per span).
_SESSION_EVENTS_BATCH: Final = 16
# Items of finished responses remembered for interruptions (a few: only the latest plays).
_PLAYED_ITEMS_KEPT: Final = 8
# Tool endings that are not failures of the tool: the caller interrupted, the app said no.
_NOT_FAILURES: Final = frozenset({"cancelled", "rejected"})
# Every session and wire event class, by its `type` string (`error` names one of each).
_CLASSES_BY_TYPE: Final[dict[str, list[type]]] = {}
for _cls in (*get_args(_events.SessionEvent), *get_args(_protocol.ServerEvent)):
    _CLASSES_BY_TYPE.setdefault(_cls.type, []).append(_cls)
del _cls

TurnDetection = Literal["server_vad", "text", "push_to_talk"]


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """How a runner's sessions are traced.

    Attributes:
        enabled: `False` skips instrumentation entirely (not even no-op calls).
        tracer_provider: Where spans go; the global provider when `None`.
        meter_provider: Where metric points go; the global provider when `None`.
        capture_content: Record transcripts, tool arguments and results in spans. `None`
            reads `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (off unless `true`).
            Audio is never recorded.
        defer_spans: Hand the spans of turns and responses (and the latency samples of
            their turns) to the SDK in groups of this many, with their real times, instead
            of one by one as each ends. At a turn every few seconds the SDK's code runs cold
            every time, and a group costs about a third less CPU. `1` hands each over as it
            ends (what `setup_tracing("console")` asks for, to watch spans live). A span that
            something needs live (the parent of a tool call's span) is made at once.
        defer_max_s: How long the oldest of a group may wait (the session's clock) before
            the group goes anyway, for a session gone quiet; a session's end sends the rest.
    """

    enabled: bool = True
    tracer_provider: trace.TracerProvider | None = None
    meter_provider: metrics.MeterProvider | None = None
    capture_content: bool | None = None
    defer_spans: int = 16
    defer_max_s: float = 30.0

    def __post_init__(self) -> None:
        if type(self.defer_spans) is not int or self.defer_spans < 1:
            raise ConfigError(f"defer_spans must be an integer >= 1, got {self.defer_spans!r}")
        if not self.defer_max_s > 0:
            raise ConfigError(f"defer_max_s must be > 0 seconds, got {self.defer_max_s!r}")


_TallyKey = tuple[tuple[str, AttributeValue], ...]


class _Tally:
    """A counter kept in the process and reported through an asynchronous (observable)
    counter when the SDK collects.

    A synchronous `Counter.add` costs the SDK about 20 µs (a measurement object, its
    attributes cleaned, sorted and hashed, an aggregation under a lock), paid on the
    session's thread at every turn that counts something; a tally costs a dict update and
    the SDK's work moves to the collection (once per export interval, on the reader's
    thread). Exported the same way: a monotonic sum per attribute set.
    """

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._counts: dict[_TallyKey, int] = {}
        # Sessions may run on several event loops (threads); collection runs on another.
        self._lock = threading.Lock()

    def add(self, attributes: Mapping[str, AttributeValue]) -> None:
        key = tuple(attributes.items())
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def observe(self, options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        with self._lock:
            counts = list(self._counts.items())
        return [metrics.Observation(count, dict(key)) for key, count in counts]


class _Metrics:
    """The instruments of one meter provider, shared by every `Instrumentation` using it (see
    `_metrics_for`): an SDK meter hands a second registration of an instrument name the
    first one, callbacks included, so tallies must be shared as well."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.response_latency = meter.create_histogram(
            RESPONSE_LATENCY,
            unit="s",
            description="End of the caller's speech (or typed turn) to the agent's first audio.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self.time_to_first_audio = meter.create_histogram(
            TIME_TO_FIRST_AUDIO,
            unit="s",
            description="A response.create sent to the first audio of its response.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self.tool_duration = meter.create_histogram(
            TOOL_DURATION,
            unit="s",
            description="A tool call dispatched to its output sent.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.handoff_duration = meter.create_histogram(
            HANDOFF_DURATION,
            unit="s",
            description="A transfer call to the first audio of the agent it transferred to.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self.interruptions = self._counter(
            meter, INTERRUPTIONS, "Assistant audio cut off by a barge-in or the app."
        )
        self.guardrail_trips = self._counter(
            meter, GUARDRAIL_TRIPS, "Guardrails that stopped input or output."
        )
        self.reconnects = self._counter(meter, RECONNECTS, "Reconnect attempts, by outcome.")
        self.errors = self._counter(meter, ERRORS, "Errors the session survived, by code.")
        self.tool_failures = self._counter(
            meter, TOOL_FAILURES, "Tool calls that produced no result, by kind."
        )
        self.active_sessions = meter.create_up_down_counter(
            ACTIVE_SESSIONS, description="Sessions open now."
        )

    @staticmethod
    def _counter(meter: metrics.Meter, name: str, description: str) -> _Tally:
        tally = _Tally()
        meter.create_observable_counter(name, [tally.observe], description=description)
        return tally


# One `_Metrics` per meter provider, for as long as the provider lives.
_METRICS: weakref.WeakKeyDictionary[metrics.MeterProvider, _Metrics] = weakref.WeakKeyDictionary()
_METRICS_LOCK = threading.Lock()


def _metrics_for(provider: metrics.MeterProvider) -> _Metrics:
    with _METRICS_LOCK:
        try:
            found = _METRICS.get(provider)
        except TypeError:  # pragma: no cover - a provider that cannot be weakly referenced
            return _Metrics(provider.get_meter("agentkit"))
        if found is None:
            found = _METRICS[provider] = _Metrics(provider.get_meter("agentkit"))
        return found


class Instrumentation:
    """A runner's tracer, meter instruments and privacy choice; `start_session` makes the
    per-session observer.

    Build one per runner (instruments are created here, once). The providers are resolved
    now, but a global provider set later still takes effect: OpenTelemetry's global proxies
    forward to whatever is installed when a span starts.

    Args:
        config: The providers and content capture (defaults: global providers, no content).
        environ: Where `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is read
            (`os.environ` by default; tests pass a dict).
    """

    def __init__(
        self, config: TracingConfig | None = None, *, environ: Mapping[str, str] | None = None
    ) -> None:
        config = config if config is not None else TracingConfig()
        self._explicit = config.tracer_provider is not None or config.meter_provider is not None
        tracer_provider = config.tracer_provider or trace.get_tracer_provider()
        meter_provider = config.meter_provider or metrics.get_meter_provider()
        self.tracer = tracer_provider.get_tracer("agentkit")
        self.metrics = _metrics_for(meter_provider)
        self.defer_spans = config.defer_spans
        self.defer_max_s = config.defer_max_s
        capture = config.capture_content
        if capture is None:
            env = os.environ if environ is None else environ
            capture = env.get(CAPTURE_CONTENT_ENV, "").strip().lower() == "true"
        self.capture_content = capture

    @property
    def active(self) -> bool:
        """Whether a session started now would record anything: providers were injected, or
        an SDK (any provider other than the API's default proxy) is installed globally.

        Sessions check this when they start and skip tracing when it is false, so an app
        that never configured OpenTelemetry pays one `None` check per event, not the no-op
        API's calls. A global provider installed later is picked up by the next session.
        """
        return self._explicit or _global_sdk_installed()

    def start_session(
        self,
        *,
        model: str,
        agent_name: str,
        transport: str,
        dialect: str,
        clock: Callable[[], float] = time.monotonic,
        session_id: str | None = None,
        provider: str = "openai",
    ) -> SessionTracer:
        """Open the session and starting-agent spans and count the session as active.

        Args:
            model: The realtime model (`gen_ai.request.model`).
            agent_name: The starting agent.
            transport: What carries the session (`websocket`, `webrtc`, `memory`...).
            dialect: `ga` or `beta`.
            clock: The session's monotonic clock (seconds), the one its events are timed by.
            session_id: The conversation id; `None` takes the service's from `session.created`.
            provider: `gen_ai.provider.name`.
        """
        return SessionTracer(
            self,
            model=model,
            agent_name=agent_name,
            transport=transport,
            dialect=dialect,
            clock=clock,
            session_id=session_id,
            provider=provider,
        )


@dataclass(slots=True)
class _Turn:
    """A caller turn, its span made when it ends (start and end in one go) unless a child
    (a response, an input guardrail round) needs it live first."""

    parent: Context  # the agent active when the caller spoke
    start_ns: int
    detection: TurnDetection
    started: float
    # What the span will carry; once it exists, only what it has not been given yet.
    attributes: dict[str, AttributeValue]
    item_id: str | None = None
    speech_end: float | None = None
    ended: bool = False
    span: Span | None = None
    context: Context | None = None


@dataclass(slots=True)
class _Response:
    """A response, its span made when it ends (all its attributes at once) unless something
    needs it live first: a child span (a tool, a handoff, an output guardrail round)."""

    turn: _Turn | None  # the parent, else `parent`
    parent: Context
    start_ns: int
    response_id: str
    agent_name: str
    started: float
    requested_at: float | None
    # What the span will carry: the start attributes and what the response learns while it
    # runs (time to first audio, usage, status). Once the span exists, only what it has not
    # been given yet, set in one call when it ends.
    attributes: dict[str, AttributeValue]
    span: Span | None = None
    context: Context | None = None
    # Span events (interruption, truncation, guardrail trip) while the span does not exist.
    events: list[tuple[str, dict[str, AttributeValue], int]] | None = None
    interrupted: bool = False
    # With content capture: the transcript so far (the final one, held back by output
    # guardrails, often arrives after the response is done and its span has ended).
    text: list[str] = field(default_factory=list)
    transcript: str | None = None


@dataclass(slots=True)
class _Handoff:
    span: Span
    call_id: str
    started: float
    from_agent: str
    to_agent: str | None = None


@dataclass(slots=True)
class _Reconnect:
    span: Span
    attempt: int


@dataclass(slots=True)
class _Pending:
    """A response.create sent and not yet answered by `response.created`."""

    at: float


_Handler = Callable[[Any], None]


_Sample = tuple[metrics.Histogram, float, Mapping[str, AttributeValue]]


class _Deferral:
    """Turn and response spans and the latency samples of their turns, handed to the SDK in
    groups (see `TracingConfig.defer_spans`).

    A deferred span is a `_DeferredSpan`: its `end()` only queues it. Anything else asked of
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
        self._pending: list[_DeferredSpan | _Sample] = []
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
        return _DeferredSpan(self, name, context, kind, attributes, start_time)

    def record(
        self, histogram: metrics.Histogram, value: float, attributes: Mapping[str, AttributeValue]
    ) -> None:
        if self._size == 1:
            histogram.record(value, attributes)
        else:
            self.add((histogram, value, attributes))

    def add(self, item: _DeferredSpan | _Sample) -> None:
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


class _DeferredSpan(Span):
    """A span whose creation waits for its end (see `_Deferral`)."""

    def __init__(
        self,
        deferral: _Deferral,
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
        self._session_span = self._tracer.start_span(
            SESSION_SPAN,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=self._ns(now),
        )
        self._session_context = trace.set_span_in_context(self._session_span)
        self._session_events: list[tuple[str, Mapping[str, AttributeValue], int]] = []
        # No-op providers: skip building what nothing would record (usage, say).
        self._recording = self._session_span.is_recording()
        self._deferred = _Deferral(
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
        self._turn: _Turn | None = None
        self._turn_count = 0
        self._open_turns: dict[str, _Turn] = {}  # by item id, until their transcript arrives
        self._latency_from: tuple[float, TurnDetection] | None = None
        self._responses: dict[str, _Response] = {}
        self._last_response: _Response | None = None
        self._audio_response: str | None = None  # the response whose first audio we saw
        self._item_response: dict[str, _Response] = {}
        # Items of responses already done, by agent: playback outlives generation, so most
        # barge-ins cut audio whose response has ended.
        self._played_items: dict[str, str] = {}
        self._requests: deque[_Pending] = deque()
        self._tools: dict[str, tuple[Span, float]] = {}
        self._approvals: dict[str, Span] = {}
        self._call_parents: dict[str, Context] = {}
        self._handoffs: dict[str, _Handoff] = {}
        self._awaiting_speaker: _Handoff | None = None
        self._reconnect: _Reconnect | None = None
        self._limit: str | None = None
        self._ended = False
        self._attribute_sets: dict[tuple[str, str | None], dict[str, str]] = {}
        self._metrics.active_sessions.add(1, self._common)
        # Handlers by the event's `type` string; `observe` dispatches on its class, learnt
        # from the string the first time a class is seen (see `_learn`).
        handlers: dict[str, _Handler] = {
            "agent_start": self._on_agent_start,
            "agent_end": self._on_agent_end,
            "audio_interrupted": self._on_audio_interrupted,
            "user_transcript": self._on_user_transcript,
            "tool_start": self._on_tool_start,
            "tool_end": self._on_tool_end,
            "tool_approval_required": self._on_approval_required,
            "tool_approval_resolved": self._on_approval_resolved,
            "handoff": self._on_handoff,
            "guardrail_tripped": self._on_guardrail_tripped,
            "reconnecting": self._on_reconnecting,
            "reconnected": self._on_reconnected,
            "text_fallback": self._on_text_fallback,
            "status": self._on_status,
            "error": self._on_error,
            "session_limit": self._on_session_limit,
            "input_audio_buffer.speech_started": self._on_speech_started,
            "input_audio_buffer.speech_stopped": self._on_speech_stopped,
            "input_audio_buffer.committed": self._on_committed,
            "response.done": self._on_response_done,
            "conversation.item.truncated": self._on_truncated,
            "session.created": self._on_session_created,
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
        self._requests.append(_Pending(self._clock()))

    def user_text(self, text: str) -> None:
        """The app sent a typed user turn: an instant turn span, its text as the transcript."""
        turn = self._begin_turn("text")
        now = turn.started
        turn.speech_end = now
        self._latency_from = (now, "text")
        self._end_turn(turn, text if self._capture else None)

    def turn_started(self) -> None:
        """Push-to-talk pressed: the caller starts speaking."""
        self._begin_turn("push_to_talk")

    def turn_ended(self) -> None:
        """Push-to-talk released: the caller's speech ends now."""
        turn = self._turn
        if turn is None or turn.detection != "push_to_talk" or turn.speech_end is not None:
            turn = self._begin_turn("push_to_talk")
        now = self._clock()
        turn.speech_end = now
        self._latency_from = (now, "push_to_talk")

    @contextmanager
    def tool_context(self, call_id: str) -> Iterator[None]:
        """Run a tool under its `execute_tool` span (opened by `ToolStart`), so spans the tool
        makes nest under it. Closing is left to `ToolEnd`, which knows how the call ended."""
        entry = self._tools.get(call_id)
        if entry is None:
            yield
            return
        with trace.use_span(
            entry[0], end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            yield

    @contextmanager
    def handoff(self, call_id: str, tool_name: str) -> Iterator[HandoffCall]:
        """Run a transfer (validation, `on_handoff`, the target's instructions) under an
        `agentkit.handoff` span; report its outcome with `HandoffCall.finished`.

        An accepted transfer's span stays open until the new agent's first audio: that wait
        is the silence the caller hears, and the handoff duration histogram measures it.
        """
        now = self._clock()
        parent = self._response_context()
        span = self._tracer.start_span(
            HANDOFF_SPAN,
            context=parent,
            attributes={
                GEN_AI_TOOL_NAME: tool_name,
                GEN_AI_TOOL_CALL_ID: call_id,
                "agentkit.handoff.from": self._agent_name,
            },
            start_time=self._ns(now),
        )
        handoff = _Handoff(span, call_id, now, self._agent_name)
        self._handoffs[call_id] = handoff
        call = HandoffCall(self, call_id)
        try:
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                yield call
        except BaseException as exc:
            # Cancelled (the caller hung up, the session closed) or a bug in the runtime.
            self._finish_handoff(call_id, error=type(exc).__name__)
            raise
        if not call.reported:
            self._finish_handoff(call_id, error="unreported")

    @contextmanager
    def guardrails(
        self, stage: Literal["input", "output"], names: Sequence[str]
    ) -> Iterator[GuardrailCheck]:
        """Run one round of guardrail checks under an `agentkit.guardrails` span (a child of
        the caller's turn for input, of the response for output); report the verdict with
        `GuardrailCheck.finished`."""
        turn = self._turn
        parent = (
            self._turn_context(turn)
            if stage == "input" and turn is not None
            else self._response_context()
        )
        span = self._tracer.start_span(
            GUARDRAILS_SPAN,
            context=parent,
            attributes={"agentkit.guardrail.stage": stage, "agentkit.guardrail.names": list(names)},
            start_time=self._ns(self._clock()),
        )
        check = GuardrailCheck(self, span)
        try:
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                yield check
        except BaseException as exc:
            span.set_attribute(ERROR_TYPE, type(exc).__name__)
            raise
        finally:
            span.end(self._ns(self._clock()))

    def end(self, error: BaseException | None = None) -> None:
        """The session closed (`error`: why, if it failed). Closes every span still open."""
        if self._ended:
            return
        self._ended = True
        now = self._clock()
        end_ns = self._ns(now)
        try:
            for pending in list(self._handoffs):
                self._finish_handoff(pending, error="session_ended")
            if self._awaiting_speaker is not None:
                self._end_handoff(self._awaiting_speaker, now, spoke=False)
            for call_id, (span, _) in list(self._tools.items()):
                span.set_attributes({"agentkit.tool.cancelled": True, ERROR_TYPE: "session_ended"})
                span.end(end_ns)
                del self._tools[call_id]
            for span in self._approvals.values():
                span.set_attribute("agentkit.approval.by", "session_ended")
                span.end(end_ns)
            self._approvals.clear()
            for response in list(self._responses.values()):
                response.attributes["agentkit.response.status"] = "unfinished"
                self._close_response(response, now)
            for turn in list(self._open_turns.values()):
                self._end_turn(turn)
            if self._turn is not None:
                self._end_turn(self._turn)
            if self._reconnect is not None:
                self._end_reconnect("gave_up", now)
            self._deferred.flush()
            self._agent_span.end(end_ns)
            self._flush_session_events()
            span = self._session_span
            attributes: dict[str, AttributeValue] = {}
            if error is not None:
                status = "failed"
                attributes[ERROR_TYPE] = _error_type(error)
                span.set_status(Status(StatusCode.ERROR, _error_type(error)))
            elif self._limit is not None:
                status = "limit_reached"
                attributes["agentkit.session.limit"] = self._limit
            else:
                status = "closed"
            attributes["agentkit.session.status"] = status
            span.set_attributes(attributes)
            span.end(end_ns)
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
        if self._latency_from is not None:
            start, detection = self._latency_from
            self._latency_from = None
            self._deferred.record(
                self._metrics.response_latency,
                now - start,
                self._agent_attributes(response.agent_name, detection),
            )
        handoff = self._awaiting_speaker
        if handoff is not None and handoff.to_agent == response.agent_name:
            self._end_handoff(handoff, now, spoke=True)

    def _on_agent_start(self, event: AgentStart) -> None:
        now = self._clock()
        requested = self._requests.popleft().at if self._requests else None
        response = _Response(
            self._turn,
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

    def _response_span(self, response: _Response) -> Span:
        """The response's span, made now (with what is known so far) if it does not exist."""
        span = response.span
        if span is None:
            turn = response.turn
            span = response.span = self._deferred.start_span(
                self._response_name,
                context=response.parent if turn is None else self._turn_context(turn),
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
        self, response: _Response, name: str, attributes: dict[str, AttributeValue], at: int
    ) -> None:
        if response.span is not None:
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

    def _close_response(self, response: _Response, now: float) -> None:
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

    def _on_user_transcript(self, event: UserTranscript) -> None:
        turn = self._open_turns.get(event.item_id)
        if turn is None:
            return
        self._end_turn(turn, event.transcript if self._capture else None)

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

    def _on_tool_start(self, event: ToolStart) -> None:
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

    def _on_tool_end(self, event: ToolEnd) -> None:
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

    def _on_approval_required(self, event: ToolApprovalRequired) -> None:
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

    def _on_approval_resolved(self, event: ToolApprovalResolved) -> None:
        span = self._approvals.pop(event.call_id, None)
        if span is None:
            return
        span.set_attributes(
            {"agentkit.approval.approved": event.approved, "agentkit.approval.by": event.by}
        )
        span.end(self._ns(self._clock()))
        if not event.approved:
            self._call_parents.pop(event.call_id, None)

    def _on_handoff(self, event: HandoffEvent) -> None:
        now = self._clock()
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
                context=self._agent_context,
                attributes={
                    "agentkit.handoff.from": event.from_agent,
                    "agentkit.handoff.to": event.to_agent,
                    "agentkit.handoff.trigger": "app",
                },
                start_time=self._ns(now),
            )
            span.end(self._ns(now))
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
        if response is not None:
            self._response_event(response, "agentkit.guardrail_tripped", attributes, at)
        else:
            self._session_event("agentkit.guardrail_tripped", attributes, at)

    def _on_reconnecting(self, event: Reconnecting) -> None:
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

    def _on_reconnected(self, event: Reconnected) -> None:
        if self._reconnect is not None:
            self._reconnect.span.set_attribute(
                "agentkit.reconnect.replayed_items", event.replayed_items
            )
            self._end_reconnect("reconnected", self._clock())

    def _on_text_fallback(self, event: TextFallback) -> None:
        now = self._clock()
        if self._reconnect is not None:
            self._end_reconnect("text_fallback", now)
        self._session_event(
            "agentkit.text_fallback",
            {"agentkit.reconnect.replayed_items": event.replayed_items},
            self._ns(now),
        )

    def _on_status(self, event: StatusChanged) -> None:
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
        self._limit = event.limit

    # -- wire events ----------------------------------------------------------------------------

    def _on_speech_started(self, event: InputAudioBufferSpeechStarted) -> None:
        turn = self._begin_turn("server_vad", event.item_id)
        self._open_turns[event.item_id] = turn

    def _on_speech_stopped(self, event: InputAudioBufferSpeechStopped) -> None:
        turn = self._open_turns.get(event.item_id) or self._turn
        now = self._clock()
        if turn is not None and turn.speech_end is None:
            turn.speech_end = now
        self._latency_from = (now, "server_vad")

    def _on_committed(self, event: InputAudioBufferCommitted) -> None:
        # Push-to-talk learns its item id here; its transcript will name it.
        turn = self._turn
        if turn is not None and turn.item_id is None and not turn.ended:
            turn.item_id = event.item_id
            turn.attributes["agentkit.turn.item_id"] = event.item_id
            self._open_turns[event.item_id] = turn

    def _on_response_done(self, event: ResponseDone) -> None:
        response = self._responses.get(event.response_id)
        if response is None or not self._recording:
            return
        attributes = response.attributes  # set on the span when the response ends
        body = event.response
        details = body.get("status_details")
        reason = details.get("reason") if _is_object(details) else None
        if isinstance(reason, str):
            attributes["agentkit.response.status_reason"] = reason
            if reason == "turn_detected":
                response.interrupted = True
        attributes[GEN_AI_RESPONSE_FINISH_REASONS] = [reason or event.status]
        usage = body.get("usage")
        if not _is_object(usage):
            return
        value = usage.get("input_tokens")
        if type(value) is int:
            attributes[GEN_AI_USAGE_INPUT_TOKENS] = value
        value = usage.get("output_tokens")
        if type(value) is int:
            attributes[GEN_AI_USAGE_OUTPUT_TOKENS] = value
        input_details = usage.get("input_token_details")
        if _is_object(input_details):
            value = input_details.get("cached_tokens")
            if type(value) is int:
                attributes[GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = value
            value = input_details.get("audio_tokens")
            if type(value) is int:
                attributes["agentkit.usage.input_audio_tokens"] = value
        output_details = usage.get("output_token_details")
        if _is_object(output_details):
            value = output_details.get("audio_tokens")
            if type(value) is int:
                attributes["agentkit.usage.output_audio_tokens"] = value

    def _on_truncated(self, event: ConversationItemTruncated) -> None:
        response = self._item_response.get(event.item_id)
        details: dict[str, AttributeValue] = {
            "agentkit.item.id": event.item_id,
            "agentkit.audio_end_ms": event.audio_end_ms,
        }
        at = self._ns(self._clock())
        if response is not None:
            self._response_event(response, "agentkit.truncation", details, at)
        else:
            self._session_event("agentkit.truncation", details, at)

    def _on_session_created(self, event: SessionCreated) -> None:
        if self._session_id is None:
            service_id = event.session.get("id")
            if isinstance(service_id, str):
                self._session_id = service_id
                self._session_span.set_attribute(GEN_AI_CONVERSATION_ID, service_id)

    # -- helpers --------------------------------------------------------------------------------

    def _ns(self, t: float) -> int:
        return self._epoch_ns + int(t * 1e9)

    def _session_event(self, name: str, attributes: Mapping[str, AttributeValue], at: int) -> None:
        """An event of the session span, added with others in one batch: nothing reads the
        span's events before it ends, and a batch runs the SDK's code while it is warm."""
        events = self._session_events
        events.append((name, attributes, at))
        if len(events) >= _SESSION_EVENTS_BATCH:
            self._flush_session_events()

    def _flush_session_events(self) -> None:
        events, self._session_events = self._session_events, []
        add = self._session_span.add_event
        for name, attributes, at in events:
            add(name, attributes, at)

    def _agent_attributes(self, agent: str, detection: str | None = None) -> Mapping[str, str]:
        """A metric point's attributes, built once per agent (and turn detection): the SDK
        copies and hashes them on every point, they are never mutated."""
        key = (agent, detection)
        attributes = self._attribute_sets.get(key)
        if attributes is None:
            attributes = {**self._common, GEN_AI_AGENT_NAME: agent}
            if detection is not None:
                attributes["agentkit.turn.detection"] = detection
            self._attribute_sets[key] = attributes
        return attributes

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
        if self._turn is not None:
            return self._turn_context(self._turn)
        return self._agent_context

    def _begin_turn(self, detection: TurnDetection, item_id: str | None = None) -> _Turn:
        now = self._clock()
        previous = self._turn
        if previous is not None and not previous.ended:
            if previous.speech_end is None:
                # Cut off by the next turn (VAD restarted): its speech ended when this began.
                previous.speech_end = now
            if previous.item_id is None:
                self._end_turn(previous)  # no transcript will ever name it
        # A turn waits for its transcript only until the next one ends: with transcription
        # off none comes, and spans must not pile up until the session ends.
        if self._open_turns:
            for stale in [t for t in self._open_turns.values() if t is not previous]:
                self._end_turn(stale)
        if self._awaiting_speaker is not None:
            # The caller spoke before the new agent did: the transfer is over, silently.
            self._end_handoff(self._awaiting_speaker, now, spoke=False)
        self._turn_count += 1
        # The agent is the parent span's (`invoke_agent`): not repeated here.
        attributes: dict[str, AttributeValue] = {
            "agentkit.turn.number": self._turn_count,
            "agentkit.turn.detection": detection,
        }
        if item_id is not None:
            attributes["agentkit.turn.item_id"] = item_id
        turn = _Turn(self._agent_context, self._ns(now), detection, now, attributes, item_id)
        self._turn = turn
        self._last_response = None
        self._latency_from = None
        return turn

    def _end_turn(self, turn: _Turn, transcript: str | None = None) -> None:
        """End a turn span at the end of its speech, even when closed later (its transcript
        comes after the caller stopped talking). `transcript`: to record (content capture
        already checked)."""
        if turn.ended:
            return
        turn.ended = True
        if turn.item_id is not None:
            self._open_turns.pop(turn.item_id, None)
        if transcript is not None:
            turn.attributes["agentkit.user_turn.transcript"] = transcript
        end = turn.speech_end if turn.speech_end is not None else self._clock()
        span = turn.span
        if span is None:
            span = self._turn_span(turn)  # the usual case: start and end in one go
        elif turn.attributes:
            span.set_attributes(turn.attributes)
        span.end(self._ns(end))

    def _turn_span(self, turn: _Turn) -> Span:
        """The turn's span, made now (with what is known so far) if it does not exist."""
        span = turn.span
        if span is None:
            span = turn.span = self._deferred.start_span(
                USER_TURN_SPAN,
                context=turn.parent,
                attributes=turn.attributes,
                start_time=turn.start_ns,
            )
            turn.attributes = {}
        return span

    def _turn_context(self, turn: _Turn) -> Context:
        context = turn.context
        if context is None:
            context = turn.context = trace.set_span_in_context(self._turn_span(turn))
        return context

    def _finish_handoff(
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

    def __init__(self, tracer: SessionTracer, call_id: str) -> None:
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
        tracer._finish_handoff(self._call_id, target=target, error=None if target else "refused")


class GuardrailCheck:
    """The handle `SessionTracer.guardrails` yields: report the verdict."""

    __slots__ = ("_span", "_tracer")

    def __init__(self, tracer: SessionTracer, span: Span) -> None:
        self._tracer = tracer
        self._span = span

    def finished(self, verdict: GuardrailVerdict, text: str | None = None) -> None:
        """Record which guardrail tripped (if any) and which ones raised. `text`, the text
        that was checked, is recorded only with content capture."""
        tripped = verdict.tripped
        attributes: dict[str, AttributeValue] = {"agentkit.guardrail.tripped": tripped is not None}
        if tripped is not None:
            attributes["agentkit.guardrail.name"] = tripped.name
        if verdict.errors:
            attributes["agentkit.guardrail.errors"] = [name for name, _ in verdict.errors]
        if text is not None and self._tracer._capture:
            attributes["agentkit.guardrail.text"] = text
        self._span.set_attributes(attributes)


def _is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    """A JSON object: a dict as decoded (checked first: a `Mapping` check is an ABC's, ten
    times slower), or any other mapping."""
    return type(value) is dict or (value is not None and isinstance(value, Mapping))


def _global_sdk_installed() -> bool:
    # Until an app calls `set_tracer_provider` / `set_meter_provider`, the API hands out
    # proxies that forward to nothing.
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return True
    return _PROXY_METER_PROVIDER is None or not isinstance(
        metrics.get_meter_provider(), _PROXY_METER_PROVIDER
    )


def _error_type(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else type(error).__name__


# --- exporters ------------------------------------------------------------------------------

ExporterName = Literal["console", "otlp", "none"]


@dataclass(slots=True)
class TracingSetup:
    """SDK providers made by `setup_tracing`; call `shutdown()` before exiting so the last
    spans and metric points are exported."""

    tracer_provider: SdkTracerProvider | None = None
    meter_provider: SdkMeterProvider | None = None
    defer_spans: int = 16
    _closed: bool = field(default=False, repr=False)

    @property
    def config(self) -> TracingConfig:
        """A `TracingConfig` that sends a runner's sessions to these providers."""
        return TracingConfig(
            enabled=self.tracer_provider is not None,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            defer_spans=self.defer_spans,
        )

    def shutdown(self) -> None:
        """Flush and close the exporters (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def setup_tracing(
    exporter: ExporterName | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    set_global: bool = True,
) -> TracingSetup:
    """Install OpenTelemetry SDK providers exporting to the console or to an OTLP collector,
    for `agentkit run --trace console|otlp` and for scripts.

    Args:
        exporter: `console`, `otlp` or `none`; `None` reads `OTEL_TRACES_EXPORTER` (and does
            nothing when it is unset). `OTEL_SDK_DISABLED=true` turns everything off.
        environ: The environment (`os.environ` by default). The SDK itself reads the other
            standard variables: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
            `OTEL_EXPORTER_OTLP_ENDPOINT` / `_HEADERS`, `OTEL_METRIC_EXPORT_INTERVAL`...
        out: Where the console exporter writes (stderr by default, so it does not mix with a
            console UI on stdout).
        set_global: Also install the providers globally, so tools' own instrumented calls
            (HTTP clients, databases) join the session's traces.

    Raises:
        ConfigError: `otlp` without the `otlp` extra installed, or an unknown exporter name.
    """
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return TracingSetup()
    name = exporter if exporter is not None else env.get("OTEL_TRACES_EXPORTER", "none")
    name = name.strip().lower()
    if name == "none":
        return TracingSetup()
    if name not in ("console", "otlp"):
        raise ConfigError(f"unknown trace exporter {name!r}: use console, otlp or none")

    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
        SpanExporter,
    )

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "agentkit"}))
    span_exporter: SpanExporter
    metric_exporter: MetricExporter
    processor: SpanProcessor
    if name == "console":
        stream = out if out is not None else sys.stderr
        span_exporter = ConsoleSpanExporter(out=stream)
        metric_exporter = ConsoleMetricExporter(out=stream)
        processor = SimpleSpanProcessor(span_exporter)
    else:
        # Imported by name: the exporter is the optional `otlp` extra, absent from most
        # installs (and from the type checker's view of them).
        try:
            traces = importlib.import_module(
                "opentelemetry.exporter.otlp.proto.http.trace_exporter"
            )
            metrics_module = importlib.import_module(
                "opentelemetry.exporter.otlp.proto.http.metric_exporter"
            )
        except ImportError as exc:
            raise ConfigError(
                "--trace otlp needs the OTLP exporter: pip install 'agentkit[otlp]'"
            ) from exc
        span_exporter = traces.OTLPSpanExporter()
        metric_exporter = metrics_module.OTLPMetricExporter()
        processor = BatchSpanProcessor(span_exporter)
    tracer_provider = SdkTracerProvider(resource=resource)
    tracer_provider.add_span_processor(processor)
    meter_provider = SdkMeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter)]
    )
    if set_global:
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
    # On the console someone watches spans as they come: no groups (`defer_spans`).
    return TracingSetup(tracer_provider, meter_provider, defer_spans=1 if name == "console" else 16)
