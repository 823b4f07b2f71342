"""`agentkit.agent`: agent definitions, their tools, instructions and the agent graph."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import (
    DefinitionError,
    RealtimeAgent,
    RunContext,
    handoff,
    input_guardrail,
    output_guardrail,
    tool,
)
from agentkit.agent import walk_agents


def ctx() -> RunContext[None]:
    return RunContext(context=None)


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "non-empty name"),
        ({"name": "   "}, "non-empty name"),
        ({"name": "A", "tools": [ping.func]}, "tools must be FunctionTool objects"),
        (
            {"name": "A", "input_guardrails": [output_guardrail(lambda c, t: False)]},
            "input_guardrails takes InputGuardrail",
        ),
        (
            {"name": "A", "output_guardrails": [input_guardrail(lambda c, t: False)]},
            "output_guardrails takes OutputGuardrail",
        ),
        ({"name": "A", "instructions": 42}, "instructions must be a string or a function"),
        ({"name": "A", "settings": {"voice": "ash"}}, "settings must be a SessionSettings"),
    ],
)
def test_bad_agent_definitions(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        RealtimeAgent(**kwargs)


def test_duplicate_tool_and_handoff_names() -> None:
    agent = RealtimeAgent(name="A", tools=[ping], handoffs=[handoff("B", tool_name="ping")])
    with pytest.raises(DefinitionError, match="two tools are named 'ping'"):
        agent.tool_definitions()


def test_clone_copies_lists() -> None:
    original = RealtimeAgent(name="A", tools=[ping])
    copy = original.clone(name="B")
    copy.tools.clear()
    assert (copy.name, original.tools) == ("B", [ping])


async def test_instructions_static_dynamic_and_missing() -> None:
    async def dyn(c: RunContext[str]) -> str:
        return f"for {c.context}"

    def bad(c: RunContext[Any]) -> int:
        return 3

    assert RealtimeAgent(name="A", instructions="Hi.").static_instructions() == "Hi."
    assert RealtimeAgent(name="A").static_instructions() == ""
    assert await RealtimeAgent(name="A").resolve_instructions(ctx()) == ""
    dynamic = RealtimeAgent(name="A", instructions=dyn)
    assert dynamic.static_instructions() is None
    assert await dynamic.resolve_instructions(RunContext(context="Ada")) == "for Ada"
    wrong = RealtimeAgent(name="A", instructions=bad)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="returned int"):
        await wrong.resolve_instructions(ctx())


def test_walk_agents_breadth_first_each_once_through_cycles() -> None:
    a, b, c, d = (RealtimeAgent(name=n) for n in "ABCD")
    a.handoffs += [b, c]
    b.handoffs += [d, a]
    c.handoffs += [handoff(a), handoff("NotLoadedYet")]
    d.handoffs.append(b)
    assert [x.name for x in walk_agents(a)] == ["A", "B", "C", "D"]
    assert [x.name for x in walk_agents(d)] == ["D", "B", "A", "C"]
