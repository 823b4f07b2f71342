"""The conversation: its items, their order, and the `conversation.item.*` client events.

`Conversation` keeps each item's wire form plus what the server knows beyond it (the audio,
what the model "heard"), in the order the client sees (`previous_item_id` inserts anywhere).
It answers `conversation.item.create/retrieve/delete/truncate` and hands the responses the
conversation as `ConversationEntry`s, the neutral form a `ResponseModel` reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import orjson
import pybase64

from .. import audio
from ..audio import AudioFormat
from ..protocol.wire_types import JsonObject
from .errors import ClientError
from .model import ConversationEntry, ResponseModel
from .outbox import Outbox, copy_json

__all__ = ["Conversation", "Item", "ItemOperation", "entries", "validate_item"]

ItemOperation = Literal["retrieve", "delete", "truncate"]
"""A client operation on an existing item (each has its own error code for an unknown id)."""

_UNKNOWN_ITEM: Final[dict[ItemOperation, tuple[str, str]]] = {
    "retrieve": ("retrieving", "item_retrieve_invalid_item_id"),
    "delete": ("deleting", "item_delete_invalid_item_id"),
    "truncate": ("truncating", "item_truncate_invalid_item_id"),
}
"""The service's verb and code for an unknown `item_id` (`docs/server-errors.md`)."""


@dataclass
class Item:
    """A conversation item plus what the server knows beyond the wire form."""

    data: JsonObject
    audio: bytes = b""
    audio_format: AudioFormat = "pcm16"
    heard: str = ""  # what the model understood (audio turns: the model's transcript)
    word_starts_ms: tuple[float, ...] = ()  # for truncation of assistant audio transcripts


class Conversation:
    """The items of the session's default conversation, in order."""

    def __init__(self, outbox: Outbox, model: ResponseModel) -> None:
        self._outbox = outbox
        self._model = model
        self.items: dict[str, Item] = {}
        self.order: list[str] = []
        # Every caller line this session heard, in order, deleted items included: which
        # scripted line a new audio turn is follows what the caller already said, even when
        # the client removed a line from the conversation (an input guardrail does that).
        self.caller_lines: list[ConversationEntry] = []
        # The call ids a `function_call_output` may answer: every function call this session
        # saw (a client's item, or a response's output, in or out of band).
        self.call_ids: set[str] = set()

    def last_id(self) -> str | None:
        """The id of the last item (`None`: the conversation is empty)."""
        return self.order[-1] if self.order else None

    def insert(self, item: Item, previous: str | None) -> None:
        """Add `item` after `previous` (`None`: at the end; `"root"`: at the start)."""
        item_id = item.data["id"]
        self.items[item_id] = item
        if item.data.get("type") == "message" and item.data.get("role") == "user":
            self.caller_lines.append(ConversationEntry(kind="user", text=item.heard))
        elif item.data.get("type") == "function_call":
            self.call_ids.add(item.data["call_id"])
        if previous is None:
            self.order.append(item_id)
        elif previous == "root":
            self.order.insert(0, item_id)
        else:
            self.order.insert(self.order.index(previous) + 1, item_id)

    def remove(self, item_id: str) -> None:
        """Drop the item `item_id`, if there is one."""
        if item_id in self.items:
            del self.items[item_id]
            self.order.remove(item_id)

    def in_order(self) -> list[Item]:
        """Every item, in conversation order."""
        return [self.items[i] for i in self.order]

    def lookup(self, event: JsonObject, operation: ItemOperation) -> Item:
        """The item `event["item_id"]` names; `ClientError` when missing or unknown, with the
        service's code and message for `operation` (clients key on them: pipecat fails only its
        pending retrieve on `item_retrieve_invalid_item_id`, any other code ends its session)."""
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise ClientError("Missing required parameter: 'item_id'.", "invalid_event", "item_id")
        item = self.items.get(item_id)
        if item is None:
            verb, code = _UNKNOWN_ITEM[operation]
            raise ClientError(f"Error {verb} item: the item with id '{item_id}' does not exist.", code)
        return item

    def entries_before(self, previous: str | None) -> tuple[ConversationEntry, ...]:
        """The conversation up to and including `previous` (`None`: all of it; `"root"`:
        nothing) — what a new item inserted there follows."""
        if previous == "root":
            return ()
        end = len(self.order) if previous is None else self.order.index(previous) + 1
        return entries([self.items[i] for i in self.order[:end]])

    # --- client events ---------------------------------------------------------------------

    def create(self, event: JsonObject, now: float, input_format: AudioFormat) -> None:
        """`conversation.item.create`."""
        data = event.get("item")
        if not isinstance(data, dict):
            raise ClientError("Missing required parameter: 'item'.", "invalid_event", "item")
        previous = event.get("previous_item_id")
        if previous is not None and previous != "root" and previous not in self.items:
            raise ClientError(f"Error adding item: the previous item with id '{previous}' does not exist.", "item_create_invalid_previous_item_id")
        item = validate_item(data, "item", self._outbox.new_id)
        if item["type"] == "function_call_output" and item["call_id"] not in self.call_ids:
            raise ClientError(f"No tool call found for function call output with call_id '{item['call_id']}'.", "invalid_value", "item.call_id")
        if item["type"] == "mcp_approval_response" and self.items.get(item["approval_request_id"], Item({})).data.get("type") != "mcp_approval_request":
            raise ClientError(f"No MCP approval request found with id '{item['approval_request_id']}'.", "invalid_value", "item.approval_request_id")
        if item["id"] in self.items:
            # The service's code and message; LiveKit's replay after a reconnect takes this
            # code as "already there", so it must be exactly this one.
            raise ClientError(f"Error adding item: an item with id '{item['id']}' already exists.", "item_create_duplicate_item_id")
        after = previous if previous is not None else self.last_id()
        audio_bytes = b""
        heard = ""
        for index, part in enumerate(item.get("content", [])):
            if part.get("type") == "input_audio" and isinstance(part.get("audio"), str):
                try:
                    audio_bytes = pybase64.b64decode(part.pop("audio"), validate=True)
                except ValueError:
                    raise ClientError("Invalid base64 in 'audio'.", "invalid_value", f"item.content[{index}].audio") from None
                heard = part.get("transcript") or self._model.transcribe(audio.duration_ms(len(audio_bytes), input_format), self.entries_before(after))
            elif part.get("type") in ("input_text", "output_text"):
                heard = (heard + " " + (part.get("text") or "")).strip()
        self.insert(Item(item, audio=audio_bytes, audio_format=input_format, heard=heard), after if after != "root" else "root")
        emit = self._outbox.emit
        emit({"type": "conversation.item.added", "item": copy_json(item), "previous_item_id": after if after != "root" else None}, now)
        emit({"type": "conversation.item.done", "item": copy_json(item), "previous_item_id": after if after != "root" else None}, now)

    def retrieve(self, event: JsonObject, now: float) -> None:
        """`conversation.item.retrieve`: the item, with its audio as base64."""
        item = self.lookup(event, "retrieve")
        payload = dict(item.data)
        if item.audio:
            payload["content"] = [dict(p) for p in payload.get("content", [])]
            for part in payload["content"]:
                if part.get("type") in ("input_audio", "output_audio"):
                    part["audio"] = pybase64.b64encode(item.audio).decode()
        self._outbox.emit({"type": "conversation.item.retrieved", "item": payload}, now)

    def delete(self, event: JsonObject, now: float) -> None:
        """`conversation.item.delete`."""
        item = self.lookup(event, "delete")
        item_id = item.data["id"]
        del self.items[item_id]
        self.order.remove(item_id)
        self._outbox.emit({"type": "conversation.item.deleted", "item_id": item_id}, now)

    def truncate(self, event: JsonObject, now: float) -> None:
        """`conversation.item.truncate`: cut an assistant item's audio and delete its transcript,
        as the service does ("Truncating audio will delete the server-side text transcript to
        ensure there is not text in the context that hasn't been heard by the user"): the
        item's `output_audio` part keeps an empty `transcript`. What was heard is the client's
        to keep in its own history."""
        item = self.lookup(event, "truncate")
        end_ms = event.get("audio_end_ms")
        content_index = event.get("content_index")
        if not isinstance(end_ms, int) or isinstance(end_ms, bool) or end_ms < 0:
            raise ClientError("Invalid value for 'audio_end_ms'.", "invalid_event", "audio_end_ms")
        if not isinstance(content_index, int) or content_index != 0:
            raise ClientError("Invalid value for 'content_index'.", "invalid_value", "content_index")
        data = item.data
        if data.get("role") != "assistant" or not item.audio:
            raise ClientError("Only model output audio messages can be truncated", "unsupported_content_type")
        length = audio.duration_ms(len(item.audio), item.audio_format)
        if end_ms > length + 1e-6:
            raise ClientError(f"Audio content of {length:.0f}ms is already shorter than {end_ms}ms", "invalid_value", "audio_end_ms")
        item.audio = item.audio[: audio.bytes_for_ms(end_ms, item.audio_format)]
        part = data["content"][0]
        words = part.get("transcript", "").split(" ") if part.get("transcript") else []
        # The model keeps the audio it said up to the cut, so what it "heard" itself say (what
        # the scripted model reads) is the words whose audio had started; the wire transcript
        # is deleted.
        item.heard = " ".join(w for w, start in zip(words, item.word_starts_ms, strict=False) if start < end_ms)
        part["transcript"] = ""
        self._outbox.emit({"type": "conversation.item.truncated", "item_id": data["id"], "content_index": 0, "audio_end_ms": end_ms}, now)


def entries(items: Sequence[Item]) -> tuple[ConversationEntry, ...]:
    """`items` in the neutral form a `ResponseModel` reads."""
    found: list[ConversationEntry] = []
    for item in items:
        data = item.data
        kind = data.get("type")
        if kind == "message":
            found.append(ConversationEntry(kind=data["role"], text=item.heard))
        elif kind == "function_call":
            found.append(ConversationEntry(kind="function_call", name=data.get("name"), call_id=data.get("call_id")))
        elif kind == "function_call_output":
            found.append(ConversationEntry(kind="function_call_output", call_id=data.get("call_id"), output=data.get("output")))
        elif kind in ("mcp_call", "mcp_approval_response"):
            found.extend(_hosted_call(data, items))
    return tuple(found)


def _hosted_call(data: JsonObject, items: Sequence[Item]) -> tuple[ConversationEntry, ...]:
    """A hosted MCP call as the model reads it: a call and its output once it ran, or once
    its approval was refused (an approved request is a call still to make)."""
    if data["type"] == "mcp_call":
        if data.get("output") is None and data.get("error") is None:
            return ()
        output = data["output"] if data.get("error") is None else orjson.dumps({"error": data["error"]}).decode()
        name, call_id = data.get("name"), data["id"]
    else:
        request = next((i.data for i in items if i.data.get("id") == data.get("approval_request_id")), None)
        if data.get("approve") is not False or request is None:
            return ()
        name, call_id = request.get("name"), request["id"]
        output = orjson.dumps({"error": "the call was not approved", "reason": data.get("reason")}).decode()
    return (
        ConversationEntry(kind="function_call", name=name, call_id=call_id),
        ConversationEntry(kind="function_call_output", call_id=call_id, output=output),
    )


def validate_item(data: JsonObject, param: str, new_id: Callable[[str], str]) -> JsonObject:
    """A client-given item (its types already checked by the client-event schema) completed
    (id, object, status); `ClientError` for what the service would reject. `param` names the
    item in errors."""
    kind = data.get("type")
    item = {key: value for key, value in data.items() if value is not None}
    item.setdefault("id", new_id("item"))
    item["object"] = "realtime.item"
    item.setdefault("status", "completed")
    if kind == "message":
        role = data.get("role")
        allowed = {"user": ("input_text", "input_audio", "input_image"), "system": ("input_text",), "assistant": ("output_text", "output_audio")}
        if role not in allowed:
            raise ClientError(f"Invalid value for '{param}.role'.", "invalid_value", f"{param}.role")
        content = data.get("content")
        if not isinstance(content, list):
            raise ClientError(f"Missing required parameter: '{param}.content'.", "invalid_event", f"{param}.content")
        for index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in allowed[role]:
                raise ClientError(f"Invalid value for '{param}.content[{index}].type'.", "invalid_value", f"{param}.content[{index}].type")
            if role == "assistant" and part.get("type") == "output_audio" and part.get("audio"):
                raise ClientError("Assistant audio cannot be created by the client.", "invalid_value", f"{param}.content[{index}]")
        item["content"] = [dict(p) for p in content]
    elif kind == "function_call":
        for key in ("name", "arguments"):
            if not isinstance(data.get(key), str):
                raise ClientError(f"Missing required parameter: '{param}.{key}'.", "invalid_event", f"{param}.{key}")
        item.setdefault("call_id", new_id("call"))
    elif kind == "function_call_output":
        for key in ("call_id", "output"):
            if not isinstance(data.get(key), str):
                raise ClientError(f"Missing required parameter: '{param}.{key}'.", "invalid_event", f"{param}.{key}")
    elif kind == "mcp_approval_response":
        # The service's MCP items carry neither (`openai.types.realtime.RealtimeMcpApprovalResponse`).
        item.pop("status", None)
        item.pop("object", None)
    else:
        raise ClientError(f"Invalid value for '{param}.type': {kind!r}.", "invalid_value", f"{param}.type")
    return item
