"""Guardrail and approval policy: running a round of checks, and the decisions remembered."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import orjson

from agentkit import RunContext, tool
from agentkit.guardrails import GuardrailResult, input_guardrail
from agentkit.policy import ApprovalSettings, GuardrailSettings
from agentkit.runtime.policy import SessionPolicy, run_guardrails

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
        verdict = await run_guardrails(checks, ctx, "yes!", run_sync=run_sync)
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
