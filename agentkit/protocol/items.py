"""Conversation items at the wire: the typed function call the decoder reads, and the items
the client writes.

The service's items are JSON objects and travel as such (`JsonMapping`) on the events that
carry them; a `function_call` item, which the runtime turns into a tool run, is also given
typed, as a `FunctionCallItem`, by `function_call_item`. The client's own items (a user
message, a call's output) are built here in GA terms; `protocol/encode.py` sends them and
`protocol/dialect_items.py` renders them for beta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from .wire_types import CallId, ItemId, JsonMapping, JsonObject

__all__ = [
    "FunctionCallItem",
    "function_call_item",
    "function_call_output_item",
    "user_message_item",
]


@dataclass(frozen=True, slots=True)
class FunctionCallItem:
    """A `function_call` item: the model asks the client to run the function `name`.

    Attributes:
        id: The item's id (the service always sends one; `None` if an item came without).
        call_id: The call's id, the key of its single `function_call_output`.
        name: The function (tool) to run.
        arguments: The arguments as the model wrote them (a JSON object, not yet parsed);
            `"{}"` when the item had none, as the runtime reads it.
        status: The wire status (`in_progress`, `completed`, `incomplete`), if given.
    """

    type: ClassVar[Literal["function_call"]] = "function_call"
    id: ItemId | None
    call_id: CallId
    name: str
    arguments: str
    status: str | None = None


def function_call_item(item: JsonMapping) -> FunctionCallItem | None:
    """`item` as a `FunctionCallItem`, or `None` if it is not a `function_call` or lacks a
    string `call_id` or `name` (the item still travels untyped; the runtime reports it)."""
    if item.get("type") != "function_call":
        return None
    call_id = item.get("call_id")
    name = item.get("name")
    if type(call_id) is not str or type(name) is not str:
        return None
    item_id = item.get("id")
    arguments = item.get("arguments")
    status = item.get("status")
    return FunctionCallItem(
        ItemId(item_id) if type(item_id) is str else None,
        CallId(call_id),
        name,
        arguments if type(arguments) is str else "{}",
        status if type(status) is str else None,
    )


def user_message_item(text: str, *, item_id: str | None = None) -> JsonObject:
    """A user text message item (GA terms; `input_text` is spelled alike in beta)."""
    item: JsonObject = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    if item_id is not None:
        item["id"] = item_id
    return item


def function_call_output_item(
    call_id: str, output: str, *, item_id: str | None = None
) -> JsonObject:
    """The output of function call `call_id`, as the string the model reads."""
    item: JsonObject = {"type": "function_call_output", "call_id": call_id, "output": output}
    if item_id is not None:
        item["id"] = item_id
    return item

