"""`agentkit.settings`: audio format spellings, range checks, and merging overrides."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentkit import SemanticVad, ServerVad, SessionSettings
from agentkit.settings import InputTranscription, RealtimeTracingConfig, RetentionRatioTruncation


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("pcm16", "pcm16"),
        ("PCM", "pcm16"),
        ("audio/pcm", "pcm16"),
        ({"type": "audio/pcm", "rate": 24000}, "pcm16"),
        ({"type": "audio/pcm"}, "pcm16"),
        ("g711_ulaw", "g711_ulaw"),
        ("pcmu", "g711_ulaw"),
        ("ulaw", "g711_ulaw"),
        (" audio/pcmu ", "g711_ulaw"),
        ({"type": "audio/pcmu"}, "g711_ulaw"),
        ("g711_alaw", "g711_alaw"),
        ("pcma", "g711_alaw"),
        ("alaw", "g711_alaw"),
        ({"type": "audio/pcma"}, "g711_alaw"),
    ],
)
def test_audio_format_aliases(spelling: Any, name: str) -> None:
    settings = SessionSettings(input_audio_format=spelling, output_audio_format=spelling)
    assert settings.input_audio_format == settings.output_audio_format == name


@pytest.mark.parametrize(
    "spelling", ["mp3", "opus", {"type": "audio/pcm", "rate": 16000}, {"type": "audio/opus"}]
)
def test_unknown_audio_formats_are_rejected(spelling: Any) -> None:
    with pytest.raises(ValidationError):
        SessionSettings(input_audio_format=spelling)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"speed": 0.2},
        {"speed": 1.6},
        {"temperature": 0.5},
        {"temperature": 1.3},
        {"max_output_tokens": 0},
        {"max_output_tokens": 4097},
        {"max_output_tokens": "lots"},
        {"output_modalities": ("audio", "text")},
        {"output_modalities": ()},
        {"turn_detection": {"type": "server_vad", "threshold": 1.5}},
        {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 1000}},
        {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}},
        {"turn_detection": {"type": "magic_vad"}},
        {"truncation": {"type": "retention_ratio", "retention_ratio": 1.5}},
        {"noise_reduction": "medium_field"},
        {"tracing": "on"},
        {"tool_choice": "sometimes"},
        {"voices": "ash"},
    ],
)
def test_settings_out_of_range_or_unknown_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SessionSettings(**kwargs)


def test_settings_in_range_boundaries_are_accepted() -> None:
    s = SessionSettings(
        speed=0.25,
        temperature=1.2,
        max_output_tokens=4096,
        turn_detection={"type": "server_vad", "threshold": 1.0, "idle_timeout_ms": 5000},
        truncation={"type": "retention_ratio", "retention_ratio": 0.0},
        output_modalities=("text",),
    )
    assert isinstance(s.turn_detection, ServerVad) and s.turn_detection.idle_timeout_ms == 5000
    assert isinstance(s.truncation, RetentionRatioTruncation)
    assert s.audio_output is False
    assert SessionSettings().audio_output is True


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        SessionSettings().voice = "ash"  # type: ignore[misc]


def test_explicitly_set_tracks_what_the_developer_gave() -> None:
    s = SessionSettings(voice="ash", input_transcription=None)
    assert s.explicitly_set("voice") and s.explicitly_set("input_transcription")
    assert not s.explicitly_set("speed") and not s.explicitly_set("turn_detection")


def test_merged_lays_only_explicit_override_fields_on_top() -> None:
    base = SessionSettings(
        input_audio_format="g711_ulaw",
        voice="ash",
        input_transcription=InputTranscription(language="en"),
        tracing=RealtimeTracingConfig(workflow_name="w"),
    )
    override = SessionSettings(voice="cedar", turn_detection=None, speed=1.2)
    merged = base.merged(override)
    # The override's defaults (pcm16 formats, server VAD) do not clobber the base.
    assert merged.input_audio_format == "g711_ulaw"
    assert merged.voice == "cedar"
    assert merged.turn_detection is None
    assert merged.speed == 1.2
    assert merged.input_transcription == InputTranscription(language="en")
    assert merged.model_fields_set == {
        "input_audio_format",
        "voice",
        "input_transcription",
        "tracing",
        "turn_detection",
        "speed",
    }
    assert base.merged(None) is base
    assert base.merged(SessionSettings()) is base
    assert SessionSettings().merged(
        SessionSettings(turn_detection=SemanticVad())
    ).turn_detection == (SemanticVad())


def test_defaults_leave_the_service_alone_and_use_server_vad() -> None:
    s = SessionSettings()
    assert s.model_fields_set == set()  # nothing of it is sent as set by the developer
    assert (s.model, s.voice, s.input_audio_format, s.output_audio_format) == ("gpt-realtime", None, "pcm16", "pcm16")
    assert s.turn_detection == ServerVad(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)
    assert (s.input_transcription, s.speed, s.temperature, s.tool_choice) == (None, None, None, None)
    assert InputTranscription().model == "gpt-4o-mini-transcribe"
    assert SemanticVad().eagerness == "auto"
