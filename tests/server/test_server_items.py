"""The conversation: item create, retrieve, delete, truncate, and the caller's lines."""

from __future__ import annotations

import pybase64
from session_harness import Harness

from agentkit import audio


def test_truncate() -> None:
    h = Harness()
    out = h.send({"type": "response.create"})
    item = next(e for e in out if e["type"] == "response.done")["response"]["output"][0]
    length = audio.duration_ms(3 * 0 + len(b"".join(pybase64.b64decode(e["delta"]) for e in out if e["type"] == "response.output_audio.delta")))
    out = h.send({"type": "conversation.item.truncate", "item_id": item["id"], "content_index": 0, "audio_end_ms": int(length) + 500, "event_id": "t1"})
    error = h.error(out)
    assert error["code"] == "invalid_value" and error["param"] == "audio_end_ms" and error["event_id"] == "t1"
    out = h.send({"type": "conversation.item.truncate", "item_id": item["id"], "content_index": 0, "audio_end_ms": 800})
    assert out[-1] == {**out[-1], "type": "conversation.item.truncated", "audio_end_ms": 800, "item_id": item["id"]}
    retrieved = h.send({"type": "conversation.item.retrieve", "item_id": item["id"]})[-1]["item"]
    # The service deletes the server-side transcript of a truncated item (the client's own
    # history keeps what was heard); the audio keeps what had played.
    assert retrieved["content"][0]["transcript"] == ""
    assert audio.duration_ms(len(pybase64.b64decode(retrieved["content"][0]["audio"]))) == 800
    # "Hello, how can I help?" = 5 words, 364 ms each: the model keeps the words whose audio
    # had started before 800 ms as what it said.
    assert h.core.items[item["id"]].heard == "Hello, how can"
    out = h.send({"type": "conversation.item.truncate", "item_id": "item_nope", "content_index": 0, "audio_end_ms": 1})
    assert h.error(out) == {
        "type": "invalid_request_error",
        "code": "item_truncate_invalid_item_id",
        "message": "Error truncating item: the item with id 'item_nope' does not exist.",
        "param": None,
        "event_id": None,
    }


def test_only_model_audio_can_be_truncated() -> None:
    h = Harness()
    h.send({"type": "conversation.item.create", "item": {"id": "item_u", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}})
    error = h.error(h.send({"type": "conversation.item.truncate", "item_id": "item_u", "content_index": 0, "audio_end_ms": 0}))
    assert error["code"] == "unsupported_content_type"
    assert error["message"] == "Only model output audio messages can be truncated"


def test_item_operations() -> None:
    h = Harness()
    msg = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "one"}]}
    h.send({"type": "conversation.item.create", "item": {**msg, "id": "item_a"}})
    out = h.send({"type": "conversation.item.create", "previous_item_id": "root", "item": {**msg, "id": "item_b"}})
    assert out[0]["previous_item_id"] is None
    assert h.core.order == ["item_b", "item_a"]
    out = h.send({"type": "conversation.item.create", "previous_item_id": "item_b", "item": {**msg, "id": "item_c"}})
    assert out[0]["previous_item_id"] == "item_b" and h.core.order == ["item_b", "item_c", "item_a"]
    duplicate = h.error(h.send({"type": "conversation.item.create", "item": {**msg, "id": "item_a"}}))
    assert duplicate["code"] == "item_create_duplicate_item_id"
    assert duplicate["message"] == "Error adding item: an item with id 'item_a' already exists."
    assert h.error(h.send({"type": "conversation.item.create", "previous_item_id": "nope", "item": msg}))["code"] == "item_create_invalid_previous_item_id"
    out = h.send({"type": "conversation.item.delete", "item_id": "item_c"})
    assert out[-1] == {**out[-1], "type": "conversation.item.deleted", "item_id": "item_c"}
    retrieve = h.error(h.send({"type": "conversation.item.retrieve", "item_id": "item_c", "event_id": "rci_item_c"}))
    assert retrieve == {
        "type": "invalid_request_error",
        "code": "item_retrieve_invalid_item_id",
        "message": "Error retrieving item: the item with id 'item_c' does not exist.",
        "param": None,
        "event_id": "rci_item_c",  # pipecat reads the item id back out of it
    }
    delete = h.error(h.send({"type": "conversation.item.delete", "item_id": "item_c"}))
    assert delete["code"] == "item_delete_invalid_item_id"
    assert delete["message"] == "Error deleting item: the item with id 'item_c' does not exist."
    assert h.error(h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "robot", "content": []}}))["code"] == "invalid_value"


def test_a_deleted_caller_line_still_counts_for_the_next_audio_turn() -> None:
    # An input guardrail deletes the offending user item; the caller's next audio turn is
    # still the script's next line, not the deleted one again.
    h = Harness()
    transcription = {"model": "gpt-4o-transcribe"}
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None, "transcription": transcription}}}})
    h.append(audio.synthesize_speech("Where is my order 42?", engine="synthetic"))
    first = next(e for e in h.send({"type": "input_audio_buffer.commit"}) if e["type"] == "input_audio_buffer.committed")
    deleted = h.send({"type": "conversation.item.delete", "item_id": first["item_id"]})
    assert h.types(deleted) == ["conversation.item.deleted"]
    h.append(audio.synthesize_speech("Thanks, that is all.", engine="synthetic"))
    out = h.send({"type": "input_audio_buffer.commit"})
    completed = next(e for e in out if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "Thanks, that is all."
