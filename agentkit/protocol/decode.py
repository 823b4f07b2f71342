"""Decoding: one inbound frame becomes one typed server event (`decode_server_event`).

Pure functions, no I/O. The supervisor calls `decode_server_event` on every inbound frame:

* the events the runtime acts on become the typed events of `protocol/server_events.py`;
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

A function call arrives typed as well: `response.output_item.added` / `.done` carry the item
as a `FunctionCallItem` in `function_call`, and `response.done` the calls of its output in
`function_calls`.

## The hot path

An audio delta arrives 10-50 times a second per session (`bench/decode.py` measures it). It
costs one `orjson.loads`, one dict lookup for the type, a handful of `type(x) is str` checks
and one `pybase64.b64decode` into the `bytes` the app plays: no pydantic, no copy of the
payload, no intermediate dicts. The audio, transcript and text deltas are decoded inline in
`decode_server_event`: each is filled as a *draft* (a plain slotted twin of its class, same
layout) and sealed with `draft.__class__ = cls`, skipping the frozen dataclass `__init__`
(which routes every field through `object.__setattr__` and costs about three times as much);
the instances are the same frozen objects. Every other event is built by a sealed
constructor (`protocol/sealed.py`), which the type checker checks like the class itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NoReturn

import orjson
import pybase64

from ..errors import AgentKitError
from .dialects import SERVER_EVENT_BETA_TO_GA, server_event_beta_to_ga
from .items import FunctionCallItem, function_call_item
from .mcp import MCP_EVENT_TYPES, McpEvent
from .sealed import draft_class, sealed_constructor
from .server_events import (
    ConversationItemAdded,
    ConversationItemCreated,
    ConversationItemDeleted,
    ConversationItemDone,
    ConversationItemRetrieved,
    ConversationItemTruncated,
    InputAudioBufferCleared,
    InputAudioBufferCommitted,
    InputAudioBufferDtmfEventReceived,
    InputAudioBufferSpeechStarted,
    InputAudioBufferSpeechStopped,
    InputAudioBufferTimeoutTriggered,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionDelta,
    InputAudioTranscriptionFailed,
    MalformedServerEvent,
    OutputAudioBufferCleared,
    OutputAudioBufferStarted,
    OutputAudioBufferStopped,
    RateLimitsUpdated,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseCreated,
    ResponseDone,
    ResponseFunctionCallArgumentsDelta,
    ResponseFunctionCallArgumentsDone,
    ResponseOutputAudioDelta,
    ResponseOutputAudioDone,
    ResponseOutputAudioTranscriptDelta,
    ResponseOutputAudioTranscriptDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseOutputTextDelta,
    ResponseOutputTextDone,
    ServerError,
    ServerEvent,
    SessionCreated,
    SessionUpdated,
    UnknownServerEvent,
)
from .wire_types import Dialect, ItemId, JsonMapping, JsonObject, ResponseId

__all__ = ["decode_server_event"]


# --- field readers -----------------------------------------------------------------------------


class _BadField(Exception):
    """A field is missing or of the wrong type; becomes a `MalformedServerEvent`."""

    def __init__(self, name: str, expected: str) -> None:
        self.name = name
        self.expected = expected
        super().__init__(f"field {name!r}: expected {expected}")


# `_str` and `_opt_str` return `Any` on purpose: this is where a checked wire string becomes
# an `ItemId`, `CallId` or `ResponseId` (by annotation, at no cost) in the event it fills.
def _str(d: JsonMapping, name: str) -> Any:
    value = d.get(name)
    if type(value) is not str:
        raise _BadField(name, "a string")
    return value


def _opt_str(d: JsonMapping, name: str) -> Any:
    value = d.get(name)
    if value is not None and type(value) is not str:
        raise _BadField(name, "a string or null")
    return value


def _int(d: JsonMapping, name: str) -> int:
    value = d.get(name)
    if type(value) is not int:
        raise _BadField(name, "an integer")
    return value


def _int_or(d: JsonMapping, name: str, default: int) -> int:
    value = d.get(name, default)
    if type(value) is not int:
        raise _BadField(name, "an integer")
    return value


def _obj(d: JsonMapping, name: str) -> JsonObject:
    value = d.get(name)
    if type(value) is not dict:
        raise _BadField(name, "an object")
    return value


def _eid(d: JsonMapping) -> str:
    value = d.get("event_id", "")
    return value if type(value) is str else ""


# --- builders, one per typed event -------------------------------------------------------------

_new_audio_delta = sealed_constructor(ResponseOutputAudioDelta)
_new_transcript_delta = sealed_constructor(ResponseOutputAudioTranscriptDelta)
_new_text_delta = sealed_constructor(ResponseOutputTextDelta)
_new_arguments_delta = sealed_constructor(ResponseFunctionCallArgumentsDelta)
_b64decode = pybase64.b64decode
# Every other typed event is sealed the same way (see `agentkit.protocol.sealed`).
_new_ConversationItemAdded = sealed_constructor(ConversationItemAdded)
_new_ConversationItemCreated = sealed_constructor(ConversationItemCreated)
_new_ConversationItemDeleted = sealed_constructor(ConversationItemDeleted)
_new_ConversationItemDone = sealed_constructor(ConversationItemDone)
_new_ConversationItemRetrieved = sealed_constructor(ConversationItemRetrieved)
_new_ConversationItemTruncated = sealed_constructor(ConversationItemTruncated)
_new_InputAudioBufferCleared = sealed_constructor(InputAudioBufferCleared)
_new_InputAudioBufferCommitted = sealed_constructor(InputAudioBufferCommitted)
_new_InputAudioBufferSpeechStarted = sealed_constructor(InputAudioBufferSpeechStarted)
_new_InputAudioBufferSpeechStopped = sealed_constructor(InputAudioBufferSpeechStopped)
_new_InputAudioBufferTimeoutTriggered = sealed_constructor(InputAudioBufferTimeoutTriggered)
_new_InputAudioBufferDtmfEventReceived = sealed_constructor(InputAudioBufferDtmfEventReceived)
_new_InputAudioTranscriptionCompleted = sealed_constructor(InputAudioTranscriptionCompleted)
_new_InputAudioTranscriptionDelta = sealed_constructor(InputAudioTranscriptionDelta)
_new_InputAudioTranscriptionFailed = sealed_constructor(InputAudioTranscriptionFailed)
_new_OutputAudioBufferCleared = sealed_constructor(OutputAudioBufferCleared)
_new_OutputAudioBufferStarted = sealed_constructor(OutputAudioBufferStarted)
_new_OutputAudioBufferStopped = sealed_constructor(OutputAudioBufferStopped)
_new_RateLimitsUpdated = sealed_constructor(RateLimitsUpdated)
_new_ResponseContentPartAdded = sealed_constructor(ResponseContentPartAdded)
_new_ResponseContentPartDone = sealed_constructor(ResponseContentPartDone)
_new_ResponseCreated = sealed_constructor(ResponseCreated)
_new_ResponseDone = sealed_constructor(ResponseDone)
_new_ResponseFunctionCallArgumentsDone = sealed_constructor(ResponseFunctionCallArgumentsDone)
_new_ResponseOutputAudioDone = sealed_constructor(ResponseOutputAudioDone)
_new_ResponseOutputAudioTranscriptDone = sealed_constructor(ResponseOutputAudioTranscriptDone)
_new_ResponseOutputItemAdded = sealed_constructor(ResponseOutputItemAdded)
_new_ResponseOutputItemDone = sealed_constructor(ResponseOutputItemDone)
_new_ResponseOutputTextDone = sealed_constructor(ResponseOutputTextDone)
_new_SessionCreated = sealed_constructor(SessionCreated)
_new_SessionUpdated = sealed_constructor(SessionUpdated)


def _stream_delta(
    new: Callable[[ResponseId, ItemId, int, str], ServerEvent],
) -> Callable[[JsonMapping], ServerEvent]:
    """Builder of a transcript or text delta: four checks and one object, nothing else."""

    def build(d: JsonMapping) -> ServerEvent:
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
        # `decode_server_event` builds good deltas inline; this line serves other callers of
        # the table, so the two id conversions (identity calls) cost nothing on the hot path.
        return new(ResponseId(response_id), ItemId(item_id), content_index, delta)

    return build


def _check_stream_fields(d: JsonMapping) -> NoReturn:
    """The slow path of the delta builders: raise `_BadField` naming the wrong field."""
    _str(d, "response_id")
    _str(d, "item_id")
    _int(d, "content_index")
    _str(d, "delta")
    raise _BadField("delta", "a string")  # not reached: one of the checks above failed


def _audio_delta(d: JsonMapping) -> ServerEvent:
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
    audio = _b64decode(delta, validate=True)
    return _new_audio_delta(ResponseId(response_id), ItemId(item_id), content_index, audio)


def _arguments_delta(d: JsonMapping) -> ServerEvent:
    return _new_arguments_delta(
        _str(d, "response_id"), _str(d, "item_id"), _str(d, "call_id"), _str(d, "delta")
    )


def _position(d: JsonMapping) -> tuple[Any, Any, int, int]:
    return (
        _str(d, "response_id"),
        _str(d, "item_id"),
        _int(d, "output_index"),
        _int(d, "content_index"),
    )


def _error(d: JsonMapping) -> ServerEvent:
    err = _obj(d, "error")
    return ServerError(
        error_type=_opt_str(err, "type") or "error",
        message=_opt_str(err, "message") or "",
        code=_opt_str(err, "code"),
        param=_opt_str(err, "param"),
        client_event_id=_opt_str(err, "event_id"),
        event_id=_eid(d),
    )


def _response(d: JsonMapping) -> tuple[JsonObject, Any]:
    response = _obj(d, "response")
    return response, _str(response, "id")


def _response_created(d: JsonMapping) -> ServerEvent:
    response, response_id = _response(d)
    return _new_ResponseCreated(response_id, response, _eid(d))


def _response_done(d: JsonMapping) -> ServerEvent:
    response, response_id = _response(d)
    return _new_ResponseDone(
        response_id,
        _opt_str(response, "status") or "completed",
        response,
        _eid(d),
        _function_calls(response.get("output")),
    )


def _function_calls(output: object) -> tuple[FunctionCallItem, ...]:
    """The typed function calls of a response's `output` (anything else there is skipped:
    `response` keeps the output as it came)."""
    if type(output) is not list:
        return ()
    calls = []
    for item in output:
        if type(item) is dict:
            call = function_call_item(item)
            if call is not None:
                calls.append(call)
    return tuple(calls)


def _output_item_added(d: JsonMapping) -> ServerEvent:
    item = _obj(d, "item")
    return _new_ResponseOutputItemAdded(
        _str(d, "response_id"), _int(d, "output_index"), item, _eid(d), function_call_item(item)
    )


def _output_item_done(d: JsonMapping) -> ServerEvent:
    item = _obj(d, "item")
    return _new_ResponseOutputItemDone(
        _str(d, "response_id"), _int(d, "output_index"), item, _eid(d), function_call_item(item)
    )


def _rate_limits(d: JsonMapping) -> ServerEvent:
    limits = d.get("rate_limits")
    if type(limits) is not list or any(type(x) is not dict for x in limits):
        raise _BadField("rate_limits", "a list of objects")
    return _new_RateLimitsUpdated(tuple(limits), _eid(d))


def _input_transcription_delta(d: JsonMapping) -> ServerEvent:
    delta = _opt_str(d, "delta") or ""
    return _new_InputAudioTranscriptionDelta(
        _str(d, "item_id"), _int_or(d, "content_index", 0), delta, _eid(d)
    )


_BUILDERS: Final[dict[str, Callable[[JsonMapping], ServerEvent]]] = {
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
    # SIP only; no `event_id` on the wire.
    "input_audio_buffer.dtmf_event_received": lambda d: _new_InputAudioBufferDtmfEventReceived(
        _str(d, "event"), _int(d, "received_at"), _eid(d)
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
    "response.output_item.added": _output_item_added,
    "response.output_item.done": _output_item_done,
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

def _mcp_event(d: JsonMapping) -> ServerEvent:
    """Any of the hosted-MCP events (`protocol/mcp.py`): the listing ones carry `item_id`
    only, a call's `response_id` and `output_index` too, and its arguments a text."""
    kind = d.get("type")
    text = d.get("arguments") if kind == "response.mcp_call_arguments.done" else d.get("delta")
    index = d.get("output_index")
    return McpEvent(
        kind,  # type: ignore[arg-type]  # a key of _BUILDERS: one of MCP_EVENT_TYPES
        _str(d, "item_id"),
        _opt_str(d, "response_id"),
        index if type(index) is int else None,
        text if type(text) is str else None,
        _eid(d),
    )


_BUILDERS.update(dict.fromkeys(MCP_EVENT_TYPES, _mcp_event))


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


# Drafts of the events `decode_server_event` builds inline (see `protocol/sealed.py`). The
# transcript and text deltas share one layout, so they share one draft.
_AudioDeltaDraft: Final = draft_class(ResponseOutputAudioDelta)
_StreamDeltaDraft: Final = draft_class(ResponseOutputAudioTranscriptDelta)
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
        # orjson raises this for input of the wrong type too: tell the two apart here, off
        # the hot path.
        if not isinstance(frame, str | bytes | bytearray | memoryview):
            return MalformedServerEvent(
                f"a frame must be str or bytes, got {type(frame).__name__}", _prefix(frame)
            )
        return MalformedServerEvent(f"not JSON ({exc})", _prefix(frame))
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


def _reshape_beta(data: JsonObject) -> JsonObject:
    """Beta payload → GA shape; a payload the translator cannot read is kept as it came (the
    builder then reports a bad field, or the event goes through with its beta shape)."""
    try:
        return server_event_beta_to_ga(data)
    except (AgentKitError, LookupError, TypeError, AttributeError, ValueError):
        return data

