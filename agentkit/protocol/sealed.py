"""Frozen dataclass instances built at the cost of a plain slotted object.

A frozen dataclass's generated `__init__` stores every field with `object.__setattr__` (by
name, through the frozen guard), which costs about three times as much as filling a plain
slotted object. On the hot paths (every decoded frame, every history snapshot, every event
for the app) the objects are instead filled as a *draft*, an instance of a plain slotted twin
class with the same layout, and sealed with `draft.__class__ = cls`, which CPython allows
between two classes of identical layout. The result is an ordinary frozen `cls` instance
(`type(x) is cls`, dataclass equality, hash, pickling, `FrozenInstanceError` on assignment).

`sealed_constructor(cls)` has the type of `cls` itself (`Callable[P, E]`): the type checker
checks every call against the dataclass's fields, as it checks `cls(...)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = ["draft_class", "sealed_constructor"]

_P = ParamSpec("_P")
_E = TypeVar("_E")


def draft_class(cls: type) -> type[Any]:
    """A mutable twin of the slotted frozen dataclass `cls`: the same slots in the same order,
    and no `__setattr__` guard. Fails at once (not on first use) if the layouts differ."""
    slots: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    draft = type(f"_{cls.__name__}Draft", (), {"__slots__": slots, "__module__": cls.__module__})
    draft().__class__ = cls
    return draft


class _Missing:
    """The default of a `default_factory` field: "not given, call the factory"."""


def sealed_constructor(cls: Callable[_P, _E]) -> Callable[_P, _E]:
    """A constructor for the slotted frozen dataclass `cls` that fills a draft and seals it
    (see the module docs).

    It takes exactly what `cls(...)` takes (positional or keyword, defaults and default
    factories applied, keyword-only fields after `*`) and gives the same immutable object.
    A dataclass whose `__init__` does more than store its fields (`__post_init__`,
    `init=False` fields) is refused, since sealing would skip that work.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"sealed_constructor needs a dataclass, got {cls!r}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which sealing would skip")
    # The builder is made by a factory so that the draft class, the class and the defaults
    # are closure cells (as cheap to read as locals), and the builder's signature is exactly
    # the dataclass's: nothing extra a caller could pass. The dataclasses module builds
    # `__init__` the same way.
    closure: dict[str, Any] = {"__draft__": draft_class(cls), "__cls__": cls}
    positional: list[str] = []
    keyword_only: list[str] = []
    factories: list[str] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name} is not an __init__ field")
        parameter = f.name
        if f.default is not dataclasses.MISSING:
            closure[f"__default_{f.name}__"] = f.default
            parameter = f"{f.name}=__default_{f.name}__"
        elif f.default_factory is not dataclasses.MISSING:
            closure[f"__factory_{f.name}__"] = f.default_factory
            closure["__missing__"] = _Missing
            parameter = f"{f.name}=__missing__"
            factories.append(f"if {f.name} is __missing__: {f.name} = __factory_{f.name}__()")
        (keyword_only if f.kw_only else positional).append(parameter)
    names = [f.name for f in dataclasses.fields(cls)]
    parameters = ", ".join(positional + (["*", *keyword_only] if keyword_only else []))
    body = [
        "__self__ = __draft__()",
        *factories,
        *(f"__self__.{n} = {n}" for n in names),
        "__self__.__class__ = __cls__",
        "return __self__",
    ]
    source = "".join(
        [
            f"def __make__({', '.join(closure)}):\n",
            f"    def build({parameters}):\n",
            *(f"        {line}\n" for line in body),
            "    return build\n",
        ]
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    builder: Callable[_P, _E] = namespace["__make__"](**closure)
    builder.__qualname__ = builder.__name__ = f"new_{cls.__name__}"
    return builder
