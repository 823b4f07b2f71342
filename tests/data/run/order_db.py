"""A sibling module `orders_agent.py` imports by its plain name (its folder is on sys.path)."""

from __future__ import annotations

from types import TracebackType

OPENED: list[str] = []


class OrderDb:
    """An async context manager: opened before the session, closed after it."""

    def __init__(self) -> None:
        self.orders = {"42": {"id": "42", "status": "shipped"}}

    async def __aenter__(self) -> OrderDb:
        OPENED.append("opened")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        OPENED.append("closed")
