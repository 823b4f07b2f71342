"""The fault-action interpreter: what each `FaultAction` does to a live session.

`FaultPlan.on_event` (in `faults.py`, pure) says which faults fire before an outgoing event;
`apply_fault` carries one out against a `FaultTarget` (the session's hub: its core and its
connections). Each action kind is one small handler below, and `handler_for` maps every kind
of the `FaultAction` union to its handler with an exhaustive `match` (the type checker
fails on a kind without one). A handler returns True when delivery goes on (the triggering
event is sent next) and False when the session is over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, assert_never

from .errors import error_body
from .faults import Fault, FaultAction
from .session import CloseConnection, ServerSession

__all__ = ["FaultHandler", "FaultTarget", "apply_fault", "handler_for"]


class FaultTarget(Protocol):
    """What a fault acts on: a session's core and the connections attached to it."""

    @property
    def core(self) -> ServerSession:
        """The session's sans-I/O core."""
        ...

    def now(self) -> float:
        """The clock the core runs on."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Hold everything for `seconds`."""

    async def stall(self) -> None:
        """Send nothing more until the session ends."""

    def abort_all(self) -> None:
        """Drop every connection without a close frame."""

    async def close_all(self, code: int, reason: str) -> None:
        """Close every connection."""

    async def send_event(self, event: dict[str, Any]) -> None:
        """Send one GA event to every connection."""

    async def send_text(self, text: str) -> None:
        """Send one raw text frame to every connection."""


FaultHandler = Callable[[Fault, FaultTarget], Awaitable[bool]]
"""`handler(fault, target)`: True when delivery goes on, False when the session is over."""

_MALFORMED = "{\"type\": \"response.output_audio.delta\", this is not JSON"
_event_counter = iter(range(1, 1 << 62))


def _event_id() -> str:
    return f"event_fault{next(_event_counter):06d}"


async def apply_fault(fault: Fault, target: FaultTarget) -> bool:
    """Carry out `fault` just before the event that triggered it; False when the session is
    over (the triggering event is then not sent)."""
    return await handler_for(fault.action)(fault, target)


def handler_for(action: FaultAction) -> FaultHandler:
    """The handler of `action` (every kind has exactly one)."""
    match action:
        case "drop":
            return _drop
        case "close":
            return _close
        case "delay":
            return _delay
        case "stall":
            return _stall
        case "error":
            return _error
        case "malformed":
            return _malformed
        case "unknown_event":
            return _unknown_event
        case "expire":
            return _expire
        case "rate_limit":
            return _rate_limit
        case _:
            assert_never(action)


async def _drop(fault: Fault, target: FaultTarget) -> bool:
    """Abort the TCP connections: the client sees 1006, no close frame."""
    target.abort_all()
    return False


async def _close(fault: Fault, target: FaultTarget) -> bool:
    """Close the WebSockets with `close_code` (a close reason is at most 123 bytes)."""
    await target.close_all(fault.close_code, fault.message[:120])
    return False


async def _delay(fault: Fault, target: FaultTarget) -> bool:
    """Hold the triggering event and everything after it `delay_ms` longer."""
    await target.sleep((fault.delay_ms or 0) / 1000)
    return True


async def _stall(fault: Fault, target: FaultTarget) -> bool:
    """Send nothing for `delay_ms`, or ever again when unset (the socket stays open)."""
    if fault.delay_ms is None:
        await target.stall()
        return False
    await target.sleep(fault.delay_ms / 1000)
    return True


async def _error(fault: Fault, target: FaultTarget) -> bool:
    """Send an `error` event with the fault's `code` and `message`."""
    kind = "server_error" if fault.code == "server_error" else "invalid_request_error"
    await target.send_event({"type": "error", "event_id": _event_id(), "error": error_body(fault.message, fault.code, kind=kind)})
    return True


async def _malformed(fault: Fault, target: FaultTarget) -> bool:
    """Send a text frame that is not JSON."""
    await target.send_text(_MALFORMED)
    return True


async def _unknown_event(fault: Fault, target: FaultTarget) -> bool:
    """Send an event of a `type` no client knows."""
    await target.send_event({"type": "response.agentkit_unknown_event", "event_id": _event_id(), "detail": "injected by the local server's fault plan"})
    return True


async def _expire(fault: Fault, target: FaultTarget) -> bool:
    """End the session as the service does: `error` `session_expired`, then close 1001."""
    core = target.core
    core.expire(target.now(), "Your session hit the maximum duration of 60 minutes.")
    for pending in core.poll(target.now()):
        if isinstance(pending, CloseConnection):
            await target.close_all(pending.code, pending.reason)
            return False
        await target.send_event(pending)
    return False


async def _rate_limit(fault: Fault, target: FaultTarget) -> bool:
    """Report exhausted rate limits and an `error` `rate_limit_exceeded`."""
    core = target.core
    core.rate_limited(target.now())
    for pending in core.poll(target.now()):
        if isinstance(pending, dict):
            await target.send_event(pending)
    return True
