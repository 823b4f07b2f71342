"""The client side of the Realtime wire protocol: decode server frames, encode client frames.

Pure functions, no I/O. The supervisor calls `decode_server_event` on every inbound frame and
sends whatever the `encode_*` functions return.

## Decoding

`decode_server_event(frame, dialect)` turns one text frame into a typed event:

* the events the runtime acts on become slotted, frozen dataclasses (`ResponseOutputAudioDelta`,
  `InputAudioBufferSpeechStarted`, ...), each with a literal `type`, united in `ServerEvent`;
* a well-formed event of any other type becomes `UnknownServerEvent(type, raw)`: kept, never
  dropped, so the app still sees it as a raw wire event;
* anything malformed (not JSON, not an object, no string `type`, a field of the wrong type or
  missing, audio that is not base64) becomes `MalformedServerEvent(reason, frame_prefix)`.

**Policy: decoding never raises.** A bad frame is data, not a crash: the supervisor reports it
to the app as an error event and carries on, because one corrupt frame must not end a call.
A caller that prefers an exception calls `MalformedServerEvent.to_exception()` (a
`ProtocolError`).

Beta frames (`dialect="beta"`) are normalised to GA names (`response.audio.delta` →
`response.output_audio.delta`, `conversation.item.created` → `conversation.item.added`) and, for
sessions, items and responses, to GA shapes, so the supervisor knows one vocabulary.

### The hot path

An audio delta arrives 10-50 times a second per session. It costs one `orjson.loads`, one
dict lookup for the type, a handful of `type(x) is str` checks and one `pybase64.b64decode`
into the `bytes` the app plays: no pydantic, no copy of the payload, no intermediate dicts.
The audio, transcript and text deltas are decoded inline in `decode_server_event`: each is
filled as a *draft* (a plain slotted twin of its class, same layout) and sealed with
`draft.__class__ = cls`, skipping the frozen dataclass `__init__` (which routes every field
through `object.__setattr__` and costs about three times as much); the instances are the same
frozen objects.
The four delta events (audio, transcript, text, call arguments) carry only what a client acts
on: no `event_id`, no `output_index`.

## Encoding

`encode_*` functions return one client frame as a `str` (JSON by orjson), for either dialect.
Items and `response.create` options are written in GA terms and rendered for beta by
`agentkit.protocol.dialects`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, NewType, NoReturn

import orjson
import pybase64

from ..errors import AgentKitError, ProtocolError, ProviderError
from .dialects import (
    SERVER_EVENT_BETA_TO_GA,
    Dialect,
    item_ga_to_beta,
    response_params_ga_to_beta,
    server_event_beta_to_ga,
    session_ga_to_beta,
)
from .sealed import draft_class as _draft_class
from .sealed import sealed_constructor as _fast_constructor

__all__ = [
    "CallId",
    "ConversationItemAdded",
    "ConversationItemCreated",
    "ConversationItemDeleted",
    "ConversationItemDone",
    "ConversationItemRetrieved",
    "ConversationItemTruncated",
    "Dialect",
    "InputAudioBufferCleared",
    "InputAudioBufferCommitted",
    "InputAudioBufferSpeechStarted",
    "InputAudioBufferSpeechStopped",
    "InputAudioBufferTimeoutTriggered",
    "InputAudioTranscriptionCompleted",
    "InputAudioTranscriptionDelta",
    "InputAudioTranscriptionFailed",
    "ItemId",
    "MalformedServerEvent",
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
    "ResponseId",
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
    "decode_server_event",
    "encode_client_event",
    "encode_function_call_output",
    "encode_input_audio_append",
    "encode_input_audio_clear",
    "encode_input_audio_commit",
    "encode_item_create",
    "encode_item_delete",
    "encode_item_retrieve",
    "encode_item_truncate",
    "encode_output_audio_clear",
    "encode_response_cancel",
    "encode_response_create",
    "encode_session_update",
    "encode_user_message",
    "function_call_output_item",
    "user_message_item",
]

ItemId = NewType("ItemId", str)
"""The id of a conversation item (`item_...`)."""
CallId = NewType("CallId", str)
"""The id of one function call (`call_...`), the key of its single output."""
ResponseId = NewType("ResponseId", str)
"""The id of one model response (`resp_...`)."""

JSONObject = Mapping[str, Any]



# --- typed server events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionCreated:
    """The session exists; `session` is its full effective configuration (GA shape)."""

    type: ClassVar[Literal["session.created"]] = "session.created"
    session: JSONObject
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """A `session.update` took effect; `session` is the full effective configuration."""

    type: ClassVar[Literal["session.updated"]] = "session.updated"
    session: JSONObject
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
class ConversationItemAdded:
    """An item entered the conversation (beta `conversation.item.created` arrives as this)."""

    type: ClassVar[Literal["conversation.item.added"]] = "conversation.item.added"
    item: JSONObject
    previous_item_id: ItemId | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemDone:
    """An item is final (its full content except audio)."""

    type: ClassVar[Literal["conversation.item.done"]] = "conversation.item.done"
    item: JSONObject
    previous_item_id: ItemId | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemCreated:
    """The GA union still carries the beta-era `conversation.item.created`; same as added."""

    type: ClassVar[Literal["conversation.item.created"]] = "conversation.item.created"
    item: JSONObject
    previous_item_id: ItemId | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ConversationItemRetrieved:
    """The answer to `conversation.item.retrieve` (with audio)."""

    type: ClassVar[Literal["conversation.item.retrieved"]] = "conversation.item.retrieved"
    item: JSONObject
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
    error: JSONObject
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    """The model started a response (`status: in_progress`)."""

    type: ClassVar[Literal["response.created"]] = "response.created"
    response_id: ResponseId
    response: JSONObject
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """A response ended: `status` is `completed`, `cancelled`, `failed` or `incomplete`."""

    type: ClassVar[Literal["response.done"]] = "response.done"
    response_id: ResponseId
    status: str
    response: JSONObject
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseOutputItemAdded:
    """A response started an output item (a message or a function call)."""

    type: ClassVar[Literal["response.output_item.added"]] = "response.output_item.added"
    response_id: ResponseId
    output_index: int
    item: JSONObject
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseOutputItemDone:
    """A response finished an output item; a function call's arguments are complete here."""

    type: ClassVar[Literal["response.output_item.done"]] = "response.output_item.done"
    response_id: ResponseId
    output_index: int
    item: JSONObject
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseContentPartAdded:
    """A content part (audio or text) began in an output item."""

    type: ClassVar[Literal["response.content_part.added"]] = "response.content_part.added"
    response_id: ResponseId
    item_id: ItemId
    output_index: int
    content_index: int
    part: JSONObject
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class ResponseContentPartDone:
    """A content part is complete."""

    type: ClassVar[Literal["response.content_part.done"]] = "response.content_part.done"
    response_id: ResponseId
    item_id: ItemId
    output_index: int
    content_index: int
    part: JSONObject
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
    rate_limits: tuple[JSONObject, ...]
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
    raw: JSONObject


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
)
"""Everything `decode_server_event` returns."""


# --- field readers -----------------------------------------------------------------------------


class _BadField(Exception):
    """A field is missing or of the wrong type; becomes a `MalformedServerEvent`."""

    def __init__(self, name: str, expected: str) -> None:
        self.name = name
        self.expected = expected
        super().__init__(f"field {name!r}: expected {expected}")


def _str(d: JSONObject, name: str) -> Any:
    value = d.get(name)
    if type(value) is not str:
        raise _BadField(name, "a string")
    return value


def _opt_str(d: JSONObject, name: str) -> Any:
    value = d.get(name)
    if value is not None and type(value) is not str:
        raise _BadField(name, "a string or null")
    return value


def _int(d: JSONObject, name: str) -> int:
    value = d.get(name)
    if type(value) is not int:
        raise _BadField(name, "an integer")
    return value


def _int_or(d: JSONObject, name: str, default: int) -> int:
    value = d.get(name, default)
    if type(value) is not int:
        raise _BadField(name, "an integer")
    return value


def _obj(d: JSONObject, name: str) -> dict[str, Any]:
    value = d.get(name)
    if type(value) is not dict:
        raise _BadField(name, "an object")
    return value


def _eid(d: JSONObject) -> str:
    value = d.get("event_id", "")
    return value if type(value) is str else ""


# --- builders, one per typed event -------------------------------------------------------------

_new_audio_delta = _fast_constructor(ResponseOutputAudioDelta)
_new_transcript_delta = _fast_constructor(ResponseOutputAudioTranscriptDelta)
_new_text_delta = _fast_constructor(ResponseOutputTextDelta)
_new_arguments_delta = _fast_constructor(ResponseFunctionCallArgumentsDelta)
_b64decode = pybase64.b64decode
# Every other typed event is sealed the same way (see `agentkit.protocol.sealed`).
_new_ConversationItemAdded = _fast_constructor(ConversationItemAdded)
_new_ConversationItemCreated = _fast_constructor(ConversationItemCreated)
_new_ConversationItemDeleted = _fast_constructor(ConversationItemDeleted)
_new_ConversationItemDone = _fast_constructor(ConversationItemDone)
_new_ConversationItemRetrieved = _fast_constructor(ConversationItemRetrieved)
_new_ConversationItemTruncated = _fast_constructor(ConversationItemTruncated)
_new_InputAudioBufferCleared = _fast_constructor(InputAudioBufferCleared)
_new_InputAudioBufferCommitted = _fast_constructor(InputAudioBufferCommitted)
_new_InputAudioBufferSpeechStarted = _fast_constructor(InputAudioBufferSpeechStarted)
_new_InputAudioBufferSpeechStopped = _fast_constructor(InputAudioBufferSpeechStopped)
_new_InputAudioBufferTimeoutTriggered = _fast_constructor(InputAudioBufferTimeoutTriggered)
_new_InputAudioTranscriptionCompleted = _fast_constructor(InputAudioTranscriptionCompleted)
_new_InputAudioTranscriptionDelta = _fast_constructor(InputAudioTranscriptionDelta)
_new_InputAudioTranscriptionFailed = _fast_constructor(InputAudioTranscriptionFailed)
_new_OutputAudioBufferCleared = _fast_constructor(OutputAudioBufferCleared)
_new_OutputAudioBufferStarted = _fast_constructor(OutputAudioBufferStarted)
_new_OutputAudioBufferStopped = _fast_constructor(OutputAudioBufferStopped)
_new_RateLimitsUpdated = _fast_constructor(RateLimitsUpdated)
_new_ResponseContentPartAdded = _fast_constructor(ResponseContentPartAdded)
_new_ResponseContentPartDone = _fast_constructor(ResponseContentPartDone)
_new_ResponseCreated = _fast_constructor(ResponseCreated)
_new_ResponseDone = _fast_constructor(ResponseDone)
_new_ResponseFunctionCallArgumentsDone = _fast_constructor(ResponseFunctionCallArgumentsDone)
_new_ResponseOutputAudioDone = _fast_constructor(ResponseOutputAudioDone)
_new_ResponseOutputAudioTranscriptDone = _fast_constructor(ResponseOutputAudioTranscriptDone)
_new_ResponseOutputItemAdded = _fast_constructor(ResponseOutputItemAdded)
_new_ResponseOutputItemDone = _fast_constructor(ResponseOutputItemDone)
_new_ResponseOutputTextDone = _fast_constructor(ResponseOutputTextDone)
_new_SessionCreated = _fast_constructor(SessionCreated)
_new_SessionUpdated = _fast_constructor(SessionUpdated)


def _stream_delta(new: Callable[..., ServerEvent]) -> Callable[[JSONObject], ServerEvent]:
    """Builder of a transcript or text delta: four checks and one object, nothing else."""

    def build(d: JSONObject) -> ServerEvent:
        response_id = d.get("response_id")
        item_id = d.get("item_id")
        content_index = d.get("content_index")
        delta = d.get("delta")
        if (
            type(response_id) is not str
            or type(item_id) is not str
            or type(content_index) is not int
            or type(delta) is not str
        ):
            _check_stream_fields(d)
        return new(response_id, item_id, content_index, delta)

    return build


def _check_stream_fields(d: JSONObject) -> NoReturn:
    """The slow path of the delta builders: raise `_BadField` naming the wrong field."""
    _str(d, "response_id")
    _str(d, "item_id")
    _int(d, "content_index")
    _str(d, "delta")
    raise _BadField("delta", "a string")  # not reached: one of the checks above failed


def _audio_delta(d: JSONObject) -> ServerEvent:
    # `decode_server_event` inlines this same path; this entry serves the dispatch table.
    response_id = d.get("response_id")
    item_id = d.get("item_id")
    content_index = d.get("content_index")
    delta = d.get("delta")
    if (
        type(response_id) is not str
        or type(item_id) is not str
        or type(content_index) is not int
        or type(delta) is not str
    ):
        _check_stream_fields(d)
    return _new_audio_delta(response_id, item_id, content_index, _b64decode(delta, validate=True))


def _arguments_delta(d: JSONObject) -> ServerEvent:
    return _new_arguments_delta(
        _str(d, "response_id"), _str(d, "item_id"), _str(d, "call_id"), _str(d, "delta")
    )


def _position(d: JSONObject) -> tuple[Any, Any, int, int]:
    return (
        _str(d, "response_id"),
        _str(d, "item_id"),
        _int(d, "output_index"),
        _int(d, "content_index"),
    )


def _error(d: JSONObject) -> ServerEvent:
    err = _obj(d, "error")
    return ServerError(
        error_type=_opt_str(err, "type") or "error",
        message=_opt_str(err, "message") or "",
        code=_opt_str(err, "code"),
        param=_opt_str(err, "param"),
        client_event_id=_opt_str(err, "event_id"),
        event_id=_eid(d),
    )


def _response(d: JSONObject) -> tuple[dict[str, Any], Any]:
    response = _obj(d, "response")
    return response, _str(response, "id")


def _response_created(d: JSONObject) -> ServerEvent:
    response, response_id = _response(d)
    return _new_ResponseCreated(response_id, response, _eid(d))


def _response_done(d: JSONObject) -> ServerEvent:
    response, response_id = _response(d)
    return _new_ResponseDone(
        response_id, _opt_str(response, "status") or "completed", response, _eid(d)
    )


def _rate_limits(d: JSONObject) -> ServerEvent:
    limits = d.get("rate_limits")
    if type(limits) is not list or any(type(x) is not dict for x in limits):
        raise _BadField("rate_limits", "a list of objects")
    return _new_RateLimitsUpdated(tuple(limits), _eid(d))


def _input_transcription_delta(d: JSONObject) -> ServerEvent:
    delta = _opt_str(d, "delta") or ""
    return _new_InputAudioTranscriptionDelta(
        _str(d, "item_id"), _int_or(d, "content_index", 0), delta, _eid(d)
    )


_BUILDERS: Final[dict[str, Callable[[JSONObject], ServerEvent]]] = {
    "response.output_audio.delta": _audio_delta,
    "response.output_audio_transcript.delta": _stream_delta(_new_transcript_delta),
    "response.output_text.delta": _stream_delta(_new_text_delta),
    "response.function_call_arguments.delta": _arguments_delta,
    "session.created": lambda d: _new_SessionCreated(_obj(d, "session"), _eid(d)),
    "session.updated": lambda d: _new_SessionUpdated(_obj(d, "session"), _eid(d)),
    "error": _error,
    "input_audio_buffer.speech_started": lambda d: _new_InputAudioBufferSpeechStarted(
        _str(d, "item_id"), _int_or(d, "audio_start_ms", 0), _eid(d)
    ),
    "input_audio_buffer.speech_stopped": lambda d: _new_InputAudioBufferSpeechStopped(
        _str(d, "item_id"), _int_or(d, "audio_end_ms", 0), _eid(d)
    ),
    "input_audio_buffer.committed": lambda d: _new_InputAudioBufferCommitted(
        _str(d, "item_id"), _opt_str(d, "previous_item_id"), _eid(d)
    ),
    "input_audio_buffer.cleared": lambda d: _new_InputAudioBufferCleared(_eid(d)),
    "input_audio_buffer.timeout_triggered": lambda d: _new_InputAudioBufferTimeoutTriggered(
        _str(d, "item_id"), _int(d, "audio_start_ms"), _int(d, "audio_end_ms"), _eid(d)
    ),
    "conversation.item.added": lambda d: _new_ConversationItemAdded(
        _obj(d, "item"), _opt_str(d, "previous_item_id"), _eid(d)
    ),
    "conversation.item.done": lambda d: _new_ConversationItemDone(
        _obj(d, "item"), _opt_str(d, "previous_item_id"), _eid(d)
    ),
    "conversation.item.created": lambda d: _new_ConversationItemCreated(
        _obj(d, "item"), _opt_str(d, "previous_item_id"), _eid(d)
    ),
    "conversation.item.retrieved": lambda d: _new_ConversationItemRetrieved(
        _obj(d, "item"), _eid(d)
    ),
    "conversation.item.truncated": lambda d: _new_ConversationItemTruncated(
        _str(d, "item_id"), _int(d, "content_index"), _int(d, "audio_end_ms"), _eid(d)
    ),
    "conversation.item.deleted": lambda d: _new_ConversationItemDeleted(
        _str(d, "item_id"), _eid(d)
    ),
    "conversation.item.input_audio_transcription.delta": _input_transcription_delta,
    "conversation.item.input_audio_transcription.completed": lambda d: (
        _new_InputAudioTranscriptionCompleted(
            _str(d, "item_id"), _int_or(d, "content_index", 0), _str(d, "transcript"), _eid(d)
        )
    ),
    "conversation.item.input_audio_transcription.failed": lambda d: (
        _new_InputAudioTranscriptionFailed(
            _str(d, "item_id"), _int_or(d, "content_index", 0), _obj(d, "error"), _eid(d)
        )
    ),
    "response.created": _response_created,
    "response.done": _response_done,
    "response.output_item.added": lambda d: _new_ResponseOutputItemAdded(
        _str(d, "response_id"), _int(d, "output_index"), _obj(d, "item"), _eid(d)
    ),
    "response.output_item.done": lambda d: _new_ResponseOutputItemDone(
        _str(d, "response_id"), _int(d, "output_index"), _obj(d, "item"), _eid(d)
    ),
    "response.content_part.added": lambda d: _new_ResponseContentPartAdded(
        *_position(d), _obj(d, "part"), _eid(d)
    ),
    "response.content_part.done": lambda d: _new_ResponseContentPartDone(
        *_position(d), _obj(d, "part"), _eid(d)
    ),
    "response.output_audio.done": lambda d: _new_ResponseOutputAudioDone(*_position(d), _eid(d)),
    "response.output_audio_transcript.done": lambda d: _new_ResponseOutputAudioTranscriptDone(
        *_position(d), _str(d, "transcript"), _eid(d)
    ),
    "response.output_text.done": lambda d: _new_ResponseOutputTextDone(
        *_position(d), _str(d, "text"), _eid(d)
    ),
    "response.function_call_arguments.done": lambda d: _new_ResponseFunctionCallArgumentsDone(
        _str(d, "response_id"),
        _str(d, "item_id"),
        _int(d, "output_index"),
        _str(d, "call_id"),
        _str(d, "arguments"),
        _opt_str(d, "name"),
        _eid(d),
    ),
    "rate_limits.updated": _rate_limits,
    "output_audio_buffer.started": lambda d: _new_OutputAudioBufferStarted(
        _str(d, "response_id"), _eid(d)
    ),
    "output_audio_buffer.stopped": lambda d: _new_OutputAudioBufferStopped(
        _str(d, "response_id"), _eid(d)
    ),
    "output_audio_buffer.cleared": lambda d: _new_OutputAudioBufferCleared(
        _str(d, "response_id"), _eid(d)
    ),
}

# Beta events whose payload (session, item, response) has a different shape, not just a name.
_BETA_RESHAPED: Final[frozenset[str]] = frozenset(
    {
        "session.created",
        "session.updated",
        "conversation.item.created",
        "conversation.item.retrieved",
        "response.output_item.added",
        "response.output_item.done",
        "response.created",
        "response.done",
    }
)


# Drafts of the events `decode_server_event` builds inline (see `_draft_class`). The
# transcript and text deltas share one layout, so they share one draft.
_AudioDeltaDraft: Final = _draft_class(ResponseOutputAudioDelta)
_StreamDeltaDraft: Final = _draft_class(ResponseOutputAudioTranscriptDelta)
_StreamDeltaDraft().__class__ = ResponseOutputTextDelta  # the shared layout, checked at import
_PREFIX_CHARS: Final = 200
_AUDIO_DELTA: Final = "response.output_audio.delta"
_TRANSCRIPT_DELTA: Final = "response.output_audio_transcript.delta"
_TEXT_DELTA: Final = "response.output_text.delta"
_STREAM_DELTAS: Final = (_TRANSCRIPT_DELTA, _TEXT_DELTA)
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def _prefix(frame: object) -> str:
    if isinstance(frame, str):
        return frame[:_PREFIX_CHARS]
    if isinstance(frame, bytes | bytearray | memoryview):
        return bytes(frame[:_PREFIX_CHARS]).decode("utf-8", "replace")
    return repr(frame)[:_PREFIX_CHARS]


def decode_server_event(frame: str | bytes, dialect: Dialect = "ga") -> ServerEvent:
    """Decode one inbound frame into a typed server event. Never raises.

    Args:
        frame: One WebSocket (or data channel) message, text or bytes.
        dialect: `"beta"` renames beta events to their GA names and reshapes beta sessions,
            items and responses to GA shapes.

    Returns:
        A typed event; `UnknownServerEvent` for a well-formed event of another type;
        `MalformedServerEvent` for anything that is not a valid server event.
    """
    try:
        data = _loads(frame)
    except _JSONDecodeError as exc:
        return MalformedServerEvent(f"not JSON ({exc})", _prefix(frame))
    except TypeError:
        return MalformedServerEvent(
            f"a frame must be str or bytes, got {type(frame).__name__}", _prefix(frame)
        )
    try:
        kind = data["type"]  # orjson gives plain dicts: no `type(data) is dict` check needed
    except KeyError:
        return MalformedServerEvent("no string 'type'", _prefix(frame))
    except TypeError:  # an array, a string, a number: not subscriptable by a string
        return MalformedServerEvent(f"not a JSON object but {type(data).__name__}", _prefix(frame))
    if type(kind) is not str:
        return MalformedServerEvent("no string 'type'", _prefix(frame))
    if dialect == "beta":
        if kind in _BETA_RESHAPED:
            data = _reshape_beta(data)
        kind = SERVER_EVENT_BETA_TO_GA.get(kind, kind)
    # The hot paths, inlined: audio, transcript and text deltas are most of a session's
    # frames. Four reads and four type checks, one draft filled and sealed (no call frame),
    # the audio decoded once (validate=True takes pybase64's SIMD path and rejects characters
    # outside the alphabet). Anything odd falls through to the table's builder, which names
    # the bad field.
    if kind == _AUDIO_DELTA:
        try:
            response_id = data["response_id"]
            item_id = data["item_id"]
            content_index = data["content_index"]
            delta = data["delta"]
        except KeyError:
            pass
        else:
            if (
                type(response_id) is str
                and type(item_id) is str
                and type(content_index) is int
                and type(delta) is str
            ):
                try:
                    audio = _b64decode(delta, validate=True)
                except ValueError as exc:  # binascii.Error is a ValueError
                    return MalformedServerEvent(
                        f"{kind}: audio is not valid base64 ({exc})", _prefix(frame)
                    )
                draft = _AudioDeltaDraft()
                draft.response_id = response_id
                draft.item_id = item_id
                draft.content_index = content_index
                draft.audio = audio
                draft.__class__ = ResponseOutputAudioDelta
                audio_event: ResponseOutputAudioDelta = draft
                return audio_event
    elif kind in _STREAM_DELTAS:
        try:
            response_id = data["response_id"]
            item_id = data["item_id"]
            content_index = data["content_index"]
            delta = data["delta"]
        except KeyError:
            pass
        else:
            if (
                type(response_id) is str
                and type(item_id) is str
                and type(content_index) is int
                and type(delta) is str
            ):
                draft = _StreamDeltaDraft()
                draft.response_id = response_id
                draft.item_id = item_id
                draft.content_index = content_index
                draft.delta = delta
                if kind == _TRANSCRIPT_DELTA:
                    draft.__class__ = ResponseOutputAudioTranscriptDelta
                    transcript_event: ResponseOutputAudioTranscriptDelta = draft
                    return transcript_event
                draft.__class__ = ResponseOutputTextDelta
                text_event: ResponseOutputTextDelta = draft
                return text_event
    builder = _BUILDERS.get(kind)
    if builder is None:
        return UnknownServerEvent(kind, data)
    try:
        return builder(data)
    except _BadField as exc:
        return MalformedServerEvent(f"{kind}: {exc}", _prefix(frame))
    except ValueError as exc:  # binascii.Error is a ValueError
        return MalformedServerEvent(f"{kind}: audio is not valid base64 ({exc})", _prefix(frame))


def _reshape_beta(data: dict[str, Any]) -> dict[str, Any]:
    """Beta payload → GA shape; a payload the translator cannot read is kept as it came (the
    builder then reports a bad field, or the event goes through with its beta shape)."""
    try:
        return server_event_beta_to_ga(data)
    except (AgentKitError, LookupError, TypeError, AttributeError, ValueError):
        return data


# --- client events -----------------------------------------------------------------------------

_dumps = orjson.dumps
_b64encode = pybase64.b64encode


def _frame(event: dict[str, Any], event_id: str | None) -> str:
    if event_id is not None:
        event["event_id"] = event_id
    return _dumps(event).decode()


def encode_client_event(event: Mapping[str, Any]) -> str:
    """Send any client event as it is (a raw passthrough for what has no helper)."""
    return _dumps(dict(event)).decode()


def encode_session_update(
    session: Mapping[str, Any], *, dialect: Dialect = "ga", event_id: str | None = None
) -> str:
    """`session.update` with a GA session object, rendered flat for beta."""
    body = session_ga_to_beta(session) if dialect == "beta" else dict(session)
    return _frame({"type": "session.update", "session": body}, event_id)


def encode_input_audio_append(
    audio: bytes | bytearray | memoryview, *, event_id: str | None = None
) -> str:
    """`input_audio_buffer.append` with the audio base64-encoded (same in both dialects)."""
    # Sent 10-50 times a second: concatenate instead of building and dumping a dict. The
    # base64 alphabet needs no JSON escaping.
    encoded = _b64encode(audio).decode("ascii")
    if event_id is None:
        return '{"type":"input_audio_buffer.append","audio":"' + encoded + '"}'
    return _frame({"type": "input_audio_buffer.append", "audio": encoded}, event_id)


def encode_input_audio_commit(*, event_id: str | None = None) -> str:
    """`input_audio_buffer.commit`: the buffer becomes a user item (push-to-talk end)."""
    return _frame({"type": "input_audio_buffer.commit"}, event_id)


def encode_input_audio_clear(*, event_id: str | None = None) -> str:
    """`input_audio_buffer.clear`: drop uncommitted input audio (push-to-talk start)."""
    return _frame({"type": "input_audio_buffer.clear"}, event_id)


def encode_output_audio_clear(*, event_id: str | None = None) -> str:
    """`output_audio_buffer.clear` (WebRTC/SIP only; send `response.cancel` first)."""
    return _frame({"type": "output_audio_buffer.clear"}, event_id)


def user_message_item(text: str, *, item_id: str | None = None) -> dict[str, Any]:
    """A user text message item (GA terms; `input_text` is spelled alike in beta)."""
    item: dict[str, Any] = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    if item_id is not None:
        item["id"] = item_id
    return item


def function_call_output_item(
    call_id: str, output: str, *, item_id: str | None = None
) -> dict[str, Any]:
    """The output of function call `call_id`, as the string the model reads."""
    item: dict[str, Any] = {"type": "function_call_output", "call_id": call_id, "output": output}
    if item_id is not None:
        item["id"] = item_id
    return item


def encode_item_create(
    item: Mapping[str, Any],
    *,
    previous_item_id: str | None = None,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`conversation.item.create` with a GA item, rendered for beta (`output_text` → `text`).

    `previous_item_id` places the item after that one; absent, it is appended.
    """
    body = item_ga_to_beta(item) if dialect == "beta" else dict(item)
    event: dict[str, Any] = {"type": "conversation.item.create", "item": body}
    if previous_item_id is not None:
        event["previous_item_id"] = previous_item_id
    return _frame(event, event_id)


def encode_user_message(
    text: str,
    *,
    previous_item_id: str | None = None,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`conversation.item.create` of a user text message."""
    return encode_item_create(
        user_message_item(text),
        previous_item_id=previous_item_id,
        dialect=dialect,
        event_id=event_id,
    )


def encode_function_call_output(
    call_id: str,
    output: str,
    *,
    previous_item_id: str | None = None,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`conversation.item.create` of a `function_call_output` for `call_id`."""
    return encode_item_create(
        function_call_output_item(call_id, output),
        previous_item_id=previous_item_id,
        dialect=dialect,
        event_id=event_id,
    )


def encode_item_truncate(
    item_id: str, content_index: int, audio_end_ms: int, *, event_id: str | None = None
) -> str:
    """`conversation.item.truncate`: the caller heard `audio_end_ms` of this assistant audio."""
    return _frame(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": content_index,
            "audio_end_ms": audio_end_ms,
        },
        event_id,
    )


def encode_item_delete(item_id: str, *, event_id: str | None = None) -> str:
    """`conversation.item.delete`."""
    return _frame({"type": "conversation.item.delete", "item_id": item_id}, event_id)


def encode_item_retrieve(item_id: str, *, event_id: str | None = None) -> str:
    """`conversation.item.retrieve` (the server answers with the item, audio included)."""
    return _frame({"type": "conversation.item.retrieve", "item_id": item_id}, event_id)


def encode_response_create(
    params: Mapping[str, Any] | None = None,
    *,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`response.create`, with optional GA options (`instructions`, `output_modalities`,
    `max_output_tokens`, `metadata`, ...) renamed for beta (`modalities`,
    `max_response_output_tokens`, ...)."""
    event: dict[str, Any] = {"type": "response.create"}
    if params:
        event["response"] = (
            response_params_ga_to_beta(params) if dialect == "beta" else dict(params)
        )
    return _frame(event, event_id)


def encode_response_cancel(response_id: str | None = None, *, event_id: str | None = None) -> str:
    """`response.cancel`, of `response_id` or of the active response."""
    event: dict[str, Any] = {"type": "response.cancel"}
    if response_id is not None:
        event["response_id"] = response_id
    return _frame(event, event_id)
