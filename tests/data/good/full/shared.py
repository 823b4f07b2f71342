"""A helper module imported relatively by `tools.py`."""


def normalize(order_number: str) -> str:
    """`a-1001` → `A1001`."""
    return order_number.replace("-", "").upper()
