"""The supervisor's clock: every deadline of a session, in one place (`next_deadline`/`tick`).

This is the one owner of every timeout: a tool call's and a transfer's (armed when the
call starts, `RuntimeConfig.timeout_for`), a parked approval's (`ApprovalSettings`), a
spoken turn's input checks (`GuardrailSettings.input_check_timeout_s`), and the session's
own limits: duration, idle time, proactive renewal, and a stalled service. Nothing here
sleeps: the runtime asks `next_deadline()` after each flush, sleeps until then on the
session's clock, and calls `tick(now)`; tests pass `now` themselves.

What a deadline's expiry does belongs to the part that owns the waiting thing (the call is
answered by `runtime.calls`, the approval decided by `runtime.approvals`, the held response
released by `runtime.guardrail_gate`); this part only knows when.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from ..errors import AgentKitError, ProtocolError
from ..events import ErrorEvent, SessionEvent, SessionLimitReached
from ..policy import SessionLimits
from ..protocol.wire_types import CallId, ItemId, ResponseId
from .commands import CloseSession, Command, Reconnect
from .config import RuntimeConfig
from .policy import SessionPolicy

if TYPE_CHECKING:
    from .approvals import ParkedCall

__all__ = ["Watchdog"]


class Watchdog:
    """Supervisor part: deadlines, limits, renewal and the stall watchdog (module docs)."""

    # From the other parts (see `runtime.core`):
    config: RuntimeConfig
    limits: SessionLimits
    policy: SessionPolicy
    _online: bool
    _now: float
    _commands: list[Command]
    _approvals: dict[CallId, ParkedCall]
    _gate: dict[ItemId, float]
    _active_response: ResponseId | None
    _create_in_flight: str | None
    _emit: Callable[[SessionEvent], None]
    _time_out_call: Callable[[CallId, float], None]
    _expire_approvals: Callable[[float], None]
    _release_gate: Callable[[ItemId, float], None]

    def _init_watchdog(self, config: RuntimeConfig) -> None:
        # Read once (the configuration is frozen): `next_deadline` runs after every frame.
        self._renew_after_s = config.renew_after_s
        self._call_deadlines: dict[CallId, float] = {}  # running call id → when it times out
        self._started_at: float | None = None
        self._connected_at: float | None = None
        self._last_activity: float | None = None
        self._renew_due = False
        self._ended = False
        # stall watchdog: when the service was last heard, when our pending response.create
        # went out, and whether this connection was declared stalled
        self._heard_at: float | None = None
        self._create_sent_at = 0.0
        self._stalled = False
        # When to look again (None: nothing owed). Armed when something becomes owed and
        # pushed back at each look, so a frame only stores `_heard_at`: nothing per frame
        # computes a deadline.
        self._stall_check_at: float | None = None

    def _connected_now(self, now: float) -> None:
        """A connection opened at `now`: the clocks of limits, renewal and stalls restart."""
        if self._started_at is None:
            self._started_at = now
        self._connected_at = now
        self._last_activity = now
        self._renew_due = False
        self._now = now
        self._heard_at = now
        self._stalled = False
        self._stall_check_at = None

    # -- deadlines ------------------------------------------------------------------------------

    def _arm_call(self, call_id: CallId, timeout: float | None) -> None:
        """Call `call_id` (a tool or a transfer) starts now and may run `timeout` seconds."""
        if timeout is not None:
            self._call_deadlines[call_id] = self._now + timeout

    def next_deadline(self) -> float | None:
        """When `tick()` must be called next (monotonic seconds), if ever."""
        # The session asks after every flush: no list is built unless calls, approvals or
        # held turns are waiting.
        deadline: float | None = None
        if self._call_deadlines or self._approvals or self._gate:
            deadlines = [a.deadline for a in self._approvals.values() if a.deadline is not None]
            deadlines.extend(self._gate.values())
            deadlines.extend(self._call_deadlines.values())
            deadline = min(deadlines, default=None)
        if self._ended:
            return deadline
        limits = self.limits
        if limits.max_duration_s is not None and self._started_at is not None:
            at = self._started_at + limits.max_duration_s
            if deadline is None or at < deadline:
                deadline = at
        if limits.idle_timeout_s is not None and self._last_activity is not None and self._online:
            at = self._last_activity + limits.idle_timeout_s
            if deadline is None or at < deadline:
                deadline = at
        stall = self._stall_check_at
        if stall is not None and (deadline is None or stall < deadline):
            deadline = stall
        renew_after_s = self._renew_after_s
        if (
            renew_after_s is not None
            and self._connected_at is not None
            and self._online
            and not self._renew_due
        ):
            at = self._connected_at + renew_after_s
            if deadline is None or at < deadline:
                deadline = at
        return deadline

    def tick(self, now: float) -> None:
        """Apply whatever is due at `now`: call timeouts, approval timeouts, held responses
        whose input checks took too long, session limits, proactive renewal, a stalled
        service."""
        self._now = now
        check = self._stall_check_at
        if check is not None and now >= check:
            stall = self._stall_check_at = self._stall_deadline()
            if stall is not None and now >= stall:
                self._stall(now)
        if self._call_deadlines:
            expired_calls = [cid for cid, at in self._call_deadlines.items() if at <= now]
            for call_id in expired_calls:
                self._time_out_call(call_id, now)
        self._expire_approvals(now)
        expired = [item_id for item_id, deadline in self._gate.items() if deadline <= now]
        for item_id in expired:
            self._emit(
                ErrorEvent(
                    AgentKitError(
                        f"no transcript for user item {item_id!r} within "
                        f"{self.policy.guardrails.input_check_timeout_s:g}s: its response is "
                        "let through unchecked"
                    ),
                    "input_check_timeout",
                )
            )
            self._release_gate(item_id, now)
        if self._ended:
            return
        limits = self.limits
        if (
            limits.max_duration_s is not None
            and self._started_at is not None
            and now >= self._started_at + limits.max_duration_s
        ):
            self._end_on_limit("max_duration", limits.max_duration_s)
            return
        if (
            limits.idle_timeout_s is not None
            and self._last_activity is not None
            and self._online
            and now >= self._last_activity + limits.idle_timeout_s
        ):
            self._end_on_limit("idle_timeout", limits.idle_timeout_s)
            return
        renew_after_s = self._renew_after_s
        if (
            renew_after_s is not None
            and self._connected_at is not None
            and self._online
            and not self._renew_due
            and now >= self._connected_at + renew_after_s
        ):
            self._renew_due = True
            self._maybe_renew()

    # -- activity, limits, renewal ------------------------------------------------------------

    def _activity(self, now: float) -> None:
        self._last_activity = now

    def _end_on_limit(self, limit: Literal["max_duration", "idle_timeout"], seconds: float) -> None:
        self._ended = True
        self._emit(SessionLimitReached(limit, seconds))
        self._commands.append(CloseSession(None))

    def _maybe_renew(self) -> None:
        # Renew between turns only: a renewal mid-response would cut the agent off.
        if self._renew_due and self._active_response is None and self._create_in_flight is None:
            self._renew_due = False
            self._connected_at = None
            self._commands.append(Reconnect("renewal"))

    # -- stalls ---------------------------------------------------------------------------------

    def _stall_deadline(self) -> float | None:
        """When the service, owing us a response (a `response.create` sent, or a response
        under way), will have been silent for `stall_timeout_s`."""
        timeout = self.limits.stall_timeout_s
        if (
            timeout is None
            or not self._online
            or self._stalled
            or self._heard_at is None
            or (self._create_in_flight is None and self._active_response is None)
        ):
            return None
        return max(self._heard_at, self._create_sent_at) + timeout

    def _arm_stall(self, since: float) -> None:
        timeout = self.limits.stall_timeout_s
        if timeout is not None and self._stall_check_at is None:
            self._stall_check_at = since + timeout

    def _stall(self, now: float) -> None:
        # The socket may look healthy (websockets' pings are answered below the service), but
        # what the service owes us is not coming: treat it as a lost connection.
        self._stalled = True
        self._stall_check_at = None
        waited = now - max(self._heard_at or 0.0, self._create_sent_at)
        error = ProtocolError(
            f"the service sent nothing for {waited:.1f}s while a response was due "
            f"(stall_timeout_s={self.limits.stall_timeout_s:g})"
        )
        self._emit(ErrorEvent(error, "stalled"))
        if self.config.can_reconnect:
            self._commands.append(Reconnect("stalled"))
        else:
            self._commands.append(CloseSession(error))
