"""How a client event's schema failure is named: the service's `error` for its first bad field.

`first_error` turns a pydantic `ValidationError` into `InvalidClientEvent`: the dotted path of
the first bad field as the service names it (`session.audio.input.turn_detection.threshold`,
`item.content[0].text`; pydantic's union tags and member names are not part of it), the
service's code (`invalid_type`, `invalid_value`, `unknown_parameter`,
`missing_required_parameter`, `integer_below_min_value`, `decimal_above_max_value`, ...) and
a message in the service's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import ValidationError

__all__ = ["InvalidClientEvent", "first_error"]


class InvalidClientEvent(ValueError):
    """A client event its schema refuses: the service's `message`, `code` and `param`."""

    def __init__(self, message: str, code: str, param: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param



_EXPECTED: Final[Mapping[str, str]] = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a decimal",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


_CLIP: Final = 200
"""The longest client value (a type, a key, a literal) an error message quotes: a megabyte
in is not a megabyte out."""


def _clip(value: object) -> str:
    text = str(value)
    return text if len(text) <= _CLIP else f"{text[:_CLIP]}..."


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _walk(data: Any, loc: Sequence[int | str], missing_last: bool) -> tuple[list[str | int], Any]:
    """The path of `loc` in the wire data (pydantic's union tags and member names dropped:
    they are not keys of the data) and the value found there."""
    path: list[str | int] = []
    value = data
    for index, step in enumerate(loc):
        in_object = isinstance(value, Mapping) and isinstance(step, str) and step in value
        if in_object or (isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)):
            value = value[step]
            path.append(step)
        elif missing_last and index == len(loc) - 1 and isinstance(step, str):
            path.append(step)
            value = None
    return path, value


def _dotted(parts: Sequence[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def first_error(exc: ValidationError, data: Any, *, top_level: bool = False, prefix: tuple[str, ...] = ()) -> InvalidClientEvent:
    error = exc.errors(include_url=False)[0]
    kind = error["type"]
    ctx = error.get("ctx") or {}
    path, value = _walk(data, error["loc"], missing_last=kind == "missing")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        name = str(ctx.get("discriminator", "'type'")).strip("'")
        path.append("type" if name.endswith("()") else name)  # a callable: `_kind` reads `type`
    param = _clip(_dotted([*prefix, *path])) or None
    if top_level and len(path) == 1 and path[0] == "type":
        if kind == "union_tag_not_found":
            return InvalidClientEvent("The 'type' field is missing.", "invalid_event", "type")
        return InvalidClientEvent(f"Invalid value: '{_clip(ctx.get('tag'))}'. Supported values are: {ctx.get('expected_tags')}.", "invalid_event", "type")
    if kind in ("missing", "union_tag_not_found"):
        code = "invalid_event" if top_level and len(path) == 1 else "missing_required_parameter"
        return InvalidClientEvent(f"Missing required parameter: '{param}'.", code, param)
    if kind == "extra_forbidden":
        return InvalidClientEvent(f"Unknown parameter: '{param}'.", "unknown_parameter", param)
    if kind == "union_tag_invalid":
        return InvalidClientEvent(f"Invalid value for '{param}': '{_clip(ctx.get('tag'))}'. Supported values are: {ctx.get('expected_tags')}.", "invalid_value", param)
    if kind in _EXPECTED:
        if param is None:
            return InvalidClientEvent("Client events must be JSON objects.", "invalid_event", None)
        return InvalidClientEvent(f"Invalid type for '{param}': expected {_EXPECTED[kind]}, but got {_kind_of(value)} instead.", "invalid_type", param)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        number = "integer" if isinstance(value, int) else "decimal"
        below = kind.startswith("greater")
        bound = next(iter(ctx.values()), None)
        sign = ">=" if kind.endswith("equal") and below else "<=" if kind.endswith("equal") else ">" if below else "<"
        message = f"Invalid '{param}': {number} {'below minimum' if below else 'above maximum'} value. Expected a value {sign} {bound}, but got {value} instead."
        return InvalidClientEvent(message, f"{number}_{'below_min' if below else 'above_max'}_value", param)
    if kind in ("string_too_long", "too_long", "too_short"):
        return InvalidClientEvent(f"Invalid '{param}': {error['msg'].lower()}.", "invalid_value", param)
    if kind == "literal_error":
        return InvalidClientEvent(f"Invalid value for '{param}': {_clip(repr(value))}. Supported values are: {ctx.get('expected')}.", "invalid_value", param)
    return InvalidClientEvent(f"Invalid value for '{param}': {_clip(error['msg'])}.", "invalid_value", param)
