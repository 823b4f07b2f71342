"""A Python agent whose tool reads `ctx.context`: `agentkit run orders_agent.py:agent` takes
the session settings and the context factory from this module."""

from __future__ import annotations

from typing import Any

from order_db import OrderDb  # a sibling module, not installed anywhere

from agentkit import RealtimeAgent, RunContext, SessionSettings, tool


@tool
def lookup_order(ctx: RunContext[OrderDb], order_id: str) -> dict[str, Any]:
    """An order by its number."""
    return ctx.context.orders[order_id]


settings = SessionSettings(voice="marin", input_audio_format="g711_ulaw")
context = OrderDb  # a factory: one OrderDb per session, entered and exited around it
agent = RealtimeAgent(name="orders", instructions="You track orders.", tools=[lookup_order])
