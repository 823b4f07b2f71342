"""The compiler: agents + settings → `session.update`, GA and beta, full and swap forms.

Payloads are snapshot-tested (tests/snapshots/compiler/*.json, exact text, so key order counts)
and every one is validated strictly against the installed `openai` package's types. Regenerate
snapshots with `AGENTKIT_UPDATE_SNAPSHOTS=1 pytest tests/test_compiler.py`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai_conformance import validate_client_event
from pydantic import BaseModel, Field

from agentkit import RealtimeAgent, RunContext, handoff, tool
from agentkit.compiler import (
    Dialect,
    build_session_config,
    compile_agent_swap,
    compile_agents,
    compile_session_update,
    render_session,
)
from agentkit.errors import CompileError, DefinitionError
from agentkit.settings import (
    InputTranscription,
    RealtimeTracingConfig,
    RetentionRatioTruncation,
    SemanticVad,
    ServerVad,
    SessionSettings,
    ToolChoiceFunction,
)

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "compiler"
UPDATE = os.environ.get("AGENTKIT_UPDATE_SNAPSHOTS") == "1"
DIALECTS: tuple[Dialect, ...] = ("ga", "beta")


# --- agents used across the tests ----------------------------------------------------------


class Priority(Enum):
    LOW = "low"
    HIGH = "high"


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str
    postcode: str | None = None


class TransferReason(BaseModel):
    """Why the caller is transferred."""

    reason: str = Field(description="One sentence the next agent reads first.")
    urgent: bool = False


@tool(timeout=5)
def lookup_order(
    ctx: RunContext[Any],
    order_id: Annotated[str, "The order number, like A-123."],
    include_items: bool = False,
) -> str:
    """Look up an order by its number."""
    return order_id


@tool(needs_approval=True)
def ship_to(address: Address, priority: Priority = Priority.LOW) -> str:
    """Ship the order to an address.

    Args:
        address: Where to ship.
        priority: How fast.
    """
    return address.city


@tool
async def hang_up() -> str:
    """End the call."""
    return "bye"


def make_agents() -> RealtimeAgent[Any]:
    """Triage → (Billing with an input_type handoff, Support) → back to Triage (a cycle)."""
    billing = RealtimeAgent(
        name="Billing",
        instructions="You handle invoices and refunds.",
        handoff_description="Invoices, refunds, payment problems.",
        tools=[ship_to],
    )
    support = RealtimeAgent(
        name="Tech Support",
        instructions="You fix technical problems.",
        tools=[hang_up],
        voice="cedar",
    )
    triage = RealtimeAgent(
        name="Triage",
        instructions="Greet the caller and route them.",
        tools=[lookup_order],
        handoffs=[handoff(billing, input_type=TransferReason), support],
    )
    billing.handoffs.append(triage)
    support.handoffs.append(triage)
    return triage


def solo(**settings_kwargs: Any) -> RealtimeAgent[Any]:
    return RealtimeAgent(
        name="Solo",
        instructions="Be brief.",
        tools=[lookup_order],
        settings=SessionSettings(**settings_kwargs) if settings_kwargs else None,
    )


TELEPHONY = SessionSettings(
    input_audio_format="g711_ulaw",
    output_audio_format="g711_ulaw",
    voice="marin",
    turn_detection=ServerVad(silence_duration_ms=700, idle_timeout_ms=8000),
    noise_reduction="far_field",
)


# --- snapshot cases: (name, dialect, payload factory) --------------------------------------


def _case_handoffs(dialect: Dialect) -> dict[str, Any]:
    return compile_session_update(make_agents(), dialect=dialect, event_id="evt_start")


def _case_telephony(dialect: Dialect) -> dict[str, Any]:
    runner = TELEPHONY
    if dialect == "beta":  # beta server VAD has no idle timeout
        runner = runner.model_copy(update={"turn_detection": ServerVad(silence_duration_ms=700)})
    return compile_session_update(make_agents(), runner, dialect=dialect)


def _case_push_to_talk(dialect: Dialect) -> dict[str, Any]:
    runner = SessionSettings(
        turn_detection=None,
        output_modalities=("text",),
        input_transcription=InputTranscription(
            model="gpt-4o-transcribe", language="de", prompt="Bestellnummern"
        ),
        noise_reduction="near_field",
        max_output_tokens=512,
    )
    return compile_session_update(solo(), runner, dialect=dialect)


def _case_semantic_vad(dialect: Dialect) -> dict[str, Any]:
    runner = SessionSettings(
        model="gpt-4o-realtime-preview-2025-06-03",
        turn_detection=SemanticVad(eagerness="low", interrupt_response=False),
        speed=1.2,
        tool_choice="required",
        max_output_tokens="inf",
        tracing=RealtimeTracingConfig(workflow_name="support", group_id="g-1", metadata={"tier": "gold"}),
    )
    return compile_session_update(solo(), runner, dialect=dialect)


def _case_things_turned_off(dialect: Dialect) -> dict[str, Any]:
    # Explicit None turns transcription, noise reduction and tracing off (null on the wire).
    runner = SessionSettings(input_transcription=None, noise_reduction=None, tracing=None)
    return compile_session_update(solo(), runner, dialect=dialect)


def _case_ga_only(dialect: Dialect) -> dict[str, Any]:
    runner = SessionSettings(
        truncation=RetentionRatioTruncation(
            retention_ratio=0.75, post_instructions_token_limit=2000
        ),
        tool_choice=ToolChoiceFunction(name="lookup_order"),
        tracing="auto",
        voice="sage",
    )
    return compile_session_update(solo(), runner, dialect=dialect)


def _case_beta_only(dialect: Dialect) -> dict[str, Any]:
    runner = SessionSettings(
        model="gpt-4o-realtime-preview-2024-12-17",
        temperature=0.7,
        input_audio_format="g711_alaw",
        output_audio_format="g711_alaw",
        tool_choice="none",
    )
    return compile_session_update(solo(), runner, dialect=dialect)


def _case_swap_after_audio(dialect: Dialect) -> dict[str, Any]:
    runner = TELEPHONY
    if dialect == "beta":
        runner = runner.model_copy(update={"turn_detection": ServerVad(silence_duration_ms=700)})
    billing = make_agents().handoff_list()[0].target
    assert isinstance(billing, RealtimeAgent)
    return compile_agent_swap(billing, runner, dialect=dialect, audio_started=True)


def _case_swap_before_audio(dialect: Dialect) -> dict[str, Any]:
    support = make_agents().handoff_list()[1].target
    assert isinstance(support, RealtimeAgent)
    return compile_agent_swap(
        support, SessionSettings(), dialect=dialect, audio_started=False, event_id="evt_swap"
    )


CASES: list[tuple[str, Dialect, Callable[[Dialect], dict[str, Any]]]] = [
    *((f"handoffs_{d}", d, _case_handoffs) for d in DIALECTS),
    *((f"telephony_g711_{d}", d, _case_telephony) for d in DIALECTS),
    *((f"push_to_talk_text_{d}", d, _case_push_to_talk) for d in DIALECTS),
    *((f"semantic_vad_tracing_{d}", d, _case_semantic_vad) for d in DIALECTS),
    *((f"turned_off_{d}", d, _case_things_turned_off) for d in DIALECTS),
    ("ga_only_settings_ga", "ga", _case_ga_only),
    ("beta_only_settings_beta", "beta", _case_beta_only),
    *((f"swap_after_audio_{d}", d, _case_swap_after_audio) for d in DIALECTS),
    *((f"swap_before_audio_{d}", d, _case_swap_before_audio) for d in DIALECTS),
]


def _dump(payload: dict[str, Any]) -> str:
    # No sort_keys: the key order the compiler produces is part of the snapshot.
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def assert_snapshot(name: str, payload: dict[str, Any]) -> None:
    path = SNAPSHOTS / f"{name}.json"
    text = _dump(payload)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(
            f"snapshot {path.relative_to(ROOT)} is missing; run with AGENTKIT_UPDATE_SNAPSHOTS=1 "
            "to create it, then review it"
        )
    assert text == path.read_text(encoding="utf-8"), (
        f"payload differs from {path.relative_to(ROOT)}; if the change is intended, "
        "regenerate with AGENTKIT_UPDATE_SNAPSHOTS=1 and review the diff"
    )


@pytest.mark.parametrize(("name", "dialect", "factory"), CASES, ids=[c[0] for c in CASES])
def test_snapshot(
    name: str, dialect: Dialect, factory: Callable[[Dialect], dict[str, Any]]
) -> None:
    payload = factory(dialect)
    validate_client_event(payload, dialect)
    assert_snapshot(name, payload)


def test_every_snapshot_file_belongs_to_a_case() -> None:
    # A renamed case must not leave a stale snapshot behind that nothing checks any more.
    names = {c[0] for c in CASES}
    stale = sorted(p.stem for p in SNAPSHOTS.glob("*.json") if p.stem not in names)
    assert stale == []


def test_compiling_is_deterministic_and_independent_of_argument_order() -> None:
    kwargs: dict[str, Any] = {
        "voice": "ash",
        "speed": 1.1,
        "input_audio_format": "pcmu",
        "tracing": "auto",
        "noise_reduction": "near_field",
        "input_transcription": InputTranscription(language="fr"),
    }
    forward = SessionSettings(**kwargs)
    backward = SessionSettings(**dict(reversed(list(kwargs.items()))))
    for dialect in DIALECTS:
        one = _dump(compile_session_update(make_agents(), forward, dialect=dialect))
        two = _dump(compile_session_update(make_agents(), backward, dialect=dialect))
        assert one == two


# --- what is sent, and when ----------------------------------------------------------------


def test_defaults_send_only_the_always_sent_fields_ga() -> None:
    event = compile_session_update(RealtimeAgent(name="Bare"))
    assert event == {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": "",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.5,
                        "prefix_padding_ms": 300,
                        "silence_duration_ms": 500,
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {"format": {"type": "audio/pcm", "rate": 24000}},
            },
            "tools": [],
        },
    }


def test_defaults_send_only_the_always_sent_fields_beta() -> None:
    session = compile_session_update(RealtimeAgent(name="Bare"), dialect="beta")["session"]
    assert list(session) == [
        "model",
        "instructions",
        "modalities",
        "input_audio_format",
        "output_audio_format",
        "turn_detection",
        "tools",
    ]
    assert session["modalities"] == ["audio", "text"]
    assert session["input_audio_format"] == session["output_audio_format"] == "pcm16"
    assert session["tools"] == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_push_to_talk_sends_null_turn_detection(dialect: Dialect) -> None:
    session = compile_session_update(solo(turn_detection=None), dialect=dialect)["session"]
    detection = (
        session["audio"]["input"]["turn_detection"]
        if dialect == "ga"
        else session["turn_detection"]
    )
    assert detection is None


def test_event_id_only_when_given() -> None:
    assert "event_id" not in compile_session_update(solo())
    assert compile_session_update(solo(), event_id="e1")["event_id"] == "e1"
    assert list(compile_session_update(solo(), event_id="e1")) == ["type", "event_id", "session"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tools_then_handoffs_with_strict_schemas(dialect: Dialect) -> None:
    tools = compile_session_update(make_agents(), dialect=dialect)["session"]["tools"]
    assert [t["name"] for t in tools] == [
        "lookup_order",
        "transfer_to_billing",
        "transfer_to_tech_support",
    ]
    lookup, to_billing, to_support = tools
    # The injected RunContext parameter never reaches the model.
    assert set(lookup["parameters"]["properties"]) == {"order_id", "include_items"}
    assert lookup["parameters"]["properties"]["order_id"]["description"] == (
        "The order number, like A-123."
    )
    assert to_billing["parameters"]["required"] == ["reason", "urgent"]
    assert to_billing["parameters"]["additionalProperties"] is False
    assert "Invoices, refunds" in to_billing["description"]
    assert to_support["parameters"] == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_payload_does_not_share_the_tool_schema() -> None:
    before = json.dumps(ship_to.parameters, sort_keys=True)
    event = compile_session_update(RealtimeAgent(name="A", tools=[ship_to]))
    event["session"]["tools"][0]["parameters"]["properties"].clear()
    assert json.dumps(ship_to.parameters, sort_keys=True) == before


def test_agent_settings_override_only_what_they_set() -> None:
    agent = RealtimeAgent(name="A", settings=SessionSettings(speed=1.3, voice="echo"))
    session = compile_session_update(agent, TELEPHONY)["session"]
    output = session["audio"]["output"]
    # The runner's telephony format and VAD survive; the agent's speed and voice win.
    assert output == {"format": {"type": "audio/pcmu"}, "voice": "echo", "speed": 1.3}
    assert session["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 700
    assert session["audio"]["input"]["noise_reduction"] == {"type": "far_field"}


def test_voice_precedence_runner_then_agent_settings_then_agent_voice() -> None:
    runner = SessionSettings(voice="alloy")
    assert build_session_config(RealtimeAgent(name="A"), runner).voice == "alloy"
    with_settings = RealtimeAgent(name="A", settings=SessionSettings(voice="echo"))
    assert build_session_config(with_settings, runner).voice == "echo"
    both = RealtimeAgent(name="A", settings=SessionSettings(voice="echo"), voice="verse")
    assert build_session_config(both, runner).voice == "verse"


def test_session_config_is_frozen_and_neutral() -> None:
    config = build_session_config(make_agents(), TELEPHONY)
    assert config.model == "gpt-realtime"
    assert config.voice == "marin"
    assert config.tools[0].name == "lookup_order"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.instructions = "x"  # type: ignore[misc]
    for dialect in DIALECTS:
        runner = TELEPHONY if dialect == "ga" else SessionSettings(voice="marin")
        full = compile_session_update(make_agents(), runner, dialect=dialect)
        assert (
            render_session(build_session_config(make_agents(), runner), dialect) == full["session"]
        )


def test_tool_choice_must_name_an_offered_function() -> None:
    agent = solo(tool_choice=ToolChoiceFunction(name="missing"))
    with pytest.raises(DefinitionError, match=r"'missing'.*does not offer"):
        compile_session_update(agent)


def test_duplicate_tool_names_are_a_definition_error() -> None:
    agent = RealtimeAgent(
        name="A", tools=[lookup_order], handoffs=[handoff("B", tool_name="lookup_order")]
    )
    with pytest.raises(DefinitionError, match="two tools are named 'lookup_order'"):
        compile_session_update(agent)


# --- dynamic instructions ------------------------------------------------------------------


def _dynamic(ctx: RunContext[Any]) -> str:
    return f"Caller {ctx.context}"


async def _dynamic_async(ctx: RunContext[Any]) -> str:
    return f"Async caller {ctx.context}"


@pytest.mark.parametrize("func", [_dynamic, _dynamic_async])
async def test_dynamic_instructions_must_be_resolved_first(
    func: Callable[[RunContext[Any]], Any],
) -> None:
    agent = RealtimeAgent(name="Dyn", instructions=func)
    with pytest.raises(DefinitionError, match="resolve them first"):
        compile_session_update(agent)
    with pytest.raises(DefinitionError, match="resolve them first"):
        compile_agent_swap(agent, None, dialect="ga", audio_started=False)
    resolved = await agent.resolve_instructions(RunContext(context="Ada"))
    assert resolved.endswith("aller Ada")
    for dialect in DIALECTS:
        event = compile_session_update(agent, dialect=dialect, instructions=resolved)
        assert event["session"]["instructions"] == resolved
        swap = compile_agent_swap(
            agent, None, dialect=dialect, audio_started=True, instructions=resolved
        )
        assert swap["session"]["instructions"] == resolved


def test_explicit_instructions_win_over_static_ones() -> None:
    event = compile_session_update(solo(), instructions="Override.")
    assert event["session"]["instructions"] == "Override."


# --- what a dialect cannot express ---------------------------------------------------------

INEXPRESSIBLE: list[tuple[str, Dialect, str, SessionSettings]] = [
    ("temperature", "ga", "temperature", SessionSettings(temperature=0.8)),
    ("truncation_auto", "beta", "truncation", SessionSettings(truncation="auto")),
    ("truncation_disabled", "beta", "truncation", SessionSettings(truncation="disabled")),
    (
        "truncation_ratio",
        "beta",
        "truncation",
        SessionSettings(truncation=RetentionRatioTruncation(retention_ratio=0.5)),
    ),
    (
        "tool_choice_function",
        "beta",
        "tool_choice",
        SessionSettings(tool_choice=ToolChoiceFunction(name="lookup_order")),
    ),
    (
        "idle_timeout",
        "beta",
        "turn_detection.idle_timeout_ms",
        SessionSettings(turn_detection=ServerVad(idle_timeout_ms=6000)),
    ),
]


@pytest.mark.parametrize(
    ("dialect", "field", "bad"),
    [c[1:] for c in INEXPRESSIBLE],
    ids=[c[0] for c in INEXPRESSIBLE],
)
@pytest.mark.parametrize("where", ["runner", "agent"])
def test_inexpressible_setting_is_a_compile_error(
    dialect: Dialect, field: str, bad: SessionSettings, where: str
) -> None:
    agent = (
        solo()
        if where == "runner"
        else RealtimeAgent(name="Solo", tools=[lookup_order], settings=bad)
    )
    runner = bad if where == "runner" else None
    with pytest.raises(CompileError) as info:
        compile_session_update(agent, runner, dialect=dialect)
    assert (info.value.field, info.value.dialect) == (field, dialect)
    assert "'Solo'" in str(info.value)
    with pytest.raises(CompileError):
        compile_agent_swap(agent, runner, dialect=dialect, audio_started=True)
    # The same settings are fine in the other dialect.
    other: Dialect = "beta" if dialect == "ga" else "ga"
    validate_client_event(compile_session_update(agent, runner, dialect=other), other)


def test_unknown_dialect_is_a_compile_error() -> None:
    with pytest.raises(CompileError) as info:
        compile_session_update(solo(), dialect="v2")  # type: ignore[arg-type]
    assert info.value.field == "dialect"


# --- the mid-session swap ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "runner", "expected"),
    [
        (
            "ga",
            SessionSettings(input_audio_format="g711_ulaw", output_audio_format="g711_ulaw"),
            {"type": "audio/pcmu"},
        ),
        (
            "ga",
            SessionSettings(input_audio_format="g711_alaw", output_audio_format="g711_alaw"),
            {"type": "audio/pcma"},
        ),
        (
            "beta",
            SessionSettings(input_audio_format="g711_ulaw", output_audio_format="g711_ulaw"),
            "g711_ulaw",
        ),
        (
            "beta",
            SessionSettings(input_audio_format="g711_alaw", output_audio_format="g711_alaw"),
            "g711_alaw",
        ),
    ],
)
def test_swap_keeps_the_telephony_format(
    dialect: Dialect, runner: SessionSettings, expected: Any
) -> None:
    # openai-agents issue #1632: a handoff reset G.711 to PCM. The target agent sets other
    # settings, never the format; the swap must still re-send G.711.
    target = RealtimeAgent(name="Billing", settings=SessionSettings(speed=0.9))
    event = compile_agent_swap(target, runner, dialect=dialect, audio_started=True)
    validate_client_event(event, dialect)
    session = event["session"]
    if dialect == "ga":
        assert session["audio"]["input"]["format"] == expected
        assert session["audio"]["output"]["format"] == expected
        assert session["audio"]["output"]["speed"] == 0.9
    else:
        assert session["input_audio_format"] == session["output_audio_format"] == expected
        assert session["speed"] == 0.9


@pytest.mark.parametrize("dialect", DIALECTS)
def test_swap_leaves_out_model_and_tracing_and_voice_after_audio(dialect: Dialect) -> None:
    runner = SessionSettings(voice="marin", tracing="auto")
    agent = RealtimeAgent(name="B", instructions="New job.", voice="cedar", tools=[hang_up])
    after = compile_agent_swap(agent, runner, dialect=dialect, audio_started=True)["session"]
    before = compile_agent_swap(agent, runner, dialect=dialect, audio_started=False)["session"]
    for session in (after, before):
        assert "model" not in session
        assert "tracing" not in session
        assert session["instructions"] == "New job."
        assert [t["name"] for t in session["tools"]] == ["hang_up"]
    if dialect == "ga":
        assert "voice" not in after["audio"]["output"]
        assert before["audio"]["output"]["voice"] == "cedar"
    else:
        assert "voice" not in after
        assert before["voice"] == "cedar"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_swap_to_an_agent_without_tools_clears_them(dialect: Dialect) -> None:
    event = compile_agent_swap(
        RealtimeAgent(name="Quiet"), None, dialect=dialect, audio_started=True
    )
    assert event["session"]["tools"] == []
    td = (
        event["session"]["audio"]["input"]["turn_detection"]
        if dialect == "ga"
        else event["session"]["turn_detection"]
    )
    assert td is not None and td["type"] == "server_vad"


def test_swap_carries_an_agents_push_to_talk_override() -> None:
    agent = RealtimeAgent(name="PTT", settings=SessionSettings(turn_detection=None))
    event = compile_agent_swap(agent, TELEPHONY, dialect="ga", audio_started=False)
    assert event["session"]["audio"]["input"]["turn_detection"] is None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_swap_refuses_a_different_model(dialect: Dialect) -> None:
    agent = RealtimeAgent(name="Mini", settings=SessionSettings(model="gpt-realtime-mini"))
    with pytest.raises(CompileError) as info:
        compile_agent_swap(agent, SessionSettings(), dialect=dialect, audio_started=False)
    assert (info.value.field, info.value.dialect) == ("model", dialect)
    # The same model as the session is no change, so it is fine (and still not sent).
    same = RealtimeAgent(name="Same", settings=SessionSettings(model="gpt-realtime"))
    event = compile_agent_swap(same, SessionSettings(), dialect=dialect, audio_started=False)
    assert "model" not in event["session"]


def test_swap_refuses_a_different_tracing() -> None:
    agent = RealtimeAgent(name="T", settings=SessionSettings(tracing=RealtimeTracingConfig(group_id="x")))
    with pytest.raises(CompileError) as info:
        compile_agent_swap(
            agent, SessionSettings(tracing="auto"), dialect="ga", audio_started=False
        )
    assert info.value.field == "tracing"
    # At session start the same agent is fine: tracing is set before it is enabled.
    session = compile_session_update(agent, SessionSettings(tracing="auto"))["session"]
    assert session["tracing"] == {"group_id": "x"}


# --- compile_agents (the CLI helper) -------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_compile_agents_walks_handoffs_in_a_stable_order(dialect: Dialect) -> None:
    payloads = compile_agents(make_agents(), SessionSettings(voice="marin"), dialect=dialect)
    assert list(payloads) == ["Triage", "Billing", "Tech Support"]
    for name, event in payloads.items():
        validate_client_event(event, dialect)
        assert event["session"]["instructions"]
        assert name in {"Triage", "Billing", "Tech Support"}
    billing_tools = [t["name"] for t in payloads["Billing"]["session"]["tools"]]
    assert billing_tools == ["ship_to", "transfer_to_triage"]


def test_compile_agents_rejects_two_agents_with_one_name() -> None:
    via = RealtimeAgent(name="Via", handoffs=[RealtimeAgent(name="Twin")])
    start = RealtimeAgent(name="Start", handoffs=[via, RealtimeAgent(name="Twin", tools=[hang_up])])
    with pytest.raises(DefinitionError, match="named 'Twin'"):
        compile_agents(start, dialect="ga")


def test_compile_agents_takes_resolved_instructions_by_name() -> None:
    dyn = RealtimeAgent(name="Dyn", instructions=_dynamic)
    start = RealtimeAgent(name="Start", instructions="Hi.", handoffs=[dyn])
    with pytest.raises(DefinitionError, match="'Dyn'"):
        compile_agents(start, dialect="ga")
    payloads = compile_agents(start, dialect="beta", instructions={"Dyn": "Resolved."})
    assert payloads["Dyn"]["session"]["instructions"] == "Resolved."


# --- property: any settings either compile to a conformant payload or name what cannot -----


_settings_kwargs = st.fixed_dictionaries(
    {},
    optional={
        "voice": st.sampled_from(["alloy", "marin", "cedar"]),
        "input_audio_format": st.sampled_from(["pcm16", "g711_ulaw", "g711_alaw"]),
        "output_audio_format": st.sampled_from(["pcm16", "g711_ulaw", "g711_alaw"]),
        "turn_detection": st.one_of(
            st.none(),
            st.builds(
                ServerVad,
                threshold=st.floats(0, 1),
                idle_timeout_ms=st.none() | st.integers(5_000, 30_000),
                create_response=st.booleans(),
            ),
            st.builds(SemanticVad, eagerness=st.sampled_from(["low", "medium", "high", "auto"])),
        ),
        "input_transcription": st.none()
        | st.builds(InputTranscription, language=st.none() | st.just("en")),
        "noise_reduction": st.sampled_from([None, "near_field", "far_field"]),
        "speed": st.none() | st.floats(0.25, 1.5),
        "output_modalities": st.sampled_from([("audio",), ("text",)]),
        "max_output_tokens": st.none() | st.integers(1, 4096) | st.just("inf"),
        "tool_choice": st.sampled_from(
            [None, "auto", "none", "required", ToolChoiceFunction(name="lookup_order")]
        ),
        "tracing": st.sampled_from([None, "auto", RealtimeTracingConfig(workflow_name="w")]),
        "truncation": st.sampled_from(
            [None, "auto", "disabled", RetentionRatioTruncation(retention_ratio=0.5)]
        ),
        "temperature": st.none() | st.floats(0.6, 1.2),
    },
)


def _expected_error(s: SessionSettings, dialect: Dialect) -> str | None:
    if dialect == "ga":
        return "temperature" if s.temperature is not None else None
    if s.truncation is not None:
        return "truncation"
    if isinstance(s.tool_choice, ToolChoiceFunction):
        return "tool_choice"
    if isinstance(s.turn_detection, ServerVad) and s.turn_detection.idle_timeout_ms is not None:
        return "turn_detection.idle_timeout_ms"
    return None


@settings(max_examples=150, deadline=None)
@given(kwargs=_settings_kwargs, dialect=st.sampled_from(DIALECTS), audio_started=st.booleans())
def test_any_settings_compile_conformantly_or_name_the_field(
    kwargs: dict[str, Any], dialect: Dialect, audio_started: bool
) -> None:
    runner = SessionSettings(**kwargs)
    expected = _expected_error(runner, dialect)
    for compile_ in (
        lambda: compile_session_update(solo(), runner, dialect=dialect),
        lambda: compile_agent_swap(solo(), runner, dialect=dialect, audio_started=audio_started),
    ):
        if expected is not None:
            with pytest.raises(CompileError) as info:
                compile_()
            assert info.value.field == expected
            continue
        event = compile_()
        validate_client_event(event, dialect)
        session = event["session"]
        # Settings never set never appear; set ones always do (unless the form leaves them out).
        if dialect == "ga":
            assert ("speed" in session["audio"]["output"]) == (runner.speed is not None)
            assert ("transcription" in session["audio"]["input"]) == (
                "input_transcription" in kwargs
            )
        else:
            assert ("speed" in session) == (runner.speed is not None)
            assert ("input_audio_transcription" in session) == ("input_transcription" in kwargs)


# --- examples/**/agents.yaml ---------------------------------------------------------------

EXAMPLES = sorted((ROOT / "examples").glob("**/agents.yaml"))


def test_the_examples_are_found() -> None:
    assert EXAMPLES, "no examples/**/agents.yaml found: the conformance test below checks none"


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_examples_compile_to_conformant_payloads(path: Path) -> None:
    from agentkit.loader import load_definitions

    definitions = load_definitions(path)
    agents = list(definitions.agents.values())
    assert agents, f"{path} defines no agents"
    for dialect in DIALECTS:
        try:
            payloads = compile_agents(
                definitions.starting_agent, definitions.settings, dialect=dialect
            )
        except CompileError as exc:
            # An example may use a setting only GA has; that must be named, never dropped.
            assert dialect == "beta" and exc.dialect == "beta", str(exc)
            continue
        for event in payloads.values():
            validate_client_event(event, dialect)
        for agent in agents:
            validate_client_event(
                compile_session_update(agent, definitions.settings, dialect=dialect), dialect
            )
            for audio_started in (False, True):
                swap = compile_agent_swap(
                    agent, definitions.settings, dialect=dialect, audio_started=audio_started
                )
                validate_client_event(swap, dialect)
                assert "model" not in swap["session"]


# --- docs/compiler.md: its Python examples run ----------------------------------------------


def _doc_blocks() -> list[str]:
    text = (ROOT / "docs" / "compiler.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_docs_examples_run() -> None:
    blocks = _doc_blocks()
    assert blocks, "docs/compiler.md has Python examples"
    namespace: dict[str, Any] = {"__name__": "docs_compiler"}
    for block in blocks:  # one namespace: later blocks build on earlier ones, like the page
        exec(compile(block, "docs/compiler.md", "exec"), namespace)
