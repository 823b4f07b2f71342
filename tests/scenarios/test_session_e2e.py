"""End to end over real sockets: a session on the WebSocket transport against the local server."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from agentkit import RealtimeAgent, SessionSettings, tool
from agentkit.events import AssistantTranscript, HandoffEvent, SessionEvent, ToolEnd
from agentkit.runner import RealtimeRunner
from agentkit.server import LocalRealtimeServer
from agentkit.session import RealtimeSession
from agentkit.transports import WebSocketTransport, realtime_url

SCRIPT: dict[str, Any] = {
    "turns": [
        {
            "user": "Where is my order 42?",
            "mode": "text",
            "steps": [
                {"say": "Let me check."},
                {"call": "lookup_order", "arguments": {"order_id": "42"}},
                {"say": "Order {{ output.order_id }} is {{ output.status }}."},
            ],
        },
        {
            "user": "I want a refund",
            "mode": "text",
            "alternatives": [
                {
                    "when": {"has_tool": "transfer_to_billing"},
                    "steps": [
                        {"handoff": "billing"},
                        {
                            "say": "Billing here. I can refund that.",
                            "when": {"instructions_contain": "billing"},
                        },
                    ],
                }
            ],
            "steps": [{"say": "I can't do refunds, sorry."}],
        },
    ]
}


@tool
async def lookup_order(order_id: str) -> dict[str, str]:
    """Look an order up."""
    return {"order_id": order_id, "status": "shipped"}


billing = RealtimeAgent(name="Billing", instructions="You handle billing and refunds.")
support = RealtimeAgent(
    name="Support", instructions="You help with orders.", tools=[lookup_order], handoffs=[billing]
)


async def until_transcript(session: RealtimeSession[Any], text: str) -> list[SessionEvent]:
    seen: list[SessionEvent] = []
    with anyio.fail_after(5):
        async for event in session:
            seen.append(event)
            if isinstance(event, AssistantTranscript) and event.transcript == text:
                return seen
    raise AssertionError(f"session ended before the assistant said {text!r}: {seen}")


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_tool_call_round_trip_over_websocket(dialect: Any) -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        model = "gpt-realtime" if dialect == "ga" else "gpt-4o-realtime-preview"
        runner = RealtimeRunner(support, settings=SessionSettings(model=model), dialect=dialect)
        transport = WebSocketTransport(
            realtime_url(model, server.url), api_key="sk-test", dialect=dialect
        )
        async with runner.session(transport) as session:
            await session.send_text("Where is my order 42?")
            events = await until_transcript(session, "Order 42 is shipped.")
        tool_ends = [e for e in events if isinstance(e, ToolEnd)]
        assert [(e.tool_name, e.error) for e in tool_ends] == [("lookup_order", None)]
        texts = [i.text for i in session.history.items() if i.kind == "message"]
        assert texts[0] == "Where is my order 42?"
        assert "Order 42 is shipped." in texts


async def test_handoff_over_websocket_new_agent_speaks_first() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        runner = RealtimeRunner(support)
        transport = WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="sk-test")
        async with runner.session(transport) as session:
            await session.send_text("I want a refund")
            events = await until_transcript(session, "Billing here. I can refund that.")
            assert session.current_agent is billing
        handoffs = [e for e in events if isinstance(e, HandoffEvent)]
        assert [(h.from_agent, h.to_agent) for h in handoffs] == [("Support", "Billing")]


async def test_sessions_side_by_side_over_websocket() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        runner = RealtimeRunner(support)
        said: list[str] = []

        async def one() -> None:
            transport = WebSocketTransport(
                realtime_url("gpt-realtime", server.url), api_key="sk-test"
            )
            async with runner.session(transport) as session:
                await session.send_text("Where is my order 42?")
                await until_transcript(session, "Order 42 is shipped.")
                said.append("ok")

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(one)
        assert said == ["ok"] * 4


async def test_yaml_definitions_drive_a_session_through_the_example_script() -> None:
    from pathlib import Path

    from agentkit.loader import load_definitions

    root = Path(__file__).parents[2] / "examples" / "customer_service"
    definitions = load_definitions(root / "agents.yaml")
    assert definitions.script is not None
    async with LocalRealtimeServer(script=definitions.script, pace="fast") as server:
        runner = RealtimeRunner(definitions)
        transport = WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="sk-test")
        async with runner.session(transport) as session:
            await session.send_text("Sure, it's 415 555 0142, and the order is A1001.")
            events = await until_prefix(session, "Thanks ")
            assert any(
                isinstance(e, ToolEnd) and e.tool_name == "verify_customer" and e.error is None
                for e in events
            )
            await session.send_text(
                "I'd like to return the headphones. I opened them, but they're like new."
            )
            events = await until_prefix(session, "")
            handoffs = [e for e in events if isinstance(e, HandoffEvent)]
            assert [(h.from_agent, h.to_agent) for h in handoffs] == [("authentication", "returns")]
            assert session.current_agent.name == "returns"
            # The new agent spoke first, with its own tools (the eligibility check).
            last = events[-1]
            assert isinstance(last, AssistantTranscript) and last.transcript.endswith(
                "Shall I start the return?"
            )
            assert any(
                isinstance(e, ToolEnd) and e.tool_name == "check_return_eligibility" for e in events
            )


async def until_prefix(session: RealtimeSession[Any], prefix: str) -> list[SessionEvent]:
    """Events up to the first assistant transcript starting with `prefix` after a handoff
    when `prefix` is empty (any transcript of the new agent)."""
    seen: list[SessionEvent] = []
    with anyio.fail_after(5):
        async for event in session:
            seen.append(event)
            if (
                isinstance(event, AssistantTranscript)
                and event.transcript.startswith(prefix)
                and (prefix or any(isinstance(e, HandoffEvent) for e in seen))
            ):
                return seen
    raise AssertionError(f"session ended early: {seen}")


async def test_manual_interrupt_over_websocket_truncates_and_cancels() -> None:
    script = {
        "turns": [
            {
                "user": "Tell me everything.",
                "mode": "text",
                "steps": [{"say": " ".join(["This is a long answer that keeps going."] * 8)}],
            }
        ]
    }
    async with LocalRealtimeServer(script=script, pace="realtime") as server:
        runner = RealtimeRunner(support)
        transport = WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="sk-test")
        async with runner.session(transport) as session:
            await session.send_text("Tell me everything.")
            audio_chunks = 0
            item_id = None
            played = -1
            with anyio.fail_after(5):
                async for event in session:
                    if event.type == "audio":
                        audio_chunks += 1
                        item_id = event.item_id
                        if audio_chunks == 3:
                            # The app's player reports what it really played; the wall-clock
                            # estimate is covered by the supervisor's fake-clock tests.
                            session.playback_position(event.item_id, 250)
                            await session.interrupt()
                    elif event.type == "audio_interrupted":
                        played = event.played_ms
                    elif event.type == "agent_end":
                        assert event.status == "cancelled"
                        break
            assert item_id is not None
            with anyio.fail_after(2):
                while (item := session.history.get(item_id)) is None or item.audio_end_ms is None:
                    await anyio.sleep(0.01)
            # The server cut the item exactly where the session said playback was.
            assert played == 250
            assert item.audio_end_ms == played
