"""The conformance validator must accept real-shaped events and reject every kind of deviation."""

from __future__ import annotations

from typing import Any

import pytest
from openai_conformance import (
    client_event_types,
    server_event_types,
    validate_client_event,
    validate_server_event,
)

GA_SESSION: dict[str, Any] = {
    "type": "realtime",
    "id": "sess_1",
    "object": "realtime.session",
    "expires_at": 1_900_000_000,
    "model": "gpt-realtime",
    "instructions": "Be brief.",
    "output_modalities": ["audio"],
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "turn_detection": {"type": "server_vad", "threshold": 0.5},
        },
        "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
    },
    "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"x": 1}}],
    "max_output_tokens": "inf",
}


def test_union_maps_are_complete() -> None:
    assert len(server_event_types("ga")) == 46
    assert len(client_event_types("ga")) == 11
    assert "response.audio.delta" in server_event_types("beta")
    assert "response.audio.delta" not in server_event_types("ga")


def test_accepts_good_events() -> None:
    validate_server_event({"type": "session.created", "event_id": "e", "session": GA_SESSION}, "ga")
    validate_server_event(
        {
            "type": "response.output_audio.delta",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "delta": "AAAA",
        },
        "ga",
    )
    validate_server_event(
        {
            "type": "response.audio.delta",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "delta": "AAAA",
        },
        "beta",
    )
    validate_client_event({"type": "input_audio_buffer.append", "audio": "AAAA"}, "ga")
    validate_client_event(
        {"type": "session.update", "session": {"modalities": ["text"], "temperature": 0.8}}, "beta"
    )


@pytest.mark.parametrize(
    ("event", "dialect", "needle"),
    [
        # A beta field smuggled into a GA session: the SDK model would accept it as an extra.
        (
            {"type": "session.updated", "event_id": "e", "session": {**GA_SESSION, "voice": "x"}},
            "ga",
            "$.session.voice",
        ),
        # Server-added keys are allowed on the session object only, not deeper.
        (
            {
                "type": "session.updated",
                "event_id": "e",
                "session": {**GA_SESSION, "audio": {"output": {"voice": "x", "id": "1"}}},
            },
            "ga",
            "$.session.audio.output.id",
        ),
        ({"type": "response.audio.delta", "event_id": "e"}, "ga", "not a ga server event"),
        ({"type": "response.output_audio.delta", "event_id": "e"}, "beta", "not a beta"),
        ({"type": "error", "event_id": "e", "error": {"type": "x"}}, "ga", "$.error.message"),
        (
            {"type": "input_audio_buffer.speech_started", "event_id": "e", "item_id": "i", "audio_start_ms": "1"},
            "ga",
            "audio_start_ms",
        ),
        ({"event_id": "e"}, "ga", "$.type"),
        (
            {
                "type": "response.done",
                "event_id": "e",
                "response": {"output": [{"type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}]}]},
            },
            "ga",
            "response",
        ),
    ],
)
def test_rejects_bad_server_events(event: dict[str, Any], dialect: str, needle: str) -> None:
    with pytest.raises(AssertionError) as info:
        validate_server_event(event, dialect)  # type: ignore[arg-type]
    assert needle in str(info.value)


def test_rejects_bad_client_events() -> None:
    with pytest.raises(AssertionError, match="temperature"):
        validate_client_event({"type": "session.update", "session": {"type": "realtime", "temperature": 1}}, "ga")
    with pytest.raises(AssertionError, match="audio"):
        validate_client_event({"type": "input_audio_buffer.append"}, "ga")
    with pytest.raises(AssertionError, match=r"transcription_session\.update"):
        validate_client_event({"type": "transcription_session.update", "session": {}}, "ga")
