"""Fault injection for the local server: break the wire on purpose, deterministically.

A `Fault` is a trigger plus an action. Triggers count the server events a session sends
(GA names, before any beta renaming):

- `after_events: N` — fires just before the (N+1)-th server event (so N events went out);
- `at_event: TYPE` (+ `occurrence: K`, default 1) — fires just before the K-th event of that
  type, e.g. the first `response.function_call_arguments.done`, or the 5th
  `response.output_audio.delta` (mid-response).

Actions:

| action | effect |
| --- | --- |
| `drop` | abort the TCP connection (no close frame; the client sees 1006) |
| `close` | close the WebSocket with `close_code` (default 1011) |
| `delay` | hold the triggering event and everything after it `delay_ms` longer |
| `stall` | send nothing more (for `delay_ms`, or forever when unset); the socket stays open |
| `error` | send an `error` event (`code`, `message`) before the triggering event |
| `malformed` | send a text frame that is not JSON before the triggering event |
| `unknown_event` | send an event of an unknown `type` before the triggering event |
| `expire` | end the session as the service does: `error` `session_expired`, then close 1001 |
| `rate_limit` | send `rate_limits.updated` with 0 remaining and an `error` `rate_limit_exceeded` |

`FaultPlan` is pure: `on_event(event_type)` returns the actions to apply for that event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from ..errors import ConfigError, SourceLocation

__all__ = ["Fault", "FaultAction", "FaultPlan", "parse_fault"]

FaultAction = Literal[
    "drop", "close", "delay", "stall", "error", "malformed", "unknown_event", "expire", "rate_limit"
]
_ACTIONS: Final[tuple[str, ...]] = get_args(FaultAction)


@dataclass(frozen=True)
class Fault:
    """One injected failure: when (`after_events` or `at_event`/`occurrence`) and what."""

    action: FaultAction
    after_events: int | None = None
    at_event: str | None = None
    occurrence: int = 1
    delay_ms: float | None = None
    code: str = "server_error"
    message: str = "The server had an error while processing your request."
    close_code: int = 1011

    def __post_init__(self) -> None:
        if (self.after_events is None) == (self.at_event is None):
            raise ValueError("a fault needs exactly one trigger: after_events or at_event")
        if self.action not in _ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}")
        if self.action == "delay" and self.delay_ms is None:
            raise ValueError("a delay fault needs delay_ms")


@dataclass
class FaultPlan:
    """The faults of one session and how far each trigger has counted."""

    faults: tuple[Fault, ...] = ()
    _sent: int = 0
    _seen: dict[str, int] = field(default_factory=dict)
    _fired: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, faults: Iterable[Fault]) -> FaultPlan:
        """A fresh plan (counters at zero) for `faults`."""
        return cls(tuple(faults))

    def on_event(self, event_type: str) -> list[Fault]:
        """Count one outgoing event; return the faults that fire just before it."""
        if not self.faults:
            return []
        seen = self._seen[event_type] = self._seen.get(event_type, 0) + 1
        fired: list[Fault] = []
        for index, fault in enumerate(self.faults):
            if index in self._fired:
                continue
            if fault.after_events is not None:
                hit = self._sent == fault.after_events
            else:
                hit = fault.at_event == event_type and seen == fault.occurrence
            if hit:
                self._fired.add(index)
                fired.append(fault)
        self._sent += 1
        return fired


_FIELDS: Final[dict[str, type | tuple[type, ...]]] = {
    "action": str,
    "after_events": int,
    "at_event": str,
    "occurrence": int,
    "delay_ms": (int, float),
    "code": str,
    "message": str,
    "close_code": int,
}


def parse_fault(
    data: Any,
    *,
    path: str = "faults[0]",
    locate: Callable[[str], SourceLocation | None] = lambda _path: None,
) -> Fault:
    """Build a `Fault` from a mapping (a script's `faults:` entry), with `ConfigError`s that
    name the field and, via `locate`, the file position."""
    if not isinstance(data, Mapping):
        raise ConfigError("expected a mapping", location=locate(path), path=path, expected="mapping")
    for key, value in data.items():
        where = f"{path}.{key}"
        if key not in _FIELDS:
            raise ConfigError(
                f"unknown fault field {key!r}",
                location=locate(where),
                path=where,
                expected=", ".join(sorted(_FIELDS)),
            )
        expected = _FIELDS[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ConfigError(
                f"got {value!r}",
                location=locate(where),
                path=where,
                expected=getattr(expected, "__name__", "number"),
            )
    if data.get("action") not in _ACTIONS:
        where = f"{path}.action"
        raise ConfigError(
            f"unknown fault action {data.get('action')!r}",
            location=locate(where if "action" in data else path),
            path=where,
            expected=" | ".join(_ACTIONS),
        )
    try:
        return Fault(**dict(data))
    except ValueError as exc:
        raise ConfigError(str(exc), location=locate(path), path=path) from exc
