"""Strict validation of Realtime wire events against the installed `openai` package's types.

The SDK's event unions are `Annotated[Union[...], PropertyInfo(discriminator="type")]` — openai's
own metadata, which pydantic ignores — and its models are `extra="allow"`, so plain
`TypeAdapter(...).validate_python` both drowns a bad event in errors from every union member
and lets unknown keys through. Here we:

1. pick the event model by its `type` (maps built from the unions with `typing.get_args`),
2. validate it with pydantic in strict mode (no `"1"` → `1` coercion; JSON numbers may still be
   ints where the SDK says float),
3. walk the validated model and reject any key that landed in a `model_extra`, naming its JSON
   path (`$.session.audio.input.foo`).

One allowance: `session.created` / `session.updated` carry server-added `id`, `object` and
`expires_at` on the session, which the SDK does not model (GA types that session as the
*request* model; the beta `Session` model has `id` only) — exactly those keys are accepted on
that object, nowhere else.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

import openai.types.beta.realtime as beta_types
import openai.types.realtime as ga_types
import pydantic
from pydantic import BaseModel

__all__ = [
    "client_event_types",
    "server_event_types",
    "validate_client_event",
    "validate_server_event",
]

Dialect = Literal["ga", "beta"]

_SESSION_SERVER_KEYS = frozenset({"id", "object", "expires_at"})


def _members(union: Any) -> dict[str, type[BaseModel]]:
    # Annotated[Union[...], PropertyInfo] → Union[...] → member classes.
    inner = typing.get_args(union)[0]
    mapping: dict[str, type[BaseModel]] = {}
    for model in typing.get_args(inner):
        (literal,) = typing.get_args(model.model_fields["type"].annotation)
        mapping[literal] = model
    return mapping


@cache
def server_event_types(dialect: Dialect) -> dict[str, type[BaseModel]]:
    """`{type: model}` for every server event the SDK knows in `dialect`."""
    union = ga_types.RealtimeServerEvent if dialect == "ga" else beta_types.RealtimeServerEvent
    return _members(union)


@cache
def client_event_types(dialect: Dialect) -> dict[str, type[BaseModel]]:
    """`{type: model}` for every client event the SDK knows in `dialect`."""
    union = ga_types.RealtimeClientEvent if dialect == "ga" else beta_types.RealtimeClientEvent
    return _members(union)


def validate_server_event(event: Mapping[str, Any], dialect: Dialect) -> None:
    """Raise `AssertionError` unless `event` is a valid server event of `dialect`, with no
    unknown keys anywhere."""
    _validate(event, server_event_types(dialect), dialect, server=True)


def validate_client_event(event: Mapping[str, Any], dialect: Dialect) -> None:
    """Raise `AssertionError` unless `event` is a valid client event of `dialect`, with no
    unknown keys anywhere."""
    _validate(event, client_event_types(dialect), dialect, server=False)


def _validate(
    event: Mapping[str, Any],
    types: dict[str, type[BaseModel]],
    dialect: Dialect,
    *,
    server: bool,
) -> None:
    if not isinstance(event, Mapping):
        raise AssertionError(f"$: expected a JSON object, got {type(event).__name__}")
    kind = event.get("type")
    side = "server" if server else "client"
    if kind not in types:
        raise AssertionError(f"$.type: {kind!r} is not a {dialect} {side} event type")
    model = types[kind]
    try:
        validated = model.model_validate(dict(event), strict=True)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"$.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise AssertionError(f"{kind} ({dialect}): {problems}") from None
    allowed_extra: dict[str, frozenset[str]] = {}
    if server and kind in ("session.created", "session.updated"):
        allowed_extra["$.session"] = _SESSION_SERVER_KEYS
    _reject_extras(validated, "$", allowed_extra, kind, dialect)


def _reject_extras(
    value: Any, path: str, allowed: dict[str, frozenset[str]], kind: str, dialect: Dialect
) -> None:
    if isinstance(value, BaseModel):
        extra = value.model_extra or {}
        unknown = sorted(set(extra) - allowed.get(path, frozenset()))
        if unknown:
            where = ", ".join(f"{path}.{key}" for key in unknown)
            raise AssertionError(f"{kind} ({dialect}): unknown key(s) {where}")
        for name, field in type(value).model_fields.items():
            key = field.alias or name
            _reject_extras(getattr(value, name), f"{path}.{key}", allowed, kind, dialect)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            _reject_extras(inner, f"{path}[{index}]", allowed, kind, dialect)
    # Plain dicts are free-form by the SDK's own typing (`parameters: object`, metadata).
