"""What happened in each caller turn, recorded from a `Caller`'s observer calls.

`TurnRecorder` is a `CallObserver` (see `agentkit.caller`): between `begin(user)` and
`end(agent)` it files every session event of interest into the turn's `TurnRecord` (tool
calls with their decoded arguments, handoffs, guardrail trips, approval requests and their
answers, what the agent said) and reads the turn's response latency off a `LatencyMeter`,
the one definition the console and the traces use. It reads no clock and does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..caller import CallerTurn
from ..cli.latency import LatencyMeter
from ..events import (
    AssistantTranscript,
    GuardrailTripped,
    HandoffEvent,
    SessionEvent,
    ToolApprovalRequired,
    ToolApprovalResolved,
    ToolStart,
)
from .matchers import show_value

__all__ = ["ObservedCall", "TurnRecord", "TurnRecorder"]


@dataclass(frozen=True)
class ObservedCall:
    """A tool call the model made (run, or parked for approval)."""

    call_id: str
    name: str
    arguments: Mapping[str, Any]
    agent: str

    def describe(self) -> str:
        """`lookup_order(order_id="24")`."""
        shown = ", ".join(f"{k}={show_value(v)}" for k, v in self.arguments.items())
        return f"{self.name}({shown})"


@dataclass
class TurnRecord:
    """Everything a turn's expectations are checked against.

    Attributes:
        user: What the caller said.
        tool_calls: The calls made, in order.
        handoffs: `(from_agent, to_agent)` of each handoff.
        guardrails: The names of the guardrails that tripped.
        approvals: `(tool, decision)` of each approval request: `approve`, `reject`, or
            `pending` while unanswered.
        said: The agent's finished lines.
        agent: The agent in charge once the turn settled.
        latency_ms: The response latency (None when the agent never answered).
    """

    user: str
    tool_calls: list[ObservedCall] = field(default_factory=list)
    handoffs: list[tuple[str, str]] = field(default_factory=list)
    guardrails: list[str] = field(default_factory=list)
    approvals: list[tuple[str, str]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    agent: str = ""
    latency_ms: float | None = None

    @property
    def text(self) -> str:
        """What the agent said in the turn, as one text."""
        return " ".join(self.said)


class TurnRecorder:
    """Files the session's events into the current turn's `TurnRecord`."""

    def __init__(self, *, audio_output: bool = True) -> None:
        self.meter = LatencyMeter(audio_output=audio_output)
        self.records: list[TurnRecord] = []
        self.current = TurnRecord(user="")
        self._turns_before = 0

    def begin(self, user: str) -> TurnRecord:
        """A new caller turn starts: later events belong to it."""
        self.current = TurnRecord(user=user)
        self._turns_before = len(self.meter.turns)
        return self.current

    def end(self, agent: str) -> TurnRecord:
        """The turn settled with `agent` in charge; returns its record."""
        record = self.current
        record.agent = agent
        timings = self.meter.turns[self._turns_before :]
        latencies = [t.latency_ms for t in timings if t.latency_ms is not None]
        record.latency_ms = latencies[0] if latencies else None
        self.records.append(record)
        return record

    # -- CallObserver -----------------------------------------------------------------------

    def caller_turn(self, turn: CallerTurn) -> None:
        """See `CallObserver`."""
        self.meter.caller_turn(turn)

    def turn_ended(self, at: float) -> None:
        """See `CallObserver`."""
        self.meter.turn_ended(at)

    def audio_sent(self, end_ms: float, at: float) -> None:
        """See `CallObserver`."""
        self.meter.audio_sent(end_ms, at)

    def observe(self, event: SessionEvent, at: float) -> None:
        """See `CallObserver`."""
        self.meter.observe(event, at)
        record = self.current
        if isinstance(event, ToolStart | ToolApprovalRequired):
            if not any(c.call_id == event.call_id for c in record.tool_calls):
                record.tool_calls.append(
                    ObservedCall(event.call_id, event.tool_name, _decode(event.arguments), event.agent_name)
                )
            if isinstance(event, ToolApprovalRequired):
                record.approvals.append((event.tool_name, "pending"))
        elif isinstance(event, ToolApprovalResolved):
            for i, (tool, decision) in enumerate(record.approvals):
                if tool == event.tool_name and decision == "pending":
                    record.approvals[i] = (tool, "approve" if event.approved else "reject")
                    break
        elif isinstance(event, HandoffEvent):
            record.handoffs.append((event.from_agent, event.to_agent))
        elif isinstance(event, GuardrailTripped):
            record.guardrails.append(event.guardrail_name)
        elif isinstance(event, AssistantTranscript):
            record.said.append(event.transcript)


def _decode(arguments: str) -> Mapping[str, Any]:
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"<raw>": arguments}
    return value if isinstance(value, dict) else {"<raw>": value}
