"""The client-event schema: the adversarial run's cases, the values the service refuses, and
good events of both dialects."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.protocol.client_schema import InvalidClientEvent, check_client_event, check_session


def _td(**fields: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": fields}}}}


def _out(**fields: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", "audio": {"output": fields}}}


def _resp(**fields: Any) -> dict[str, Any]:
    return {"type": "response.create", "response": fields}


_TD = "session.audio.input.turn_detection"

BAD = [
    # The thirteen events that aborted the connection.
    ({"type": "session.update", "session": {"type": "realtime", "audio": {"input": 5}}}, "session.audio.input", "invalid_type"),
    ({"type": "session.update", "session": {"type": "realtime", "audio": {"output": [1]}}}, "session.audio.output", "invalid_type"),
    (_td(type="server_vad", threshold="high"), f"{_TD}.threshold", "invalid_type"),
    (_td(type="server_vad", prefix_padding_ms="x"), f"{_TD}.prefix_padding_ms", "invalid_type"),
    (_td(type="semantic_vad", eagerness="extreme"), f"{_TD}.eagerness", "invalid_value"),
    (_td(type="server_vad", idle_timeout_ms="x"), f"{_TD}.idle_timeout_ms", "invalid_type"),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": 42}]}}, "item.content[0].text", "invalid_type"),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "id": [1], "content": []}}, "item.id", "invalid_type"),
    ({"type": "conversation.item.create", "previous_item_id": [1], "item": {"type": "message", "role": "user", "content": []}}, "previous_item_id", "invalid_type"),
    (_resp(instructions=5), "response.instructions", "invalid_type"),
    (_resp(audio="x"), "response.audio", "invalid_type"),
    (_resp(audio={"output": "x"}), "response.audio.output", "invalid_type"),
    (_resp(input=[{"type": "item_reference", "id": [1]}]), "response.input[0].id", "invalid_type"),
    # Values the service refuses.
    (_td(type="server_vad", silence_duration_ms=-500), f"{_TD}.silence_duration_ms", "integer_below_min_value"),
    (_td(type="server_vad", threshold=5.0), f"{_TD}.threshold", "decimal_above_max_value"),
    (_out(speed="fast"), "session.audio.output.speed", "invalid_type"),
    (_out(speed=3.0), "session.audio.output.speed", "decimal_above_max_value"),
    (_out(voice=123), "session.audio.output.voice", "invalid_type"),
    (_resp(max_output_tokens=-1), "response.max_output_tokens", "integer_below_min_value"),
    (_resp(max_output_tokens=5000), "response.max_output_tokens", "integer_above_max_value"),
    ({"type": "session.update", "session": {"type": "realtime", "tool_choice": 42}}, "session.tool_choice", "invalid_value"),
    (_resp(metadata=[1, 2]), "response.metadata", "invalid_type"),
    (_resp(conversation=[1]), "response.conversation", "invalid_value"),
    # Fuzzing's finds.
    ({"type": "conversation.item.create", "item": {"type": "message", "role": ["user"], "content": []}}, "item.role", "invalid_value"),
    ({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "c", "output": "x", "content": 5}}, "item.content", "unknown_parameter"),
    ({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "c"}}, "item.output", "missing_required_parameter"),
    ({"type": "session.update", "session": {"type": "realtime", "tools": [5]}}, "session.tools[0].type", "missing_required_parameter"),
    ({"type": "session.update", "session": {"type": "realtime", "modalities": ["text"]}}, "session.modalities", "unknown_parameter"),
    ({"type": "input_audio_buffer.commit", "event_id": 5}, "event_id", "invalid_type"),
    ({"type": "conversation.item.truncate", "item_id": "i", "content_index": 0, "audio_end_ms": True}, "audio_end_ms", "invalid_type"),
    ({"type": "conversation.item.create"}, "item", "invalid_event"),
    ({"event_id": "x"}, "type", "invalid_event"),
    ({"type": "response.make_it_so"}, "type", "invalid_event"),
]


@pytest.mark.parametrize(("event", "param", "code"), BAD)
def test_bad_events_name_the_first_bad_field(event: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(InvalidClientEvent) as info:
        check_client_event(event, "ga")
    assert (info.value.param, info.value.code) == (param, code), info.value.message
    assert param in info.value.message or code == "invalid_event"


BETA_BAD = [
    ({"type": "session.update", "session": {"turn_detection": {"threshold": "a"}}}, "session.turn_detection.threshold"),
    ({"type": "session.update", "session": {"temperature": 3}}, "session.temperature"),
    ({"type": "session.update", "session": {"input_audio_format": "mp3"}}, "session.input_audio_format"),
    ({"type": "response.create", "response": {"max_response_output_tokens": 0}}, "response.max_response_output_tokens"),
]


@pytest.mark.parametrize(("event", "param"), BETA_BAD)
def test_beta_errors_use_beta_names(event: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidClientEvent) as info:
        check_client_event(event, "beta")
    assert info.value.param == param


GOOD_GA = [
    {"type": "session.update", "event_id": "evt_1", "session": {
        "type": "realtime", "model": "gpt-realtime", "instructions": "You are terse.", "output_modalities": ["audio"],
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                            "noise_reduction": {"type": "near_field"},
                            "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500, "idle_timeout_ms": 6000, "create_response": True, "interrupt_response": True}},
                  "output": {"format": {"type": "audio/pcmu"}, "voice": "marin", "speed": 1.0}},
        "tools": [{"type": "function", "name": "lookup", "description": "d", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}],
        "tool_choice": "auto", "max_output_tokens": "inf", "tracing": "auto",
        "truncation": {"type": "retention_ratio", "retention_ratio": 0.8}, "prompt": {"id": "pmpt_123", "version": "2", "variables": {"city": "Paris"}}}},
    {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}},
    {"type": "input_audio_buffer.append", "audio": "AAAA"},
    {"type": "input_audio_buffer.commit"},
    {"type": "input_audio_buffer.clear"},
    {"type": "output_audio_buffer.clear"},
    {"type": "conversation.item.create", "previous_item_id": "root", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_audio", "audio": "AAAA"}]}},
    {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_1", "output": "{}"}},
    {"type": "conversation.item.retrieve", "item_id": "item_1"},
    {"type": "conversation.item.delete", "item_id": "item_1"},
    {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0, "audio_end_ms": 100},
    {"type": "response.create"},
    {"type": "response.create", "response": {"conversation": "none", "metadata": {"topic": "x"}, "max_output_tokens": 4096, "output_modalities": ["text"],
                                            "input": [{"type": "item_reference", "id": "item_1"}], "tool_choice": {"type": "function", "name": "lookup"},
                                            "audio": {"output": {"format": {"type": "audio/pcma"}, "voice": {"id": "voice_1234"}}}}},
    {"type": "response.cancel", "response_id": "resp_1"},
]

GOOD_BETA = [
    {"type": "session.update", "session": {"modalities": ["text", "audio"], "voice": "alloy", "input_audio_format": "pcm16", "output_audio_format": "g711_ulaw",
                                           "turn_detection": {"type": "server_vad", "threshold": 0.6}, "temperature": 0.8, "max_response_output_tokens": "inf", "tool_choice": "auto"}},
    {"type": "conversation.item.create", "item": {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "hi"}]}},
    {"type": "response.create", "response": {"modalities": ["text"], "temperature": 0.7, "input": [{"type": "item_reference", "id": "item_1"}]}},
]


@pytest.mark.parametrize("event", GOOD_GA)
def test_good_ga_events_pass(event: dict[str, Any]) -> None:
    check_client_event(event, "ga")


@pytest.mark.parametrize("event", GOOD_BETA)
def test_good_beta_events_pass(event: dict[str, Any]) -> None:
    check_client_event(event, "beta")


def test_check_session_names_its_fields_from_the_prefix() -> None:
    with pytest.raises(InvalidClientEvent) as info:
        check_session({"audio": {"output": {"speed": 0.1}}})
    assert info.value.param == "session.audio.output.speed" and info.value.code == "decimal_below_min_value"
