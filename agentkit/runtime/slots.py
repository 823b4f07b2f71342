"""Concurrent-session slots: how a runner refuses the call it cannot serve."""

from __future__ import annotations

from ..errors import DefinitionError, SessionLimitError

__all__ = ["SessionSlots"]


class SessionSlots:
    """Counts a runner's live sessions against `max_concurrent_sessions` (`None`: no cap).

    A session takes a slot when it starts connecting and gives it back when it closes, so a
    runner serving a phone line refuses the call it cannot serve instead of degrading all.
    """

    __slots__ = ("active", "limit")

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise DefinitionError(f"max_concurrent_sessions must be at least 1, got {limit}")
        self.limit = limit
        self.active = 0

    def acquire(self) -> None:
        """Take a slot. Raises `SessionLimitError` when none is free."""
        if self.limit is not None and self.active >= self.limit:
            raise SessionLimitError(self.limit)
        self.active += 1

    def release(self) -> None:
        """Give a slot back."""
        self.active = max(0, self.active - 1)
