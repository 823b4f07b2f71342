"""Encoding: the client frames the codec writes are valid for the openai SDK's own types, in
both dialects, and carry the fields given."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from openai_conformance import validate_client_event

from agentkit import protocol as p

AUDIO = bytes(range(256)) * 18 + b"\x00" * 192  # 4800 bytes, every byte value


def _client_frames(dialect: Any) -> list[str]:
    return [
        p.encode_input_audio_append(AUDIO),
        p.encode_input_audio_append(AUDIO, event_id="c_1"),
        p.encode_input_audio_commit(),
        p.encode_input_audio_clear(event_id="c_2"),
        p.encode_output_audio_clear(),
        p.encode_user_message("Hi there", dialect=dialect),
        p.encode_user_message("Hi", previous_item_id="item_1", dialect=dialect, event_id="c_3"),
        p.encode_function_call_output(
            "call_1", '{"ok":true}', previous_item_id="item_3", dialect=dialect
        ),
        p.encode_item_create(
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello"}],
            },
            dialect=dialect,
        ),
        p.encode_item_create(
            {
                "type": "message",
                "role": "system",
                "content": [{"type": "input_text", "text": "Be brief"}],
            },
            dialect=dialect,
        ),
        p.encode_item_truncate("item_2", 0, 1500),
        p.encode_item_delete("item_2", event_id="c_4"),
        p.encode_item_retrieve("item_2"),
        p.encode_response_create(dialect=dialect),
        p.encode_response_create(
            {
                "instructions": "Say goodbye.",
                "output_modalities": ["text"],
                "max_output_tokens": 200,
                "metadata": {"purpose": "farewell"},
                "conversation": "auto",
            },
            dialect=dialect,
        ),
        p.encode_response_cancel(),
        p.encode_response_cancel("resp_1", event_id="c_5"),
        p.encode_session_update(
            {
                "type": "realtime",
                "instructions": "x",
                "audio": {"output": {"voice": "marin", "format": {"type": "audio/pcmu"}}},
            },
            dialect=dialect,
        ),
        p.encode_client_event({"type": "conversation.item.retrieve", "item_id": "item_9"}),
    ]


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_encoded_frames_validate_strictly_against_the_sdk(dialect: Any) -> None:
    for frame in _client_frames(dialect):
        assert isinstance(frame, str)
        validate_client_event(orjson.loads(frame), dialect)


def test_beta_encoding_renames_what_beta_spells_differently() -> None:
    create = orjson.loads(
        p.encode_response_create(
            {"output_modalities": ["text"], "max_output_tokens": 5}, dialect="beta"
        )
    )
    assert create["response"] == {"modalities": ["text"], "max_response_output_tokens": 5}
    item = orjson.loads(
        p.encode_item_create(
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "x"}],
            },
            dialect="beta",
        )
    )
    assert item["item"]["content"][0]["type"] == "text"
    session = orjson.loads(
        p.encode_session_update(
            {"type": "realtime", "audio": {"output": {"voice": "ash"}}}, dialect="beta"
        )
    )
    assert session["session"] == {"voice": "ash"}


def test_encoders_write_the_fields_given() -> None:
    assert orjson.loads(p.encode_item_truncate("item_2", 0, 1500)) == {
        "type": "conversation.item.truncate",
        "item_id": "item_2",
        "content_index": 0,
        "audio_end_ms": 1500,
    }
    out = orjson.loads(p.encode_function_call_output("call_1", "done", previous_item_id="item_3"))
    assert out == {
        "type": "conversation.item.create",
        "previous_item_id": "item_3",
        "item": {"type": "function_call_output", "call_id": "call_1", "output": "done"},
    }
    assert orjson.loads(p.encode_response_cancel()) == {"type": "response.cancel"}
    assert orjson.loads(p.encode_input_audio_commit(event_id="e")) == {
        "type": "input_audio_buffer.commit",
        "event_id": "e",
    }
    append = orjson.loads(p.encode_input_audio_append(b"\x01\x02"))
    assert base64.b64decode(append["audio"]) == b"\x01\x02"
