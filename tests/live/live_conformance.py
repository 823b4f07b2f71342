"""Strict validation of GPT-Live wire events against the installed `openai` package's types.

As `tests/openai_conformance.py` does for Realtime: the event model is picked by `type` from
`openai.types.live.ClientEvent` / `ServerEvent` (the sideband's `ConnectServerEvent` adds
`session.paused` / `.resumed`), validated by pydantic in strict mode, and every key that lands in
a `model_extra` is an error naming its path. A `response.event`'s nested Responses stream event
(`Dict[str, object]` in the Live types) is checked the same way against
`openai.types.responses.ResponseStreamEvent`.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

import openai.types.live as live_types
import openai.types.responses as responses_types
import pydantic
from pydantic import BaseModel

__all__ = ["validate_live_client_event", "validate_live_server_event"]


def _members(union: Any) -> dict[str, type[BaseModel]]:
    inner = typing.get_args(union)[0]
    mapping: dict[str, type[BaseModel]] = {}
    for model in typing.get_args(inner):
        for literal in typing.get_args(model.model_fields["type"].annotation):
            mapping[literal] = model
    return mapping


@cache
def _client() -> dict[str, type[BaseModel]]:
    return _members(live_types.ClientEvent)


@cache
def _server() -> dict[str, type[BaseModel]]:
    from openai.types.live.connect_server_event import ConnectServerEvent

    return {**_members(ConnectServerEvent), **_members(live_types.ServerEvent)}


@cache
def _responses() -> dict[str, type[BaseModel]]:
    return _members(responses_types.ResponseStreamEvent)


def validate_live_client_event(event: Mapping[str, Any]) -> None:
    """Raise `AssertionError` unless `event` is a valid Live client event, no unknown keys."""
    _validate(event, _client(), "client")


def validate_live_server_event(event: Mapping[str, Any]) -> None:
    """Raise `AssertionError` unless `event` is a valid Live server event (its nested
    Responses event too), no unknown keys."""
    _validate(event, _server(), "server")
    if event.get("type") == "response.event":
        _validate(event["event"], _responses(), "nested Responses")


def _validate(event: Mapping[str, Any], types: dict[str, type[BaseModel]], side: str) -> None:
    if not isinstance(event, Mapping):
        raise AssertionError(f"$: expected a JSON object, got {type(event).__name__}")
    kind = event.get("type")
    if kind not in types:
        raise AssertionError(f"$.type: {kind!r} is not a Live {side} event type")
    try:
        validated = types[kind].model_validate(dict(event), strict=True)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"$.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise AssertionError(f"{kind} ({side}): {problems}") from None
    _reject_extras(validated, "$", kind)


def _reject_extras(value: Any, path: str, kind: str) -> None:
    if isinstance(value, BaseModel):
        extra = value.model_extra or {}
        if extra:
            raise AssertionError(f"{kind}: unknown key(s) {', '.join(f'{path}.{k}' for k in sorted(extra))}")
        for name, field in type(value).model_fields.items():
            _reject_extras(getattr(value, name), f"{path}.{field.alias or name}", kind)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            _reject_extras(inner, f"{path}[{index}]", kind)
