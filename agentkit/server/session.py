"""The sans-I/O state machine of one local realtime session: `ServerSession`.

`ServerSession` takes client frames and the current time in (`receive(raw, now)`,
`poll(now)`) and hands back what to send (`poll(now)` → GA server event dicts and at most one
`CloseConnection`) plus when to wake up next (`next_deadline()`). It never touches a socket,
a clock or an event loop: the transport (`app.py`, and any future WebRTC or SIP endpoint)
is a thin pump around it, and tests drive it with made-up timestamps.

It is a façade over one part per concern, each in its own module:

| part | module | what it owns |
| --- | --- | --- |
| `Outbox` | `outbox.py` | ids, the ready list, the heap of paced events |
| `merge_session` | `session_config.py` | the session object and `session.update` |
| `Conversation` | `items.py` | items, their order, `conversation.item.*` |
| `InputAudio` | `input_audio.py` | the input buffer, VAD, `input_audio_buffer.*` |
| `Responses` | `responses.py` | planning, pacing, cancelling responses |

A client can ask for far more than it reads (a `response.create` storm in fast pace is a
whole response per 27-byte event): once `MAX_BACKLOG` events wait unsent, client frames are
held, in order, and handled by the next `poll`s as what was due goes out. With the server
reading nothing from a peer whose writes back up (`hub.py`), what a session holds is bounded.

What has been released by `poll` is what the client has "heard", so a cancel or a barge-in
closes the response consistently with exactly that audio and transcript. Everything is
GA-shaped; the beta dialect is a rendering at the edge.
"""

from __future__ import annotations

import math
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
import pybase64

from ..audio import AudioFormat
from ..errors import CompileError
from ..logs import get_logger
from ..protocol.client_schema import MAX_EVENT_ID_LENGTH, InvalidClientEvent, check_client_event
from ..protocol.dialects import Dialect, client_event_beta_to_ga
from ..protocol.wire_types import JsonObject
from .errors import ClientError, describe, error_body
from .input_audio import InputAudio
from .items import Conversation, Item
from .model import ResponseModel
from .outbox import Outbox
from .responses import Responses
from .session_config import SessionOptions, default_session, format_name, merge_session

__all__ = ["MAX_APPEND_BASE64", "MAX_BACKLOG", "CloseConnection", "ServerSession"]

MAX_APPEND_BASE64: Final = 15 * 2**20
"""The most base64 audio one `input_audio_buffer.append` carries (the service's 15 MiB)."""

MAX_BACKLOG: Final = 1024
"""Events due and not yet taken by `poll` past which client frames wait (see module docstring)."""


def _plain_event_id(value: Any) -> bool:
    return type(value) is str and len(value) <= MAX_EVENT_ID_LENGTH


_DEFAULT_OPTIONS: Final = SessionOptions()
logger = get_logger("agentkit.server")


@dataclass(frozen=True)
class CloseConnection:
    """Close every connection of the session with this WebSocket close code."""

    code: int
    reason: str


class ServerSession:
    """One realtime session, GA semantics, no I/O. See the module docstring."""

    def __init__(
        self,
        *,
        model: ResponseModel,
        now: float,
        options: SessionOptions = _DEFAULT_OPTIONS,
        session: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        wall_clock: float | None = None,
    ) -> None:
        self.options = options
        self.model = model
        token = secrets.token_hex(6)
        self._outbox = outbox = Outbox(token)
        self.id = session_id or f"sess_{token}"
        self.started_at = now
        self._deadline = now + options.max_duration_s
        wall = now if wall_clock is None else wall_clock
        self.session: JsonObject = default_session(
            self.id, options.model, options.voice, int(wall + options.max_duration_s)
        )
        """The full effective GA session."""
        self.beta_temperature: float | None = None
        self.conversation_id = outbox.new_id("conv")
        self._conversation = Conversation(outbox, model)
        self._responses = Responses(
            outbox, self._conversation, model, options, self.conversation_id, self._heard_all
        )
        self.closed = False
        if session:
            self.session = merge_session(self.session, dict(session), audio_produced=False)
        self.mcp = self._responses.mcp
        """The session's remote MCP servers: the pump makes their `requests` (hosted MCP)."""
        self.mcp.configure(self.session["tools"], now)
        self._input = InputAudio(outbox, self._conversation, self._responses, model, self.session)
        self._held: deque[tuple[str | bytes, Dialect]] = deque()

    def _heard_all(self, remaining_ms: float) -> None:
        self._input.heard_all(remaining_ms)

    def _error(self, now: float, message: str, code: str, *, param: str | None = None, event_id: Any = None, kind: str = "invalid_request_error") -> None:
        error = error_body(message, code, param=param, event_id=event_id, kind=kind)
        self._outbox.emit({"type": "error", "error": error}, now)

    # --- what the session holds --------------------------------------------------------------

    @property
    def items(self) -> dict[str, Item]:
        """The conversation's items by id."""
        return self._conversation.items

    @property
    def order(self) -> list[str]:
        """The conversation's item ids, in order."""
        return self._conversation.order

    @property
    def input_format(self) -> AudioFormat:
        """The session's input audio format."""
        return self._input.input_format

    @property
    def output_format(self) -> AudioFormat:
        """The session's output audio format."""
        return format_name(self.session["audio"]["output"]["format"], "session.audio.output.format")

    def effective_session(self) -> JsonObject:
        """A copy of the full effective GA session."""
        return orjson.loads(orjson.dumps(self.session))  # type: ignore[no-any-return]

    # --- the pump's interface ------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Emit `session.created` and `conversation.created`."""
        emit = self._outbox.emit
        emit({"type": "session.created", "session": self.effective_session()}, now)
        emit({"type": "conversation.created", "conversation": {"id": self.conversation_id, "object": "realtime.conversation"}}, now)

    def poll(self, now: float) -> list[JsonObject | CloseConnection]:
        """Everything due by `now`, in order. Also ends the session at its maximum duration."""
        if not self.closed and now >= self._deadline:
            self.expire(now, "Your session hit the maximum duration of "
                        f"{self.options.max_duration_s / 60:g} minutes.")
        outbox = self._outbox
        outbox.release_due(now)
        out = outbox.take()
        held = self._held
        while held and len(outbox.ready) < MAX_BACKLOG and not self.closed:
            raw, dialect = held.popleft()
            self._receive(raw, now, dialect)
        if self.closed:
            held.clear()
        return out

    def next_deadline(self) -> float | None:
        """When `poll` next has something to do (`None` once closed)."""
        if self.closed:
            return None
        outbox = self._outbox
        if outbox.ready or self._held:
            return -math.inf
        if outbox.heap:
            return min(outbox.heap[0][0], self._deadline)
        return self._deadline

    def expire(self, now: float, message: str = "Your session hit the maximum duration of 60 minutes.") -> None:
        """End the session as the service does: `error` `session_expired`, then close 1001."""
        if self.closed:
            return
        self._outbox.release_due(now)
        self._outbox.heap.clear()
        self._error(now, message, "session_expired")
        self._outbox.ready.append(CloseConnection(1001, "session expired"))
        self.closed = True

    def receive(self, raw: str | bytes, now: float, dialect: Dialect = "ga") -> None:
        """Handle one client text frame (JSON), in the connection's dialect (later, in
        order, when `MAX_BACKLOG` events wait to be sent)."""
        if self.closed:
            return
        if self._held or len(self._outbox.ready) >= MAX_BACKLOG:
            self._held.append((raw, dialect))
            return
        self._receive(raw, now, dialect)

    def _receive(self, raw: str | bytes, now: float, dialect: Dialect) -> None:
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            self._error(now, f"Invalid JSON in client event: {exc}", "invalid_event")
            return
        if not isinstance(event, dict):
            self._error(now, "Client events must be JSON objects.", "invalid_event")
            return
        self.handle_event(event, now, dialect)

    def handle_event(self, event: JsonObject, now: float, dialect: Dialect = "ga") -> None:
        """Handle one decoded client event: checked against the client-event schema of
        `dialect` before any handler reads a field (`error` event when it fails)."""
        event_id = event.get("event_id")
        try:
            if event.get("type") == "input_audio_buffer.append":
                self._append(event, now, dialect)
                return
            check_client_event(event, dialect)
            if dialect == "beta":
                # Beta's names in errors come from the check above; the GA check after the
                # conversion is what the handlers rely on.
                event = self._from_beta(event)
                check_client_event(event, "ga")
            self._dispatch(event["type"], event, now)
        except (ClientError, InvalidClientEvent) as exc:
            self._error(now, exc.message, exc.code, param=exc.param, event_id=event_id)
        except Exception as exc:  # a bug: answer as the service does, keep the session
            logger.warning("client event %.60r failed: %s", event.get("type"), describe(exc))
            self._error(now, "The server had an error while processing your request.", "server_error", event_id=event_id, kind="server_error")

    def _append(self, event: JsonObject, now: float, dialect: Dialect) -> None:
        # The hot path (10-50 appends a second per session): a plain append (`type`, `audio`,
        # maybe a string `event_id`) skips the schema; anything else goes through it.
        audio_b64: Any = event.get("audio")
        size = len(event)
        if type(audio_b64) is not str or not (size == 2 or (size == 3 and _plain_event_id(event.get("event_id")))):
            check_client_event(event, dialect)
        if len(audio_b64) > MAX_APPEND_BASE64:
            raise ClientError(f"Invalid 'audio': an append carries at most {MAX_APPEND_BASE64 // 2**20} MiB of base64 audio.", "invalid_value", "audio")
        try:
            data = pybase64.b64decode(audio_b64, validate=True)
        except ValueError:
            raise ClientError("Invalid base64 in 'audio'.", "invalid_event", "audio") from None
        if not self._input.has_room(len(data)):
            raise ClientError(
                "The input audio buffer is full: commit or clear it before appending more.",
                "input_audio_buffer_full",
                "audio",
            )
        if not self.closed:
            self._input.append(data, now)

    def append_audio(self, data: bytes, now: float) -> None:
        """Append decoded input audio (session input format); run VAD when it is on."""
        if self.closed:
            return
        self._input.append(data, now)

    def _from_beta(self, event: JsonObject) -> JsonObject:
        session = event.get("session")
        if event.get("type") == "session.update" and isinstance(session, dict) and "temperature" in session:
            session = dict(session)
            temperature = session.pop("temperature")
            self.beta_temperature = None if temperature is None else float(temperature)
            event = {**event, "session": session}
        response = event.get("response")
        if event.get("type") == "response.create" and isinstance(response, dict) and "temperature" in response:
            event = {**event, "response": {k: v for k, v in response.items() if k != "temperature"}}
        try:
            return client_event_beta_to_ga(event)
        except CompileError as exc:
            raise ClientError(str(exc), "unknown_parameter", exc.field) from exc

    def _dispatch(self, kind: str, event: JsonObject, now: float) -> None:
        if kind == "session.update":
            self._session_update(event, now)
        elif kind == "input_audio_buffer.commit":
            self._input.commit(now)
        elif kind == "input_audio_buffer.clear":
            self._input.clear(now)
        elif kind == "output_audio_buffer.clear":
            raise ClientError("output_audio_buffer.clear is only supported for WebRTC and SIP sessions.", "invalid_request_error")
        elif kind == "conversation.item.create":
            self._conversation.create(event, now, self._input.input_format)
        elif kind == "conversation.item.retrieve":
            self._conversation.retrieve(event, now)
        elif kind == "conversation.item.delete":
            self._conversation.delete(event, now)
        elif kind == "conversation.item.truncate":
            self._conversation.truncate(event, now)
        elif kind == "response.create":
            self._responses.start(event.get("response") or {}, now, self.session)
        elif kind == "response.cancel":
            self._outbox.release_due(now)
            target = event.get("response_id")
            responses = self._responses
            response = responses.active if target is None else responses.by_id.get(target)
            if response is None or response.done:
                raise ClientError("Cancellation failed: no active response found", "response_cancel_not_active")
            responses.cancel(response, "client_cancelled", now)

    def _session_update(self, event: JsonObject, now: float) -> None:
        update = event["session"]
        self.session = merge_session(self.session, update, audio_produced=self._responses.audio_produced)
        self._input.configure(self.session, keep_position=True)
        self._outbox.emit({"type": "session.updated", "session": self.effective_session()}, now)
        self.mcp.configure(self.session["tools"], now)

    # --- faults that the core carries out -----------------------------------------------------

    def rate_limited(self, now: float) -> None:
        """Report exhausted rate limits and fail the next request, as the service does."""
        self._responses.exhaust()
        self._outbox.emit({"type": "rate_limits.updated", "rate_limits": self._responses.rate_limits()}, now)
        self._error(now, "Rate limit reached for requests. Please try again later.", "rate_limit_exceeded", kind="rate_limit_error")
