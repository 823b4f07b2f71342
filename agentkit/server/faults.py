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

Which sessions: by default a fault fires in every session the server serves. `sessions: [1]`
limits it to the listed sessions, counted 1, 2, 3... in the order the server opened them
(sideband connections join a session and do not count). That is how a reconnect test breaks
the first connection and lets the client reconnect to the *same* server: the reconnected
session is session 2, where the fault does not fire.

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
    sessions: tuple[int, ...] | None = None
    """1-based ordinals of the sessions (in the order the server opened them) the fault fires
    in; `None`: every session."""

    def __post_init__(self) -> None:
        if (self.after_events is None) == (self.at_event is None):
            raise ValueError("a fault needs exactly one trigger: after_events or at_event")
        if self.action not in _ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}")
        if self.action == "delay" and self.delay_ms is None:
            raise ValueError("a delay fault needs delay_ms")
        if self.sessions is not None:
            if not isinstance(self.sessions, tuple):
                # A list is the natural thing to pass; keep the dataclass hashable and frozen.
                object.__setattr__(self, "sessions", tuple(self.sessions))
            assert self.sessions is not None
            if not self.sessions or any(
                not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in self.sessions
            ):
                raise ValueError("sessions must list session ordinals, 1 or more (1 = the first)")

    def applies_to(self, session_ordinal: int) -> bool:
        """Whether the fault fires in the `session_ordinal`-th session of the server (1-based)."""
        return self.sessions is None or session_ordinal in self.sessions


@dataclass
class FaultPlan:
    """The faults of one session and how far each trigger has counted."""

    faults: tuple[Fault, ...] = ()
    _sent: int = 0
    _seen: dict[str, int] = field(default_factory=dict)
    _fired: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, faults: Iterable[Fault], *, session_ordinal: int | None = None) -> FaultPlan:
        """A fresh plan (counters at zero) for `faults`; with `session_ordinal`, only the faults
        that fire in that session (see `Fault.sessions`)."""
        if session_ordinal is None:
            return cls(tuple(faults))
        return cls(tuple(f for f in faults if f.applies_to(session_ordinal)))

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
    "sessions": (list, int),
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
                expected="list of session numbers" if key == "sessions" else getattr(expected, "__name__", "number"),
            )
        if key == "sessions":
            numbers = value if isinstance(value, list) else [value]
            for index, number in enumerate(numbers):
                if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                    item = f"{where}[{index}]" if isinstance(value, list) else where
                    raise ConfigError(
                        f"got {number!r}",
                        location=locate(item),
                        path=item,
                        expected="session number, 1 or more (1 = the first session)",
                    )
            if not numbers:
                raise ConfigError(
                    "an empty list would never fire; leave sessions out to fire in every session",
                    location=locate(where),
                    path=where,
                    expected="list of session numbers",
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
        fields = dict(data)
        sessions = fields.get("sessions")
        if sessions is not None:
            fields["sessions"] = (sessions,) if isinstance(sessions, int) else tuple(sessions)
        return Fault(**fields)
    except ValueError as exc:
        raise ConfigError(str(exc), location=locate(path), path=path) from exc
