"""`agentkit.runner`: what a `RealtimeRunner` makes of its arguments, and the sessions it starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit import (
    ApprovalSettings,
    GuardrailSettings,
    InputTranscription,
    RealtimeAgent,
    ReconnectPolicy,
    RunContext,
    SessionLimitError,
    SessionLimits,
    SessionSettings,
    blocked_terms,
    input_guardrail,
    tool,
)
from agentkit.errors import SessionLimitError as _SessionLimitError
from agentkit.loader import Definitions
from agentkit.runner import RealtimeRunner
from agentkit.transports import MemoryServerEnd, memory_transport_pair


@tool
async def whoami(ctx: RunContext[Any]) -> str:
    """Say whose call this is."""
    return str(ctx.context)


bank = RealtimeAgent(name="Bank", instructions="Bank.", tools=[whoami])


async def next_of(server: MemoryServerEnd, kind: str) -> dict[str, Any]:
    with anyio.fail_after(2):
        while True:
            event = await server.receive_event()
            if event["type"] == kind:
                return event


async def tool_output(runner: RealtimeRunner[Any], **session_kwargs: Any) -> str:
    """Start a session, have the model call `whoami`, and return what the tool answered."""
    client, server = memory_transport_pair()
    async with runner.session(client, **session_kwargs):
        await next_of(server, "session.update")
        await server.send_event({"type": "response.created", "response": {"id": "r1"}})
        await server.send_event(
            {
                "type": "response.output_item.done",
                "response_id": "r1",
                "output_index": 0,
                "item": {
                    "id": "item_c1",
                    "type": "function_call",
                    "call_id": "c1",
                    "name": "whoami",
                    "arguments": "{}",
                    "status": "completed",
                },
            }
        )
        output = await next_of(server, "conversation.item.create")
    await server.close()
    return str(output["item"]["output"])


def test_every_argument_lands_in_the_one_config() -> None:
    limits = SessionLimits(idle_timeout_s=9)
    guardrails = GuardrailSettings(output_debounce_chars=7)
    approvals = ApprovalSettings(timeout_s=3)
    reconnect = ReconnectPolicy(max_attempts=2)

    def formatter(failure: Any) -> str:
        return "failed"

    settings = SessionSettings(voice="ash")
    runner = RealtimeRunner(
        bank,
        settings=settings,
        dialect="beta",
        tool_timeout=4,
        max_tool_threads=2,
        tool_error_formatter=formatter,
        raw_events=True,
        guardrails=guardrails,
        approvals=approvals,
        reconnect=reconnect,
        limits=limits,
    )
    config = runner.config
    assert (config.settings, config.dialect, config.raw_events) == (settings, "beta", True)
    assert (config.limits, config.guardrails, config.approvals, config.reconnect) == (
        limits,
        guardrails,
        approvals,
        reconnect,
    )
    assert (config.tool_timeout, config.max_tool_threads) == (4, 2)
    assert config.tool_error_formatter is formatter
    assert runner.settings is settings


def test_the_runner_knows_every_agent_reachable_by_handoff() -> None:
    billing = RealtimeAgent(name="Billing")
    triage = RealtimeAgent(name="Triage", handoffs=[billing])
    runner = RealtimeRunner(triage)
    assert runner.starting_agent is triage
    assert runner.agents == {"Triage": triage, "Billing": billing}
    assert runner.settings == SessionSettings()


def _definitions(**overrides: Any) -> Definitions:
    fields: dict[str, Any] = {
        "path": Path("agents.yaml"),
        "settings": SessionSettings(voice="marin"),
        "agents": {"Bank": bank},
        "starting_agent": bank,
        "script": None,
        "tools": {"whoami": whoami},
    }
    fields.update(overrides)
    return Definitions(**fields)


async def test_a_runner_of_definitions_uses_their_settings_agents_and_context() -> None:
    made: list[str] = []

    def context() -> str:
        made.append("ctx")
        return f"caller {len(made)}"

    runner = RealtimeRunner(_definitions(context_factory=context))
    assert runner.starting_agent is bank and runner.agents == {"Bank": bank}
    assert runner.config.settings == SessionSettings(voice="marin")
    # The factory runs once per session; a context given to the session wins.
    assert await tool_output(runner) == "caller 1"
    assert await tool_output(runner) == "caller 2"
    assert await tool_output(runner, context="explicit") == "explicit"
    assert made == ["ctx", "ctx"]
    override = SessionSettings(voice="ash")
    assert RealtimeRunner(_definitions(), settings=override).config.settings is override
    assert await tool_output(RealtimeRunner(_definitions())) == "None"


async def test_websocket_session_targets_the_model_url_with_the_dialects_headers() -> None:
    runner = RealtimeRunner(bank, settings=SessionSettings(model="gpt-realtime-mini"), dialect="beta")
    session = runner.websocket_session(api_key="sk-test")
    transport = session._transport
    assert transport.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime-mini"  # type: ignore[attr-defined]
    assert transport.headers == {  # type: ignore[attr-defined]
        "Authorization": "Bearer sk-test",
        "OpenAI-Beta": "realtime=v1",
    }
    local = runner.websocket_session(api_key=None, url="ws://127.0.0.1:9/v1/realtime")
    assert local._transport.url == "ws://127.0.0.1:9/v1/realtime"  # type: ignore[attr-defined]
    assert session.config is local.config is runner.config


async def test_max_concurrent_sessions() -> None:
    runner = RealtimeRunner(bank, max_concurrent_sessions=1)
    c1, s1 = memory_transport_pair()
    c2, s2 = memory_transport_pair()
    async with runner.session(c1):
        with pytest.raises(SessionLimitError):
            async with runner.session(c2):
                raise AssertionError("unreachable")
    async with runner.session(c2):  # the slot came back
        pass
    assert SessionLimitError is _SessionLimitError
    await s1.close()
    await s2.close()


def test_a_runner_warns_when_input_guardrails_cannot_hear_spoken_turns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = input_guardrail(blocked_terms(["password"]), name="no_passwords")
    deaf = RealtimeAgent(name="Support", instructions="Help.", input_guardrails=[check])
    with caplog.at_level("WARNING", logger="agentkit.runner"):
        RealtimeRunner(deaf)
    assert [r.getMessage() for r in caplog.records] == [
        "input guardrails of 'Support' never check spoken turns: input transcription is off; "
        "turn it on (`input_transcription` in the session or agent settings) for them to see "
        "what the caller says"
    ]
    caplog.clear()
    with caplog.at_level("WARNING", logger="agentkit.runner"):
        RealtimeRunner(deaf, settings=SessionSettings(input_transcription=InputTranscription()))
        RealtimeRunner(RealtimeAgent(name="Plain", instructions="Help."))
    assert caplog.records == []
