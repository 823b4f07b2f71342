"""Session events: what a live session tells the app.

Each event is a frozen, slotted dataclass with a literal `type`, which is also the name to
subscribe to with `session.on(type, handler)`. `SessionEvent` is their union; dispatch over
it with `match` / `isinstance` and end in `assert_never`.

The audio and transcript events are emitted per wire delta, so they stay small and are built
without copying history: `HistoryUpdated` carries the one item that changed, never the whole
conversation (read `session.history` for that).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .errors import AgentKitError

if TYPE_CHECKING:
    from .history import HistoryItem
    from .protocol import ServerEvent
    from .protocol.wire_types import CallId, ItemId, ResponseId

__all__ = [
    "AgentEnd",
    "AgentStart",
    "AssistantTranscript",
    "AssistantTranscriptDelta",
    "AudioEnd",
    "AudioInterrupted",
    "AudioOut",
    "Breadcrumb",
    "CodecChanged",
    "ConnectionQuality",
    "DtmfReceived",
    "ErrorEvent",
    "EventsDropped",
    "GuardrailTripped",
    "HandoffEvent",
    "HistoryAdded",
    "HistoryUpdated",
    "InputAudioDropped",
    "McpToolsListed",
    "QualityDegraded",
    "QualityRecovered",
    "RawServerEvent",
    "Reconnected",
    "Reconnecting",
    "SessionEvent",
    "SessionEventName",
    "SessionLimitReached",
    "SessionStatus",
    "StatusChanged",
    "StoreCaughtUp",
    "StoreLagging",
    "TextFallback",
    "ToolApprovalRequired",
    "ToolApprovalResolved",
    "ToolCallProgress",
    "ToolEnd",
    "ToolStart",
    "UserTranscript",
    "UserTranscriptDelta",
]


class SessionStatus(enum.Enum):
    """Where a session's connection stands.

    `DISCONNECTED → CONNECTING → CONNECTED (→ RECONNECTING → CONNECTED) → DISCONNECTED`.
    """

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The connection moved from `old` to `new`."""

    type: ClassVar[Literal["status"]] = "status"
    old: SessionStatus
    new: SessionStatus


@dataclass(frozen=True, slots=True)
class AgentStart:
    """`agent_name` began a response (server `response.created`)."""

    type: ClassVar[Literal["agent_start"]] = "agent_start"
    agent_name: str
    response_id: ResponseId


@dataclass(frozen=True, slots=True)
class AgentEnd:
    """The response `agent_name` gave ended; `status` is the wire status (`cancelled`...)."""

    type: ClassVar[Literal["agent_end"]] = "agent_end"
    agent_name: str
    response_id: ResponseId
    status: str


@dataclass(frozen=True, slots=True)
class AudioOut:
    """Assistant audio to play, in the session's output format."""

    type: ClassVar[Literal["audio"]] = "audio"
    audio: bytes
    item_id: ItemId
    content_index: int
    response_id: ResponseId


@dataclass(frozen=True, slots=True)
class AudioEnd:
    """The assistant's audio for this item is complete (more may still be playing)."""

    type: ClassVar[Literal["audio_end"]] = "audio_end"
    item_id: ItemId
    content_index: int


@dataclass(frozen=True, slots=True)
class AudioInterrupted:
    """Stop playback now and drop the queued audio: the caller barged in or the app
    interrupted. `played_ms` is where the assistant's item was cut."""

    type: ClassVar[Literal["audio_interrupted"]] = "audio_interrupted"
    item_id: ItemId
    content_index: int
    played_ms: int


@dataclass(frozen=True, slots=True)
class UserTranscriptDelta:
    """A piece of the caller's transcript."""

    type: ClassVar[Literal["user_transcript_delta"]] = "user_transcript_delta"
    item_id: ItemId
    delta: str


@dataclass(frozen=True, slots=True)
class UserTranscript:
    """The caller's final transcript of one turn."""

    type: ClassVar[Literal["user_transcript"]] = "user_transcript"
    item_id: ItemId
    transcript: str


@dataclass(frozen=True, slots=True)
class AssistantTranscriptDelta:
    """A piece of what the assistant is saying (or writing, for text output)."""

    type: ClassVar[Literal["assistant_transcript_delta"]] = "assistant_transcript_delta"
    item_id: ItemId
    response_id: ResponseId
    delta: str


@dataclass(frozen=True, slots=True)
class AssistantTranscript:
    """The assistant's full transcript (or text) of one item."""

    type: ClassVar[Literal["assistant_transcript"]] = "assistant_transcript"
    item_id: ItemId
    transcript: str


@dataclass(frozen=True, slots=True)
class HistoryAdded:
    """An item joined the conversation."""

    type: ClassVar[Literal["history_added"]] = "history_added"
    item: HistoryItem


@dataclass(frozen=True, slots=True)
class HistoryUpdated:
    """An item of the conversation changed (finished, got its transcript, was truncated or
    deleted)."""

    type: ClassVar[Literal["history_updated"]] = "history_updated"
    item: HistoryItem


@dataclass(frozen=True, slots=True)
class ToolStart:
    """A tool is about to run with these (raw JSON) arguments."""

    type: ClassVar[Literal["tool_start"]] = "tool_start"
    call_id: CallId
    tool_name: str
    arguments: str
    agent_name: str


@dataclass(frozen=True, slots=True)
class ToolEnd:
    """A call finished; `output` is what the model was sent, `error` the kind of failure
    (`invalid_arguments`, `unknown_tool`, `error`, `timeout`, `rejected`), `message` why it
    failed, for people (`ValueError: no order 42`, the field that was wrong)."""

    type: ClassVar[Literal["tool_end"]] = "tool_end"
    call_id: CallId
    tool_name: str
    output: str
    agent_name: str
    error: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class HandoffEvent:
    """The conversation passed from one agent to another."""

    type: ClassVar[Literal["handoff"]] = "handoff"
    from_agent: str
    to_agent: str
    call_id: CallId | None


@dataclass(frozen=True, slots=True)
class Breadcrumb:
    """A note a tool left for people reading the transcript (never sent to the model)."""

    type: ClassVar[Literal["breadcrumb"]] = "breadcrumb"
    text: str
    call_id: CallId | None


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """Something went wrong that the session survived (a provider error, a bad frame).

    Fatal failures end the session and raise from it instead.
    """

    type: ClassVar[Literal["error"]] = "error"
    error: AgentKitError
    code: str | None = None


@dataclass(frozen=True, slots=True)
class RawServerEvent:
    """A decoded wire event. Events agentkit does not act on always come through here;
    every other one only when the runner was built with `raw_events=True`."""

    type: ClassVar[Literal["raw"]] = "raw"
    event: ServerEvent


@dataclass(frozen=True, slots=True)
class GuardrailTripped:
    """A guardrail stopped what the caller said (`stage="input"`) or what the agent was
    saying (`stage="output"`).

    The session has already acted: an input trip cancels the response in flight before any
    of its audio reached the app; an output trip cancels the response, stops playback
    (`AudioInterrupted` comes first), truncates the item where it was heard and marks it
    tripped in the history. Then the agent speaks `safe_reply`.

    Attributes:
        guardrail_name: The guardrail that tripped (the first one, when several did).
        stage: `input` or `output`.
        details: The guardrail's `GuardrailResult.details` (matched term, length, ...).
        text: The text that was checked.
        item_id: The conversation item the text belongs to (a local id for typed input that
            was never sent).
        response_id: The response that was cancelled, if one was.
        safe_reply: What the agent was told to say instead (`None`: a corrective instruction).
    """

    type: ClassVar[Literal["guardrail_tripped"]] = "guardrail_tripped"
    guardrail_name: str
    stage: Literal["input", "output"]
    details: Mapping[str, Any]
    text: str
    item_id: ItemId | None
    response_id: ResponseId | None
    safe_reply: str | None


@dataclass(frozen=True, slots=True)
class ToolApprovalRequired:
    """A tool marked `needs_approval` is parked until `session.approve(call_id)` or
    `session.reject(call_id, message)`; after `timeout_s` the `default` decision applies."""

    type: ClassVar[Literal["tool_approval_required"]] = "tool_approval_required"
    call_id: CallId
    tool_name: str
    arguments: str
    agent_name: str
    timeout_s: float | None
    default: Literal["approve", "reject"]


@dataclass(frozen=True, slots=True)
class ToolApprovalResolved:
    """An approval was decided: `by` is `app`, `always` (a sticky earlier decision) or
    `timeout` (the configured default)."""

    type: ClassVar[Literal["tool_approval_resolved"]] = "tool_approval_resolved"
    call_id: CallId
    tool_name: str
    approved: bool
    by: Literal["app", "always", "timeout"]


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The connection was lost (or is being renewed); attempt `attempt` starts after
    `delay_s`. `reason` says why (`connection lost`, `session_expired`, `renewal`...)."""

    type: ClassVar[Literal["reconnecting"]] = "reconnecting"
    attempt: int
    delay_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class Reconnected:
    """A new connection is up and the conversation was replayed into it: `replayed_items`
    items re-created, `attempt` attempts used."""

    type: ClassVar[Literal["reconnected"]] = "reconnected"
    attempt: int
    replayed_items: int


@dataclass(frozen=True, slots=True)
class TextFallback:
    """Reconnecting ran out of attempts and the session continues text-only (over the
    fallback transport), with the conversation replayed. Send text; audio is refused."""

    type: ClassVar[Literal["text_fallback"]] = "text_fallback"
    replayed_items: int


@dataclass(frozen=True, slots=True)
class InputAudioDropped:
    """Caller audio that could not be sent (the connection was down, or the session is
    text-only). Audio is never dropped without this event."""

    type: ClassVar[Literal["input_audio_dropped"]] = "input_audio_dropped"
    chunks: int
    bytes: int
    reason: str


@dataclass(frozen=True, slots=True)
class EventsDropped:
    """The app fell behind and the iterator's bounded queue dropped its oldest events.

    Delivered in place of what was dropped (handlers registered with `session.on` saw
    every event); `audio_chunks` / `audio_bytes` count the assistant audio among them.
    """

    type: ClassVar[Literal["events_dropped"]] = "events_dropped"
    count: int
    audio_chunks: int
    audio_bytes: int


@dataclass(frozen=True, slots=True)
class SessionLimitReached:
    """The session ended on a configured limit: `limit` is `max_duration` or
    `idle_timeout`."""

    type: ClassVar[Literal["session_limit"]] = "session_limit"
    limit: Literal["max_duration", "idle_timeout"]
    seconds: float


@dataclass(frozen=True, slots=True)
class ConnectionQuality:
    """How the media path fared over the last interval (a transport with stats, WebRTC;
    see `QualityPolicy`).

    Attributes:
        loss: The share of the audio packets sent to us that were lost (0.0 to 1.0).
        jitter_ms: The receiver's inter-arrival jitter estimate (RFC 3550), in ms.
        rtt_ms: The round trip time from the RTCP reports, in ms (`None` until known).
        bitrate_kbps: The bitrate of the audio we send (the codec's), in kbit/s.
        codec: The codec in use (`opus`, `pcmu`, `pcma`).
    """

    type: ClassVar[Literal["connection_quality"]] = "connection_quality"
    loss: float
    jitter_ms: float
    rtt_ms: float | None
    bitrate_kbps: float
    codec: str


@dataclass(frozen=True, slots=True)
class QualityDegraded:
    """The connection crossed a `QualityPolicy` threshold: `reason` says which
    (`loss 6.1% above 2.0%`), `quality` is the interval that crossed it."""

    type: ClassVar[Literal["quality_degraded"]] = "quality_degraded"
    reason: str
    quality: ConnectionQuality


@dataclass(frozen=True, slots=True)
class QualityRecovered:
    """The connection stayed within the thresholds for `QualityPolicy.recover_after`
    intervals after a `QualityDegraded`; `quality` is the last of them."""

    type: ClassVar[Literal["quality_recovered"]] = "quality_recovered"
    reason: str
    quality: ConnectionQuality


@dataclass(frozen=True, slots=True)
class CodecChanged:
    """The call moved to another codec (`QualityPolicy.fallback_codec`): it reconnected with
    `new` and the conversation was replayed into it; `reason` is the degradation."""

    type: ClassVar[Literal["codec_changed"]] = "codec_changed"
    old: str
    new: str
    reason: str


@dataclass(frozen=True, slots=True)
class ToolCallProgress:
    """The model is writing a tool call's arguments: `arguments` is the JSON text so far
    (incomplete until `ToolStart`), one event per `response.function_call_arguments.delta`.

    For showing progress ("looking up order A10…") while a long argument streams in; the
    call starts, with its complete arguments, at `ToolStart` (or `ToolApprovalRequired`,
    `HandoffEvent` for a transfer).
    """

    type: ClassVar[Literal["tool_call_progress"]] = "tool_call_progress"
    call_id: CallId
    tool_name: str
    arguments: str
    agent_name: str


@dataclass(frozen=True, slots=True)
class McpToolsListed:
    """The service listed the tools of a hosted MCP server (`HostedMCPTool`): the model may
    call these now. A listing that failed is an `ErrorEvent` (code `mcp_list_tools_failed`)."""

    type: ClassVar[Literal["mcp_tools_listed"]] = "mcp_tools_listed"
    item_id: ItemId
    server_label: str
    tool_names: tuple[str, ...]

@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """The caller pressed a key of the phone's keypad (DTMF): a Twilio `dtmf` message or,
    on a SIP call, `input_audio_buffer.dtmf_event_received`.

    Attributes:
        key: The key (`0`-`9`, `*`, `#`, `A`-`D`).
        sequence: The declared sequence this key completed (see `RealtimeAgent.dtmf`), whose
            action runs now; `None` when it completed none.
        received_at: When the service received it (Unix seconds), on SIP; `None` otherwise.
    """

    type: ClassVar[Literal["dtmf"]] = "dtmf"
    key: str
    sequence: str | None = None
    received_at: int | None = None


@dataclass(frozen=True, slots=True)
class StoreLagging:
    """The session store (`agentkit.store`) could not take this session's state for now
    (Redis down or slow). The call goes on: the state is kept in memory and written once the
    store answers again (`StoreCaughtUp`); until then a crash of this process would lose
    what was not written.

    Attributes:
        reason: What failed (`ConnectionError: ...`, `timed out after 0.5s`).
        pending: Writes waiting (items, call records, fields) for this session.
    """

    type: ClassVar[Literal["store_lagging"]] = "store_lagging"
    reason: str
    pending: int


@dataclass(frozen=True, slots=True)
class StoreCaughtUp:
    """The store answers again and holds all of this session's state; `lagged_s` is how long
    it was behind."""

    type: ClassVar[Literal["store_caught_up"]] = "store_caught_up"
    lagged_s: float


SessionEvent = (
    StatusChanged
    | AgentStart
    | AgentEnd
    | AudioOut
    | AudioEnd
    | AudioInterrupted
    | UserTranscriptDelta
    | UserTranscript
    | AssistantTranscriptDelta
    | AssistantTranscript
    | HistoryAdded
    | HistoryUpdated
    | ToolStart
    | ToolEnd
    | HandoffEvent
    | Breadcrumb
    | ErrorEvent
    | RawServerEvent
    | GuardrailTripped
    | ToolApprovalRequired
    | ToolApprovalResolved
    | Reconnecting
    | Reconnected
    | TextFallback
    | InputAudioDropped
    | EventsDropped
    | SessionLimitReached
    | ConnectionQuality
    | QualityDegraded
    | QualityRecovered
    | CodecChanged
    | ToolCallProgress
    | McpToolsListed
    | DtmfReceived
    | StoreLagging
    | StoreCaughtUp
)
"""Everything a session emits."""

SessionEventName = Literal[
    "status",
    "agent_start",
    "agent_end",
    "audio",
    "audio_end",
    "audio_interrupted",
    "user_transcript_delta",
    "user_transcript",
    "assistant_transcript_delta",
    "assistant_transcript",
    "history_added",
    "history_updated",
    "tool_start",
    "tool_end",
    "handoff",
    "breadcrumb",
    "error",
    "raw",
    "guardrail_tripped",
    "tool_approval_required",
    "tool_approval_resolved",
    "reconnecting",
    "reconnected",
    "text_fallback",
    "input_audio_dropped",
    "events_dropped",
    "session_limit",
    "connection_quality",
    "quality_degraded",
    "quality_recovered",
    "codec_changed",
    "tool_call_progress",
    "mcp_tools_listed",
    "dtmf",
    "store_lagging",
    "store_caught_up",
]
"""The names `session.on(...)` accepts: each event's `type`."""

