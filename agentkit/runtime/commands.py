"""Commands: the work a `Supervisor` asks its runtime to start or stop.

The supervisor never runs anything itself. It appends commands to `Supervisor.commands()`,
and the runtime (`RealtimeSession`) executes them: runs a tool, a transfer or a round of
guardrail checks in a task and reports the result back (`tool_finished()`,
`handoff_finished()`, `guardrails_finished()`), cancels a task, reconnects, or closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..agent import RealtimeAgent
from ..errors import AgentKitError
from ..guardrails import Guardrail
from ..handoffs import Handoff
from ..protocol.wire_types import CallId
from ..tools import FunctionTool

__all__ = [
    "CancelTool",
    "CloseSession",
    "Command",
    "Reconnect",
    "RunGuardrails",
    "RunHandoff",
    "RunTool",
]


@dataclass(frozen=True, slots=True)
class RunTool:
    """Run `tool` (None: the model named a tool the agent lacks) and report back with
    `Supervisor.tool_finished(call_id, ...)`."""

    call_id: CallId
    name: str
    arguments: str
    tool: FunctionTool | None
    agent: RealtimeAgent[Any]


@dataclass(frozen=True, slots=True)
class RunHandoff:
    """Validate the transfer arguments, run `on_handoff`, resolve the target's instructions,
    then call `Supervisor.handoff_finished()` (or `handoff_failed()`)."""

    call_id: CallId
    handoff: Handoff
    arguments: str
    agent: RealtimeAgent[Any]


@dataclass(frozen=True, slots=True)
class RunGuardrails:
    """Run `guardrails` on `text` (in a task: never on the pump) and report back with
    `Supervisor.guardrails_finished(check_id, verdict, now)`."""

    check_id: int
    stage: Literal["input", "output"]
    guardrails: tuple[Guardrail, ...]
    text: str
    agent: RealtimeAgent[Any]


@dataclass(frozen=True, slots=True)
class CancelTool:
    """Cancel the running call (a tool or a transfer); its output has already been sent.

    Attributes:
        timed_out: The call ran past its deadline (see `runtime.watchdog`) rather than
            being cancelled by an interruption or the session's end.
        output: What the model was told instead (set when `timed_out`), for the observer.
    """

    call_id: CallId
    timed_out: bool = False
    output: str | None = None


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Close this connection and open a new one (the runtime's reconnect loop):
    `reason` is `session_expired`, `renewal`, ..."""

    reason: str


@dataclass(frozen=True, slots=True)
class CloseSession:
    """End the session: the service reported something it will not recover from (`error`),
    or a session limit was reached (`error` is None)."""

    error: AgentKitError | None


Command = RunTool | RunHandoff | RunGuardrails | CancelTool | Reconnect | CloseSession
"""Everything `Supervisor.commands()` can return."""
