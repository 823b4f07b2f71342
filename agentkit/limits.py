"""Session limits: how long a session may last, how long it may sit idle, how big a payload may
be, and what happens when the app reads events more slowly than they come.

```python
runner = RealtimeRunner(agent, limits=SessionLimits(idle_timeout_s=120, max_duration_s=1800))
```
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DefinitionError, SessionLimitError

__all__ = ["SessionLimits", "SessionSlots"]

# `input_audio_buffer.append` carries at most 15 MiB of base64 per event (protocol spec);
# 8 MiB of raw audio is 10.7 MiB of base64, safely under it.
_MAX_APPEND_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Limits of one session; every limit that ends a session says so with a
    `SessionLimitReached` event before the status goes to `disconnected`.

    Attributes:
        max_duration_s: End the session this long after it first connected (reconnects do
            not reset it). `None`: no limit of our own (the service's still applies; see
            `ReconnectPolicy.renew_after_s`).
        idle_timeout_s: End the session when neither the caller (audio, text, speech) nor
            the agent (a response) has done anything for this long. `None`: never.
        max_queued_events: Events the async iterator keeps when the app reads too slowly.
            Policy when full: the oldest events are dropped and an `EventsDropped` event
            (with how much audio was among them) takes their place, so nothing, and audio in
            particular, disappears without the app being told. Handlers registered with
            `session.on()` are called synchronously and always see every event.
        max_text_chars: A typed message longer than this is refused with an `error` event
            (code `payload_too_large`) instead of being sent.
        max_tool_output_chars: A tool output longer than this is cut to this length (with a
            note to the model and an `error` event), so one runaway tool cannot blow the
            model's context or the 15 MiB event limit.
        max_audio_append_bytes: Caller audio larger than this per `send_audio` call is split
            into several `input_audio_buffer.append` events rather than refused.
        stall_timeout_s: The service owes an answer (a `response.create` was sent, or a
            response is under way) and has sent nothing for this long: the connection is
            treated as lost (a `stalled` error event, then a reconnect with a reconnect
            policy; without one the session ends with that error). A stalled service can keep
            answering WebSocket pings, so the socket alone never tells. `None`: wait forever.
    """

    max_duration_s: float | None = None
    idle_timeout_s: float | None = None
    max_queued_events: int = 10_000
    max_text_chars: int = 100_000
    max_tool_output_chars: int = 100_000
    max_audio_append_bytes: int = _MAX_APPEND_BYTES
    stall_timeout_s: float | None = 30.0

    def __post_init__(self) -> None:
        for name in ("max_duration_s", "idle_timeout_s", "stall_timeout_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise DefinitionError(f"{name} must be positive, got {value}")
        for name in (
            "max_queued_events",
            "max_text_chars",
            "max_tool_output_chars",
            "max_audio_append_bytes",
        ):
            if getattr(self, name) < 1:
                raise DefinitionError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_audio_append_bytes > _MAX_APPEND_BYTES:
            raise DefinitionError(
                f"max_audio_append_bytes is at most {_MAX_APPEND_BYTES} (the protocol's 15 MiB "
                "per event, base64-encoded)"
            )


class SessionSlots:
    """Counts a runner's live sessions against `max_concurrent_sessions` (`None`: no cap).

    A session takes a slot when it starts connecting and gives it back when it closes, so a
    runner serving a phone line refuses the call it cannot serve instead of degrading all.
    """

    __slots__ = ("active", "limit")

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise DefinitionError(f"max_concurrent_sessions must be at least 1, got {limit}")
        self.limit = limit
        self.active = 0

    def acquire(self) -> None:
        """Take a slot. Raises `SessionLimitError` when none is free."""
        if self.limit is not None and self.active >= self.limit:
            raise SessionLimitError(self.limit)
        self.active += 1

    def release(self) -> None:
        """Give a slot back."""
        self.active = max(0, self.active - 1)
