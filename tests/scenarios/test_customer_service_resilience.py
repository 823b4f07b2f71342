"""The customer-service example end to end through a guardrail trip and a dropped connection.

Definitions come from examples/customer_service/agents.yaml (`load_definitions`); the
conversation from tests/data/conversations/return_insult_drop.yaml. The local server's
scripted model speaks the guardrail's safe reply because it follows the "say exactly ..."
response instructions the runtime sends; the drop fires in the server's first session only,
so the client reconnects to the same server.
"""

from __future__ import annotations

from pathlib import Path

import anyio

from agentkit.events import (
    AssistantTranscript,
    GuardrailTripped,
    HandoffEvent,
    Reconnected,
    SessionEvent,
    SessionStatus,
    ToolEnd,
)
from agentkit.loader import load_definitions
from agentkit.policy import ReconnectPolicy
from agentkit.runner import RealtimeRunner
from agentkit.server import Fault, LocalRealtimeServer, load_script
from agentkit.transports import WebSocketTransport, realtime_url

ROOT = Path(__file__).parents[2]
SCRIPT = load_script(ROOT / "tests" / "data" / "conversations" / "return_insult_drop.yaml")


async def test_return_call_survives_an_insult_and_a_dropped_connection() -> None:
    definitions = load_definitions(ROOT / "examples" / "customer_service" / "agents.yaml")
    # Responses: verify (call, say), safe reply, handoff, eligibility (call, say): 6; the
    # 7th answers "Yes, go ahead." and the connection drops as it starts.
    faults = [Fault("drop", at_event="response.created", occurrence=7, sessions=(1,))]
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=faults) as server:
        runner = RealtimeRunner(
            definitions,
            reconnect=ReconnectPolicy(max_attempts=3, base_delay_s=0.05, jitter=0.0),
        )
        url = realtime_url("gpt-realtime", server.url)
        session = runner.session(
            WebSocketTransport(url, api_key="sk-test"),
            transport_factory=lambda: WebSocketTransport(url, api_key="sk-test"),
        )
        events: list[SessionEvent] = []

        async def until_said(prefix: str) -> None:
            with anyio.move_on_after(3):
                async for event in session:
                    events.append(event)
                    if isinstance(event, AssistantTranscript) and event.transcript.startswith(
                        prefix
                    ):
                        return
            said = [
                (e.type, getattr(e, "transcript", getattr(e, "tool_name", "")))
                for e in events
                if e.type
                in (
                    "assistant_transcript",
                    "tool_end",
                    "guardrail_tripped",
                    "reconnected",
                    "handoff",
                    "error",
                )
            ]
            raise AssertionError(f"no {prefix!r}: {said}")

        async with session:
            await session.send_text(SCRIPT.turns[0].user)
            await until_said("Thanks ")
            await session.send_text("This is useless, you stupid machine.")
            await until_said("I want to help you with this.")
            await session.send_text(SCRIPT.turns[1].user)
            await until_said("Eligible")
            assert session.current_agent.name == "returns"
            await session.send_text(SCRIPT.turns[2].user)
            await until_said("Done. Your return number is RMA")
            assert session.status is SessionStatus.CONNECTED

        (tripped,) = [e for e in events if isinstance(e, GuardrailTripped)]
        assert (tripped.guardrail_name, tripped.stage, tripped.details) == (
            "civil_language",
            "input",
            {"matched": "stupid"},
        )
        assert [e.attempt for e in events if isinstance(e, Reconnected)] == [1]
        assert [(h.from_agent, h.to_agent) for h in events if isinstance(h, HandoffEvent)] == [
            ("authentication", "returns")
        ]
        tools = [(e.tool_name, e.error) for e in events if isinstance(e, ToolEnd)]
        assert tools == [
            ("verify_customer", None),
            ("check_return_eligibility", None),
            ("start_return", None),
        ]
        # The insult is in the transcript, marked, and never reached the model.
        items = session.history.items()
        (insult,) = [i for i in items if i.guardrail is not None]
        assert insult.guardrail == "civil_language" and insult.role == "user"
