"""Helpers of the MCP tests (imported by the test modules; the fixtures are in conftest.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio

from agentkit.session import RealtimeSession

HERE = Path(__file__).parent
STDIO_COMMAND = (sys.executable, [str(HERE / "weather_server.py")])
"""How to start the weather server over stdio: the command and its arguments."""

WEATHER_SCRIPT: dict[str, Any] = {
    "turns": [
        {
            "user": "What's the weather in Paris?",
            "mode": "text",
            "steps": [
                {"call": "get_weather", "arguments": {"city": "Paris"}},
                {"say": "It is {{ output.sky }} in {{ output.city }}."},
            ],
        }
    ]
}
"""A turn whose model calls `get_weather` and then reads its output."""


Conversation = Callable[..., AbstractAsyncContextManager[RealtimeSession[Any]]]
"""`conversation(agent, script, **runner_options)`: see the `conversation` fixture."""


async def events_until(session: RealtimeSession[Any], last: str, timeout: float = 10) -> list[Any]:
    """The session's events up to and including the first of type `last`."""
    seen: list[Any] = []
    with anyio.fail_after(timeout):
        async for event in session:
            seen.append(event)
            if event.type == last:
                return seen
    raise AssertionError(f"the session ended before {last!r}")


def of_type(events: list[Any], kind: str) -> list[Any]:
    """The events of type `kind`, in order."""
    return [e for e in events if e.type == kind]
