"""Expectations checked against what happened: pure functions from a spec turn's
`Expectations` and a `TurnRecord` to the list of `Failure`s, each saying what was expected
and what happened instead:

    tool call: expected lookup_order(order_id="42"), got: lookup_order(order_id="24")
    handoff: expected a handoff to returns, got: none
"""

from __future__ import annotations

from dataclasses import dataclass

from .record import TurnRecord
from .spec import Approval, Expectations, ExpectedCall

__all__ = [
    "Failure",
    "approval_failures",
    "check_final_agent",
    "check_turn",
    "handoff_failures",
    "tool_call_failures",
]


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold.

    Attributes:
        what: Which expectation (`tool call`, `handoff`, `says`...).
        expected: What the spec wanted.
        got: What happened.
    """

    what: str
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.what}: expected {self.expected}, got: {self.got}"


def check_turn(expect: Expectations, record: TurnRecord) -> list[Failure]:
    """Every expectation of the turn that `record` does not meet, in the spec's order."""
    failures: list[Failure] = []
    if expect.tool_calls is not None:
        failures += tool_call_failures(expect.tool_calls, record)
    if expect.handoff is not None:
        failures += handoff_failures(expect.handoff, record)
    if expect.guardrail is not None and expect.guardrail not in record.guardrails:
        failures.append(
            Failure("guardrail", f"{expect.guardrail} to trip", _listed(record.guardrails))
        )
    if expect.approvals is not None:
        failures += approval_failures(expect.approvals, record)
    if expect.says is not None:
        problems = expect.says.problems(record.text)
        if problems:
            said = repr(record.text) if record.said else "nothing said"
            failures.append(Failure("says", "the agent " + " and ".join(problems), said))
    if expect.agent is not None and record.agent != expect.agent:
        failures.append(Failure("agent", expect.agent, record.agent or "none"))
    if expect.latency_max_ms is not None:
        latency = record.latency_ms
        if latency is None or latency > expect.latency_max_ms:
            got = "no answer" if latency is None else f"{latency:.0f} ms"
            failures.append(Failure("latency", f"at most {expect.latency_max_ms:g} ms", got))
    return failures


def tool_call_failures(expected: tuple[ExpectedCall, ...], record: TurnRecord) -> list[Failure]:
    """The expected calls missing from the turn, matched in order (other calls may come
    between); an empty `expected` means no call at all."""
    got = record.tool_calls
    shown = _listed([c.describe() for c in got])
    if not expected:
        return [] if not got else [Failure("tool calls", "no tool calls", shown)]
    failures: list[Failure] = []
    position = 0
    for call in expected:
        index = next(
            (i for i in range(position, len(got)) if call.matches(got[i].name, got[i].arguments)),
            None,
        )
        if index is None:
            failures.append(Failure("tool call", call.describe(), shown))
        else:
            position = index + 1
    return failures


def approval_failures(approvals: tuple[Approval, ...], record: TurnRecord) -> list[Failure]:
    """The approvals the turn should have asked for and did not (or decided otherwise), and
    the requests no approval answers (those are rejected)."""
    failures: list[Failure] = []
    for approval in approvals:
        asked = [decision for tool, decision in record.approvals if tool == approval.tool]
        if not asked:
            got = _listed([tool for tool, _ in record.approvals])
            failures.append(Failure("approval", f"an approval request for {approval.tool}", got))
        elif approval.decide not in asked:
            failures.append(Failure("approval", f"{approval.tool} {approval.decide}d", ", ".join(asked)))
    unexpected = {tool for tool, _ in record.approvals} - {a.tool for a in approvals}
    for tool in sorted(unexpected):
        failures.append(
            Failure("approval", f"no approval request for {tool} (the spec answers with approval:)",
                    f"a request for {tool}, rejected")
        )
    return failures


def handoff_failures(agent: str, record: TurnRecord) -> list[Failure]:
    """A failure unless the turn handed off to `agent`."""
    if any(to == agent for _, to in record.handoffs):
        return []
    got = _listed([f"{a} -> {b}" for a, b in record.handoffs])
    return [Failure("handoff", f"a handoff to {agent}", got)]


def check_final_agent(expected: str | None, agent: str) -> list[Failure]:
    """A failure unless `agent` is the one the spec expects at the end."""
    if expected is None or agent == expected:
        return []
    return [Failure("final agent", expected, agent or "none")]


def _listed(items: list[str]) -> str:
    return ", ".join(items) if items else "none"
