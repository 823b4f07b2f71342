"""The tool `agents.yaml` declares (and, by mistake, no agent uses)."""


def lookup_order(order_number: str) -> str:
    """An order's status."""
    return f"order {order_number}: shipped"
