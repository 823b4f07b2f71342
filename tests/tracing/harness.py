"""What the tracing tests share: SDK providers with in-memory exporters over a fake clock
(`Harness`), the scripted return call, and the example conversations played through a
traced session.

The sessions are scripted as the runtime would feed `SessionTracer`: session events as
delivered, decoded wire events as received, sent frames, and the context managers tools,
handoffs and guardrails run under. The main script follows the customer-service example's
`return.yaml` conversation (greeting, verification, handoff to returns, eligibility check,
a barge-in), timed with a fake clock so durations are exact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import RealtimeAgent, blocked_terms, input_guardrail
from agentkit import protocol as p
from agentkit import tool as tool_decorator
from agentkit.caller import Caller, CallerTurn
from agentkit.events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioInterrupted,
    AudioOut,
    HandoffEvent,
    SessionEvent,
    ToolEnd,
    ToolStart,
    UserTranscript,
)
from agentkit.loader import Definitions
from agentkit.runner import RealtimeRunner
from agentkit.runtime.policy import GuardrailVerdict
from agentkit.server import LocalRealtimeServer, load_script
from agentkit.tracing import Instrumentation, SessionTracer, TracingConfig
from agentkit.transports import MemoryServerEnd, WebSocketTransport, realtime_url

USER_LINE = "Sure, it's 415 555 0142, and the order is A1001."


VERIFY_ARGS = '{"phone_number": "415 555 0142", "order_number": "A1001"}'


VERIFY_RESULT = '{"verified": true, "first_name": "Dana"}'


ELIGIBILITY_ARGS = '{"order_number": "A1001", "sku": "HP-200", "condition": "opened"}'


ELIGIBILITY_RESULT = '{"eligible": true, "refund": "$126.65"}'


GREETING = "Thanks for calling Northwind Goods."


CONTENT = [USER_LINE, VERIFY_ARGS, VERIFY_RESULT, ELIGIBILITY_ARGS, ELIGIBILITY_RESULT, GREETING]


AUDIO = b"\x01\x02" * 2400  # 100 ms of PCM16 at 24 kHz


USAGE = {
    "total_tokens": 180,
    "input_tokens": 120,
    "output_tokens": 60,
    "input_token_details": {"cached_tokens": 64, "audio_tokens": 40, "text_tokens": 80},
    "output_token_details": {"audio_tokens": 50, "text_tokens": 10},
}


class Clock:
    """A monotonic clock the script moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """SDK providers with in-memory exporters, and one traced session over a fake clock.

    Spans go to the SDK as they end (`defer_spans=1`) unless a test asks for groups, so a
    test can look at them mid-session; whole sessions run with the default groups.
    """

    def __init__(
        self, *, capture_content: bool = False, start: bool = True, defer_spans: int | None = None
    ) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.config = TracingConfig(
            tracer_provider=provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            capture_content=capture_content,
            defer_spans=defer_spans if defer_spans is not None else 1 if start else 16,
        )
        self.instrumentation = Instrumentation(self.config, environ={})
        self.provider = provider
        # What the app's own instrumented code (a tool's database calls) traces with.
        self.app_tracer: trace.Tracer = provider.get_tracer("example.store")
        self.clock = Clock()
        if start:
            self.tracer = self.start()

    def start(self, agent: str = "authentication") -> SessionTracer:
        return self.instrumentation.start_session(
            model="gpt-realtime",
            agent_name=agent,
            transport="websocket",
            dialect="ga",
            clock=self.clock,
        )

    def at(self, t: float, *events: Any) -> None:
        """Move the clock to `t` seconds after the start and observe `events`."""
        self.clock.now = 100.0 + t
        for event in events:
            self.tracer.observe(event)

    def send(self, t: float, frame: str) -> None:
        self.clock.now = 100.0 + t
        self.tracer.frame_sent(frame)

    # -- reading the results --------------------------------------------------------------------

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]

    def parent_of(self, span: ReadableSpan) -> ReadableSpan:
        assert span.parent is not None, span.name
        by_id = {s.context.span_id: s for s in self.spans() if s.context is not None}
        return by_id[span.parent.span_id]

    def tree(self, *, without: tuple[str, ...] = ()) -> list[str]:
        """Every span as an indented line, children after their parent in start order (spans
        whose name starts with one of `without` left out)."""
        spans = sorted(self.spans(), key=lambda s: (s.start_time or 0, s.name))
        children: dict[int | None, list[ReadableSpan]] = {}
        for span in spans:
            key = span.parent.span_id if span.parent is not None else None
            children.setdefault(key, []).append(span)
        lines: list[str] = []

        def walk(parent: int | None, depth: int) -> None:
            for span in children.get(parent, []):
                if not span.name.startswith(without or ("\0",)):
                    lines.append("  " * depth + span.name)
                assert span.context is not None
                walk(span.context.span_id, depth + 1)

        walk(None, 0)
        return lines

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        found: list[Any] = []
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found.extend(m.data.data_points)
        return found

    def histogram(self, metric: str, **attributes: Any) -> HistogramDataPoint:
        matching = [
            point
            for point in self.points(metric)
            if all(point.attributes.get(k) == v for k, v in attributes.items())
        ]
        assert len(matching) == 1, (metric, [dict(pt.attributes) for pt in self.points(metric)])
        point = matching[0]
        assert isinstance(point, HistogramDataPoint)
        return point

    def counts(self, metric: str, key: str) -> dict[Any, int]:
        return {pt.attributes.get(key): pt.value for pt in self.points(metric)}


def audio(response_id: str, item_id: str) -> AudioOut:
    return AudioOut(AUDIO, item_id, 0, response_id)


def done(response_id: str, status: str = "completed", reason: str | None = None) -> p.ResponseDone:
    body: dict[str, Any] = {"id": response_id, "status": status, "usage": USAGE}
    if reason is not None:
        body["status_details"] = {"type": status, "reason": reason}
    return p.ResponseDone(response_id, status, body)


def run_return_call(h: Harness) -> list[Any]:
    """The customer-service return call; returns the spans current in the handoff callback
    and in the tool."""
    current: list[Any] = []
    create = p.encode_response_create(event_id="agentkit_rc_1")
    # Greeting: the app asks for a response; the agent speaks first.
    h.at(0.05, p.SessionCreated({"id": "sess_42", "object": "realtime.session"}))
    h.send(0.1, create)
    h.at(0.3, AgentStart("authentication", "resp_1"))
    h.at(0.5, audio("resp_1", "item_a1"))
    h.at(0.6, audio("resp_1", "item_a1"), AssistantTranscriptDelta("item_a1", "resp_1", "Thanks"))
    h.at(1.9, AssistantTranscript("item_a1", GREETING), done("resp_1"))
    h.at(2.0, AgentEnd("authentication", "resp_1", "completed"))
    # Turn 1 (server VAD): verification.
    h.at(3.0, p.InputAudioBufferSpeechStarted("item_u1", 2900))
    h.at(5.0, p.InputAudioBufferSpeechStopped("item_u1", 4900))
    h.at(5.2, AgentStart("authentication", "resp_2"))
    h.at(5.3, UserTranscript("item_u1", USER_LINE))
    h.at(5.5, ToolStart("call_verify", "verify_customer", VERIFY_ARGS, "authentication"))
    h.at(5.6, done("resp_2"), AgentEnd("authentication", "resp_2", "completed"))
    h.at(5.9, ToolEnd("call_verify", "verify_customer", VERIFY_RESULT, "authentication"))
    h.send(5.9, create)
    h.at(6.0, AgentStart("authentication", "resp_3"))
    h.at(6.4, audio("resp_3", "item_a3"))
    h.at(8.0, done("resp_3"), AgentEnd("authentication", "resp_3", "completed"))
    # Turn 2: the caller wants a return; transfer to the returns agent, which checks.
    h.at(9.0, p.InputAudioBufferSpeechStarted("item_u2", 8900))
    h.at(11.0, p.InputAudioBufferSpeechStopped("item_u2", 10900))
    with h.tracer.guardrails("input", ["civil_language", "prompt_injection"]) as check:
        h.clock.now = 100 + 11.1
        check.finished(GuardrailVerdict(), text="I'd like to return the headphones.")
    h.at(11.2, AgentStart("authentication", "resp_4"))
    h.at(11.3, UserTranscript("item_u2", "I'd like to return the headphones."))
    h.clock.now = 100 + 11.4
    with h.tracer.handoff("call_transfer", "transfer_to_returns") as call:
        current.append(trace.get_current_span())  # on_handoff runs under the span
        h.clock.now = 100 + 11.5
        call.finished("returns")
    h.at(11.5, HandoffEvent("authentication", "returns", "call_transfer"))
    h.at(11.6, done("resp_4"), AgentEnd("authentication", "resp_4", "completed"))
    h.send(11.6, create)
    h.at(11.7, AgentStart("returns", "resp_5"))
    h.at(11.8, ToolStart("call_check", "check_return_eligibility", ELIGIBILITY_ARGS, "returns"))
    with h.tracer.tool_context("call_check"):
        # The tool's own instrumented call (a database query, say).
        current.append(trace.get_current_span())
        with h.app_tracer.start_as_current_span("SELECT orders"):
            pass
    h.at(12.0, ToolEnd("call_check", "check_return_eligibility", ELIGIBILITY_RESULT, "returns"))
    h.at(12.1, done("resp_5"), AgentEnd("returns", "resp_5", "completed"))
    h.send(12.1, create)
    h.at(12.2, AgentStart("returns", "resp_6"))
    h.at(12.6, audio("resp_6", "item_a6"))
    # Turn 3: the caller barges in while the returns agent is speaking.
    h.at(
        13.0,
        p.InputAudioBufferSpeechStarted("item_u3", 12900),
        AudioInterrupted("item_a6", 0, 400),
    )
    h.at(13.05, p.ConversationItemTruncated("item_a6", 0, 400))
    h.at(13.1, done("resp_6", "cancelled", "turn_detected"))
    h.at(13.1, AgentEnd("returns", "resp_6", "cancelled"))
    h.at(14.0, p.InputAudioBufferSpeechStopped("item_u3", 13900))
    h.at(14.2, UserTranscript("item_u3", "Yes, go ahead."))
    h.clock.now = 100 + 15.0
    h.tracer.end()
    return current


def all_values(spans: Sequence[ReadableSpan]) -> list[str]:
    values: list[str] = []
    for span in spans:
        values.extend(str(v) for v in (span.attributes or {}).values())
        for event in span.events:
            values.extend(str(v) for v in (event.attributes or {}).values())
    return values


# The customer-service example's scripted calls, played through `RealtimeSession` against the
# local server (fast pace) with the real tools, the caller's side driven by `Caller`.
EXAMPLE = Path(__file__).parents[2] / "examples" / "customer_service"


CONVERSATIONS = EXAMPLE / "conversations"


DB_SPAN = "sqlite "


class TracedDb:
    """The example's database connection, its queries traced the way an instrumented driver
    would: a span per `execute`, a child of whatever span is current (the tools are sync and
    run in worker threads)."""

    def __init__(self, db: sqlite3.Connection, tracer: trace.Tracer) -> None:
        self._db = db
        self._tracer = tracer

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        with self._tracer.start_as_current_span(DB_SPAN + sql.split()[0].upper()):
            return self._db.execute(sql, *args)

    def __enter__(self) -> sqlite3.Connection:
        return self._db.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._db.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class Recorder:
    """A `Caller` observer keeping the session events."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    def caller_turn(self, turn: CallerTurn) -> None:
        pass

    def turn_ended(self, at: float) -> None:
        pass

    def audio_sent(self, end_ms: float, at: float) -> None:
        pass

    def observe(self, event: SessionEvent, at: float) -> None:
        self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


async def play_example(definitions: Definitions, name: str, h: Harness) -> Recorder:
    """Play one conversation through a traced session; returns what the app saw."""
    script = load_script(CONVERSATIONS / f"{name}.yaml")
    recorder = Recorder()
    assert definitions.context_factory is not None
    support = definitions.context_factory()
    support.db = TracedDb(support.db, h.app_tracer)
    try:
        async with LocalRealtimeServer(script=script, pace="fast") as server:
            runner: RealtimeRunner[Any] = RealtimeRunner(
                definitions, raw_events=True, tracing=h.config
            )
            transport = WebSocketTransport(
                realtime_url(definitions.settings.model, server.url), api_key="sk-test"
            )
            async with (
                runner.session(transport, context=support) as session,
                Caller(
                    session,
                    definitions.settings,
                    pace="fast",
                    observers=[recorder],
                    turn_timeout=10,
                ) as caller,
            ):
                await caller.play(script)
    finally:
        support.close()
    return recorder


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def total_count(h: Harness, metric: str) -> int:
    return sum(point.count for point in h.points(metric))


@tool_decorator(needs_approval=True)
async def wire_money(amount: int) -> str:
    """Send money."""
    return f"sent {amount}"


bank = RealtimeAgent(
    name="Bank",
    instructions="Bank.",
    tools=[wire_money],
    input_guardrails=[input_guardrail(blocked_terms(["password"]), name="no_passwords")],
)


async def next_of(server: MemoryServerEnd, kind: str) -> dict[str, Any]:
    with anyio.fail_after(2):
        while True:
            event = await server.receive_event()
            if event["type"] == kind:
                return event


async def wait_for(condition: Any) -> None:
    with anyio.fail_after(2):
        while not condition():
            await anyio.sleep(0.005)


def trace_shape(h: Harness) -> list[tuple[Any, ...]]:
    """agentkit's spans without their random ids: each with its parent's name, its times
    (from the session's start), attributes and events, in start order."""
    by_id = {s.context.span_id: s for s in h.spans() if s.context is not None}
    t0 = h.one("agentkit.session").start_time or 0  # each session anchors its own timeline

    def at(ns: int | None) -> int:
        return (ns or 0) - t0

    return sorted(
        (
            at(s.start_time),
            s.name,
            by_id[s.parent.span_id].name if s.parent is not None else None,
            at(s.end_time),
            tuple(sorted((s.attributes or {}).items())),
            tuple((e.name, at(e.timestamp), tuple(sorted(e.attributes.items()))) for e in s.events),
        )
        for s in h.spans()
        # agentkit's spans: the app's own (a tool's query) are timed by the wall clock
        if s.instrumentation_scope is not None and s.instrumentation_scope.name == "agentkit"
    )
