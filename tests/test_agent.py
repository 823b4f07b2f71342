"""Core definitions: agents, handoffs, guardrails and session settings."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from agentkit import (
    DefinitionError,
    GuardrailResult,
    Handoff,
    InputGuardrail,
    OutputGuardrail,
    RealtimeAgent,
    RunContext,
    SemanticVad,
    ServerVad,
    SessionSettings,
    ToolArgumentsError,
    blocked_regex,
    blocked_terms,
    handoff,
    input_guardrail,
    max_length,
    output_guardrail,
    tool,
)
from agentkit.agent import walk_agents
from agentkit.guardrails import BUILTIN_GUARDRAILS
from agentkit.handoffs import as_handoff, default_handoff_tool_name
from agentkit.settings import InputTranscription, RealtimeTracingConfig, RetentionRatioTruncation


def ctx() -> RunContext[None]:
    return RunContext(context=None)


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


class Escalation(BaseModel):
    reason: str = Field(description="Why.")
    priority: int = 1


# --- handoffs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent_name", "tool_name"),
    [
        ("Billing", "transfer_to_billing"),
        ("Tech Support", "transfer_to_tech_support"),
        ("after-hours desk!", "transfer_to_after_hours_desk"),
        ("ReturnsV2", "transfer_to_returnsv2"),
        ("x" * 80, "transfer_to_" + "x" * 52),
    ],
)
def test_default_handoff_tool_names(agent_name: str, tool_name: str) -> None:
    assert default_handoff_tool_name(agent_name) == tool_name
    assert handoff(RealtimeAgent(name=agent_name)).tool_name == tool_name


def test_handoff_description_uses_the_targets_handoff_description() -> None:
    billing = RealtimeAgent(name="Billing", handoff_description="Invoices and refunds.")
    assert handoff(billing).description == (
        "Transfer the conversation to the Billing agent. Invoices and refunds."
    )
    assert handoff(RealtimeAgent(name="Quiet")).description == (
        "Transfer the conversation to the Quiet agent."
    )
    custom = handoff(billing, tool_name="escalate", description="Escalate billing.")
    assert (custom.tool_name, custom.description) == ("escalate", "Escalate billing.")


def test_plain_agents_in_handoffs_become_handoff_tools() -> None:
    billing = RealtimeAgent(name="Billing")
    explicit = handoff(RealtimeAgent(name="Sales"), tool_name="to_sales")
    triage = RealtimeAgent(name="Triage", tools=[ping], handoffs=[billing, explicit])
    assert [h.tool_name for h in triage.handoff_list()] == ["transfer_to_billing", "to_sales"]
    assert as_handoff(explicit) is explicit
    assert [d.name for d in triage.tool_definitions()] == [
        "ping",
        "transfer_to_billing",
        "to_sales",
    ]
    found = triage.find_tool("transfer_to_billing")
    assert isinstance(found, Handoff) and found.target is billing
    assert triage.find_tool("ping") is ping
    assert triage.find_tool("nope") is None


def test_handoff_to_a_name_refers_ahead() -> None:
    h = handoff("Later")
    assert (h.agent_name, h.tool_name) == ("Later", "transfer_to_later")
    with pytest.raises(DefinitionError, match="no name"):
        handoff("")


def test_handoff_input_type_gives_a_strict_schema_and_validates() -> None:
    h = handoff(RealtimeAgent(name="Manager"), input_type=Escalation)
    assert h.parameters["required"] == ["reason", "priority"]
    assert h.parameters["additionalProperties"] is False
    assert h.definition().parameters == h.parameters
    value = h.parse_input('{"reason": "angry caller", "priority": 2}')
    assert isinstance(value, Escalation) and value.priority == 2
    with pytest.raises(ToolArgumentsError, match="reason"):
        h.parse_input('{"priority": 2}')
    with pytest.raises(ToolArgumentsError):
        h.parse_input("{not json")
    # Without an input_type there is nothing to validate.
    assert handoff(RealtimeAgent(name="M")).parse_input('{"x": 1}') is None


def test_handoff_input_type_must_be_a_pydantic_model() -> None:
    with pytest.raises(DefinitionError, match="input_type must be a pydantic model"):
        handoff(RealtimeAgent(name="M"), input_type=dict)  # type: ignore[arg-type]


def test_on_handoff_arity_is_checked_against_input_type() -> None:
    target = RealtimeAgent(name="M")

    def one(c: RunContext[Any]) -> None:
        pass

    def two(c: RunContext[Any], value: Escalation) -> None:
        pass

    handoff(target, on_handoff=one)
    handoff(target, on_handoff=two, input_type=Escalation)
    with pytest.raises(DefinitionError, match=r"on_handoff\(ctx\)"):
        handoff(target, on_handoff=two)
    with pytest.raises(DefinitionError, match=r"on_handoff\(ctx, input\)"):
        handoff(target, on_handoff=one, input_type=Escalation)


async def test_on_handoff_runs_sync_and_async_with_the_input() -> None:
    calls: list[Any] = []

    def sync_cb(c: RunContext[Any]) -> None:
        calls.append(("sync", c.context))

    async def async_cb(c: RunContext[Any], value: Escalation) -> None:
        calls.append(("async", value.reason))

    await handoff(RealtimeAgent(name="A"), on_handoff=sync_cb).run_callback(
        RunContext(context=7), None
    )
    h = handoff(RealtimeAgent(name="B"), on_handoff=async_cb, input_type=Escalation)
    await h.run_callback(ctx(), h.parse_input('{"reason": "r", "priority": 1}'))
    await handoff(RealtimeAgent(name="C")).run_callback(ctx(), None)  # no callback: no-op
    assert calls == [("sync", 7), ("async", "r")]


# --- guardrails ----------------------------------------------------------------------------


def test_guardrail_decorators_bare_and_with_options() -> None:
    @input_guardrail
    def no_swearing(c: RunContext[Any], text: str) -> bool:
        return "darn" in text

    @output_guardrail(name="no_prices", safe_reply="I can't quote prices.")
    def prices(c: RunContext[Any], text: str) -> bool:
        return "$" in text

    assert isinstance(no_swearing, InputGuardrail)
    assert (no_swearing.name, no_swearing.stage, no_swearing.safe_reply) == (
        "no_swearing",
        "input",
        None,
    )
    assert isinstance(prices, OutputGuardrail)
    assert (prices.name, prices.stage, prices.safe_reply) == (
        "no_prices",
        "output",
        "I can't quote prices.",
    )
    direct = input_guardrail(lambda c, t: False, name="never")
    assert direct.name == "never"


def test_guardrail_must_accept_ctx_and_text() -> None:
    def one_arg(text: str) -> bool:
        return False

    with pytest.raises(DefinitionError, match=r"must accept \(ctx, text\)"):
        input_guardrail(one_arg)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="needs a function"):
        output_guardrail("nope")  # type: ignore[call-overload]


async def test_guardrail_results_bool_result_async_and_bad_return() -> None:
    async def async_check(c: RunContext[Any], text: str) -> GuardrailResult:
        return GuardrailResult(True, {"why": text})

    tripped = await input_guardrail(lambda c, t: True).run(ctx(), "x")
    assert tripped == GuardrailResult(tripwire_triggered=True)
    passed = await input_guardrail(lambda c, t: False).run(ctx(), "x")
    assert passed.tripwire_triggered is False and passed.details == {}
    detailed = await output_guardrail(async_check).run(ctx(), "hello")
    assert detailed == GuardrailResult(True, {"why": "hello"})
    bad = input_guardrail(lambda c, t: "yes", name="bad")  # type: ignore[arg-type,return-value]
    with pytest.raises(DefinitionError, match="returned str"):
        await bad.run(ctx(), "x")


@pytest.mark.parametrize(
    ("text", "tripped", "matched"),
    [
        ("I want a REFUND now", True, "REFUND"),
        ("refunds are different words", False, None),
        ("call my lawyer please", True, "my lawyer"),
        ("lawyerly", False, None),
        ("", False, None),
    ],
)
async def test_blocked_terms_matches_whole_words(
    text: str, tripped: bool, matched: str | None
) -> None:
    check = input_guardrail(blocked_terms(["refund", "my lawyer"]))
    result = await check.run(ctx(), text)
    assert result.tripwire_triggered is tripped
    assert result.details.get("matched") == matched


async def test_blocked_terms_case_sensitive() -> None:
    check = input_guardrail(blocked_terms(["NDA"], case_sensitive=True))
    assert (await check.run(ctx(), "sign the NDA")).tripwire_triggered
    assert not (await check.run(ctx(), "sign the nda")).tripwire_triggered


@pytest.mark.parametrize("terms", [[], [""], ["ok", "  "], "refund"])
def test_blocked_terms_needs_a_list_of_terms(terms: Any) -> None:
    # A bare string would otherwise block each of its letters.
    with pytest.raises(DefinitionError, match="blocked_terms needs"):
        blocked_terms(terms)


async def test_blocked_regex_and_max_length() -> None:
    card = input_guardrail(blocked_regex(r"\b\d{4}([ -]?\d{4}){3}\b"))
    result = await card.run(ctx(), "it is 4111 1111 1111 1111 ok")
    assert result.tripwire_triggered and result.details["matched"] == "4111 1111 1111 1111"
    assert not (await card.run(ctx(), "call 555 1234")).tripwire_triggered
    with pytest.raises(DefinitionError, match="invalid pattern"):
        blocked_regex("([")

    short = output_guardrail(max_length(5))
    assert not (await short.run(ctx(), "12345")).tripwire_triggered
    long = await short.run(ctx(), "123456")
    assert long == GuardrailResult(True, {"length": 6, "limit": 5})
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DefinitionError, match="positive whole number"):
            max_length(bad)  # type: ignore[arg-type]


def test_builtin_guardrails_by_yaml_name() -> None:
    assert set(BUILTIN_GUARDRAILS) == {"blocked_terms", "blocked_regex", "max_length"}
    assert BUILTIN_GUARDRAILS["max_length"](3)(ctx(), "abcd") == GuardrailResult(
        True, {"length": 4, "limit": 3}
    )


# --- agents --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "non-empty name"),
        ({"name": "   "}, "non-empty name"),
        ({"name": "A", "tools": [ping.func]}, "tools must be FunctionTool objects"),
        (
            {"name": "A", "input_guardrails": [output_guardrail(lambda c, t: False)]},
            "input_guardrails takes InputGuardrail",
        ),
        (
            {"name": "A", "output_guardrails": [input_guardrail(lambda c, t: False)]},
            "output_guardrails takes OutputGuardrail",
        ),
        ({"name": "A", "instructions": 42}, "instructions must be a string or a function"),
        ({"name": "A", "settings": {"voice": "ash"}}, "settings must be a SessionSettings"),
    ],
)
def test_bad_agent_definitions(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        RealtimeAgent(**kwargs)


def test_duplicate_tool_and_handoff_names() -> None:
    agent = RealtimeAgent(name="A", tools=[ping], handoffs=[handoff("B", tool_name="ping")])
    with pytest.raises(DefinitionError, match="two tools are named 'ping'"):
        agent.tool_definitions()


def test_clone_copies_lists() -> None:
    original = RealtimeAgent(name="A", tools=[ping])
    copy = original.clone(name="B")
    copy.tools.clear()
    assert (copy.name, original.tools) == ("B", [ping])


async def test_instructions_static_dynamic_and_missing() -> None:
    async def dyn(c: RunContext[str]) -> str:
        return f"for {c.context}"

    def bad(c: RunContext[Any]) -> int:
        return 3

    assert RealtimeAgent(name="A", instructions="Hi.").static_instructions() == "Hi."
    assert RealtimeAgent(name="A").static_instructions() == ""
    assert await RealtimeAgent(name="A").resolve_instructions(ctx()) == ""
    dynamic = RealtimeAgent(name="A", instructions=dyn)
    assert dynamic.static_instructions() is None
    assert await dynamic.resolve_instructions(RunContext(context="Ada")) == "for Ada"
    wrong = RealtimeAgent(name="A", instructions=bad)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="returned int"):
        await wrong.resolve_instructions(ctx())


def test_walk_agents_breadth_first_each_once_through_cycles() -> None:
    a, b, c, d = (RealtimeAgent(name=n) for n in "ABCD")
    a.handoffs += [b, c]
    b.handoffs += [d, a]
    c.handoffs += [handoff(a), handoff("NotLoadedYet")]
    d.handoffs.append(b)
    assert [x.name for x in walk_agents(a)] == ["A", "B", "C", "D"]
    assert [x.name for x in walk_agents(d)] == ["D", "B", "A", "C"]


# --- settings ------------------------------------------------------------------------------


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
