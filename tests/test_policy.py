"""`agentkit.policy`: each knob's defaults, and the values it refuses when built."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agentkit.errors import DefinitionError
from agentkit.policy import (
    ApprovalSettings,
    GuardrailSettings,
    ReconnectPolicy,
    SessionLimits,
    ToolFailure,
    default_tool_error_formatter,
)

MiB = 1024 * 1024


def test_the_defaults() -> None:
    assert SessionLimits() == SessionLimits(
        max_duration_s=None,
        idle_timeout_s=None,
        max_queued_events=10_000,
        max_text_chars=100_000,
        max_tool_output_chars=100_000,
        max_audio_append_bytes=8 * MiB,
        stall_timeout_s=30.0,
    )
    assert ReconnectPolicy() == ReconnectPolicy(
        max_attempts=5, base_delay_s=0.5, max_delay_s=8.0, jitter=0.5, renew_after_s=3300.0
    )
    assert ReconnectPolicy().text_fallback is None
    assert GuardrailSettings() == GuardrailSettings(
        output_debounce_chars=100,
        default_safe_reply="I'm sorry, I can't help with that.",
        input_check_timeout_s=5.0,
    )
    assert (ApprovalSettings().timeout_s, ApprovalSettings().default) == (60.0, "reject")


@pytest.mark.parametrize(
    ("knob", "kwargs", "message"),
    [
        (SessionLimits, {"max_duration_s": 0}, "max_duration_s must be positive, got 0"),
        (SessionLimits, {"idle_timeout_s": -1}, "idle_timeout_s must be positive"),
        (SessionLimits, {"stall_timeout_s": 0.0}, "stall_timeout_s must be positive"),
        (SessionLimits, {"max_queued_events": 0}, "max_queued_events must be at least 1, got 0"),
        (SessionLimits, {"max_text_chars": 0}, "max_text_chars must be at least 1"),
        (SessionLimits, {"max_tool_output_chars": -5}, "max_tool_output_chars must be at least 1"),
        (SessionLimits, {"max_audio_append_bytes": 0}, "max_audio_append_bytes must be at least 1"),
        (SessionLimits, {"max_audio_append_bytes": 8 * MiB + 1}, "at most 8388608"),
        (ReconnectPolicy, {"max_attempts": -1}, "max_attempts must be 0 or more, got -1"),
        (ReconnectPolicy, {"base_delay_s": -0.1}, "need 0 <= base_delay_s <= max_delay_s"),
        (ReconnectPolicy, {"base_delay_s": 10, "max_delay_s": 5}, "got 10 and 5"),
        (ReconnectPolicy, {"jitter": 1.5}, r"jitter must be within \[0, 1\], got 1.5"),
        (ReconnectPolicy, {"jitter": -0.1}, "jitter must be within"),
        (ReconnectPolicy, {"renew_after_s": 0}, "renew_after_s must be positive"),
        (GuardrailSettings, {"output_debounce_chars": 0}, "output_debounce_chars must be at least 1"),
        (GuardrailSettings, {"input_check_timeout_s": 0}, "input_check_timeout_s must be positive"),
        (ApprovalSettings, {"timeout_s": 0}, "approval timeout_s must be positive, got 0"),
        (ApprovalSettings, {"default": "maybe"}, "approval default must be approve or reject, got 'maybe'"),
    ],
)
def test_a_bad_value_is_a_definition_error_naming_the_knob(
    knob: type, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(DefinitionError, match=message):
        knob(**kwargs)


def test_the_edges_that_are_allowed() -> None:
    SessionLimits(max_duration_s=None, idle_timeout_s=None, stall_timeout_s=None)
    SessionLimits(max_queued_events=1, max_audio_append_bytes=8 * MiB)
    ReconnectPolicy(max_attempts=0, base_delay_s=0, max_delay_s=0, jitter=0, renew_after_s=None)
    ReconnectPolicy(base_delay_s=2, max_delay_s=2, jitter=1)
    GuardrailSettings(output_debounce_chars=1, default_safe_reply=None)
    ApprovalSettings(timeout_s=None, default="approve")


def test_knobs_are_frozen_values() -> None:
    limits = SessionLimits(idle_timeout_s=30)
    with pytest.raises(AttributeError):
        limits.idle_timeout_s = 5  # type: ignore[misc]
    assert limits == SessionLimits(idle_timeout_s=30) and hash(limits) == hash(SessionLimits(idle_timeout_s=30))


@pytest.mark.parametrize("kind", ["invalid_arguments", "unknown_tool", "error", "timeout"])
def test_the_default_formatter_tells_the_model_the_kind_and_why(kind: Any) -> None:
    failure = ToolFailure(kind, "lookup", 'said "no" \\ twice', ValueError("x"))
    output = default_tool_error_formatter(failure)
    assert orjson.loads(output) == {"error": kind, "message": 'said "no" \\ twice'}


def test_a_failing_guardrail_blocks_unless_allowed() -> None:
    assert GuardrailSettings().on_error == "block"
    assert GuardrailSettings(on_error="allow").on_error == "allow"
    with pytest.raises(DefinitionError, match="on_error must be block or allow, got 'ignore'"):
        GuardrailSettings(on_error="ignore")  # type: ignore[arg-type]


def test_the_documented_defaults_in_numbers() -> None:
    policy = ReconnectPolicy()
    assert (policy.max_attempts, policy.renew_after_s) == (5, 55 * 60.0)
    assert (policy.base_delay_s, policy.max_delay_s, policy.jitter) == (0.5, 8.0, 0.5)
    guardrails = GuardrailSettings()
    assert guardrails.output_debounce_chars == 100 and guardrails.input_check_timeout_s == 5.0
    assert SessionLimits().quiet_warning_s == 10.0
