"""`agentkit.context`: what a tool, guardrail or callback gets as its `RunContext`."""

from __future__ import annotations

from typing import Any

from agentkit import RealtimeAgent, RunContext, tool


def test_a_bare_context_has_no_agent_no_history_and_drops_breadcrumbs() -> None:
    ctx: RunContext[dict[str, str]] = RunContext(context={"user": "ada"})
    assert (ctx.context, ctx.agent, tuple(ctx.history)) == ({"user": "ada"}, None, ())
    ctx.add_breadcrumb("nobody listens")  # no sink outside a session: nothing happens


def test_breadcrumbs_go_to_the_sink_in_order_and_stay_out_of_repr() -> None:
    notes: list[str] = []
    agent = RealtimeAgent(name="A")
    ctx: RunContext[None] = RunContext(context=None, agent=agent, history=("h1",), _breadcrumb_sink=notes.append)
    ctx.add_breadcrumb("looked up order 42")
    ctx.add_breadcrumb("refund issued")
    assert notes == ["looked up order 42", "refund issued"]
    assert "breadcrumb" not in repr(ctx) and ctx.agent is agent


def test_a_run_context_parameter_never_reaches_the_tool_schema() -> None:
    @tool
    def lookup(ctx: RunContext[Any], order_id: str) -> str:
        """Look an order up."""
        return order_id

    assert set(lookup.definition().parameters["properties"]) == {"order_id"}
