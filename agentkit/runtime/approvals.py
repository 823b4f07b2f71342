"""Approvals: a `needs_approval` call waits for `approve()` / `reject()` or its deadline.

Owns the parked calls (`_approvals`, oldest first). A tool decided "always" for this session
(`SessionPolicy.remember`) is not parked again. While a call is parked its response's
follow-up waits for it, as for any running tool; a rejection answers the call with the
configured message, an approval dispatches it. The deadline (`ApprovalSettings.timeout_s`)
is kept by `runtime.watchdog`, which applies the configured default when it passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..events import SessionEvent, ToolApprovalRequired, ToolApprovalResolved
from ..protocol.wire_types import CallId
from ..tools import FunctionTool
from .calls import Call
from .policy import SessionPolicy

__all__ = ["Approvals", "ParkedCall"]


@dataclass(slots=True)
class ParkedCall:
    """A call waiting for the app's decision, and until when (None: no deadline)."""

    call: Call
    tool: FunctionTool
    arguments: str
    deadline: float | None


class Approvals:
    """Supervisor part: calls parked for approval (see the module docs)."""

    # From the other parts (see `runtime.core`):
    policy: SessionPolicy
    _emit: Callable[[SessionEvent], None]
    _clock: Callable[[float | None], None]
    _dispatch: Callable[[Call, FunctionTool | None, str], None]
    _send_output: Callable[[Call, str], None]
    _after_output: Callable[[Call], None]
    _tool_ended: Callable[[Call, str, str | None], None]
    _answer_hosted_approval: Callable[[Call, bool, str | None], None]

    def _init_approvals(self) -> None:
        self._approvals: dict[CallId, ParkedCall] = {}

    @property
    def pending_approvals(self) -> list[CallId]:
        """Call ids parked for approval, oldest first."""
        return list(self._approvals)

    def approve(self, call_id: str, *, always: bool = False, now: float | None = None) -> bool:
        """Run a parked call; `always` approves every later call of the same tool (and the
        ones parked now). False when `call_id` is not waiting for approval."""
        self._clock(now)
        # The app's id is a plain string: typed here, at the door.
        return self._decide(CallId(call_id), True, None, by="app", always=always)

    def reject(
        self,
        call_id: str,
        message: str | None = None,
        *,
        always: bool = False,
        now: float | None = None,
    ) -> bool:
        """Refuse a parked call: the model gets `message` (or the configured rejection) as the
        call's output. `always` rejects every later call of the same tool."""
        self._clock(now)
        return self._decide(CallId(call_id), False, message, by="app", always=always)

    def _ask_approval(self, call: Call, target: FunctionTool, arguments: str, now: float) -> None:
        """Park `call`, or decide it at once when its tool was decided "always"."""
        call_id = call.call_id
        decision = self.policy.approval_for(target)
        if decision == "ask":
            timeout = self.policy.approvals.timeout_s
            self._approvals[call_id] = ParkedCall(
                call, target, arguments, None if timeout is None else now + timeout
            )
            self._emit(
                ToolApprovalRequired(
                    call_id,
                    call.name,
                    arguments,
                    call.agent.name,
                    timeout,
                    self.policy.approvals.default,
                )
            )
            return
        self._approvals[call_id] = ParkedCall(call, target, arguments, None)
        self._decide(call_id, decision == "approve", None, by="always")

    def _drop_approvals(self) -> None:
        self._approvals.clear()

    def _forget_approval(self, call_id: CallId) -> None:
        self._approvals.pop(call_id, None)

    def _expire_approvals(self, now: float) -> None:
        """Apply the default decision to the calls whose deadline passed."""
        for call_id, approval in list(self._approvals.items()):
            if approval.deadline is not None and approval.deadline <= now:
                approved = self.policy.approvals.default == "approve"
                self._decide(call_id, approved, None, by="timeout")

    def _decide(
        self,
        call_id: CallId,
        approved: bool,
        message: str | None,
        *,
        by: Literal["app", "always", "timeout"],
        always: bool = False,
    ) -> bool:
        approval = self._approvals.pop(call_id, None)
        if approval is None:
            return False
        call = approval.call
        self._emit(ToolApprovalResolved(call_id, call.name, approved, by))
        if call.kind == "mcp":  # the service runs it: answer its approval request
            self._answer_hosted_approval(call, approved, message)
        elif approved:
            self._dispatch(call, approval.tool, approval.arguments)
        else:
            output = self.policy.rejection_output(message)
            self._send_output(call, output)
            self._tool_ended(call, output, "rejected")
            self._after_output(call)
        if always:
            self.policy.remember(call.name, approved)
            for other_id, other in list(self._approvals.items()):
                if other.call.name == call.name:
                    self._decide(other_id, approved, message, by="always")
        return True
