"""Tracing: the span tree, attributes, privacy and metrics of scripted sessions.

The sessions are scripted as the runtime would feed `SessionTracer`: session events as
delivered, decoded wire events as received, sent frames, and the context managers tools,
handoffs and guardrails run under. The main script follows the customer-service example's
`return.yaml` conversation (greeting, verification, handoff to returns, eligibility check,
a barge-in), timed with a fake clock so durations are exact.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agentkit import RealtimeAgent, ReconnectPolicy, blocked_terms, input_guardrail, tracing
from agentkit import protocol as p
from agentkit import tool as tool_decorator
from agentkit.caller import Caller, CallerTurn
from agentkit.errors import ConfigError, ProviderError, TransportError
from agentkit.events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioInterrupted,
    AudioOut,
    ErrorEvent,
    GuardrailTripped,
    HandoffEvent,
    Reconnected,
    Reconnecting,
    SessionEvent,
    SessionLimitReached,
    SessionStatus,
    StatusChanged,
    ToolApprovalRequired,
    ToolApprovalResolved,
    ToolEnd,
    ToolStart,
    UserTranscript,
)
from agentkit.guardrails import Guardrail
from agentkit.loader import Definitions, load_definitions
from agentkit.runner import RealtimeRunner
from agentkit.runtime.policy import GuardrailVerdict
from agentkit.server import LocalRealtimeServer, load_script
from agentkit.tracing import Instrumentation, SessionTracer, TracingConfig
from agentkit.transports import (
    MemoryServerEnd,
    WebSocketTransport,
    memory_transport_pair,
    realtime_url,
)

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


@pytest.fixture
def harness() -> Harness:
    return Harness()


# -- the span tree ------------------------------------------------------------------------------


def test_span_tree_of_the_return_call(harness: Harness) -> None:
    in_handoff, in_tool = run_return_call(harness)
    assert harness.tree() == [
        "agentkit.session",
        "  invoke_agent authentication",
        "    generate_content gpt-realtime",
        "    agentkit.user_turn",
        "      generate_content gpt-realtime",
        "        execute_tool verify_customer",
        "      generate_content gpt-realtime",
        "    agentkit.user_turn",
        "      agentkit.guardrails",
        "      generate_content gpt-realtime",
        "        agentkit.handoff",
        "      generate_content gpt-realtime",
        "        execute_tool check_return_eligibility",
        "          SELECT orders",
        "      generate_content gpt-realtime",
        "  invoke_agent returns",
        "    agentkit.user_turn",
    ]
    assert in_handoff.name == "agentkit.handoff"
    assert in_tool.name == "execute_tool check_return_eligibility"


def test_session_and_agent_spans(harness: Harness) -> None:
    run_return_call(harness)
    session = harness.one("agentkit.session")
    assert session.parent is None
    assert dict(session.attributes or {}) == {
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-realtime",
        "agentkit.transport": "websocket",
        "agentkit.dialect": "ga",
        "gen_ai.conversation.id": "sess_42",
        "agentkit.session.status": "closed",
    }
    assert session.end_time is not None and session.start_time is not None
    assert (session.end_time - session.start_time) == pytest.approx(15e9, abs=2)
    first, second = harness.named("invoke_agent authentication") + harness.named(
        "invoke_agent returns"
    )
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert first.attributes["gen_ai.agent.name"] == "authentication"
    assert second.attributes["gen_ai.agent.name"] == "returns"
    # One agent's stretch ends where the next begins: at the handoff.
    assert first.end_time == second.start_time
    assert second.start_time is not None and session.start_time is not None
    assert second.start_time - session.start_time == pytest.approx(11.5e9, abs=2)


def test_user_turn_spans_cover_the_speech(harness: Harness) -> None:
    run_return_call(harness)
    turns = harness.named("agentkit.user_turn")
    assert [t.attributes and t.attributes["agentkit.turn.number"] for t in turns] == [1, 2, 3]
    first = turns[0]
    assert first.attributes is not None
    assert first.attributes["agentkit.turn.detection"] == "server_vad"
    assert first.attributes["agentkit.turn.item_id"] == "item_u1"
    # Speech start to stop (3.0 → 5.0), although the transcript came at 5.3.
    assert first.start_time is not None and first.end_time is not None
    assert first.end_time - first.start_time == pytest.approx(2e9, abs=2)
    assert "agentkit.user_turn.transcript" not in first.attributes
    # The responses answering a turn are its children.
    responses = harness.named("generate_content gpt-realtime")
    assert harness.parent_of(responses[1]) is first


def test_response_spans(harness: Harness) -> None:
    run_return_call(harness)
    responses = {
        (s.attributes or {})["gen_ai.response.id"]: s
        for s in harness.named("generate_content gpt-realtime")
    }
    assert sorted(responses) == [f"resp_{i}" for i in range(1, 7)]
    greeting = responses["resp_1"]
    assert greeting.attributes is not None
    assert greeting.attributes["gen_ai.operation.name"] == "generate_content"
    assert greeting.attributes["gen_ai.agent.name"] == "authentication"
    assert greeting.attributes["agentkit.response.trigger"] == "client"
    assert greeting.attributes["agentkit.response.status"] == "completed"
    assert greeting.attributes["agentkit.response.interrupted"] is False
    assert greeting.attributes["gen_ai.usage.input_tokens"] == 120
    assert greeting.attributes["gen_ai.usage.output_tokens"] == 60
    assert greeting.attributes["gen_ai.usage.cache_read.input_tokens"] == 64
    assert greeting.attributes["agentkit.usage.output_audio_tokens"] == 50
    assert greeting.attributes["gen_ai.response.finish_reasons"] == ("completed",)
    # Requested at 0.1, first audio at 0.5: the span starts at the request.
    assert greeting.attributes["agentkit.response.time_to_first_audio_s"] == pytest.approx(0.4)
    assert greeting.start_time is not None and greeting.end_time is not None
    assert greeting.end_time - greeting.start_time == pytest.approx(1.9e9, abs=2)
    assert responses["resp_2"].attributes is not None
    assert responses["resp_2"].attributes["agentkit.response.trigger"] == "server"
    assert responses["resp_5"].attributes is not None
    assert responses["resp_5"].attributes["gen_ai.agent.name"] == "returns"

    cut = responses["resp_6"]
    assert cut.attributes is not None
    assert cut.attributes["agentkit.response.status"] == "cancelled"
    assert cut.attributes["agentkit.response.status_reason"] == "turn_detected"
    assert cut.attributes["agentkit.response.interrupted"] is True
    assert [(e.name, dict(e.attributes or {})) for e in cut.events] == [
        ("agentkit.interruption", {"agentkit.item.id": "item_a6", "agentkit.played_ms": 400}),
        ("agentkit.truncation", {"agentkit.item.id": "item_a6", "agentkit.audio_end_ms": 400}),
    ]


def test_tool_handoff_and_guardrail_spans(harness: Harness) -> None:
    run_return_call(harness)
    verify = harness.one("execute_tool verify_customer")
    assert dict(verify.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "verify_customer",
        "gen_ai.tool.call.id": "call_verify",
        "gen_ai.tool.type": "function",
        "gen_ai.agent.name": "authentication",
        "agentkit.tool.timeout": False,
        "agentkit.tool.cancelled": False,
    }
    assert verify.status.status_code is StatusCode.UNSET
    assert verify.start_time is not None and verify.end_time is not None
    assert verify.end_time - verify.start_time == pytest.approx(0.4e9, abs=2)
    assert (harness.parent_of(verify).attributes or {})["gen_ai.response.id"] == "resp_2"

    handoff = harness.one("agentkit.handoff")
    assert dict(handoff.attributes or {}) == {
        "gen_ai.tool.name": "transfer_to_returns",
        "gen_ai.tool.call.id": "call_transfer",
        "agentkit.handoff.from": "authentication",
        "agentkit.handoff.to": "returns",
        "agentkit.handoff.new_agent_spoke": True,
    }
    # From the transfer call (11.4) to the returns agent's first audio (12.6).
    assert handoff.start_time is not None and handoff.end_time is not None
    assert handoff.end_time - handoff.start_time == pytest.approx(1.2e9, abs=2)

    guardrails = harness.one("agentkit.guardrails")
    assert dict(guardrails.attributes or {}) == {
        "agentkit.guardrail.stage": "input",
        "agentkit.guardrail.names": ("civil_language", "prompt_injection"),
        "agentkit.guardrail.tripped": False,
    }
    assert harness.parent_of(guardrails).name == "agentkit.user_turn"


def test_tool_code_nests_under_the_tool_span(harness: Harness) -> None:
    tracer = harness.provider.get_tracer("example.store")
    harness.at(1.0, AgentStart("returns", "resp_1"))
    harness.at(1.1, ToolStart("call_1", "lookup_order", "{}", "returns"))
    seen: dict[str, Any] = {}

    def blocking_query() -> None:
        seen["thread"] = threading.get_ident()
        with tracer.start_as_current_span("SELECT sync"):
            pass

    async def tool() -> None:
        with tracer.start_as_current_span("SELECT async"):
            await anyio.sleep(0)
        # A sync tool runs in a worker thread: the context must follow it there.
        await anyio.to_thread.run_sync(blocking_query)

    async def run_in_task() -> None:
        async with anyio.create_task_group() as tg:

            async def run_tool() -> None:
                with harness.tracer.tool_context("call_1"):
                    await tool()

            tg.start_soon(run_tool)

    anyio.run(run_in_task)
    assert seen["thread"] != threading.get_ident()
    harness.at(1.5, ToolEnd("call_1", "lookup_order", "{}", "returns"))
    tool_span = harness.one("execute_tool lookup_order")
    assert harness.parent_of(harness.one("SELECT async")) == tool_span
    assert harness.parent_of(harness.one("SELECT sync")) == tool_span
    # Outside the context manager the tool span is not current.
    assert trace.get_current_span() is trace.INVALID_SPAN


# -- privacy -----------------------------------------------------------------------------------


def all_values(spans: Sequence[ReadableSpan]) -> list[str]:
    values: list[str] = []
    for span in spans:
        values.extend(str(v) for v in (span.attributes or {}).values())
        for event in span.events:
            values.extend(str(v) for v in (event.attributes or {}).values())
    return values


def test_content_is_not_recorded_by_default(harness: Harness) -> None:
    run_return_call(harness)
    values = all_values(harness.spans())
    for text in [*CONTENT, "I'd like to return the headphones."]:
        assert not any(text in v for v in values), text


def test_content_is_recorded_when_turned_on() -> None:
    h = Harness(capture_content=True)
    run_return_call(h)
    verify = h.one("execute_tool verify_customer")
    assert verify.attributes is not None
    assert verify.attributes["gen_ai.tool.call.arguments"] == VERIFY_ARGS
    assert verify.attributes["gen_ai.tool.call.result"] == VERIFY_RESULT
    turn = h.named("agentkit.user_turn")[0]
    assert turn.attributes is not None
    assert turn.attributes["agentkit.user_turn.transcript"] == USER_LINE
    greeting = h.named("generate_content gpt-realtime")[0]
    assert greeting.attributes is not None
    assert greeting.attributes["agentkit.response.transcript"] == GREETING
    guardrails = h.one("agentkit.guardrails")
    assert (guardrails.attributes or {})["agentkit.guardrail.text"] == (
        "I'd like to return the headphones."
    )
    # Audio never is, in any form.
    assert not any(AUDIO.hex()[:32] in v or str(AUDIO)[:32] in v for v in all_values(h.spans()))


def test_content_capture_follows_the_genai_environment_variable() -> None:
    on = Instrumentation(environ={tracing.CAPTURE_CONTENT_ENV: "True"})
    off = Instrumentation(environ={tracing.CAPTURE_CONTENT_ENV: "1"})
    explicit = Instrumentation(
        TracingConfig(capture_content=False), environ={tracing.CAPTURE_CONTENT_ENV: "true"}
    )
    assert (on.capture_content, off.capture_content, explicit.capture_content) == (
        True,
        False,
        False,
    )


# -- metrics ---------------------------------------------------------------------------------


def test_latency_metrics_of_the_return_call(harness: Harness) -> None:
    run_return_call(harness)
    # End of speech → first audio: turn 1 (stopped 5.0, audio 6.4). Turn 2's first audio
    # came at 12.6 after stopping at 11.0; turn 3 was never answered.
    latency = harness.histogram(
        "agentkit.turn.response_latency", **{"gen_ai.agent.name": "authentication"}
    )
    assert (latency.count, latency.sum) == (1, pytest.approx(1.4))
    returns = harness.histogram(
        "agentkit.turn.response_latency", **{"gen_ai.agent.name": "returns"}
    )
    assert (returns.count, returns.sum) == (1, pytest.approx(1.6))
    assert returns.attributes["agentkit.turn.detection"] == "server_vad"
    # response.create → first audio: greeting 0.4, after the tool 0.5, after the check 0.5.
    ttfa = [pt for pt in harness.points("agentkit.response.time_to_first_audio")]
    assert sorted(
        (pt.attributes["gen_ai.agent.name"], pt.count, round(pt.sum, 6)) for pt in ttfa
    ) == [
        ("authentication", 2, 0.9),
        ("returns", 1, 0.5),
    ]
    verify = harness.histogram("agentkit.tool.duration", **{"gen_ai.tool.name": "verify_customer"})
    assert (verify.count, verify.sum) == (1, pytest.approx(0.4))
    handoff = harness.histogram("agentkit.handoff.duration")
    assert (handoff.count, handoff.sum) == (1, pytest.approx(1.2))
    assert handoff.attributes["agentkit.handoff.to"] == "returns"
    assert harness.counts("agentkit.interruptions", "gen_ai.agent.name") == {"returns": 1}
    # One session opened and closed.
    assert [pt.value for pt in harness.points("agentkit.sessions.active")] == [0]
    assert harness.points("agentkit.tool.failures") == []


def test_a_typed_turn_is_timed_from_when_it_was_sent(harness: Harness) -> None:
    harness.clock.now = 100 + 1.0
    harness.tracer.user_text("Where is my order?")
    harness.send(1.0, p.encode_response_create())
    harness.at(1.2, AgentStart("authentication", "resp_1"))
    harness.at(1.75, audio("resp_1", "item_1"), audio("resp_1", "item_1"))
    harness.at(2.0, AgentEnd("authentication", "resp_1", "completed"))
    harness.tracer.end()
    latency = harness.histogram("agentkit.turn.response_latency")
    assert (latency.count, latency.sum) == (1, pytest.approx(0.75))
    assert latency.attributes["agentkit.turn.detection"] == "text"
    turn = harness.one("agentkit.user_turn")
    assert turn.start_time == turn.end_time
    assert harness.parent_of(harness.one("generate_content gpt-realtime")) == turn


def test_push_to_talk_turn(harness: Harness) -> None:
    harness.clock.now = 100 + 1.0
    harness.tracer.turn_started()
    harness.clock.now = 100 + 2.5
    harness.tracer.turn_ended()
    harness.send(2.5, p.encode_response_create())
    harness.at(2.6, p.InputAudioBufferCommitted("item_ptt"), AgentStart("authentication", "r1"))
    harness.at(2.9, audio("r1", "item_a"), UserTranscript("item_ptt", "hello"))
    turn = harness.one("agentkit.user_turn")
    assert turn.attributes is not None
    assert turn.attributes["agentkit.turn.detection"] == "push_to_talk"
    assert turn.attributes["agentkit.turn.item_id"] == "item_ptt"
    assert turn.start_time is not None and turn.end_time is not None
    assert turn.end_time - turn.start_time == pytest.approx(1.5e9, abs=2)
    latency = harness.histogram("agentkit.turn.response_latency")
    assert latency.sum == pytest.approx(0.4)


def test_tool_failures_timeouts_and_cancellations(harness: Harness) -> None:
    harness.at(1.0, AgentStart("returns", "resp_1"))
    harness.at(1.0, ToolStart("c1", "start_return", "{}", "returns"))
    harness.at(1.0, ToolStart("c2", "lookup_order", "{}", "returns"))
    harness.at(1.0, ToolStart("c3", "list_offers", "{}", "returns"))
    harness.at(9.0, ToolEnd("c1", "start_return", '{"error": "timeout"}', "returns", "timeout"))
    harness.at(9.5, ToolEnd("c2", "lookup_order", '{"error": "error"}', "returns", "error"))
    harness.at(9.7, ToolEnd("c3", "list_offers", '{"error": "cancelled"}', "returns", "cancelled"))
    timed_out = harness.one("execute_tool start_return")
    assert timed_out.attributes is not None
    assert timed_out.attributes["agentkit.tool.timeout"] is True
    assert timed_out.attributes["error.type"] == "timeout"
    assert timed_out.status.status_code is StatusCode.ERROR
    cancelled = harness.one("execute_tool list_offers")
    assert cancelled.attributes is not None
    assert cancelled.attributes["agentkit.tool.cancelled"] is True
    # Interrupted by the caller is not a failure of the tool.
    assert cancelled.status.status_code is StatusCode.UNSET
    assert harness.counts("agentkit.tool.failures", "error.type") == {"timeout": 1, "error": 1}
    duration = harness.histogram("agentkit.tool.duration", **{"gen_ai.tool.name": "start_return"})
    assert duration.sum == pytest.approx(8.0)


def test_approvals(harness: Harness) -> None:
    harness.at(1.0, AgentStart("returns", "resp_1"))
    harness.at(1.1, ToolApprovalRequired("c1", "start_return", "{}", "returns", 60.0, "reject"))
    harness.at(1.1, ToolApprovalRequired("c2", "start_return", "{}", "returns", 60.0, "reject"))
    harness.at(2.0, AgentEnd("returns", "resp_1", "completed"))
    harness.at(4.0, ToolApprovalResolved("c1", "start_return", True, "app"))
    harness.at(4.0, ToolStart("c1", "start_return", "{}", "returns"))
    harness.at(4.5, ToolEnd("c1", "start_return", '{"rma": "R1"}', "returns"))
    harness.at(5.0, ToolApprovalResolved("c2", "start_return", False, "timeout"))
    harness.at(5.0, ToolEnd("c2", "start_return", '{"error": "rejected"}', "returns", "rejected"))
    approvals = sorted(harness.named("agentkit.tool_approval"), key=lambda s: s.start_time or 0)
    assert [
        (
            (s.attributes or {})["gen_ai.tool.call.id"],
            (s.attributes or {})["agentkit.approval.approved"],
            (s.attributes or {})["agentkit.approval.by"],
        )
        for s in approvals
    ] == [("c1", True, "app"), ("c2", False, "timeout")]
    response = harness.one("generate_content gpt-realtime")
    # The approved call ran after its response ended, and still belongs to it.
    assert harness.parent_of(harness.one("execute_tool start_return")) == response
    assert all(harness.parent_of(s) == response for s in approvals)
    assert harness.points("agentkit.tool.failures") == []


def test_guardrail_trip(harness: Harness) -> None:
    harness.at(1.0, AgentStart("returns", "resp_1"))
    trip = Guardrail("no_card_numbers", lambda ctx, text: True, stage="output")
    with harness.tracer.guardrails("output", ["no_card_numbers"]) as check:
        check.finished(GuardrailVerdict(trip, {"matched": "4111"}, (("pii", "boom"),)))
    harness.at(
        1.2,
        GuardrailTripped(
            "no_card_numbers", "output", {"matched": "4111"}, "card 4111", "item_1", "resp_1", None
        ),
    )
    harness.at(1.3, AgentEnd("returns", "resp_1", "cancelled"))
    span = harness.one("agentkit.guardrails")
    assert span.attributes is not None
    assert span.attributes["agentkit.guardrail.tripped"] is True
    assert span.attributes["agentkit.guardrail.name"] == "no_card_numbers"
    assert span.attributes["agentkit.guardrail.errors"] == ("pii",)
    assert harness.parent_of(span).name == "generate_content gpt-realtime"
    response = harness.one("generate_content gpt-realtime")
    assert [e.name for e in response.events] == ["agentkit.guardrail_tripped"]
    assert "card 4111" not in all_values(harness.spans())
    assert harness.counts("agentkit.guardrail.trips", "agentkit.guardrail.name") == {
        "no_card_numbers": 1
    }


def test_refused_handoff(harness: Harness) -> None:
    harness.at(1.0, AgentStart("authentication", "resp_1"))
    with harness.tracer.handoff("c1", "transfer_to_sales") as call:
        harness.clock.now = 100 + 1.3
        call.finished(None, '{"error": "invalid_arguments"}')
    span = harness.one("agentkit.handoff")
    assert span.attributes is not None
    assert span.attributes["error.type"] == "refused"
    assert "gen_ai.tool.call.result" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR
    point = harness.histogram("agentkit.handoff.duration")
    assert point.sum == pytest.approx(0.3)
    assert point.attributes["error.type"] == "refused"


def test_cancelled_handoff_closes_its_span(harness: Harness) -> None:
    class Hangup(Exception):
        pass

    with pytest.raises(Hangup), harness.tracer.handoff("c1", "transfer_to_sales"):
        raise Hangup
    assert (harness.one("agentkit.handoff").attributes or {})["error.type"] == "Hangup"


def test_app_switch_is_an_instant_handoff(harness: Harness) -> None:
    harness.at(2.0, HandoffEvent("authentication", "sales", None))
    span = harness.one("agentkit.handoff")
    assert (span.attributes or {})["agentkit.handoff.trigger"] == "app"
    assert span.start_time == span.end_time
    assert harness.points("agentkit.handoff.duration") == []
    assert harness.one("invoke_agent authentication").end_time == span.end_time


def test_reconnects(harness: Harness) -> None:
    harness.at(1.0, StatusChanged(SessionStatus.CONNECTED, SessionStatus.RECONNECTING))
    harness.at(1.0, Reconnecting(1, 0.5, "connection lost"))
    harness.at(2.0, Reconnecting(2, 1.0, "connection lost"))
    harness.at(3.5, Reconnected(2, 7))
    harness.at(10.0, Reconnecting(1, 0.5, "session_expired"))
    harness.at(11.0, StatusChanged(SessionStatus.RECONNECTING, SessionStatus.DISCONNECTED))
    harness.tracer.end()
    spans = sorted(harness.named("agentkit.reconnect"), key=lambda s: s.start_time or 0)
    assert [
        (
            (s.attributes or {})["agentkit.reconnect.attempt"],
            (s.attributes or {})["agentkit.reconnect.outcome"],
            s.status.status_code,
        )
        for s in spans
    ] == [
        (1, "failed", StatusCode.ERROR),
        (2, "reconnected", StatusCode.UNSET),
        (1, "gave_up", StatusCode.ERROR),
    ]
    assert (spans[1].attributes or {})["agentkit.reconnect.replayed_items"] == 7
    assert (spans[0].attributes or {})["agentkit.reconnect.delay_s"] == 0.5
    assert all(harness.parent_of(s).name == "agentkit.session" for s in spans)
    assert harness.counts("agentkit.reconnects", "agentkit.reconnect.outcome") == {
        "failed": 1,
        "reconnected": 1,
        "gave_up": 1,
    }


def test_errors_and_final_status(harness: Harness) -> None:
    harness.send(0.5, p.encode_response_create(event_id="agentkit_rc_1"))
    harness.at(0.6, ErrorEvent(ProviderError("busy"), "conversation_already_has_active_response"))
    # The refused create does not time the server's own response.
    harness.at(0.7, AgentStart("authentication", "resp_vad"))
    harness.at(0.8, ErrorEvent(ProviderError("bad"), "invalid_value"))
    harness.at(1.0, ToolStart("c1", "verify_customer", "{}", "authentication"))
    harness.clock.now = 100 + 2.0
    harness.tracer.end(TransportError("connection lost"))
    harness.tracer.end()  # idempotent
    session = harness.one("agentkit.session")
    assert session.attributes is not None
    assert session.attributes["agentkit.session.status"] == "failed"
    assert session.attributes["error.type"] == "TransportError"
    assert session.status.status_code is StatusCode.ERROR
    assert [(e.attributes or {})["error.type"] for e in session.events] == [
        "conversation_already_has_active_response",
        "invalid_value",
    ]
    assert harness.counts("agentkit.errors", "error.type") == {
        "conversation_already_has_active_response": 1,
        "invalid_value": 1,
    }
    # Everything still open was closed with the session.
    response = harness.one("generate_content gpt-realtime")
    assert response.attributes is not None
    assert response.attributes["agentkit.response.trigger"] == "server"
    assert response.attributes["agentkit.response.status"] == "unfinished"
    assert (harness.one("execute_tool verify_customer").attributes or {})["error.type"] == (
        "session_ended"
    )
    assert [pt.value for pt in harness.points("agentkit.sessions.active")] == [0]


def test_session_limit_status(harness: Harness) -> None:
    harness.at(5.0, SessionLimitReached("idle_timeout", 5.0))
    harness.tracer.end()
    attributes = harness.one("agentkit.session").attributes or {}
    assert attributes["agentkit.session.status"] == "limit_reached"
    assert attributes["agentkit.session.limit"] == "idle_timeout"


def test_active_sessions_counts_concurrent_sessions(harness: Harness) -> None:
    second = harness.start("sales")
    assert [pt.value for pt in harness.points("agentkit.sessions.active")] == [2]
    second.end()
    assert [pt.value for pt in harness.points("agentkit.sessions.active")] == [1]


def test_a_failing_handler_never_reaches_the_session(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        type = "agent_start"  # looks like AgentStart, lacks its fields

    with caplog.at_level(logging.WARNING, logger="agentkit.tracing"):
        harness.tracer.observe(Broken())  # type: ignore[arg-type]
    assert "tracing 'agent_start' failed" in caplog.text


# -- configuration ---------------------------------------------------------------------------


def test_no_sdk_configured_runs_on_the_no_op_api(caplog: pytest.LogCaptureFixture) -> None:
    """The default config uses the global providers; without an SDK everything is a no-op
    and nothing fails."""
    h = Harness()
    h.instrumentation = Instrumentation(environ={})
    h.app_tracer = trace.get_tracer("example.store")
    h.tracer = h.start()
    with caplog.at_level(logging.DEBUG, logger="agentkit.tracing"):
        run_return_call(h)
    assert caplog.records == []
    assert h.spans() == []


def test_semconv_names_match_the_installed_conventions() -> None:
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
    from opentelemetry.semconv.attributes import error_attributes

    ours = {name: getattr(tracing, name) for name in dir(tracing) if name.startswith("GEN_AI_")}
    assert len(ours) == 16
    for name, value in ours.items():
        assert getattr(g, name) == value, name
    assert tracing.ERROR_TYPE == error_attributes.ERROR_TYPE
    operations = {v.value for v in g.GenAiOperationNameValues}
    assert {"invoke_agent", "execute_tool", "generate_content"} <= operations
    assert "openai" in {v.value for v in g.GenAiProviderNameValues}
    assert "speech" in {v.value for v in g.GenAiOutputTypeValues}


@pytest.mark.parametrize(
    "frame",
    [
        p.encode_response_create(),
        p.encode_response_create(event_id="agentkit_rc_7"),
        p.encode_response_create({"instructions": "Say hi"}, dialect="beta", event_id="x"),
    ],
)
def test_response_create_frames_are_recognised(harness: Harness, frame: str) -> None:
    harness.tracer.frame_sent(p.encode_input_audio_append(AUDIO))
    harness.tracer.frame_sent(p.encode_response_cancel())
    harness.tracer.frame_sent("{}")  # shorter than the type's first character: no error
    harness.tracer.frame_sent(frame)
    harness.at(1.0, AgentStart("authentication", "resp_1"))
    harness.at(1.0, AgentEnd("authentication", "resp_1", "completed"))
    response = harness.one("generate_content gpt-realtime")
    assert (response.attributes or {})["agentkit.response.trigger"] == "client"


@pytest.fixture
def console_output() -> io.StringIO:
    return io.StringIO()


def test_console_setup_prints_spans(console_output: io.StringIO) -> None:
    setup = tracing.setup_tracing("console", environ={}, out=console_output, set_global=False)
    assert setup.tracer_provider is not None
    instrumentation = Instrumentation(setup.config, environ={})
    session = instrumentation.start_session(
        model="gpt-realtime", agent_name="triage", transport="memory", dialect="ga"
    )
    session.end()
    setup.shutdown()
    setup.shutdown()
    out = console_output.getvalue()
    assert '"name": "agentkit.session"' in out
    assert '"name": "invoke_agent triage"' in out
    assert "agentkit.sessions.active" in out
    assert '"service.name": "agentkit"' in out


def test_setup_reads_the_standard_environment(console_output: io.StringIO) -> None:
    assert tracing.setup_tracing(environ={}).tracer_provider is None
    assert tracing.setup_tracing(environ={"OTEL_TRACES_EXPORTER": "none"}).tracer_provider is None
    disabled = tracing.setup_tracing("console", environ={"OTEL_SDK_DISABLED": "true"})
    assert disabled.tracer_provider is None and disabled.config.enabled is False
    setup = tracing.setup_tracing(
        environ={"OTEL_TRACES_EXPORTER": "console"}, out=console_output, set_global=False
    )
    assert setup.tracer_provider is not None
    setup.shutdown()
    with pytest.raises(ConfigError, match="unknown trace exporter 'zipkin'"):
        tracing.setup_tracing("zipkin", environ={})  # type: ignore[arg-type]


def test_otlp_setup() -> None:
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"pip install 'agentkit\[otlp\]'"):
            tracing.setup_tracing("otlp", environ={}, set_global=False)
        return
    setup = tracing.setup_tracing("otlp", environ={}, set_global=False)
    assert setup.tracer_provider is not None
    setup.shutdown()


# -- through the real session -------------------------------------------------------------------
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


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    pytest.importorskip("agentkit_helpdesk")
    return load_definitions(EXAMPLE / "agents.yaml", env={})


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


async def test_return_call_through_the_session(definitions: Definitions) -> None:
    h = Harness(start=False)
    call = await play_example(definitions, "return", h)

    # The tree (guardrail rounds and the tools' queries are checked below).
    assert h.tree(without=("agentkit.guardrails", DB_SPAN)) == [
        "agentkit.session",
        "  invoke_agent authentication",
        "    generate_content gpt-realtime",  # the greeting
        "    agentkit.user_turn",  # phone and order number
        "      generate_content gpt-realtime",
        "        execute_tool verify_customer",
        "      generate_content gpt-realtime",
        "    agentkit.user_turn",  # a return: transfer, then the returns agent checks
        "      generate_content gpt-realtime",
        "        agentkit.handoff",
        "      generate_content gpt-realtime",
        "        execute_tool check_return_eligibility",
        "      generate_content gpt-realtime",
        "  invoke_agent returns",
        "    agentkit.user_turn",  # "Yes, go ahead."
        "      generate_content gpt-realtime",
        "        execute_tool start_return",
        "      generate_content gpt-realtime",
    ]
    spans = h.spans()
    assert len({s.context.trace_id for s in spans if s.context is not None}) == 1
    assert all(s.end_time is not None for s in spans)
    assert [
        s.status.status_code for s in spans if s.status.status_code is not StatusCode.UNSET
    ] == []

    session = h.one("agentkit.session")
    conversation_id = attrs(session).pop("gen_ai.conversation.id")
    assert conversation_id.startswith("sess_")
    assert {k: v for k, v in attrs(session).items() if k != "gen_ai.conversation.id"} == {
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-realtime",
        "agentkit.transport": "websocket",
        "agentkit.dialect": "ga",
        "agentkit.session.status": "closed",
    }
    assert [attrs(s)["gen_ai.agent.name"] for s in h.named("invoke_agent authentication")] == [
        "authentication"
    ]

    # Responses: one span per response the app saw, in order, with the agent that spoke.
    responses = sorted(h.named("generate_content gpt-realtime"), key=lambda s: s.start_time or 0)
    starts = call.of(AgentStart)
    assert [attrs(s)["gen_ai.response.id"] for s in responses] == [e.response_id for e in starts]
    assert [attrs(s)["gen_ai.agent.name"] for s in responses] == [e.agent_name for e in starts]
    assert [e.agent_name for e in starts] == ["authentication"] * 4 + ["returns"] * 4
    for span in responses:
        a = attrs(span)
        assert a["gen_ai.operation.name"] == "generate_content"
        assert a["gen_ai.output.type"] == "speech"
        assert a["agentkit.response.status"] == "completed"
        assert a["gen_ai.response.finish_reasons"] == ("completed",)
        assert a["gen_ai.usage.input_tokens"] > 0
        assert span.kind is trace.SpanKind.CLIENT
    # Server VAD starts the response to each caller turn; the greeting and the answers after
    # tools and the transfer are asked for by the session.
    assert [attrs(s)["agentkit.response.trigger"] for s in responses] == [
        "client",
        "server",
        "client",
        "server",
        "client",
        "client",
        "server",
        "client",
    ]

    # Caller turns: speech start → stop, numbered, named by their item.
    turns = sorted(h.named("agentkit.user_turn"), key=lambda s: s.start_time or 0)
    assert [attrs(t)["agentkit.turn.number"] for t in turns] == [1, 2, 3]
    assert {attrs(t)["agentkit.turn.detection"] for t in turns} == {"server_vad"}
    assert [attrs(t)["agentkit.turn.item_id"] for t in turns] == [
        e.item_id for e in call.of(UserTranscript)
    ]

    # Tools: call ids from the session's events, parents the responses that made the calls.
    tool_starts = {e.tool_name: e for e in call.of(ToolStart)}
    for name, response_index in (
        ("verify_customer", 1),
        ("check_return_eligibility", 4),
        ("start_return", 6),
    ):
        span = h.one(f"execute_tool {name}")
        assert attrs(span) == {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": tool_starts[name].call_id,
            "gen_ai.tool.type": "function",
            "gen_ai.agent.name": tool_starts[name].agent_name,
            "agentkit.tool.timeout": False,
            "agentkit.tool.cancelled": False,
        }
        assert h.parent_of(span) == responses[response_index]
        # The tool's own queries (a sync tool, in a worker thread) nest under its span.
        queries = [s for s in spans if s.name.startswith(DB_SPAN) and h.parent_of(s) == span]
        assert queries, name
    assert all(
        h.parent_of(s).name.startswith("execute_tool ") for s in spans if s.name.startswith(DB_SPAN)
    )

    handoff = h.one("agentkit.handoff")
    assert attrs(handoff) == {
        "gen_ai.tool.name": "transfer_to_returns",
        "gen_ai.tool.call.id": call.of(HandoffEvent)[0].call_id,
        "agentkit.handoff.from": "authentication",
        "agentkit.handoff.to": "returns",
        "agentkit.handoff.new_agent_spoke": True,
    }
    assert h.parent_of(handoff) == responses[3]
    # The transfer lasts until the returns agent is heard: after its first response began.
    assert handoff.end_time is not None and responses[5].start_time is not None
    assert handoff.end_time > responses[5].start_time

    # Guardrails: every caller turn checked (input), every spoken answer checked (output).
    rounds = h.named("agentkit.guardrails")
    inputs = [g for g in rounds if attrs(g)["agentkit.guardrail.stage"] == "input"]
    outputs = [g for g in rounds if attrs(g)["agentkit.guardrail.stage"] == "output"]
    assert sorted(h.parent_of(g).context.span_id for g in inputs) == sorted(
        t.context.span_id for t in turns
    )
    assert {attrs(g)["agentkit.guardrail.names"] for g in inputs} == {
        ("civil_language", "prompt_injection")
    }
    assert {attrs(g)["agentkit.guardrail.names"] for g in outputs} == {("no_card_numbers",)}
    assert {h.parent_of(g).name for g in outputs} == {"generate_content gpt-realtime"}
    assert {attrs(g)["agentkit.guardrail.tripped"] for g in rounds} == {False}

    # Privacy: nothing the caller, the agents or the tools said is in the trace.
    values = " ".join(all_values(spans))
    said = [e.transcript for e in call.of(UserTranscript)]
    said += [e.transcript for e in call.of(AssistantTranscript)]
    said += [e.arguments for e in call.of(ToolStart)] + [e.output for e in call.of(ToolEnd)]
    assert len(said) == 3 + 4 + 3 + 3
    assert [text for text in said if text in values] == []

    # Metrics.
    durations = {pt.attributes["gen_ai.tool.name"]: pt for pt in h.points("agentkit.tool.duration")}
    assert sorted(durations) == ["check_return_eligibility", "start_return", "verify_customer"]
    for name, point in durations.items():
        assert point.count == 1
        span = h.one(f"execute_tool {name}")
        assert span.end_time is not None and span.start_time is not None
        assert point.sum == pytest.approx((span.end_time - span.start_time) / 1e9, abs=1e-6)
        assert dict(point.attributes) == {
            "gen_ai.tool.name": name,
            "gen_ai.agent.name": tool_starts[name].agent_name,
        }
    moved = h.histogram("agentkit.handoff.duration")
    assert dict(moved.attributes) == {
        "agentkit.handoff.from": "authentication",
        "agentkit.handoff.to": "returns",
    }
    assert moved.count == 1
    assert handoff.end_time is not None and handoff.start_time is not None
    assert moved.sum == pytest.approx((handoff.end_time - handoff.start_time) / 1e9, abs=1e-6)
    # One response latency per caller turn, each from the end of speech to the first audio.
    latencies = h.points("agentkit.turn.response_latency")
    assert sum(pt.count for pt in latencies) == 3
    assert {pt.attributes["agentkit.turn.detection"] for pt in latencies} == {"server_vad"}
    assert all(pt.min > 0 and pt.max < 10 for pt in latencies)
    # Time to first audio: every response the session asked for that spoke.
    spoke = [s for s in responses if "agentkit.response.time_to_first_audio_s" in attrs(s)]
    asked = [s for s in spoke if attrs(s)["agentkit.response.trigger"] == "client"]
    assert total_count(h, "agentkit.response.time_to_first_audio") == len(asked) == 4
    assert h.points("agentkit.tool.failures") == []
    assert [pt.value for pt in h.points("agentkit.sessions.active")] == [0]


async def test_content_is_recorded_through_the_session_when_turned_on(
    definitions: Definitions,
) -> None:
    h = Harness(start=False, capture_content=True)
    call = await play_example(definitions, "return", h)
    turns = sorted(h.named("agentkit.user_turn"), key=lambda s: s.start_time or 0)
    assert [attrs(t)["agentkit.user_turn.transcript"] for t in turns] == [
        e.transcript for e in call.of(UserTranscript)
    ]
    for start, end in zip(call.of(ToolStart), call.of(ToolEnd), strict=True):
        span = h.one(f"execute_tool {start.tool_name}")
        assert attrs(span)["gen_ai.tool.call.arguments"] == start.arguments
        assert attrs(span)["gen_ai.tool.call.result"] == end.output
    transcripts = [
        attrs(s)["agentkit.response.transcript"]
        for s in sorted(h.named("generate_content gpt-realtime"), key=lambda s: s.start_time or 0)
        if "agentkit.response.transcript" in attrs(s)
    ]
    assert transcripts == [e.transcript for e in call.of(AssistantTranscript)]
    checked = [attrs(g).get("agentkit.guardrail.text") for g in h.named("agentkit.guardrails")]
    assert all(isinstance(text, str) and text for text in checked)


@pytest.mark.parametrize("name", ["return", "sale", "escalation", "failed_authentication"])
async def test_every_conversation_traces_a_consistent_tree(
    definitions: Definitions, name: str
) -> None:
    h = Harness(start=False)
    call = await play_example(definitions, name, h)
    spans = h.spans()
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    roots = [s for s in spans if s.parent is None]
    assert [r.name for r in roots] == ["agentkit.session"]
    assert all(s.parent.span_id in by_id for s in spans if s.parent is not None)
    handoffs = call.of(HandoffEvent)
    assert [
        attrs(s)["gen_ai.agent.name"]
        for s in sorted(
            (s for s in spans if s.name.startswith("invoke_agent ")),
            key=lambda s: s.start_time or 0,
        )
    ] == [handoffs[0].from_agent] + [e.to_agent for e in handoffs]
    assert [
        (attrs(s)["agentkit.handoff.from"], attrs(s)["agentkit.handoff.to"])
        for s in sorted(h.named("agentkit.handoff"), key=lambda s: s.start_time or 0)
    ] == [(e.from_agent, e.to_agent) for e in handoffs]
    tools = sorted(
        (s for s in spans if s.name.startswith("execute_tool ")), key=lambda s: s.start_time or 0
    )
    assert [attrs(s)["gen_ai.tool.call.id"] for s in tools] == [e.call_id for e in call.of(ToolEnd)]
    assert {h.parent_of(s).name for s in tools} == {"generate_content gpt-realtime"}
    assert len(h.named("generate_content gpt-realtime")) == len(call.of(AgentStart))
    script = load_script(CONVERSATIONS / f"{name}.yaml")
    assert len(h.named("agentkit.user_turn")) == len(script.turns)
    assert total_count(h, "agentkit.tool.duration") == len(tools)
    assert total_count(h, "agentkit.turn.response_latency") == len(script.turns)
    assert [pt.value for pt in h.points("agentkit.sessions.active")] == [0]
    assert (attrs(h.one("agentkit.session"))["agentkit.session.status"]) == "closed"


# -- the session's own hooks, over the in-memory transport ---------------------------------------


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


async def test_typed_turn_approval_and_app_calls_through_the_session() -> None:
    h = Harness(start=False)
    client, server = memory_transport_pair()
    session = RealtimeRunner(bank, tracing=h.config).session(client)
    async with session:
        await next_of(server, "session.update")
        # A typed turn: input guardrails, then the session asks for the answer.
        await session.send_text("Send five to Ada.")
        await next_of(server, "response.create")
        await server.send_event({"type": "response.created", "response": {"id": "resp_1"}})
        await server.send_event(
            {
                "type": "response.output_item.done",
                "response_id": "resp_1",
                "output_index": 0,
                "item": {
                    "id": "i_c1",
                    "type": "function_call",
                    "call_id": "c1",
                    "name": "wire_money",
                    "arguments": '{"amount": 5}',
                },
            }
        )
        await wait_for(lambda: session.pending_approvals == ["c1"])
        assert await session.approve("c1")
        await next_of(server, "conversation.item.create")
        await server.send_event(
            {"type": "response.done", "response": {"id": "resp_1", "status": "completed"}}
        )
        await next_of(server, "response.create")  # the follow-up after the tool
        # Push-to-talk.
        await session.start_turn()
        await session.end_turn()
        await next_of(server, "input_audio_buffer.commit")
    await server.close()
    assert h.tree(without=("agentkit.guardrails",)) == [
        "agentkit.session",
        "  invoke_agent Bank",
        "    agentkit.user_turn",
        "      generate_content gpt-realtime",
        "        agentkit.tool_approval",
        "        execute_tool wire_money",
        "    agentkit.user_turn",
    ]
    turns = sorted(h.named("agentkit.user_turn"), key=lambda s: s.start_time or 0)
    assert [attrs(t)["agentkit.turn.detection"] for t in turns] == ["text", "push_to_talk"]
    response = h.one("generate_content gpt-realtime")
    assert attrs(response)["agentkit.response.trigger"] == "client"
    approval = h.one("agentkit.tool_approval")
    assert attrs(approval)["agentkit.approval.approved"] is True
    assert attrs(approval)["agentkit.approval.by"] == "app"
    guardrails = h.one("agentkit.guardrails")
    assert attrs(guardrails)["agentkit.guardrail.names"] == ("no_passwords",)
    assert h.parent_of(guardrails) == turns[0]
    assert attrs(h.one("agentkit.session"))["agentkit.transport"] == "memory"


async def test_reconnect_and_its_replay_are_traced() -> None:
    h = Harness(start=False, defer_spans=1)
    pairs = [memory_transport_pair() for _ in range(2)]
    transports = iter(pairs[1:])
    runner = RealtimeRunner(
        bank, reconnect=ReconnectPolicy(base_delay_s=0.01, jitter=0.0), tracing=h.config
    )
    session = runner.session(pairs[0][0], transport_factory=lambda: next(transports)[0])
    async with session:
        first, second = pairs[0][1], pairs[1][1]
        await next_of(first, "session.update")
        await session.send_text("hello")
        await next_of(first, "response.create")
        await first.abort()
        await next_of(second, "session.update")
        # The request the drop cut off is asked again, after the replay: its frame is seen.
        await next_of(second, "response.create")
        await second.send_event({"type": "response.created", "response": {"id": "resp_2"}})
        await second.send_event(
            {"type": "response.done", "response": {"id": "resp_2", "status": "completed"}}
        )
        await wait_for(lambda: h.named("generate_content gpt-realtime"))
    await second.close()
    reconnect = h.one("agentkit.reconnect")
    assert h.parent_of(reconnect).name == "agentkit.session"
    assert attrs(reconnect) == {
        "agentkit.reconnect.attempt": 1,
        "agentkit.reconnect.delay_s": pytest.approx(0.01),
        "agentkit.reconnect.reason": "connection lost",
        "agentkit.reconnect.replayed_items": 1,
        "agentkit.reconnect.outcome": "reconnected",
    }
    assert h.counts("agentkit.reconnects", "agentkit.reconnect.outcome") == {"reconnected": 1}
    assert attrs(h.one("generate_content gpt-realtime"))["agentkit.response.trigger"] == "client"
    assert attrs(h.one("agentkit.session"))["agentkit.session.status"] == "closed"


async def test_a_failed_connect_ends_the_session_span_as_failed() -> None:
    class Refusing:
        async def connect(self) -> None:
            raise TransportError("connection refused")

        async def send(self, frame: str) -> None:
            raise AssertionError("nothing is sent before connecting")

        async def receive(self) -> str:
            raise AssertionError("unreachable")

        async def close(self) -> None:
            pass

    h = Harness(start=False)
    with pytest.raises(TransportError):
        async with RealtimeRunner(bank, tracing=h.config).session(Refusing()):
            raise AssertionError("the body must not run")
    session = h.one("agentkit.session")
    assert attrs(session)["agentkit.session.status"] == "failed"
    assert attrs(session)["error.type"] == "TransportError"
    assert attrs(session)["agentkit.transport"] == "refusing"
    assert session.status.status_code is StatusCode.ERROR
    assert [pt.value for pt in h.points("agentkit.sessions.active")] == [0]


async def test_tracing_off_or_not_configured_costs_no_tracer() -> None:
    h = Harness(start=False)
    for tracing_config in (TracingConfig(enabled=False, tracer_provider=h.provider), None):
        client, server = memory_transport_pair()
        session = RealtimeRunner(bank, tracing=tracing_config).session(client)
        async with session:
            await next_of(server, "session.update")
            # No SDK installed globally (the test process never installs one): no tracer.
            assert session._tracer is None
        await server.close()
    assert h.spans() == []
    assert Instrumentation(environ={}).active is False
    assert Instrumentation(TracingConfig(tracer_provider=h.provider), environ={}).active


def test_agentkit_run_trace_console(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("agentkit_helpdesk")
    from agentkit.cli import main
    from agentkit.cli import run as _run

    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    real_setup = tracing.setup_tracing
    # Not globally: a test process can install a global provider only once.
    monkeypatch.setattr(
        _run, "setup_tracing", lambda exporter: real_setup(exporter, set_global=False)
    )
    status = main(["run", str(EXAMPLE / "agents.yaml"), "--pace", "fast", "--trace", "console"])
    out, err = capsys.readouterr()
    assert status == 0, out + err
    assert "conversation completed" in out and '"name"' not in out  # spans go to stderr
    for name in (
        "agentkit.session",
        "invoke_agent returns",
        "execute_tool check_return_eligibility",
        "agentkit.handoff",
        "agentkit.user_turn",
    ):
        assert f'"name": "{name}"' in err
    assert '"agentkit.transport": "websocket"' in err
    assert "agentkit.turn.response_latency" in err  # the metrics, exported at exit


# --- spans handed to the SDK in groups (TracingConfig.defer_spans) --------------------------------


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


def test_grouped_spans_make_the_same_trace_and_metrics_as_one_by_one() -> None:
    one_by_one, grouped = Harness(defer_spans=1), Harness(defer_spans=4)
    run_return_call(one_by_one)
    run_return_call(grouped)
    assert len(grouped.spans()) == len(one_by_one.spans()) > 15
    assert trace_shape(grouped) == trace_shape(one_by_one)
    assert grouped.tree() == one_by_one.tree()
    for metric in ("agentkit.turn.response_latency", "agentkit.response.time_to_first_audio"):
        assert sorted(
            (dict(pt.attributes).items(), pt.count, pt.sum) for pt in grouped.points(metric)
        ) == sorted(
            (dict(pt.attributes).items(), pt.count, pt.sum) for pt in one_by_one.points(metric)
        )


def test_a_group_goes_when_full_when_its_oldest_waited_or_at_the_end() -> None:
    h = Harness(defer_spans=3)  # a turn, its response and its latency sample
    turn = h.tracer

    def one_turn(t: float, n: int) -> None:
        h.at(t, p.InputAudioBufferSpeechStarted(f"item_u{n}", 0))
        h.at(t + 1.0, p.InputAudioBufferSpeechStopped(f"item_u{n}", 900))
        h.at(t + 1.1, AgentStart("authentication", f"resp_{n}"))
        h.at(t + 1.2, UserTranscript(f"item_u{n}", "hello"))  # the turn span ends: waits
        h.at(t + 1.5, audio(f"resp_{n}", f"item_a{n}"))  # the latency sample waits

    one_turn(1.0, 1)
    assert h.spans() == [] and h.points("agentkit.turn.response_latency") == []
    assert turn.flush_due == pytest.approx(100 + 2.2 + 30.0)  # the turn span's wait began at 2.2
    h.at(3.0, AgentEnd("authentication", "resp_1", "completed"))  # third item: the group goes
    assert [s.name for s in h.spans()] == ["agentkit.user_turn", "generate_content gpt-realtime"]
    assert h.histogram("agentkit.turn.response_latency").sum == pytest.approx(0.5)
    assert turn.flush_due is None

    one_turn(10.0, 2)
    due = turn.flush_due
    assert due is not None and len(h.spans()) == 2
    turn.tick(due - 0.01)
    assert len(h.spans()) == 2
    turn.tick(due)  # a session gone quiet: the group goes when its oldest waited its time
    assert [s.name for s in h.spans()][2:] == ["agentkit.user_turn"]
    assert h.histogram("agentkit.turn.response_latency").count == 2
    assert turn.flush_due is None

    h.at(45.0, AgentEnd("authentication", "resp_2", "completed"))
    assert len(h.spans()) == 3
    h.clock.now = 100 + 46.0
    turn.end()  # the session's end sends the rest, before the agent and session spans end
    names = [s.name for s in h.spans()]
    assert names[3:] == [
        "generate_content gpt-realtime",
        "invoke_agent authentication",
        "agentkit.session",
    ]
    response = h.spans()[3]  # its real times, not those of its hand-over
    assert response.end_time is not None and response.start_time is not None
    assert response.end_time - response.start_time == pytest.approx((45.0 - 11.1) * 1e9, abs=1e3)


@pytest.mark.parametrize("kwargs", [{"defer_spans": 0}, {"defer_spans": 2.5}, {"defer_max_s": 0}])
def test_group_settings_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="defer_"):
        TracingConfig(**kwargs)


def test_the_console_exporter_gets_spans_as_they_end() -> None:
    setup = tracing.setup_tracing("console", out=io.StringIO(), set_global=False)
    try:
        assert setup.config.defer_spans == 1
    finally:
        setup.shutdown()


async def test_a_quiet_session_hands_its_spans_over_without_waiting_for_its_end() -> None:
    h = Harness(start=False)
    config = TracingConfig(
        tracer_provider=h.provider,
        meter_provider=h.config.meter_provider,
        defer_spans=16,
        defer_max_s=0.05,
    )
    client, server = memory_transport_pair()
    async with RealtimeRunner(bank, tracing=config).session(client) as session:
        await next_of(server, "session.update")
        await session.send_text("hello")
        await next_of(server, "response.create")
        await server.send_event({"type": "response.created", "response": {"id": "resp_1"}})
        await server.send_event(
            {"type": "response.done", "response": {"id": "resp_1", "status": "completed"}}
        )
        # Nothing else happens: the session's timer hands the group over.
        await wait_for(lambda: h.named("generate_content gpt-realtime"))
        assert h.named("agentkit.user_turn") and not h.named("agentkit.session")
    await server.close()
