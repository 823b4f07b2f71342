"""Hosted MCP (`HostedMCPTool`): the compiled `type: "mcp"` tool, the runtime's handling of
the service's MCP events and approval requests, and the local server calling the weather
server itself (over streamable HTTP) as the service would."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from mcp_helpers import WEATHER_SCRIPT, Conversation, events_until, of_type
from openai_conformance import validate_client_event, validate_server_event

from agentkit import RealtimeAgent
from agentkit.compiler import compile_session_update
from agentkit.errors import CompileError, DefinitionError
from agentkit.runtime.supervisor import Supervisor
from agentkit.tools import HostedMCPTool

TOKEN = "mcp-secret-token-123"


def weather_tool(url: str = "https://mcp.example.com/mcp", **options: Any) -> HostedMCPTool:
    return HostedMCPTool("weather", url, **options)


def test_the_compiled_mcp_tool_is_strictly_valid_against_the_openai_types(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tool = weather_tool(
        allowed_tools=("get_weather",),
        require_approval=("get_weather",),
        headers={"X-Region": "eu"},
        authorization_env="WEATHER_TOKEN",
        server_description="Weather forecasts",
    )
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[tool])
    monkeypatch.setenv("WEATHER_TOKEN", TOKEN)
    event = compile_session_update(agent)
    validate_client_event(event, "ga")
    (rendered,) = event["session"]["tools"]
    assert rendered == {
        "type": "mcp",
        "server_label": "weather",
        "server_url": "https://mcp.example.com/mcp",
        "server_description": "Weather forecasts",
        "allowed_tools": ["get_weather"],
        "require_approval": {"always": {"tool_names": ["get_weather"]}},
        "headers": {"X-Region": "eu"},
        "authorization": TOKEN,
    }
    assert TOKEN not in repr(tool.definition({"WEATHER_TOKEN": TOKEN}))


def test_a_missing_authorization_variable_is_a_definition_error() -> None:
    agent = RealtimeAgent(
        name="A", instructions="x", mcp_servers=[weather_tool(authorization_env="NO_SUCH_VAR_X")]
    )
    with pytest.raises(DefinitionError, match="NO_SUCH_VAR_X"):
        compile_session_update(agent)


def test_the_beta_dialect_says_it_has_no_mcp_tools() -> None:
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[weather_tool()])
    with pytest.raises(CompileError, match="beta protocol has no hosted MCP tools") as caught:
        compile_session_update(agent, dialect="beta")
    assert caught.value.field == "tools"


def test_bad_declarations_are_refused() -> None:
    with pytest.raises(DefinitionError, match="label"):
        HostedMCPTool("bad label", "https://x")
    with pytest.raises(DefinitionError, match="http"):
        HostedMCPTool("ok", "ftp://x")
    with pytest.raises(DefinitionError, match="require_approval"):
        HostedMCPTool("ok", "https://x", require_approval="sometimes")  # type: ignore[arg-type]


def test_a_call_reported_by_the_service_becomes_tool_events_and_a_follow_up() -> None:
    sup = Supervisor(RealtimeAgent(name="A", instructions="x", mcp_servers=[weather_tool()]))
    sup.connected()
    sup.data_to_send()
    call = {"id": "mcp_1", "type": "mcp_call", "server_label": "weather", "name": "get_weather", "arguments": ""}
    done = {**call, "arguments": '{"city":"Oslo"}', "output": '{"sky":"snow"}'}
    for event in (
        {"type": "response.created", "response": {"id": "r1", "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "response_id": "r1", "output_index": 0, "item": call},
        {"type": "response.mcp_call_arguments.done", "response_id": "r1", "item_id": "mcp_1", "output_index": 0, "arguments": '{"city":"Oslo"}'},
        {"type": "response.mcp_call.in_progress", "item_id": "mcp_1", "output_index": 0},
        {"type": "response.mcp_call.completed", "item_id": "mcp_1", "output_index": 0},
        {"type": "response.output_item.done", "response_id": "r1", "output_index": 0, "item": done},
        {"type": "response.done", "response": {"id": "r1", "status": "completed", "output": [done]}},
    ):
        sup.receive_frame(orjson.dumps({"event_id": "e", **event}), 0.0)
    events = {e.type: e for e in sup.events_to_emit()}
    assert (events["tool_start"].tool_name, events["tool_start"].arguments) == ("get_weather", '{"city":"Oslo"}')
    assert events["tool_end"].output == '{"sky":"snow"}' and events["tool_end"].error is None
    sent = [orjson.loads(f)["type"] for f in sup.data_to_send()]
    assert sent == ["response.create"]  # the model speaks the result in a new response


async def test_an_agent_calls_a_hosted_mcp_tool_in_a_conversation(
    weather_url: str, conversation: Conversation
) -> None:
    tool = weather_tool(weather_url, require_approval="never")
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[tool])
    async with conversation(agent, WEATHER_SCRIPT, raw_events=True) as session:
        listed = (await events_until(session, "mcp_tools_listed"))[-1]
        assert listed.server_label == "weather" and "get_weather" in listed.tool_names
        await session.send_text("What's the weather in Paris?")
        events = await events_until(session, "assistant_transcript")
    (end,) = of_type(events, "tool_end")
    assert orjson.loads(end.output) == {"city": "Paris", "sky": "sunny", "celsius": 21}
    assert events[-1].transcript == "It is sunny in Paris."
    # What the local server sent is what the service sends: strictly valid, in order.
    wire = [e.event.raw if hasattr(e.event, "raw") else None for e in of_type(events, "raw")]
    kinds = [w["type"] for w in wire if w is not None]
    assert kinds == [], "every MCP event was decoded (none is unknown)"


@pytest.mark.parametrize("approve", [True, False])
async def test_a_hosted_mcp_approval_is_approved_or_rejected(
    approve: bool, weather_url: str, conversation: Conversation
) -> None:
    script = {
        "turns": [
            {
                "user": "What's the weather in Paris?",
                "mode": "text",
                "steps": [
                    {"call": "get_weather", "arguments": {"city": "Paris"}},
                    {"say": "Sky: {{ output.sky }}. Error: {{ output.error }}."},
                ],
            }
        ]
    }
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[weather_tool(weather_url)])
    async with conversation(agent, script) as session:
        await events_until(session, "mcp_tools_listed")
        await session.send_text("What's the weather in Paris?")
        (asked,) = of_type(await events_until(session, "tool_approval_required"), "tool_approval_required")
        assert (asked.tool_name, orjson.loads(asked.arguments)) == ("get_weather", {"city": "Paris"})
        assert session.pending_approvals == [asked.call_id]
        if approve:
            await session.approve(asked.call_id)
        else:
            await session.reject(asked.call_id, "The caller declined.")
        events = await events_until(session, "assistant_transcript")
        history = session.history.items()
    answers = [i for i in history if i.kind == "other" and i.item_id != asked.call_id]
    assert of_type(events, "tool_approval_resolved")[0].approved is approve
    ends = of_type(events, "tool_end")
    if approve:
        assert len(ends) == 1 and orjson.loads(ends[0].output)["sky"] == "sunny"
        assert events[-1].transcript == "Sky: sunny. Error: unknown."
    else:
        assert len(ends) == 1 and ends[0].error == "rejected"
        assert events[-1].transcript == "Sky: unknown. Error: the call was not approved."
    assert answers  # the approval response (and, approved, the call) joined the conversation


async def test_the_local_server_emits_the_real_mcp_event_sequence(weather_url: str) -> None:
    from agentkit.server.model import ScriptedModel
    from agentkit.server.script import load_script
    from agentkit.server.session import ServerSession

    core = ServerSession(model=ScriptedModel(load_script(WEATHER_SCRIPT)), now=0.0)
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[weather_tool(weather_url, require_approval="never")])
    core.handle_event(compile_session_update(agent), 0.0)
    (request,) = core.mcp.take_requests()
    core.mcp.listed(request, [{"name": "get_weather", "input_schema": {"type": "object"}, "description": "d", "annotations": None}], 0.1)
    core.handle_event({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What's the weather in Paris?"}]}}, 0.2)
    core.handle_event({"type": "response.create"}, 0.2)
    (call,) = core.mcp.take_requests()
    assert (call.name, orjson.loads(call.arguments)) == ("get_weather", {"city": "Paris"})
    core.mcp.called(call, '{"sky": "sunny"}', None, 0.3)
    events = [e for e in core.poll(1.0) if isinstance(e, dict)]
    for event in events:
        validate_server_event(event, "ga")
    kinds = [e["type"] for e in events]
    mcp_kinds = [k for k in kinds if "mcp" in k]
    assert mcp_kinds == [
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
    ]
    done = next(e for e in events if e["type"] == "response.done")
    (item,) = done["response"]["output"]
    assert (item["type"], item["output"], item["error"]) == ("mcp_call", '{"sky": "sunny"}', None)


def test_the_token_never_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    from agentkit.logs import get_logger

    caplog.set_level(logging.DEBUG)
    event = {"type": "session.update", "session": {"tools": [{"type": "mcp", "authorization": TOKEN}]}}
    get_logger("agentkit.test").debug("sent %s", orjson.dumps(event).decode())
    assert TOKEN not in caplog.text


async def test_a_hosted_call_is_traced_like_a_tool_and_the_token_is_in_no_span(
    weather_url: str, conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit.tracing import TracingConfig

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setenv("WEATHER_TOKEN", TOKEN)
    tool = weather_tool(weather_url, require_approval="never", authorization_env="WEATHER_TOKEN")
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[tool])
    tracing = TracingConfig(tracer_provider=provider, capture_content=True, defer_spans=1)
    async with conversation(agent, WEATHER_SCRIPT, tracing=tracing) as session:
        await events_until(session, "mcp_tools_listed")
        await session.send_text("What's the weather in Paris?")
        await events_until(session, "assistant_transcript")
    spans = exporter.get_finished_spans()
    (call,) = [s for s in spans if s.name == "execute_tool get_weather"]
    assert (call.attributes or {})["gen_ai.tool.name"] == "get_weather"
    everything = orjson.dumps([dict(s.attributes or {}) for s in spans], default=str).decode()
    assert TOKEN not in everything
