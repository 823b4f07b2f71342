"""Objects the bad definition files point at (a module next to them, found by the loader)."""

import socket

from agentkit import RunContext

NOT_CALLABLE = 42


def lookup_order(order_number: str) -> str:
    """Look up an order."""
    return order_number


def check(ctx: RunContext[None], text: str) -> bool:
    """A guardrail check that never trips."""
    return False


def no_hints(order_number):  # type: ignore[no-untyped-def]
    """A function the model cannot be told the types of."""
    return order_number


def send_file(connection: socket.socket) -> str:
    """A parameter type pydantic cannot describe."""
    return str(connection)
