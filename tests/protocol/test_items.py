"""Conversation items: the typed function call read from a wire item, and the items the
client writes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from agentkit import protocol as p

# As `response.output_item.added` carries it: the arguments are still to come.
CALL_ITEM: dict[str, Any] = {"id": "item_7", "type": "function_call", "status": "in_progress"}
CALL_ITEM |= {"call_id": "call_7", "name": "transfer", "arguments": ""}


def test_a_function_call_item_is_read_typed() -> None:
    call = p.function_call_item(CALL_ITEM)
    assert call == p.FunctionCallItem(
        p.ItemId("item_7"), p.CallId("call_7"), "transfer", "", "in_progress"
    )
    assert call is not None and call.type == "function_call"
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.name = "other"  # type: ignore[misc]


def test_what_the_runtime_tolerates_is_kept_and_what_it_refuses_is_none() -> None:
    bare = {"type": "function_call", "call_id": "call_7", "name": "transfer"}
    assert p.function_call_item(bare) == p.FunctionCallItem(
        None, p.CallId("call_7"), "transfer", "{}", None
    )
    assert p.function_call_item({**CALL_ITEM, "type": "message"}) is None
    assert p.function_call_item({**CALL_ITEM, "name": None}) is None
    assert p.function_call_item({k: v for k, v in CALL_ITEM.items() if k != "call_id"}) is None


def test_client_items_are_ga_items() -> None:
    assert p.user_message_item("hi", item_id="item_1") == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hi"}],
        "id": "item_1",
    }
    assert p.function_call_output_item("call_1", "done") == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": "done",
    }
