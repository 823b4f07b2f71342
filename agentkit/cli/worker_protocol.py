"""What an app and an `agentkit worker` say over the app's WebSocket.

The app connects to `ws://WORKER/v1/sessions/SESSION_ID` (any worker: the session moves with
the connection) and exchanges JSON text frames.

App → worker, checked at the door (`parse_client_message`, pydantic):

| message | does |
| --- | --- |
| `{"type": "text", "text": "..."}` | `session.send_text` |
| `{"type": "audio", "audio": "<base64>"}` | `session.send_audio` (the session's input format) |
| `{"type": "respond", "instructions": "..."}` | `session.respond` (`instructions` optional) |
| `{"type": "interrupt"}` | `session.interrupt` |
| `{"type": "approve", "call_id": "...", "always": false}` | `session.approve` |
| `{"type": "reject", "call_id": "...", "message": "..."}` | `session.reject` |
| `{"type": "end"}` | finish the conversation (it cannot be resumed) and close |

A message that does not fit gets `{"type": "error", "code": "invalid_message", "message": ...}`
back; the session goes on.

Worker → app: first `{"type": "session", "session_id", "worker", "resumed", "agent",
"history": [...], "answered": [...]}` (the conversation so far, and the calls a resume
answered), then every session event as `event_json` makes it: its `type` and its fields
(bytes in base64, history items as objects, errors as their message). Raw wire events are not
forwarded.

Close codes: 4400 a bad session id or a finished conversation, 4409 the session is live on
another worker (or was taken over), 4503 the store cannot be reached.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pybase64
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..errors import AgentKitError, UserError
from ..events import RawServerEvent, SessionEvent
from ..history import HistoryItem

__all__ = [
    "AudioMessage",
    "ClientMessage",
    "EndMessage",
    "InterruptMessage",
    "RespondMessage",
    "TextMessage",
    "event_json",
    "item_json",
    "parse_client_message",
]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextMessage(_Message):
    type: Literal["text"]
    text: str = Field(min_length=1)


class AudioMessage(_Message):
    type: Literal["audio"]
    audio: str = Field(min_length=1)

    def pcm(self) -> bytes:
        """The audio's bytes (`UserError` if it is not base64)."""
        try:
            return pybase64.b64decode(self.audio, validate=True)
        except ValueError as exc:
            raise UserError(f"audio: not base64 ({exc})") from exc


class RespondMessage(_Message):
    type: Literal["respond"]
    instructions: str | None = None


class InterruptMessage(_Message):
    type: Literal["interrupt"]


class ApproveMessage(_Message):
    type: Literal["approve"]
    call_id: str = Field(min_length=1)
    always: bool = False


class RejectMessage(_Message):
    type: Literal["reject"]
    call_id: str = Field(min_length=1)
    message: str | None = None
    always: bool = False


class EndMessage(_Message):
    type: Literal["end"]


ClientMessage = Annotated[
    TextMessage
    | AudioMessage
    | RespondMessage
    | InterruptMessage
    | ApproveMessage
    | RejectMessage
    | EndMessage,
    Field(discriminator="type"),
]
"""What an app may send (see the module docs)."""

_CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def parse_client_message(frame: str | bytes) -> ClientMessage:
    """The app's frame, checked; `UserError` naming what is wrong."""
    try:
        return _CLIENT_MESSAGE.validate_json(frame)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'message'}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        raise UserError(
            f"invalid message ({problems}); expected an object with a `type` of text, audio, "
            "respond, interrupt, approve, reject or end"
        ) from None


def item_json(item: HistoryItem) -> dict[str, Any]:
    """A history item as a JSON object (its fields by name)."""
    return _value(item)  # type: ignore[no-any-return]


def _value(value: Any) -> Any:
    if isinstance(value, bytes):
        return pybase64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, AgentKitError | BaseException):
        return {"kind": type(value).__name__, "message": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def event_json(event: SessionEvent) -> dict[str, Any] | None:
    """`event` as the worker sends it (None for raw wire events, which are not sent)."""
    if isinstance(event, RawServerEvent):
        return None
    data: dict[str, Any] = {"type": event.type}
    data.update(_value(event))
    return data
