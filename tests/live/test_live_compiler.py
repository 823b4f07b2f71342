"""The `live` dialect in the compiler: an agent graph → `session.start` (voice layer +
Responses delegation) and a handoff → a backend swap; what Live cannot express is a
`CompileError` naming the field, unless `LiveOptions.degrade` names it."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_conformance import validate_live_client_event

from agentkit import RealtimeAgent
from agentkit.compiler import (
    compile_agents,
    compile_live_start,
    compile_live_swap,
    compile_session_update,
)
from agentkit.errors import CompileError
from agentkit.loader import load_definitions
from agentkit.protocol.live_config import LiveOptions
from agentkit.settings import InputTranscription, SemanticVad, SessionSettings, ToolChoiceFunction
from agentkit.tools import tool

ROOT = Path(__file__).parents[2]


@tool
def lookup_order(order_id: str) -> str:
    """Find an order by its id."""
    return order_id


billing = RealtimeAgent(name="billing", instructions="You handle refunds.", handoff_description="Refunds.")
desk = RealtimeAgent(name="desk", instructions="You route callers.", tools=[lookup_order], handoffs=[billing])


def test_session_start_splits_the_agent_into_voice_layer_and_backend() -> None:
    options = LiveOptions(voice_instructions="Warm and brief.", reasoning_effort="low", acknowledgement_delay_ms=300)
    settings = SessionSettings(voice="cedar", input_audio_format="g711_ulaw", output_audio_format="g711_ulaw", max_output_tokens=500, tool_choice=ToolChoiceFunction(name="lookup_order"))
    event = compile_live_start(desk, settings, live=options, history=[("user", "Hi"), ("assistant", "Hello!")], event_id="start_1")
    validate_live_client_event(event)
    session = event["session"]
    assert session["model"] == "gpt-live-1"
    assert session["instructions"] == "Warm and brief."
    assert session["audio"] == {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "cedar"}}
    assert session["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello!"}]},
    ]
    delegation = session["delegation"]
    assert delegation["acknowledgement_delay_ms"] == 300
    backend = delegation["responses"]
    assert (backend["model"], backend["instructions"]) == ("gpt-5.4-mini", "You route callers.")
    assert [t["name"] for t in backend["tools"]] == ["lookup_order", "transfer_to_billing"]
    assert backend["tool_choice"] == {"type": "function", "name": "lookup_order"}
    assert (backend["max_output_tokens"], backend["reasoning"]) == (500, {"effort": "low"})


def test_a_handoff_is_a_backend_swap_and_a_note_to_the_voice() -> None:
    update, note = compile_live_swap(billing, SessionSettings(), session_voice=None, session_format="pcm16")
    for event in (update, note):
        validate_live_client_event(event)
    assert update["session"] == {"delegation": {"type": "responses", "responses": {"instructions": "You handle refunds.", "tools": []}}}
    assert note["type"] == "session.instructions.append" and note["delegation_id"] is None
    assert "billing" in note["content"] and "Refunds." in note["content"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (SessionSettings(turn_detection=SemanticVad()), "turn_detection"),
        (SessionSettings(turn_detection=None), "turn_detection"),
        (SessionSettings(input_transcription=InputTranscription()), "input_transcription"),
        (SessionSettings(noise_reduction="far_field"), "noise_reduction"),
        (SessionSettings(speed=1.2), "speed"),
        (SessionSettings(temperature=0.8), "temperature"),
        (SessionSettings(tracing="auto"), "tracing"),
        (SessionSettings(truncation="disabled"), "truncation"),
        (SessionSettings(model="gpt-realtime"), "model"),
    ],
)
def test_what_live_cannot_express_is_refused_by_name_unless_degraded(settings: SessionSettings, field: str) -> None:
    with pytest.raises(CompileError) as info:
        compile_live_start(desk, settings)
    assert (info.value.field, info.value.dialect) == (field, "live")
    assert "degrade" in str(info.value)
    event = compile_live_start(desk, settings, live=LiveOptions(degrade=frozenset({field})))
    validate_live_client_event(event)
    # Nothing of the dropped setting reaches the wire; the Live model is Live's own.
    assert event["session"]["model"] == "gpt-live-1"
    assert field == "model" or field not in str(event)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (SessionSettings(output_modalities=("text",)), "output_modalities"),
        (SessionSettings(input_audio_format="g711_ulaw"), "input_audio_format"),
    ],
)
def test_what_no_degradation_covers_is_always_refused(settings: SessionSettings, field: str) -> None:
    with pytest.raises(CompileError) as info:
        compile_live_start(desk, settings, live=LiveOptions(degrade=frozenset({"model", "voice"})))
    assert info.value.field == field


def test_a_handoff_cannot_change_the_voice_or_the_format_of_a_live_session() -> None:
    sales = RealtimeAgent(name="sales", instructions="Sell.", voice="ash")
    with pytest.raises(CompileError) as info:
        compile_live_swap(sales, SessionSettings(), session_voice="cedar", session_format="pcm16")
    assert info.value.field == "voice"
    # Degraded explicitly: the session keeps its voice, the swap goes through.
    update, _ = compile_live_swap(sales, SessionSettings(), live=LiveOptions(degrade=frozenset({"voice"})), session_voice="cedar", session_format="pcm16")
    assert "audio" not in update["session"]
    telephony = RealtimeAgent(name="phone", instructions="x", settings=SessionSettings(input_audio_format="g711_alaw", output_audio_format="g711_alaw"))
    with pytest.raises(CompileError) as info:
        compile_live_swap(telephony, SessionSettings(), session_voice=None, session_format="pcm16")
    assert info.value.field == "output_audio_format"


def test_unknown_degradations_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot be degraded"):
        LiveOptions(degrade=frozenset({"audio_format"}))


def test_the_yaml_file_chooses_live_and_every_agent_compiles_to_a_valid_session_start() -> None:
    definitions = load_definitions(ROOT / "examples" / "customer_service" / "agents.yaml")
    assert definitions.live is not None and "turn_detection" in definitions.live.degrade
    payloads = compile_agents(definitions.starting_agent, definitions.settings, dialect="live", live=definitions.live)
    assert list(payloads) == ["authentication", "returns", "sales", "escalation"]
    for event in payloads.values():
        validate_live_client_event(event)
    assert compile_session_update(definitions.starting_agent, definitions.settings, dialect="live", live=definitions.live) == payloads["authentication"]


def test_yaml_dialect_live_sets_the_runner(tmp_path: Path) -> None:
    from agentkit.runner import RealtimeRunner

    (tmp_path / "agents.yaml").write_text(
        "version: 1\ndialect: live\nlive: {backend_model: gpt-5.4, turn_end_ms: 100}\n"
        "agents:\n  desk: {instructions: Hello}\n"
    )
    definitions = load_definitions(tmp_path / "agents.yaml")
    runner = RealtimeRunner(definitions)
    assert runner.config.dialect == "live"
    assert runner.config.live == LiveOptions(backend_model="gpt-5.4", turn_end_ms=100)
    assert RealtimeRunner(definitions, dialect="ga").config.dialect == "ga"


def test_a_bad_live_block_is_a_located_config_error(tmp_path: Path) -> None:
    from agentkit.errors import ConfigError

    (tmp_path / "agents.yaml").write_text(
        "version: 1\nlive:\n  degrade: [audio_format]\nagents:\n  desk: {instructions: Hello}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_definitions(tmp_path / "agents.yaml")
    assert "agents.yaml:3" in str(info.value) and "degrade" in str(info.value)
