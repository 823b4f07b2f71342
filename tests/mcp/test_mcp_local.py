"""Local MCP servers (`agentkit.mcp`): agentkit calls the weather server itself, over stdio
and over streamable HTTP, and its tools behave like any function tool: offered with their
schemas, arguments validated, approvals, one output per call, a crashed server restarted."""

from __future__ import annotations

import os
from typing import Any

import anyio
import orjson
import pytest
from mcp_helpers import STDIO_COMMAND, WEATHER_SCRIPT, Conversation, events_until, of_type

from agentkit import RealtimeAgent
from agentkit.compiler import compile_session_update
from agentkit.events import ToolEnd
from agentkit.mcp import MCPServer, MCPServerError, MCPServerHTTP, MCPServerStdio, serve_mcp_servers


def stdio_server(**options: Any) -> MCPServerStdio:
    command, args = STDIO_COMMAND
    return MCPServerStdio("weather", command, args, **options)


def tool_outputs(session: Any) -> list[tuple[str, str]]:
    """The `function_call_output` items in the session's history: (call id, output)."""
    return [
        (i.call_id, i.output) for i in session.history.items() if i.kind == "function_call_output"
    ]


async def weather_conversation(server: MCPServer, conversation: Conversation) -> None:
    """An agent with `server` asks for the weather in Paris and reads the tool's answer."""
    agent = RealtimeAgent(name="Forecaster", instructions="Weather.", mcp_servers=[server])
    async with conversation(agent, WEATHER_SCRIPT) as session:
        # The server's tools are offered to the model with their own schemas.
        offered = {t.name: t for t in session.current_agent.tool_definitions()}
        assert offered["get_weather"].parameters["required"] == ["city"]
        await session.send_text("What's the weather in Paris?")
        events = await events_until(session, "assistant_transcript")
    (end,) = of_type(events, "tool_end")
    assert end.error is None
    assert orjson.loads(end.output) == {"city": "Paris", "sky": "sunny", "celsius": 21}
    assert events[-1].transcript == "It is sunny in Paris."


async def test_an_agent_calls_a_stdio_server_tool_in_a_conversation(
    conversation: Conversation,
) -> None:
    await weather_conversation(stdio_server(), conversation)


async def test_an_agent_calls_an_http_server_tool_in_a_conversation(
    weather_url: str, conversation: Conversation
) -> None:
    await weather_conversation(MCPServerHTTP("weather", weather_url), conversation)


async def test_the_first_session_update_offers_the_servers_tools() -> None:
    server = stdio_server(allowed_tools={"get_weather", "whoami"})
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[server])
    async with anyio.create_task_group() as group:
        await group.start(serve_mcp_servers, [server])
        tools = compile_session_update(agent)["session"]["tools"]
        group.cancel_scope.cancel()
    assert sorted(t["name"] for t in tools) == ["get_weather", "whoami"]
    assert all(t["type"] == "function" for t in tools)


async def test_arguments_that_break_the_schema_never_reach_the_server(
    conversation: Conversation,
) -> None:
    script = {
        "turns": [
            {
                "user": "Weather?",
                "mode": "text",
                "steps": [
                    {"call": "get_weather", "arguments": {"town": "Paris"}},
                    {"say": "Sorry."},
                ],
            }
        ]
    }
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[stdio_server()])
    async with conversation(agent, script) as session:
        await session.send_text("Weather?")
        events = await events_until(session, "assistant_transcript")
    (end,) = of_type(events, "tool_end")
    assert end.error == "invalid_arguments"
    assert end.message == "missing required field 'city'"


@pytest.mark.parametrize("approve", [True, False])
async def test_a_local_mcp_call_waits_for_approval(
    approve: bool, conversation: Conversation
) -> None:
    agent = RealtimeAgent(
        name="A", instructions="x", mcp_servers=[stdio_server(needs_approval={"get_weather"})]
    )
    async with conversation(agent, WEATHER_SCRIPT) as session:
        await session.send_text("What's the weather in Paris?")
        (asked,) = of_type(await events_until(session, "tool_approval_required"), "tool_approval_required")
        assert asked.tool_name == "get_weather"
        if approve:
            await session.approve(asked.call_id)
        else:
            await session.reject(asked.call_id, "Not now.")
        events = await events_until(session, "tool_end")
        outputs = tool_outputs(session)
    assert len(outputs) == 1
    if approve:
        assert orjson.loads(events[-1].output)["sky"] == "sunny"
    else:
        assert events[-1].error == "rejected"
        assert orjson.loads(outputs[0][1]) == {"error": "rejected", "message": "Not now."}


async def test_the_tool_list_is_refreshed_when_the_server_says_it_changed() -> None:
    server = stdio_server()
    async with anyio.create_task_group() as group:
        await group.start(serve_mcp_servers, [server])
        assert "get_tide" not in {t.name for t in server.tools()}
        assert await server.call_tool("add_tool", {}) == "added get_tide"
        with anyio.fail_after(5):
            while "get_tide" not in {t.name for t in server.tools()}:
                await anyio.sleep(0.01)
        tide = next(t for t in server.tools() if t.name == "get_tide")
        assert orjson.loads(await tide.func(port="Brest"))["high_tide"] == "14:05"
        group.cancel_scope.cancel()


async def test_a_crashed_stdio_server_answers_the_call_in_flight_once_and_restarts(
    conversation: Conversation,
) -> None:
    script = {
        "turns": [
            {
                "user": "Echo slowly",
                "mode": "text",
                "steps": [
                    {"call": "slow_echo", "arguments": {"text": "hi", "seconds": 30}},
                    {"say": "That failed."},
                ],
            }
        ]
    }
    server = stdio_server(timeout=60)
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[server])
    async with conversation(agent, script) as session:
        first_pid = int(await server.call_tool("whoami", {}))
        await session.send_text("Echo slowly")
        await events_until(session, "tool_start")
        os.kill(first_pid, 9)
        events = await events_until(session, "assistant_transcript")
        ends = [e for e in events if isinstance(e, ToolEnd)]
        assert len(ends) == 1 and ends[0].error == "error"
        assert "stopped during the call" in ends[0].output
        assert len(tool_outputs(session)) == 1
        # Restarted: a new process answers the next call.
        with anyio.fail_after(10):
            second_pid = int(await server.call_tool("whoami", {}))
        assert second_pid != first_pid and server.restarts == 1
    assert events[-1].transcript == "That failed."


async def test_the_server_process_ends_with_the_session(conversation: Conversation) -> None:
    server = stdio_server()
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[server])
    async with conversation(agent, WEATHER_SCRIPT):
        pid = int(await server.call_tool("whoami", {}))
    with anyio.fail_after(5):
        while _alive(pid):
            await anyio.sleep(0.02)
    with pytest.raises(MCPServerError, match="not connected"):
        server.connect_timeout = 0.01
        await server.call_tool("whoami", {})


async def test_a_server_that_cannot_start_stops_the_session_with_its_name(
    conversation: Conversation,
) -> None:
    broken = MCPServerStdio("broken", "/nonexistent/mcp-server")
    agent = RealtimeAgent(name="A", instructions="x", mcp_servers=[broken])
    with pytest.raises(BaseException) as caught:
        async with conversation(agent, WEATHER_SCRIPT):
            pass
    assert "broken" in str(_leaf(caught.value))


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as ended.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False
