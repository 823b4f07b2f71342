"""The serve tests' tools: they run on the server, never in the browser."""

from __future__ import annotations

REFUNDS: list[str] = []
"""Order ids refunded so far (the tests read it)."""


def lookup_order(order_id: str) -> dict[str, str]:
    """Look up an order by its id."""
    return {"order_id": order_id, "item": "headphones", "status": "delivered"}


def issue_refund(order_id: str, amount: str) -> dict[str, str]:
    """Refund an order (the caller must approve)."""
    REFUNDS.append(order_id)
    return {"order_id": order_id, "amount": amount}
