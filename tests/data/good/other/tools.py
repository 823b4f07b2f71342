"""A second `tools.py` in another folder: must not collide with `full/tools.py`."""

WHERE = "other"


def lookup_order(order_number: str) -> str:
    """Look up an order somewhere else."""
    return f"other:{order_number}"
