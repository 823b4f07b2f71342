"""Sealed constructors: the same frozen objects as the class builds, for the same arguments."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest


def test_sealed_events_are_ordinary_frozen_instances() -> None:
    import pickle

    from agentkit import protocol as p
    from agentkit.history import HistoryItem
    from agentkit.protocol.sealed import sealed_constructor

    cases: list[tuple[type, tuple[Any, ...]]] = [
        (p.ResponseOutputItemDone, ("resp_1", 0, {"type": "message"}, "ev_1")),
        (p.ResponseDone, ("resp_1", "completed", {"id": "resp_1"}, "")),
        (p.ConversationItemAdded, ({"id": "i"}, None, "")),
        (HistoryItem, ("i", "message", "user", "hi", "completed", *[None] * 7)),
    ]
    for cls, args in cases:
        sealed = sealed_constructor(cls)(*args)
        built = cls(*args)
        assert type(sealed) is cls
        assert sealed == built
        assert pickle.loads(pickle.dumps(sealed)) == built
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(sealed, dataclasses.fields(cls)[0].name, "other")


@dataclasses.dataclass(frozen=True, slots=True)
class _Sample:
    name: str
    count: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)
    note: str | None = dataclasses.field(default=None, kw_only=True)


def test_a_sealed_constructor_takes_what_the_class_takes() -> None:
    import inspect

    from agentkit import protocol as p
    from agentkit.protocol.sealed import sealed_constructor

    new = sealed_constructor(_Sample)
    assert str(inspect.signature(new)).startswith("(name, count=0, tags=")
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("a",), {}),
        (("a", 3), {}),
        ((), {"name": "a", "count": 3}),
        (("a",), {"tags": ["x"], "note": "n"}),
    ]
    for args, kwargs in calls:
        sealed = new(*args, **kwargs)
        assert type(sealed) is _Sample
        assert sealed == _Sample(*args, **kwargs)
    # A default factory gives every object its own value, as the class does.
    assert new("a").tags is not new("a").tags
    with pytest.raises(TypeError):
        new("a", 1, [], "positional note")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        new()  # type: ignore[call-arg]
    # An event's defaults apply: `event_id` and `function_call` may be left out.
    done = sealed_constructor(p.ResponseOutputItemDone)
    assert done(p.ResponseId("resp_1"), 0, {"type": "message"}) == p.ResponseOutputItemDone(
        p.ResponseId("resp_1"), 0, {"type": "message"}, "", None
    )
    assert done(
        response_id=p.ResponseId("r"), output_index=1, item={}, event_id="e"
    ) == p.ResponseOutputItemDone(p.ResponseId("r"), 1, {}, event_id="e")


def test_a_class_whose_init_does_more_is_refused() -> None:
    from agentkit.protocol.sealed import sealed_constructor

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            assert self.value >= 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        value: int
        double: int = dataclasses.field(init=False, default=0)

    for cls in (Checked, Derived):
        with pytest.raises(TypeError):
            sealed_constructor(cls)
    with pytest.raises(TypeError):
        sealed_constructor(dict)
