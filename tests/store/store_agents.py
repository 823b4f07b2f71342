"""The agents and script the store tests run, in-process and in worker subprocesses.

`charge_card` is the side-effecting tool: each run appends a line to the ledger file named by
`AGENTKIT_TEST_LEDGER`, then waits `AGENTKIT_TEST_CHARGE_S` seconds (so a test can kill the
worker while it runs). Counting the ledger's lines tells how many times it really ran.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio

from agentkit import RealtimeAgent, tool

SCRIPT: dict[str, Any] = {
    "turns": [
        {
            "user": "Where is my order 42?",
            "mode": "text",
            "steps": [
                {"say": "Let me check."},
                {"call": "lookup_order", "arguments": {"order_id": "42"}},
                {"say": "Order {{ output.order_id }} is {{ output.status }}."},
            ],
        },
        {
            "user": "Charge my card for order 42",
            "mode": "text",
            "steps": [
                {"call": "charge_card", "arguments": {"order_id": "42"}},
                {"say": "The charge answered: {{ output.error }}."},
            ],
        },
        {
            "user": "Tell me a story",
            "mode": "text",
            "steps": [{"say": "Once upon a time there was a parcel that always arrived."}],
        },
        {
            "user": "I want a refund",
            "mode": "text",
            "alternatives": [
                {
                    "when": {"has_tool": "transfer_to_billing"},
                    "steps": [
                        {"handoff": "billing"},
                        {
                            "say": "Billing here. I can refund that.",
                            "when": {"instructions_contain": "billing"},
                        },
                    ],
                }
            ],
            "steps": [{"say": "I can't do refunds, sorry."}],
        },
    ]
}


@tool
async def lookup_order(order_id: str) -> dict[str, str]:
    """Look an order up."""
    return {"order_id": order_id, "status": "shipped"}


@tool
async def charge_card(order_id: str) -> dict[str, str]:
    """Charge the customer's card for an order (a side effect: never twice)."""
    ledger = os.environ.get("AGENTKIT_TEST_LEDGER")
    if ledger:
        with Path(ledger).open("a") as file:
            file.write(f"charged {order_id}\n")
    await anyio.sleep(float(os.environ.get("AGENTKIT_TEST_CHARGE_S", "0")))
    return {"charged": order_id}


billing = RealtimeAgent(name="Billing", instructions="You handle billing and refunds.")
support = RealtimeAgent(
    name="Support",
    instructions="You help with orders.",
    tools=[lookup_order, charge_card],
    handoffs=[billing],
)
