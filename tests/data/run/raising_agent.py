"""A tool that raises, for the CLI tests: its failure is one line, its traceback --verbose's."""

from agentkit import RealtimeAgent, tool


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: the order.
    """
    raise ValueError(f"no order {order_id}")

agent = RealtimeAgent(name="support", instructions="help", tools=[lookup_order])
