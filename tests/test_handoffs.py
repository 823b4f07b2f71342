"""`agentkit.handoffs`: handoff tools, their names, input types and callbacks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from agentkit import (
    DefinitionError,
    Handoff,
    RealtimeAgent,
    RunContext,
    ToolArgumentsError,
    handoff,
    tool,
)
from agentkit.handoffs import as_handoff, default_handoff_tool_name


def ctx() -> RunContext[None]:
    return RunContext(context=None)


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


class Escalation(BaseModel):
    reason: str = Field(description="Why.")
    priority: int = 1


@pytest.mark.parametrize(
    ("agent_name", "tool_name"),
    [
        ("Billing", "transfer_to_billing"),
        ("Tech Support", "transfer_to_tech_support"),
        ("after-hours desk!", "transfer_to_after_hours_desk"),
        ("ReturnsV2", "transfer_to_returnsv2"),
        ("x" * 80, "transfer_to_" + "x" * 52),
    ],
)
def test_default_handoff_tool_names(agent_name: str, tool_name: str) -> None:
    assert default_handoff_tool_name(agent_name) == tool_name
    assert handoff(RealtimeAgent(name=agent_name)).tool_name == tool_name


def test_handoff_description_uses_the_targets_handoff_description() -> None:
    billing = RealtimeAgent(name="Billing", handoff_description="Invoices and refunds.")
    assert handoff(billing).description == (
        "Transfer the conversation to the Billing agent. Invoices and refunds."
    )
    assert handoff(RealtimeAgent(name="Quiet")).description == (
        "Transfer the conversation to the Quiet agent."
    )
    custom = handoff(billing, tool_name="escalate", description="Escalate billing.")
    assert (custom.tool_name, custom.description) == ("escalate", "Escalate billing.")


def test_plain_agents_in_handoffs_become_handoff_tools() -> None:
    billing = RealtimeAgent(name="Billing")
    explicit = handoff(RealtimeAgent(name="Sales"), tool_name="to_sales")
    triage = RealtimeAgent(name="Triage", tools=[ping], handoffs=[billing, explicit])
    assert [h.tool_name for h in triage.handoff_list()] == ["transfer_to_billing", "to_sales"]
    assert as_handoff(explicit) is explicit
    assert [d.name for d in triage.tool_definitions()] == [
        "ping",
        "transfer_to_billing",
        "to_sales",
    ]
    found = triage.find_tool("transfer_to_billing")
    assert isinstance(found, Handoff) and found.target is billing
    assert triage.find_tool("ping") is ping
    assert triage.find_tool("nope") is None


def test_handoff_to_a_name_refers_ahead() -> None:
    h = handoff("Later")
    assert (h.agent_name, h.tool_name) == ("Later", "transfer_to_later")
    with pytest.raises(DefinitionError, match="no name"):
        handoff("")


def test_handoff_input_type_gives_a_strict_schema_and_validates() -> None:
    h = handoff(RealtimeAgent(name="Manager"), input_type=Escalation)
    assert h.parameters["required"] == ["reason", "priority"]
    assert h.parameters["additionalProperties"] is False
    assert h.definition().parameters == h.parameters
    value = h.parse_input('{"reason": "angry caller", "priority": 2}')
    assert isinstance(value, Escalation) and value.priority == 2
    with pytest.raises(ToolArgumentsError, match="reason"):
        h.parse_input('{"priority": 2}')
    with pytest.raises(ToolArgumentsError):
        h.parse_input("{not json")
    # Without an input_type there is nothing to validate.
    assert handoff(RealtimeAgent(name="M")).parse_input('{"x": 1}') is None


def test_handoff_input_type_must_be_a_pydantic_model() -> None:
    with pytest.raises(DefinitionError, match="input_type must be a pydantic model"):
        handoff(RealtimeAgent(name="M"), input_type=dict)  # type: ignore[arg-type]


def test_on_handoff_arity_is_checked_against_input_type() -> None:
    target = RealtimeAgent(name="M")

    def one(c: RunContext[Any]) -> None:
        pass

    def two(c: RunContext[Any], value: Escalation) -> None:
        pass

    handoff(target, on_handoff=one)
    handoff(target, on_handoff=two, input_type=Escalation)
    with pytest.raises(DefinitionError, match=r"on_handoff\(ctx\)"):
        handoff(target, on_handoff=two)
    with pytest.raises(DefinitionError, match=r"on_handoff\(ctx, input\)"):
        handoff(target, on_handoff=one, input_type=Escalation)


async def test_on_handoff_runs_sync_and_async_with_the_input() -> None:
    calls: list[Any] = []

    def sync_cb(c: RunContext[Any]) -> None:
        calls.append(("sync", c.context))

    async def async_cb(c: RunContext[Any], value: Escalation) -> None:
        calls.append(("async", value.reason))

    await handoff(RealtimeAgent(name="A"), on_handoff=sync_cb).run_callback(
        RunContext(context=7), None
    )
    h = handoff(RealtimeAgent(name="B"), on_handoff=async_cb, input_type=Escalation)
    await h.run_callback(ctx(), h.parse_input('{"reason": "r", "priority": 1}'))
    await handoff(RealtimeAgent(name="C")).run_callback(ctx(), None)  # no callback: no-op
    assert calls == [("sync", 7), ("async", "r")]
