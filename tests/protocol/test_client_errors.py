"""`agentkit.protocol.client_errors`: a pydantic failure named as the service names it (the
first bad field's dotted path, the service's code and words)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentkit.protocol.client_errors import InvalidClientEvent, first_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Text(_Strict):
    type: Literal["input_text"]
    text: str


class Audio(_Strict):
    type: Literal["input_audio"]
    audio: str


class Item(_Strict):
    role: Literal["user", "assistant"]
    content: list[Annotated[Text | Audio, Field(discriminator="type")]]


class Event(_Strict):
    type: Literal["conversation.item.create"]
    item: Item
    tokens: Annotated[int, Field(ge=1, le=4096)] = 1
    speed: Annotated[float, Field(ge=0.25, le=1.5)] = 1.0


def named(data: Any, **options: Any) -> InvalidClientEvent:
    with pytest.raises(ValidationError) as info:
        Event.model_validate(data)
    return first_error(info.value, data, **options)


GOOD_ITEM = {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}


@pytest.mark.parametrize(
    ("data", "param", "code", "message"),
    [
        (
            {"type": "conversation.item.create", "item": {"role": "user", "content": [{"type": "input_text", "text": 42}]}},
            "item.content[0].text",  # the union member's tag is not part of the path
            "invalid_type",
            "Invalid type for 'item.content[0].text': expected a string, but got an integer instead.",
        ),
        (
            {"type": "conversation.item.create", "item": {"content": []}},
            "item.role",
            "missing_required_parameter",
            "Missing required parameter: 'item.role'.",
        ),
        (
            {"type": "conversation.item.create", "item": GOOD_ITEM, "colour": "red"},
            "colour",
            "unknown_parameter",
            "Unknown parameter: 'colour'.",
        ),
        (
            {"type": "conversation.item.create", "item": {"role": "user", "content": [{"type": "input_video"}]}},
            "item.content[0].type",
            "invalid_value",
            "Invalid value for 'item.content[0].type': 'input_video'.",
        ),
        (
            {"type": "conversation.item.create", "item": {"role": "boss", "content": []}},
            "item.role",
            "invalid_value",
            "Invalid value for 'item.role': 'boss'.",
        ),
        (
            {"type": "conversation.item.create", "item": GOOD_ITEM, "tokens": 0},
            "tokens",
            "integer_below_min_value",
            "Invalid 'tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
        ),
        (
            {"type": "conversation.item.create", "item": GOOD_ITEM, "speed": 2.0},
            "speed",
            "decimal_above_max_value",
            "Invalid 'speed': decimal above maximum value. Expected a value <= 1.5, but got 2.0 instead.",
        ),
        (
            {"type": "conversation.item.create", "item": [1]},
            "item",
            "invalid_type",
            "Invalid type for 'item': expected an object, but got an array instead.",
        ),
    ],
)
def test_the_first_bad_field_is_named_with_the_services_code(
    data: Any, param: str, code: str, message: str
) -> None:
    error = named(data)
    assert (error.param, error.code) == (param, code)
    assert error.message.startswith(message) and str(error) == error.message


def test_a_prefix_names_fields_of_an_object_checked_on_its_own() -> None:
    error = named({"type": "conversation.item.create", "item": GOOD_ITEM, "tokens": "x"}, prefix=("response",))
    assert (error.param, error.code) == ("response.tokens", "invalid_type")


def test_a_non_object_event_is_an_invalid_event() -> None:
    error = named([1, 2], top_level=True)
    assert (error.param, error.code, error.message) == (None, "invalid_event", "Client events must be JSON objects.")
    missing = named({"item": GOOD_ITEM}, top_level=True)
    assert (missing.param, missing.code) == ("type", "invalid_event")
    assert isinstance(missing, ValueError)
