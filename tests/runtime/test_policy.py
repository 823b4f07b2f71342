"""Guardrail and approval policy: running a round of checks, and the decisions remembered."""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
import orjson
import pytest

from agentkit import RunContext, tool
from agentkit.guardrails import GuardrailResult, input_guardrail
from agentkit.policy import ApprovalSettings, GuardrailSettings
from agentkit.runtime.policy import GuardrailVerdict, SessionPolicy, run_guardrails

ctx: RunContext[Any] = RunContext(context=None)


def says_yes(ctx: RunContext[Any], text: str) -> bool:
    return "yes" in text


async def explains(ctx: RunContext[Any], text: str) -> GuardrailResult:
    return GuardrailResult("!" in text, {"why": "shouting"})


def broken(ctx: RunContext[Any], text: str) -> Any:
    return "not a verdict"


async def test_a_round_stops_at_the_first_trip_and_reports_the_broken_checks() -> None:
    checks = [
        input_guardrail(broken, name="broken"),
        input_guardrail(explains, name="shout"),
        input_guardrail(says_yes, name="yes"),
    ]
    for run_sync in (None, anyio.to_thread.run_sync):
        # `allow`: a broken check is skipped (the default, `block`, trips on it: see below).
        verdict = await run_guardrails(checks, ctx, "yes!", run_sync=run_sync, on_error="allow")
        assert verdict.tripped is checks[1] and verdict.details == {"why": "shouting"}
        assert [name for name, _ in verdict.errors] == ["broken"]
        assert "returned str" in verdict.errors[0][1]
        # A bare bool is a verdict too (normalized in one place: `Guardrail.result_of`).
        verdict = await run_guardrails(checks[2:], ctx, "yes", run_sync=run_sync)
        assert verdict.tripped is checks[2] and verdict.details == {}
        assert (await run_guardrails(checks[1:], ctx, "no", run_sync=run_sync)).tripped is None


@tool(needs_approval=True)
def wire(q: str) -> str:
    """Needs approval."""
    return q


def test_approvals_are_remembered_per_tool_and_rejections_explained() -> None:
    policy = SessionPolicy(approvals=ApprovalSettings(rejection_message="No."))
    assert policy.approval_for(wire) == "ask"
    policy.remember("wire", False)
    assert policy.approval_for(wire) == "reject"
    assert orjson.loads(policy.rejection_output(None)) == {"error": "rejected", "message": "No."}
    assert orjson.loads(policy.rejection_output("Later."))["message"] == "Later."


def test_output_checks_are_debounced_and_a_trip_asks_for_the_safe_reply() -> None:
    policy = SessionPolicy(GuardrailSettings(output_debounce_chars=10))
    assert not policy.output_check_due(9, 0) and policy.output_check_due(20, 10)
    guardrail = input_guardrail(says_yes, name="yes", safe_reply='Say "no"')
    reply, instructions = policy.reply_after_trip(guardrail, "input")
    assert reply == 'Say "no"' and "Say 'no'" in instructions


async def returns_nothing(ctx: RunContext[Any], text: str) -> Any:
    return None  # a check that forgot its `return`: no verdict, so not a pass


def raises(ctx: RunContext[Any], text: str) -> bool:
    raise RuntimeError("classifier down")


async def test_a_failing_check_trips_the_round_by_default_sync_or_async() -> None:
    nothing = input_guardrail(returns_nothing, name="nothing")
    crash = input_guardrail(raises, name="crash")
    later = input_guardrail(says_yes, name="yes")
    for run_sync in (None, anyio.to_thread.run_sync):
        verdict = await run_guardrails([nothing, later], ctx, "yes", run_sync=run_sync)
        assert verdict.tripped is nothing
        assert verdict.details == {
            "error": "DefinitionError: guardrail 'nothing' returned NoneType; "
            "return a GuardrailResult or a bool"
        }
        assert verdict.errors == (("nothing", verdict.details["error"]),)
        verdict = await run_guardrails([crash, later], ctx, "no", run_sync=run_sync)
        assert verdict.tripped is crash and verdict.details == {"error": "RuntimeError: classifier down"}
        assert verdict.errors == (("crash", "RuntimeError: classifier down"),)
        # `allow`: reported, then the next check decides.
        verdict = await run_guardrails(
            [crash, nothing, later], ctx, "no", run_sync=run_sync, on_error="allow"
        )
        assert verdict.tripped is None and verdict.details == {}
        assert [name for name, _ in verdict.errors] == ["crash", "nothing"]


async def test_an_async_check_is_awaited_and_its_verdict_read() -> None:
    shout = input_guardrail(explains, name="shout")
    assert (await run_guardrails([shout], ctx, "calm")) == GuardrailVerdict()
    verdict = await run_guardrails([shout], ctx, "loud!", run_sync=anyio.to_thread.run_sync)
    assert verdict == GuardrailVerdict(shout, {"why": "shouting"})


def test_the_model_is_told_the_configured_rejection_sentence() -> None:
    default = SessionPolicy()
    expected = {"error": "rejected", "message": ApprovalSettings().rejection_message}
    assert ApprovalSettings().rejection_message == (
        "The user did not approve this action, so it was not done."
    )
    for message in (None, ""):
        assert orjson.loads(default.rejection_output(message)) == expected
    assert orjson.loads(default.rejection_output("Not today.")) == {
        "error": "rejected",
        "message": "Not today.",
    }


def test_tools_without_approval_run_and_remembered_approvals_stick() -> None:
    @tool
    def free(q: str) -> str:
        """No approval."""
        return q

    policy = SessionPolicy()
    assert policy.approval_for(free) == "approve"
    policy.remember("wire", True)
    assert policy.approval_for(wire) == "approve"
    assert SessionPolicy().approval_for(wire) == "ask"  # per session


def test_the_output_check_is_due_exactly_at_the_debounce() -> None:
    default = SessionPolicy()
    assert default.guardrails.output_debounce_chars == 100
    assert default.output_check_due(100, 0) and not default.output_check_due(99, 0)
    assert default.output_check_due(150, 50) and not default.output_check_due(149, 50)
    every_char = SessionPolicy(GuardrailSettings(output_debounce_chars=1))
    assert every_char.output_check_due(1, 0) and not every_char.output_check_due(3, 3)


def test_the_default_safe_reply_and_the_corrective_words() -> None:
    plain = input_guardrail(says_yes, name="yes")
    reply, instructions = SessionPolicy().reply_after_trip(plain, "output")
    assert reply == "I'm sorry, I can't help with that."
    assert instructions == (
        "Say exactly the following to the caller, word for word, and nothing else: "
        "\"I'm sorry, I can't help with that.\""
    )
    quiet = SessionPolicy(GuardrailSettings(default_safe_reply=None))
    reply, instructions = quiet.reply_after_trip(plain, "input")
    assert reply is None
    assert instructions == (
        "The caller's last message was stopped by the 'yes' guardrail. Do not act on it or "
        "repeat it. Briefly tell the caller you cannot help with that, and offer other help."
    )
    reply, instructions = quiet.reply_after_trip(plain, "output")
    assert reply is None and instructions.startswith(
        "Your last answer was stopped by the 'yes' guardrail and was not delivered."
    )
    # The guardrail's own reply wins over the default.
    own = input_guardrail(says_yes, name="yes", safe_reply="Let's talk about something else.")
    assert quiet.reply_after_trip(own, "input")[0] == "Let's talk about something else."


async def test_a_failing_check_is_logged_with_its_traceback_and_verdicts_are_frozen(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crash = input_guardrail(raises, name="crash")
    with caplog.at_level(logging.WARNING, logger="agentkit.guardrails"):
        verdict = await run_guardrails([crash], ctx, "x")
    (record,) = caplog.records
    assert record.getMessage() == "guardrail 'crash' failed (blocking the text)"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    with pytest.raises(AttributeError):
        verdict.tripped = None  # type: ignore[misc]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="agentkit.guardrails"):
        await run_guardrails([crash], ctx, "x", on_error="allow")
    assert caplog.records[0].getMessage() == "guardrail 'crash' failed (allowing the text)"
