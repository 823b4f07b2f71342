"""The typed server events: what `decode_server_event` (in `protocol/decode.py`) returns.

The events the runtime acts on are slotted, frozen dataclasses, each with a literal `type`,
united in `ServerEvent`. A well-formed event of any other type is an `UnknownServerEvent`
(kept whole, never dropped); a frame that is not a valid server event is a
`MalformedServerEvent`. Every id field is one of the `protocol/wire_types.py` NewTypes; every
JSON payload is read-only (`JsonMapping`).

The four delta events (audio, transcript, text, call arguments) carry only what a client acts
on: no `event_id`, no `output_index`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ..errors import ProtocolError, ProviderError
from .items import FunctionCallItem
from .mcp import McpEvent
from .wire_types import CallId, ItemId, JsonMapping, ResponseId

__all__ = [
    "ConversationItemAdded",
    "ConversationItemCreated",
    "ConversationItemDeleted",
    "ConversationItemDone",
    "ConversationItemRetrieved",
    "ConversationItemTruncated",
    "InputAudioBufferCleared",
    "InputAudioBufferCommitted",
    "InputAudioBufferDtmfEventReceived",
    "InputAudioBufferSpeechStarted",
    "InputAudioBufferSpeechStopped",
    "InputAudioBufferTimeoutTriggered",
    "InputAudioTranscriptionCompleted",
    "InputAudioTranscriptionDelta",
    "InputAudioTranscriptionFailed",
    "MalformedServerEvent",
    "McpEvent",
    "OutputAudioBufferCleared",
    "OutputAudioBufferStarted",
    "OutputAudioBufferStopped",
    "RateLimitsUpdated",
    "ResponseContentPartAdded",
    "ResponseContentPartDone",
    "ResponseCreated",
    "ResponseDone",
    "ResponseFunctionCallArgumentsDelta",
    "ResponseFunctionCallArgumentsDone",
    "ResponseOutputAudioDelta",
    "ResponseOutputAudioDone",
    "ResponseOutputAudioTranscriptDelta",
    "ResponseOutputAudioTranscriptDone",
    "ResponseOutputItemAdded",
    "ResponseOutputItemDone",
    "ResponseOutputTextDelta",
    "ResponseOutputTextDone",
    "ServerError",
    "ServerEvent",
    "SessionCreated",
    "SessionUpdated",
    "UnknownServerEvent",
]



@dataclass(frozen=True, slots=True)
class SessionCreated:
    """The session exists; `session` is its full effective configuration (GA shape)."""

    type: ClassVar[Literal["session.created"]] = "session.created"
    session: JsonMapping
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """A `session.update` took effect; `session` is the full effective configuration."""

    type: ClassVar[Literal["session.updated"]] = "session.updated"
    session: JsonMapping
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ServerError:
    """The service rejected something (`error`); `client_event_id` names the client event.

    Most errors are recoverable and reach the app as events; `to_exception()` gives the
    `ProviderError` for the fatal ones (`session_expired`).
    """

    type: ClassVar[Literal["error"]] = "error"
    error_type: str
    message: str
    code: str | None = None
    param: str | None = None
    client_event_id: str | None = None
    event_id: str = ""

    def to_exception(self) -> ProviderError:
        """This error as a `ProviderError` carrying the wire fields."""
        return ProviderError(
            self.message,
            type=self.error_type,
            code=self.code,
            param=self.param,
            event_id=self.client_event_id,
        )


@dataclass(frozen=True, slots=True)
class InputAudioBufferSpeechStarted:
    """Server VAD heard the caller start speaking: the barge-in signal."""

    type: ClassVar[Literal["input_audio_buffer.speech_started"]] = (
        "input_audio_buffer.speech_started"
    )
    item_id: ItemId
    audio_start_ms: int
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class InputAudioBufferSpeechStopped:
    """Server VAD heard the caller stop speaking."""

    type: ClassVar[Literal["input_audio_buffer.speech_stopped"]] = (
        "input_audio_buffer.speech_stopped"
    )
    item_id: ItemId
    audio_end_ms: int
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class InputAudioBufferCommitted:
    """The input buffer became user item `item_id`."""

    type: ClassVar[Literal["input_audio_buffer.committed"]] = "input_audio_buffer.committed"
    item_id: ItemId
    previous_item_id: ItemId | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class InputAudioBufferCleared:
    """The input buffer was emptied (`input_audio_buffer.clear`)."""

    type: ClassVar[Literal["input_audio_buffer.cleared"]] = "input_audio_buffer.cleared"
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class InputAudioBufferTimeoutTriggered:
    """The caller was silent for the server VAD's `idle_timeout_ms` (GA only)."""

    type: ClassVar[Literal["input_audio_buffer.timeout_triggered"]] = (
        "input_audio_buffer.timeout_triggered"
    )
    item_id: ItemId
    audio_start_ms: int
    audio_end_ms: int
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class InputAudioBufferDtmfEventReceived:
    """SIP only: the caller pressed keypad key `key` (the wire's `event`: `0`-`9`, `*`, `#`,
    `A`-`D`); `received_at` is when the service got it (Unix seconds). It has no `event_id`."""

    type: ClassVar[Literal["input_audio_buffer.dtmf_event_received"]] = (
        "input_audio_buffer.dtmf_event_received"
    )
    key: str
    received_at: int
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemAdded:
    """An item entered the conversation (beta `conversation.item.created` arrives as this)."""

    type: ClassVar[Literal["conversation.item.added"]] = "conversation.item.added"
    item: JsonMapping
    previous_item_id: ItemId | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemDone:
    """An item is final (its full content except audio)."""

    type: ClassVar[Literal["conversation.item.done"]] = "conversation.item.done"
    item: JsonMapping
    previous_item_id: ItemId | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemCreated:
    """The GA union still carries the beta-era `conversation.item.created`; same as added."""

    type: ClassVar[Literal["conversation.item.created"]] = "conversation.item.created"
    item: JsonMapping
    previous_item_id: ItemId | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemRetrieved:
    """The answer to `conversation.item.retrieve` (with audio)."""

    type: ClassVar[Literal["conversation.item.retrieved"]] = "conversation.item.retrieved"
    item: JsonMapping
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemTruncated:
    """An assistant audio item was cut at `audio_end_ms`; its unheard transcript is gone."""

    type: ClassVar[Literal["conversation.item.truncated"]] = "conversation.item.truncated"
    item_id: ItemId
    content_index: int
    audio_end_ms: int
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemDeleted:
    """An item left the conversation."""

    type: ClassVar[Literal["conversation.item.deleted"]] = "conversation.item.deleted"
    item_id: ItemId
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class InputAudioTranscriptionDelta:
    """A piece of the caller's transcript (arrives independently of responses)."""

    type: ClassVar[Literal["conversation.item.input_audio_transcription.delta"]] = (
        "conversation.item.input_audio_transcription.delta"
    )
    item_id: ItemId
    content_index: int
    delta: str
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class InputAudioTranscriptionCompleted:
    """The caller's final transcript of one user audio item."""

    type: ClassVar[Literal["conversation.item.input_audio_transcription.completed"]] = (
        "conversation.item.input_audio_transcription.completed"
    )
    item_id: ItemId
    content_index: int
    transcript: str
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class InputAudioTranscriptionFailed:
    """Transcribing the caller's audio failed; `error` is the service's error object."""

    type: ClassVar[Literal["conversation.item.input_audio_transcription.failed"]] = (
        "conversation.item.input_audio_transcription.failed"
    )
    item_id: ItemId
    content_index: int
    error: JsonMapping
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    """The model started a response (`status: in_progress`)."""

    type: ClassVar[Literal["response.created"]] = "response.created"
    response_id: ResponseId
    response: JsonMapping
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """A response ended: `status` is `completed`, `cancelled`, `failed` or `incomplete`."""

    type: ClassVar[Literal["response.done"]] = "response.done"
    response_id: ResponseId
    status: str
    response: JsonMapping
    event_id: str = ""
    function_calls: tuple[FunctionCallItem, ...] = ()
    """The well-formed function calls among `response["output"]`, typed, in output order
    (the decoder fills it; `()` on an event built without it)."""


@dataclass(frozen=True, slots=True)
class ResponseOutputItemAdded:
    """A response started an output item (a message or a function call)."""

    type: ClassVar[Literal["response.output_item.added"]] = "response.output_item.added"
    response_id: ResponseId
    output_index: int
    item: JsonMapping
    event_id: str = ""
    function_call: FunctionCallItem | None = None
    """`item` as a typed `FunctionCallItem` when it is a well-formed function call (the
    decoder fills it); `None` for any other item."""


@dataclass(frozen=True, slots=True)
class ResponseOutputItemDone:
    """A response finished an output item; a function call's arguments are complete here."""

    type: ClassVar[Literal["response.output_item.done"]] = "response.output_item.done"
    response_id: ResponseId
    output_index: int
    item: JsonMapping
    event_id: str = ""
    function_call: FunctionCallItem | None = None
    """`item` as a typed `FunctionCallItem` when it is a well-formed function call (the
    decoder fills it); `None` for any other item."""


@dataclass(frozen=True, slots=True)
class ResponseContentPartAdded:
    """A content part (audio or text) began in an output item."""

    type: ClassVar[Literal["response.content_part.added"]] = "response.content_part.added"
    response_id: ResponseId
    item_id: ItemId
    output_index: int
    content_index: int
    part: JsonMapping
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseContentPartDone:
    """A content part is complete."""

    type: ClassVar[Literal["response.content_part.done"]] = "response.content_part.done"
    response_id: ResponseId
    item_id: ItemId
    output_index: int
    content_index: int
    part: JsonMapping
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseOutputAudioDelta:
    """A chunk of assistant audio, already base64-decoded, in the session's output format."""

    type: ClassVar[Literal["response.output_audio.delta"]] = "response.output_audio.delta"
    response_id: ResponseId
    item_id: ItemId
    content_index: int
    audio: bytes


@dataclass(frozen=True, slots=True)
class ResponseOutputAudioDone:
    """The assistant's audio for one content part is complete."""

    type: ClassVar[Literal["response.output_audio.done"]] = "response.output_audio.done"
    response_id: ResponseId
    item_id: ItemId
    output_index: int
    content_index: int
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseOutputAudioTranscriptDelta:
    """A piece of the transcript of what the assistant is saying."""

    type: ClassVar[Literal["response.output_audio_transcript.delta"]] = (
        "response.output_audio_transcript.delta"
    )
    response_id: ResponseId
    item_id: ItemId
    content_index: int
    delta: str


@dataclass(frozen=True, slots=True)
class ResponseOutputAudioTranscriptDone:
    """The full transcript of one assistant audio part."""

    type: ClassVar[Literal["response.output_audio_transcript.done"]] = (
        "response.output_audio_transcript.done"
    )
    response_id: ResponseId
    item_id: ItemId
    output_index: int
    content_index: int
    transcript: str
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseOutputTextDelta:
    """A piece of a text-only answer."""

    type: ClassVar[Literal["response.output_text.delta"]] = "response.output_text.delta"
    response_id: ResponseId
    item_id: ItemId
    content_index: int
    delta: str


@dataclass(frozen=True, slots=True)
class ResponseOutputTextDone:
    """The full text of one text part."""

    type: ClassVar[Literal["response.output_text.done"]] = "response.output_text.done"
    response_id: ResponseId
    item_id: ItemId
    output_index: int
    content_index: int
    text: str
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseFunctionCallArgumentsDelta:
    """A piece of a function call's JSON arguments."""

    type: ClassVar[Literal["response.function_call_arguments.delta"]] = (
        "response.function_call_arguments.delta"
    )
    response_id: ResponseId
    item_id: ItemId
    call_id: CallId
    delta: str


@dataclass(frozen=True, slots=True)
class ResponseFunctionCallArgumentsDone:
    """A function call's complete arguments (beta frames carry no `name`; the runtime starts
    tools from `response.output_item.done`, which always has it)."""

    type: ClassVar[Literal["response.function_call_arguments.done"]] = (
        "response.function_call_arguments.done"
    )
    response_id: ResponseId
    item_id: ItemId
    output_index: int
    call_id: CallId
    arguments: str
    name: str | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class RateLimitsUpdated:
    """Current rate limits (`[{name, limit, remaining, reset_seconds}]`), sent per response."""

    type: ClassVar[Literal["rate_limits.updated"]] = "rate_limits.updated"
    rate_limits: tuple[JsonMapping, ...]
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class OutputAudioBufferStarted:
    """The server began playing a response's audio (WebRTC/SIP)."""

    type: ClassVar[Literal["output_audio_buffer.started"]] = "output_audio_buffer.started"
    response_id: ResponseId
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class OutputAudioBufferStopped:
    """The server finished playing a response's audio (WebRTC/SIP)."""

    type: ClassVar[Literal["output_audio_buffer.stopped"]] = "output_audio_buffer.stopped"
    response_id: ResponseId
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class OutputAudioBufferCleared:
    """The server dropped a response's unplayed audio (WebRTC/SIP)."""

    type: ClassVar[Literal["output_audio_buffer.cleared"]] = "output_audio_buffer.cleared"
    response_id: ResponseId
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class UnknownServerEvent:
    """A well-formed event of a type agentkit does not act on, kept whole in `raw`."""

    type: str
    raw: JsonMapping


@dataclass(frozen=True, slots=True)
class MalformedServerEvent:
    """A frame that is not a valid server event; `reason` says what is wrong with it.

    `frame_prefix` holds the first 200 characters, enough to log without copying a large
    audio frame.
    """

    type: ClassVar[Literal["agentkit.malformed"]] = "agentkit.malformed"
    reason: str
    frame_prefix: str

    def to_exception(self) -> ProtocolError:
        """This frame as a `ProtocolError`, for callers that stop on bad frames."""
        return ProtocolError(
            f"malformed server event: {self.reason} (frame: {self.frame_prefix!r})"
        )


ServerEvent = (
    SessionCreated
    | SessionUpdated
    | ServerError
    | InputAudioBufferSpeechStarted
    | InputAudioBufferSpeechStopped
    | InputAudioBufferCommitted
    | InputAudioBufferCleared
    | InputAudioBufferTimeoutTriggered
    | InputAudioBufferDtmfEventReceived
    | ConversationItemAdded
    | ConversationItemDone
    | ConversationItemCreated
    | ConversationItemRetrieved
    | ConversationItemTruncated
    | ConversationItemDeleted
    | InputAudioTranscriptionDelta
    | InputAudioTranscriptionCompleted
    | InputAudioTranscriptionFailed
    | ResponseCreated
    | ResponseDone
    | ResponseOutputItemAdded
    | ResponseOutputItemDone
    | ResponseContentPartAdded
    | ResponseContentPartDone
    | ResponseOutputAudioDelta
    | ResponseOutputAudioDone
    | ResponseOutputAudioTranscriptDelta
    | ResponseOutputAudioTranscriptDone
    | ResponseOutputTextDelta
    | ResponseOutputTextDone
    | ResponseFunctionCallArgumentsDelta
    | ResponseFunctionCallArgumentsDone
    | RateLimitsUpdated
    | OutputAudioBufferStarted
    | OutputAudioBufferStopped
    | OutputAudioBufferCleared
    | UnknownServerEvent
    | MalformedServerEvent
    | McpEvent
)
"""Everything `decode_server_event` returns."""
