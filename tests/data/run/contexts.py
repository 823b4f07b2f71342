"""Context factories for `agentkit run` tests: each records how it was closed."""

from __future__ import annotations

import os
from typing import Any

from agentkit import RunContext

EVENTS: list[str] = []


class Closable:
    """A context with `close()` only."""

    def close(self) -> None:
        EVENTS.append("closed")


class Managed:
    """A context manager: entered before the session, exited after it."""

    def __enter__(self) -> Managed:
        EVENTS.append("entered")
        return self

    def __exit__(self, *exc_info: object) -> None:
        EVENTS.append("exited")


def make() -> Any:
    """Which kind is chosen by an environment variable the test sets."""
    made = Managed() if os.environ.get("RUN_TEST_CONTEXT") == "managed" else Closable()
    EVENTS.append(f"made {type(made).__name__}")
    return made


def get_weather(ctx: RunContext[Any], city: str) -> dict[str, str]:
    """The weather in a city (and which context the tool saw)."""
    EVENTS.append(f"tool saw {type(ctx.context).__name__}")
    return {"city": city, "forecast": "sunny", "high": "21 C"}
