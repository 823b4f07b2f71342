"""Frozen dataclass instances built at the cost of a plain slotted object.

A frozen dataclass's generated `__init__` stores every field with `object.__setattr__` (by
name, through the frozen guard), which costs about three times as much as filling a plain
slotted object. On the hot paths (every decoded frame, every history snapshot, every event
for the app) the objects are instead filled as a *draft*, an instance of a plain slotted twin
class with the same layout, and sealed with `draft.__class__ = cls`, which CPython allows
between two classes of identical layout. The result is an ordinary frozen `cls` instance
(`type(x) is cls`, dataclass equality, hash, pickling, `FrozenInstanceError` on assignment).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["draft_class", "sealed_constructor"]

_E = TypeVar("_E")


def draft_class(cls: type) -> type[Any]:
    """A mutable twin of the slotted frozen dataclass `cls`: the same slots in the same order,
    and no `__setattr__` guard. Fails at once (not on first use) if the layouts differ."""
    slots: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    draft = type(f"_{cls.__name__}Draft", (), {"__slots__": slots, "__module__": cls.__module__})
    draft().__class__ = cls
    return draft


def sealed_constructor(cls: type[_E]) -> Callable[..., _E]:
    """A positional constructor for the slotted frozen dataclass `cls` that fills a draft and
    seals it (see the module docs). Same fields, same immutable result as `cls(...)`; the
    caller must pass every field, in declaration order (defaults are not applied)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_draft": draft_class(cls), "_cls": cls}
    body = "".join(f"    self.{n} = {n}\n" for n in names)
    source = (
        f"def build({', '.join(names)}, *, _draft=_draft, _cls=_cls):\n"
        f"    self = _draft()\n{body}    self.__class__ = _cls\n    return self\n"
    )
    exec(source, namespace)  # the dataclasses module builds __init__ the same way
    builder: Callable[..., _E] = namespace["build"]
    builder.__qualname__ = builder.__name__ = f"new_{cls.__name__}"
    return builder
