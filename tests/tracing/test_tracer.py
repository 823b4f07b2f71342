"""SessionTracer: the span tree, attributes and privacy of scripted sessions, and of whole
conversations played through a traced session."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from agentkit import protocol as p
from agentkit.events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    HandoffEvent,
    ToolEnd,
    ToolStart,
    UserTranscript,
)
from agentkit.loader import Definitions
from agentkit.runner import RealtimeRunner
from agentkit.server import load_script
from agentkit.transports import memory_transport_pair

from .harness import (
    AUDIO,
    CONTENT,
    CONVERSATIONS,
    DB_SPAN,
    GREETING,
    USER_LINE,
    VERIFY_ARGS,
    VERIFY_RESULT,
    Harness,
    all_values,
    attrs,
    bank,
    next_of,
    play_example,
    run_return_call,
    total_count,
    wait_for,
)


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


def test_a_failing_handler_never_reaches_the_session(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        type = "agent_start"  # looks like AgentStart, lacks its fields

    with caplog.at_level(logging.WARNING, logger="agentkit.tracing"):
        harness.tracer.observe(Broken())  # type: ignore[arg-type]
    assert "tracing 'agent_start' failed" in caplog.text


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
