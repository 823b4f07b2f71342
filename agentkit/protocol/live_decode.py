"""Decoding GPT-Live: one inbound frame becomes the events the supervisor already handles.

The supervisor has one code path for every dialect. Live is mapped onto it here, at the edge,
wherever a Live event means what a Realtime event means:

| Live | becomes |
| --- | --- |
| `error` | `ServerError` (`error.client_event_id` is the client event it answers) |
| `response.event` ⟨`response.created`⟩ | `ResponseCreated` (a backend response) |
| `response.event` ⟨`response.output_item.done`⟩ | `ResponseOutputItemDone`: a function call starts there |
| `response.event` ⟨`response.completed` / `failed` / `incomplete`⟩ | `ResponseDone` |
| `session.input_transcript.delta` | a user turn: `ConversationItemAdded`, `InputAudioBufferCommitted`, `InputAudioTranscriptionDelta`s, then `InputAudioTranscriptionCompleted` |
| `session.output_audio.delta`, `session.output_transcript.delta` | an assistant turn: `ConversationItemAdded`, `ResponseOutputAudioDelta`s / `ResponseOutputAudioTranscriptDelta`s, then the `...Done`s and `ConversationItemDone` |
| anything else known | a `protocol/live_events.py` event |

**Turns.** Live's transcripts are timeline fragments with no item ids and no "done" event. The
decoder groups them by speaker: a turn lasts until the other side's first fragment (or a
delegation, or the end of the session), and then it is closed with the events a Realtime
turn ends with. Each turn gets an item id (`live_user_N` / `live_out_N`); an assistant turn
also gets a response id of its own (`live_voice_N`), which never names a backend response:
the voice layer's speech is not something the client asks for, cancels or follows up.

**Backend responses.** The nested Responses stream carries no response id on its item events;
the id comes from its `response.created`, per delegation.

Decoding never raises: a frame that is not a JSON object with a string `type` becomes a
`MalformedServerEvent`, an unknown type an `UnknownServerEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import pybase64

from .items import function_call_item
from .live_events import (
    LiveBackendEvent,
    LiveDelegationCreated,
    LiveEvent,
    LiveInstructionsAppended,
    LiveNotice,
    LiveSessionClosed,
    LiveSessionStarted,
    LiveUsageUpdated,
    LiveVoiceTurn,
)
from .server_events import (
    ConversationItemAdded,
    ConversationItemDone,
    InputAudioBufferCommitted,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionDelta,
    MalformedServerEvent,
    ResponseCreated,
    ResponseDone,
    ResponseOutputAudioDelta,
    ResponseOutputAudioDone,
    ResponseOutputAudioTranscriptDelta,
    ResponseOutputAudioTranscriptDone,
    ResponseOutputItemDone,
    ServerError,
    ServerEvent,
    UnknownServerEvent,
)
from .wire_types import ItemId, JsonMapping, ResponseId

__all__ = ["LiveDecoded", "LiveDecoder"]

LiveDecoded = ServerEvent | LiveEvent
"""What `LiveDecoder.decode` returns a list of."""

_NOTICES: Final = frozenset(
    {
        "session.input_audio.muted",
        "session.input_audio.unmuted",
        "session.input_audio.append",
        "session.output_audio.fixture.playing",
        "session.output_audio.fixture.played",
        "session.thinking.appended",
        "session.commentary.appended",
        "info",
        "session.paused",
        "session.resumed",
    }
)
_BACKEND_DONE: Final = frozenset(
    {"response.completed", "response.failed", "response.incomplete", "response.cancelled"}
)
_PREFIX_CHARS: Final = 200


@dataclass(slots=True)
class _Turn:
    role: str  # "user" | "assistant"
    item_id: ItemId
    response_id: ResponseId | None = None
    parts: list[str] = field(default_factory=list)
    audio: bool = False


class LiveDecoder:
    """Live frames in, supervisor events out (see the module docs). One per connection: a
    new session starts with no open turn."""

    def __init__(self) -> None:
        self._turn: _Turn | None = None
        self._turns = 0
        self._backend: dict[str | None, ResponseId] = {}
        self._outputs: dict[ResponseId, list[JsonMapping]] = {}  # backend response → items
        self.voice_fragment = False
        """Whether the last decoded frame was the voice layer speaking (the supervisor dates
        the end of its turn from it)."""

    def decode(self, frame: str | bytes) -> list[LiveDecoded]:
        """The events of one inbound frame, in order. Never raises."""
        self.voice_fragment = False
        try:
            data = orjson.loads(frame)
        except orjson.JSONDecodeError as exc:
            return [MalformedServerEvent(f"not JSON ({exc})", _prefix(frame))]
        kind = data.get("type") if isinstance(data, dict) else None
        if type(kind) is not str:
            return [MalformedServerEvent("not a JSON object with a string 'type'", _prefix(frame))]
        try:
            return self._decode(kind, data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return [MalformedServerEvent(f"{kind}: {exc!r}", _prefix(frame))]

    def close_turn(self) -> list[LiveDecoded]:
        """Close the open turn, if any (the connection ended)."""
        return self._close()

    def close_voice_turn(self) -> list[LiveDecoded]:
        """Close the voice layer's turn, if it is the open one (it has been silent long
        enough: `LiveOptions.turn_end_ms`)."""
        turn = self._turn
        return self._close() if turn is not None and turn.role == "assistant" else []

    # -- per type -----------------------------------------------------------------------------

    def _decode(self, kind: str, data: dict[str, Any]) -> list[LiveDecoded]:
        event_id = _str(data.get("event_id"))
        if kind == "session.output_audio.delta":
            turn, out = self._open("assistant")
            assert turn.response_id is not None
            turn.audio = self.voice_fragment = True
            audio = pybase64.b64decode(data["delta"], validate=True)
            out.append(ResponseOutputAudioDelta(turn.response_id, turn.item_id, 0, audio))
            return out
        if kind == "session.output_transcript.delta":
            delta = _text(data["delta"])
            turn, out = self._open("assistant")
            assert turn.response_id is not None
            self.voice_fragment = True
            turn.parts.append(delta)
            out.append(ResponseOutputAudioTranscriptDelta(turn.response_id, turn.item_id, 0, delta))
            return out
        if kind == "session.input_transcript.delta":
            delta = _text(data["delta"])
            turn, out = self._open("user")
            turn.parts.append(delta)
            out.append(InputAudioTranscriptionDelta(turn.item_id, 0, delta, event_id))
            return out
        if kind == "response.event":
            return self._backend_event(data, event_id)
        if kind == "session.delegation.created":
            delegation = data["delegation"]
            out = self._close_user()
            out.append(
                LiveDelegationCreated(
                    _text(delegation["id"]),
                    _text(delegation["target"]),
                    _str(delegation.get("response_id")) or None,
                    int(data["offset_ms"]),
                    event_id,
                )
            )
            return out
        if kind == "error":
            error = data["error"]
            client_event_id = error.get("client_event_id") or data.get("client_event_id")
            return [
                ServerError(
                    _str(error.get("type")) or "server_error",
                    _str(error.get("message")),
                    _str(error.get("code")) or None,
                    _str(error.get("param")) or None,
                    _str(client_event_id) or None,
                    event_id,
                )
            ]
        if kind in ("session.started", "session.updated"):
            session = data["session"]
            if not isinstance(session, dict):
                raise TypeError("session is not an object")
            return [LiveSessionStarted(session, kind == "session.updated", event_id)]
        if kind == "session.instructions.appended":
            return [
                LiveInstructionsAppended(
                    int(data["start_ms"]),
                    int(data["end_ms"]),
                    _str(data.get("client_event_id")) or None,
                    event_id,
                )
            ]
        if kind == "session.usage.updated":
            window = data.get("context_window")
            ratio = window.get("usage_ratio") if isinstance(window, dict) else None
            return [LiveUsageUpdated(float(data["usage"]["seconds"]), ratio, event_id)]
        if kind == "session.closed":
            out = self._close()
            out.append(
                LiveSessionClosed(_text(data["reason"]), float(data["usage"]["seconds"]), event_id)
            )
            return out
        if kind in _NOTICES:
            return [LiveNotice(kind, data, event_id)]
        return [UnknownServerEvent(kind, data)]

    def _backend_event(self, data: dict[str, Any], event_id: str) -> list[LiveDecoded]:
        delegation_id = _str(data.get("delegation_id")) or None
        inner = data["event"]
        if not isinstance(inner, dict):
            raise TypeError("event is not an object")
        kind = inner.get("type")
        if kind == "response.created":
            response = inner["response"]
            rid = self._backend[delegation_id] = ResponseId(_text(response["id"]))
            return [ResponseCreated(rid, response, event_id)]
        current = self._backend.get(delegation_id) or self._backend.get(None)
        if kind == "response.output_item.done" and current is not None:
            item = inner["item"]
            if not isinstance(item, dict):
                raise TypeError("item is not an object")
            index = inner.get("output_index", 0)
            self._outputs.setdefault(current, []).append(item)
            return [
                ResponseOutputItemDone(
                    current, index if type(index) is int else 0, item, event_id, function_call_item(item)
                )
            ]
        if kind in _BACKEND_DONE:
            response = inner.get("response") or {}
            done = ResponseId(_str(response.get("id"))) if response.get("id") else current
            if done is not None:
                status = _str(response.get("status")) or str(kind).removeprefix("response.")
                # Live clears a snapshot's output; Realtime's `response.done` lists it, and
                # what reads it (the caller's settle logic, missed calls) expects it there.
                items = self._outputs.pop(done, [])
                if items and not response.get("output"):
                    response = {**response, "output": items}
                calls = tuple(c for c in map(function_call_item, items) if c is not None)
                return [ResponseDone(done, status, response, event_id, calls)]
        return [LiveBackendEvent(delegation_id, inner, event_id)]

    # -- turns --------------------------------------------------------------------------------

    def _open(self, role: str) -> tuple[_Turn, list[LiveDecoded]]:
        turn = self._turn
        if turn is not None and turn.role == role:
            return turn, []
        out = self._close()
        self._turns += 1
        number = self._turns
        if role == "user":
            turn = _Turn(role, ItemId(f"live_user_{number}"))
            item = {
                "id": turn.item_id,
                "type": "message",
                "role": "user",
                "status": "in_progress",
                "content": [{"type": "input_audio", "transcript": None}],
            }
            out.append(ConversationItemAdded(item))
            # Live has no commit: the turn is "committed" when it starts (input checks arm).
            out.append(InputAudioBufferCommitted(turn.item_id))
        else:
            turn = _Turn(role, ItemId(f"live_out_{number}"), ResponseId(f"live_voice_{number}"))
            item = {
                "id": turn.item_id,
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [{"type": "output_audio", "transcript": ""}],
            }
            out.append(ConversationItemAdded(item))
            out.append(LiveVoiceTurn(ResponseId(f"live_voice_{number}"), turn.item_id))
        self._turn = turn
        return turn, out

    def _close_user(self) -> list[LiveDecoded]:
        turn = self._turn
        return self._close() if turn is not None and turn.role == "user" else []

    def _close(self) -> list[LiveDecoded]:
        turn, self._turn = self._turn, None
        if turn is None:
            return []
        text = "".join(turn.parts)
        if turn.role == "user":
            return [InputAudioTranscriptionCompleted(turn.item_id, 0, text)]
        rid = turn.response_id
        assert rid is not None
        out: list[LiveDecoded] = [ResponseOutputAudioTranscriptDone(rid, turn.item_id, 0, 0, text)]
        if turn.audio:
            out.append(ResponseOutputAudioDone(rid, turn.item_id, 0, 0))
        item: JsonMapping = {
            "id": turn.item_id,
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_audio", "transcript": text}],
        }
        out.append(ConversationItemDone(item))
        out.append(LiveVoiceTurn(rid, turn.item_id, done=True))
        return out


def _str(value: object) -> str:
    return value if type(value) is str else ""


def _text(value: object) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _prefix(frame: str | bytes) -> str:
    if isinstance(frame, bytes):
        return frame[:_PREFIX_CHARS].decode("utf-8", "replace")
    return str(frame)[:_PREFIX_CHARS]
