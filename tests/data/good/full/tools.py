"""Tools for the all-features definition file; `.shared` checks relative imports work."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from agentkit import RunContext, tool

from .shared import normalize

WHERE = "full"


@dataclass
class Context:
    """The run context the file's `context:` factory builds."""

    notes: list[str] = field(default_factory=list)


def make_context() -> Context:
    """The context factory."""
    return Context()


def lookup_order(ctx: RunContext[Context], order_number: str) -> dict[str, str]:
    """Look up an order by its number.

    Args:
        order_number: The order number the caller reads out.
    """
    ctx.context.notes.append(order_number)
    return {"order": normalize(order_number), "status": "shipped"}


@tool(timeout=3)
def add_note(ctx: RunContext[Context], text: str) -> str:
    """Add a note to the case."""
    ctx.context.notes.append(text)
    return "ok"


def check_stock_raw(**arguments: object) -> dict[str, object]:
    """Bound to a raw JSON Schema in the YAML file."""
    return {"in_stock": True, **arguments}


class TransferReason(BaseModel):
    """Why the caller is being transferred."""

    reason: str


def on_transfer(ctx: RunContext[Context], value: TransferReason) -> None:
    """Record the transfer reason."""
    ctx.context.notes.append(value.reason)
