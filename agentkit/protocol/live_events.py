"""The GPT-Live server events that have no Realtime twin, typed.

`LiveDecoder` (`protocol/live_decode.py`) turns a Live event into the Realtime event classes of
`protocol/server_events.py` wherever the two mean the same thing (a delegated function call
*is* a `response.output_item.done`; an error is an error). What is left, Live's own session
lifecycle and notices, is here. The supervisor handles them in `runtime/live.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from .wire_types import ItemId, JsonMapping, ResponseId

__all__ = [
    "LiveBackendEvent",
    "LiveDelegationCreated",
    "LiveEvent",
    "LiveInstructionsAppended",
    "LiveNotice",
    "LiveSessionClosed",
    "LiveSessionStarted",
    "LiveUsageUpdated",
    "LiveVoiceTurn",
]

CloseReason = Literal["close_requested", "expired", "content", "remote_hangup", "connection_lost"]


@dataclass(frozen=True, slots=True)
class LiveSessionStarted:
    """`session.started` (or `session.updated`): the resolved session.

    Attributes:
        session: The session resource (`id`, `expires_at`, `model`, `delegation`...).
        updated: True for `session.updated`.
    """

    type: ClassVar[str] = "session.started"
    session: JsonMapping
    updated: bool = False
    event_id: str = ""

    @property
    def expires_at(self) -> int | None:
        """When the service ends the session (Unix seconds), if it said."""
        value = self.session.get("expires_at")
        return value if type(value) is int else None


@dataclass(frozen=True, slots=True)
class LiveDelegationCreated:
    """`session.delegation.created`: the voice layer handed a task to the backend."""

    type: ClassVar[str] = "session.delegation.created"
    delegation_id: str
    target: str
    response_id: str | None
    offset_ms: int
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class LiveVoiceTurn:
    """The voice layer's turn started (`done=False`) or ended: Live has no such event; the
    decoder dates it by the timeline (see `protocol/live_decode.py`)."""

    type: ClassVar[str] = "live.voice_turn"
    response_id: ResponseId
    item_id: ItemId
    done: bool = False


@dataclass(frozen=True, slots=True)
class LiveBackendEvent:
    """A `response.event` of the backend with no Realtime twin the runtime acts on (text
    deltas, reasoning, lifecycle snapshots): kept, visible with `raw_events=True`."""

    type: ClassVar[str] = "response.event"
    delegation_id: str | None
    event: JsonMapping
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class LiveInstructionsAppended:
    """`session.instructions.appended`: appended context is on the session timeline."""

    type: ClassVar[str] = "session.instructions.appended"
    start_ms: int
    end_ms: int
    client_event_id: str | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class LiveUsageUpdated:
    """`session.usage.updated`: cumulative billable seconds, and the context window's fill."""

    type: ClassVar[str] = "session.usage.updated"
    seconds: float
    context_usage_ratio: float | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class LiveSessionClosed:
    """`session.closed`: the session ended, with why (`expired`: its duration limit)."""

    type: ClassVar[str] = "session.closed"
    reason: str
    seconds: float
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class LiveNotice:
    """An acknowledgement or notice the runtime does not act on (`session.input_audio.muted`,
    `session.output_audio.fixture.played`, `info`, ...), kept as it came."""

    type: ClassVar[str] = "live.notice"
    kind: str
    data: JsonMapping
    event_id: str = ""


LiveEvent = (
    LiveSessionStarted
    | LiveDelegationCreated
    | LiveBackendEvent
    | LiveInstructionsAppended
    | LiveUsageUpdated
    | LiveSessionClosed
    | LiveNotice
    | LiveVoiceTurn
)
"""The Live events `LiveDecoder` returns besides Realtime `ServerEvent`s."""
