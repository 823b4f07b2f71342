"""`agentkit.events`: every session event is frozen typed data whose `type` is the name
`session.on()` takes."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from agentkit import events
from agentkit.errors import ProtocolError
from agentkit.events import ErrorEvent, SessionEvent, SessionEventName, SessionStatus, StatusChanged

MEMBERS = typing.get_args(SessionEvent)


def test_each_event_type_is_a_name_session_on_accepts_and_names_one_event() -> None:
    types = [member.type for member in MEMBERS]
    assert len(types) == len(set(types))
    assert set(types) == set(typing.get_args(SessionEventName))


def test_every_event_class_is_exported_and_in_the_union() -> None:
    classes = {
        obj
        for name in events.__all__
        if dataclasses.is_dataclass(obj := getattr(events, name)) and isinstance(obj, type)
    }
    assert classes == set(MEMBERS)


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: m.__name__)
def test_events_are_frozen_and_slotted(member: type) -> None:
    assert member.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert "__slots__" in vars(member)
    assert "type" not in {f.name for f in dataclasses.fields(member)}  # a ClassVar, not a field


def test_events_compare_by_value() -> None:
    changed = StatusChanged(SessionStatus.CONNECTING, SessionStatus.CONNECTED)
    assert changed == StatusChanged(SessionStatus.CONNECTING, SessionStatus.CONNECTED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.new = SessionStatus.DISCONNECTED  # type: ignore[misc]
    error = ProtocolError("bad frame")
    assert ErrorEvent(error).code is None and ErrorEvent(error, "x").error is error
    assert [s.value for s in SessionStatus] == ["disconnected", "connecting", "connected", "reconnecting"]
