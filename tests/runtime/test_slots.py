"""Session slots: a runner refuses the call it cannot serve."""

from __future__ import annotations

import pytest

from agentkit.errors import DefinitionError, SessionLimitError
from agentkit.runtime.slots import SessionSlots


def test_slots_are_taken_and_given_back() -> None:
    slots = SessionSlots(1)
    slots.acquire()
    with pytest.raises(SessionLimitError):
        slots.acquire()
    slots.release()
    slots.release()  # never below zero
    assert slots.active == 0
    slots.acquire()
    unlimited = SessionSlots(None)
    for _ in range(100):
        unlimited.acquire()
    with pytest.raises(DefinitionError):
        SessionSlots(0)
