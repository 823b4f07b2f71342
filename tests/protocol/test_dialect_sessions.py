"""Session settings between the dialects: audio formats, modalities, turn detection, whole
sessions; partial updates; refusals with a field path; the round trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai_conformance import validate_client_event

from agentkit.errors import CompileError
from agentkit.protocol.dialect_sessions import session_beta_to_ga, session_ga_to_beta

BETA_SESSION: dict[str, Any] = {
    "modalities": ["text", "audio"],
    "instructions": "Be brief.",
    "voice": "verse",
    "speed": 1.1,
    "input_audio_format": "g711_ulaw",
    "output_audio_format": "pcm16",
    "input_audio_transcription": {"model": "whisper-1", "language": "en"},
    "input_audio_noise_reduction": {"type": "near_field"},
    "turn_detection": {"type": "server_vad", "threshold": 0.6, "silence_duration_ms": 400},
    "tools": [{"type": "function", "name": "lookup", "description": "d", "parameters": {}}],
    "tool_choice": "auto",
    "max_response_output_tokens": 2048,
    "tracing": "auto",
}

GA_SESSION: dict[str, Any] = {
    "type": "realtime",
    "output_modalities": ["audio"],
    "instructions": "Be brief.",
    "audio": {
        "input": {
            "format": {"type": "audio/pcmu"},
            "transcription": {"model": "whisper-1", "language": "en"},
            "noise_reduction": {"type": "near_field"},
            "turn_detection": {"type": "server_vad", "threshold": 0.6, "silence_duration_ms": 400},
        },
        "output": {"voice": "verse", "speed": 1.1, "format": {"type": "audio/pcm", "rate": 24000}},
    },
    "tools": [{"type": "function", "name": "lookup", "description": "d", "parameters": {}}],
    "tool_choice": "auto",
    "max_output_tokens": 2048,
    "tracing": "auto",
}


def test_full_session_both_ways() -> None:
    assert session_beta_to_ga(BETA_SESSION) == GA_SESSION
    assert session_ga_to_beta(GA_SESSION) == BETA_SESSION
    validate_client_event({"type": "session.update", "session": session_beta_to_ga(BETA_SESSION)}, "ga")
    validate_client_event({"type": "session.update", "session": session_ga_to_beta(GA_SESSION)}, "beta")


def test_partial_update_stays_partial_and_null_clears() -> None:
    assert session_beta_to_ga({"turn_detection": None}) == {
        "type": "realtime",
        "audio": {"input": {"turn_detection": None}},
    }
    assert session_beta_to_ga({"voice": "ash"}) == {"type": "realtime", "audio": {"output": {"voice": "ash"}}}
    assert session_ga_to_beta({"type": "realtime", "instructions": ""}) == {"instructions": ""}


def test_formats_and_modalities() -> None:
    assert session_beta_to_ga({"input_audio_format": "g711_alaw"})["audio"]["input"]["format"] == {
        "type": "audio/pcma"
    }
    assert session_beta_to_ga({"modalities": ["text"]})["output_modalities"] == ["text"]
    assert session_ga_to_beta({"output_modalities": ["text"]}) == {"modalities": ["text"]}
    # Beta's optional turn detection type defaults to server VAD, which GA must spell out.
    td = session_beta_to_ga({"turn_detection": {"threshold": 0.3}})["audio"]["input"]["turn_detection"]
    assert td == {"type": "server_vad", "threshold": 0.3}


@pytest.mark.parametrize(
    ("session", "field"),
    [
        ({"temperature": 0.8}, "temperature"),
        ({"client_secret": {}}, "client_secret"),
        ({"input_audio_format": "opus"}, "input_audio_format"),
        ({"turn_detection": {"type": "semantic_vad", "threshold": 0.5}}, "turn_detection.threshold"),
        ({"turn_detection": {"type": "server_vad", "eagerness": "low"}}, "turn_detection.eagerness"),
    ],
)
def test_beta_to_ga_refusals(session: dict[str, Any], field: str) -> None:
    with pytest.raises(CompileError) as info:
        session_beta_to_ga(session)
    assert info.value.field == field and info.value.dialect == "ga"


@pytest.mark.parametrize(
    ("session", "field"),
    [
        ({"type": "transcription"}, "type"),
        ({"output_modalities": ["text", "audio"]}, "output_modalities"),
        ({"audio": {"output": {"voice": {"id": "voice_1"}}}}, "audio.output.voice"),
        ({"audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5}}}}, "audio.input.turn_detection.idle_timeout_ms"),
        ({"audio": {"input": {"transcription": {"model": "m", "keywords": ["a"]}}}}, "audio.input.transcription.keywords"),
        ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}, "audio.input.format.rate"),
        ({"tools": [{"type": "mcp", "server_label": "x"}]}, "tools[0]"),
        ({"truncation": "disabled"}, "truncation"),
        ({"reasoning": {"effort": "low"}}, "reasoning"),
    ],
)
def test_ga_to_beta_refusals(session: dict[str, Any], field: str) -> None:
    with pytest.raises(CompileError) as info:
        session_ga_to_beta(session)
    assert info.value.field == field and info.value.dialect == "beta"


def test_ga_defaults_without_beta_spelling_are_dropped() -> None:
    assert session_ga_to_beta({"truncation": "auto", "include": [], "prompt": None}) == {}


_fmt = st.sampled_from(["pcm16", "g711_ulaw", "g711_alaw"])
_beta_sessions = st.fixed_dictionaries(
    {},
    optional={
        "modalities": st.sampled_from([["text"], ["text", "audio"]]),
        "instructions": st.text(max_size=20),
        "voice": st.sampled_from(["alloy", "ash", "marin"]),
        "speed": st.floats(0.25, 1.5),
        "input_audio_format": _fmt,
        "output_audio_format": _fmt,
        "turn_detection": st.none()
        | st.fixed_dictionaries({"type": st.just("server_vad")}, optional={"threshold": st.floats(0, 1), "silence_duration_ms": st.integers(0, 2000)})
        | st.fixed_dictionaries({"type": st.just("semantic_vad")}, optional={"eagerness": st.sampled_from(["low", "high", "auto"])}),
        "max_response_output_tokens": st.integers(1, 4096) | st.just("inf"),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
    },
)


@given(_beta_sessions)
def test_round_trip_property(session: dict[str, Any]) -> None:
    ga = session_beta_to_ga(session)
    validate_client_event({"type": "session.update", "session": ga}, "ga")
    assert session_ga_to_beta(ga) == session
