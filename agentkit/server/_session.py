"""The sans-I/O state machine of one local realtime session.

`ServerSession` takes client frames and the current time in (`receive(raw, now)`,
`poll(now)`) and hands back what to send (`poll(now)` → GA server event dicts and at most one
`CloseConnection`) plus when to wake up next (`next_deadline()`). It never touches a socket,
a clock or an event loop: the transport in `_app.py` is a thin pump around it, and tests
drive it with made-up timestamps.

Output pacing is data: a response is planned up front as events with due times (audio
deltas one chunk apart, transcript words as their audio starts), kept in a heap, and
released by `poll(now)`. What has been released is what the client has "heard", so a
cancel or a barge-in closes the response consistently with exactly that audio and
transcript. Everything is GA-shaped; the beta dialect is a rendering at the edge.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import orjson
import pybase64

from .. import audio
from ..audio import AudioFormat, SpeechEngine
from ..errors import CompileError
from ..protocol.dialects import Dialect, client_event_beta_to_ga
from .model import ConversationEntry, FunctionCall, Message, ResponseModel, ResponseRequest
from .vad import SEMANTIC_SILENCE_MS, SpeechStarted, VadConfig, VoiceActivityDetector

__all__ = ["CloseConnection", "Pace", "ServerSession", "SessionOptions", "default_session"]

Pace = Literal["realtime", "fast"]
JSON = dict[str, Any]

DEFAULT_INSTRUCTIONS: Final = (
    "You are a helpful, concise voice assistant running on agentkit's local realtime server."
)
_MIN_COMMIT_MS: Final = 100
_CLIENT_EVENTS: Final[frozenset[str]] = frozenset(
    {
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "output_audio_buffer.clear",
        "conversation.item.create",
        "conversation.item.retrieve",
        "conversation.item.truncate",
        "conversation.item.delete",
        "response.create",
        "response.cancel",
    }
)
_FORMAT_NAMES: Final[dict[str, AudioFormat]] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "g711_ulaw",
    "audio/pcma": "g711_alaw",
}
_SESSION_KEYS: Final[frozenset[str]] = frozenset(
    {
        "type",
        "model",
        "instructions",
        "output_modalities",
        "audio",
        "tools",
        "tool_choice",
        "max_output_tokens",
        "tracing",
        "truncation",
        "prompt",
        "include",
        "reasoning",
        "parallel_tool_calls",
    }
)


@dataclass(frozen=True)
class CloseConnection:
    """Close every connection of the session with this WebSocket close code."""

    code: int
    reason: str


@dataclass(frozen=True)
class SessionOptions:
    """Server-side knobs of a session (not part of the wire session object)."""

    pace: Pace = "realtime"
    max_duration_s: float = 3600.0
    audio_chunk_ms: int = 100
    words_per_minute: int = 165
    speech_engine: SpeechEngine = "auto"
    """`auto`: espeak-ng when installed (intelligible), else the synthetic voice, whose
    durations are exact (`synthetic`: always, for tests that check audio arithmetic)."""
    model: str = "gpt-realtime"
    voice: str = "marin"
    request_limit: int = 5000
    token_limit: int = 400_000


def default_session(session_id: str, model: str, voice: str, expires_at: int) -> JSON:
    """The full effective GA session a new connection starts with."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": _turn_detection_defaults({"type": "server_vad"}),
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": voice, "speed": 1.0},
        },
    }


def _turn_detection_defaults(value: Mapping[str, Any]) -> JSON:
    if value.get("type") == "semantic_vad":
        base: JSON = {"type": "semantic_vad", "eagerness": "auto", "create_response": True, "interrupt_response": True}
    else:
        base = {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "idle_timeout_ms": None,
            "create_response": True,
            "interrupt_response": True,
        }
    base.update(value)
    return base


class _ClientError(Exception):
    """A client event the service would answer with an `error` event."""

    def __init__(self, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param


class _ChunkBuffer:
    """The input audio buffer: appended chunks kept as they came (no copy per append, and
    no reallocation of one ever-growing buffer); joined only when audio is taken out."""

    __slots__ = ("_chunks", "_size")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        if data:
            self._chunks.append(data if type(data) is bytes else bytes(data))
            self._size += len(data)

    def clear(self) -> None:
        self._chunks = []
        self._size = 0

    def getvalue(self) -> bytes:
        """Everything buffered, as one bytes object."""
        chunks = self._chunks
        if len(chunks) != 1:
            chunks[:] = [b"".join(chunks)] if chunks else []
        return chunks[0] if chunks else b""

    def cut(self, start: int, end: int) -> bytes:
        """`buffer[start:end]`, dropping everything before `end`."""
        whole = self.getvalue()
        rest = whole[end:]
        self._chunks = [rest] if rest else []
        self._size = len(rest)
        return whole[start:end]


class _Out:
    """A planned outbound event and what releasing it means (kept in the heap as
    `(due, seq, _Out)` so ordering is a C-level tuple comparison)."""

    __slots__ = ("event", "response_id", "track")

    def __init__(self, event: JSON, response_id: str | None, track: tuple[Any, ...] | None) -> None:
        self.event = event
        self.response_id = response_id
        self.track = track


@dataclass
class _Item:
    """A conversation item plus what the server knows beyond the wire form."""

    data: JSON
    audio: bytes = b""
    audio_format: AudioFormat = "pcm16"
    heard: str = ""  # what the model understood (audio turns: the model's transcript)
    word_starts_ms: tuple[float, ...] = ()  # for truncation of assistant audio transcripts


@dataclass
class _OutputPlan:
    item: JSON
    kind: Literal["audio", "text", "function_call"]
    audio: bytes = b""
    transcript: str = ""
    words: tuple[str, ...] = ()
    word_starts_ms: tuple[float, ...] = ()
    announced: bool = False
    released_bytes: int = 0
    released_chars: int = 0


@dataclass
class _Response:
    id: str
    base: float
    out_of_band: bool
    conversation_id: str | None
    modalities: list[str]
    audio_format: AudioFormat
    voice: Any
    metadata: Any
    max_output_tokens: Any
    outputs: list[_OutputPlan] = field(default_factory=list)
    audio_ms: float = 0.0
    input_tokens: int = 0
    done: bool = False


class ServerSession:
    """One realtime session, GA semantics, no I/O. See the module docstring."""

    def __init__(
        self,
        *,
        model: ResponseModel,
        now: float,
        options: SessionOptions = SessionOptions(),
        session: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        wall_clock: float | None = None,
    ) -> None:
        self.options = options
        self.model = model
        token = secrets.token_hex(6)
        self.id = session_id or f"sess_{token}"
        self._ids = itertools.count(1)
        self._token = token
        self._event_prefix = f"event_{token}"
        self.started_at = now
        self._deadline = now + options.max_duration_s
        wall = now if wall_clock is None else wall_clock
        self.session = default_session(
            self.id, options.model, options.voice, int(wall + options.max_duration_s)
        )
        self.beta_temperature: float | None = None
        self.conversation_id = self._new_id("conv")
        self.items: dict[str, _Item] = {}
        self.order: list[str] = []
        # Every caller line this session heard, in order, deleted items included: which
        # scripted line a new audio turn is follows what the caller already said, even when
        # the client removed a line from the conversation (an input guardrail does that).
        self._caller_lines: list[ConversationEntry] = []
        self._heap: list[tuple[float, int, _Out]] = []
        self._ready: list[JSON | CloseConnection] = []
        self._seq = itertools.count()
        self._buffer = _ChunkBuffer()
        self._buffer_start_ms = 0.0
        self._input_ms = 0.0
        self._speech_item: str | None = None
        self._speech_start_ms = 0
        self._responses: dict[str, _Response] = {}
        self._active: _Response | None = None
        self._audio_produced = False
        self._idle_start_ms: float | None = None
        self._requests_used = 0
        self._tokens_used = 0
        self.closed = False
        self._cache_settings()
        if session:
            self._apply_session(dict(session))
        self._vad = self._build_vad()

    # --- ids and emission ----------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._token}{next(self._ids):06d}"

    def _emit(self, event: JSON, now: float) -> None:
        self._release_due(now)
        event["event_id"] = f"{self._event_prefix}{next(self._ids):06d}"
        self._ready.append(event)

    def _schedule(self, due: float, event: JSON, response_id: str, track: tuple[Any, ...] | None = None) -> None:
        event["event_id"] = f"{self._event_prefix}{next(self._ids):06d}"
        heapq.heappush(self._heap, (due, next(self._seq), _Out(event, response_id, track)))

    def _error(self, now: float, message: str, code: str, *, param: str | None = None, event_id: Any = None, kind: str = "invalid_request_error") -> None:
        error: JSON = {"type": kind, "code": code, "message": message, "param": param, "event_id": event_id if isinstance(event_id, str) else None}
        self._emit({"type": "error", "error": error}, now)

    # --- the pump's interface ------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Emit `session.created` and `conversation.created`."""
        self._emit({"type": "session.created", "session": self.effective_session()}, now)
        self._emit({"type": "conversation.created", "conversation": {"id": self.conversation_id, "object": "realtime.conversation"}}, now)

    def effective_session(self) -> JSON:
        """A copy of the full effective GA session."""
        return orjson.loads(orjson.dumps(self.session))  # type: ignore[no-any-return]

    def poll(self, now: float) -> list[JSON | CloseConnection]:
        """Everything due by `now`, in order. Also ends the session at its maximum duration."""
        if not self.closed and now >= self._deadline:
            self.expire(now, "Your session hit the maximum duration of "
                        f"{self.options.max_duration_s / 60:g} minutes.")
        self._release_due(now)
        ready, self._ready = self._ready, []
        return ready

    def next_deadline(self) -> float | None:
        """When `poll` next has something to do (`None` once closed)."""
        if self.closed:
            return None
        if self._ready:
            return -math.inf
        if self._heap:
            return min(self._heap[0][0], self._deadline)
        return self._deadline

    def expire(self, now: float, message: str = "Your session hit the maximum duration of 60 minutes.") -> None:
        """End the session as the service does: `error` `session_expired`, then close 1001."""
        if self.closed:
            return
        self._release_due(now)
        self._heap.clear()
        self._error(now, message, "session_expired")
        self._ready.append(CloseConnection(1001, "session expired"))
        self.closed = True

    def receive(self, raw: str | bytes, now: float, dialect: Dialect = "ga") -> None:
        """Handle one client text frame (JSON), in the connection's dialect."""
        if self.closed:
            return
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            self._error(now, f"Invalid JSON in client event: {exc}", "invalid_event")
            return
        if not isinstance(event, dict):
            self._error(now, "Client events must be JSON objects.", "invalid_event")
            return
        self.handle_event(event, now, dialect)

    def handle_event(self, event: JSON, now: float, dialect: Dialect = "ga") -> None:
        """Handle one decoded client event."""
        event_id = event.get("event_id")
        kind = event.get("type")
        try:
            if kind == "input_audio_buffer.append":  # the hot path: no conversion, no copies
                audio_b64 = event.get("audio")
                if not isinstance(audio_b64, str):
                    raise _ClientError("Missing required parameter: 'audio'.", "invalid_event", "audio")
                try:
                    data = pybase64.b64decode(audio_b64, validate=True)
                except ValueError:
                    raise _ClientError("Invalid base64 in 'audio'.", "invalid_event", "audio") from None
                self.append_audio(data, now)
                return
            if kind is None:
                raise _ClientError("The 'type' field is missing.", "invalid_event", "type")
            if kind not in _CLIENT_EVENTS:
                raise _ClientError(f"Invalid value: '{kind}'. Supported values are: {', '.join(sorted(_CLIENT_EVENTS))}.", "invalid_event", "type")
            if dialect == "beta":
                event = self._from_beta(event)
            self._dispatch(kind, event, now)
        except _ClientError as exc:
            self._error(now, exc.message, exc.code, param=exc.param, event_id=event_id)

    def _from_beta(self, event: JSON) -> JSON:
        session = event.get("session")
        if event.get("type") == "session.update" and isinstance(session, dict) and "temperature" in session:
            session = dict(session)
            temperature = session.pop("temperature")
            if temperature is not None and not isinstance(temperature, int | float):
                raise _ClientError("Invalid type for 'session.temperature'.", "invalid_type", "session.temperature")
            self.beta_temperature = None if temperature is None else float(temperature)
            event = {**event, "session": session}
        response = event.get("response")
        if event.get("type") == "response.create" and isinstance(response, dict) and "temperature" in response:
            event = {**event, "response": {k: v for k, v in response.items() if k != "temperature"}}
        try:
            return client_event_beta_to_ga(event)
        except CompileError as exc:
            raise _ClientError(str(exc), "unknown_parameter", exc.field) from exc

    def _dispatch(self, kind: str, event: JSON, now: float) -> None:
        if kind == "session.update":
            self._session_update(event, now)
        elif kind == "input_audio_buffer.commit":
            self._commit(now, manual=True)
        elif kind == "input_audio_buffer.clear":
            self._buffer.clear()
            self._buffer_start_ms = self._input_ms
            self._speech_item = None
            self._vad.reset()
            self._emit({"type": "input_audio_buffer.cleared"}, now)
        elif kind == "output_audio_buffer.clear":
            raise _ClientError("output_audio_buffer.clear is only supported for WebRTC and SIP sessions.", "invalid_request_error")
        elif kind == "conversation.item.create":
            self._item_create(event, now)
        elif kind == "conversation.item.retrieve":
            item = self._lookup(event, now)
            payload = dict(item.data)
            if item.audio:
                payload["content"] = [dict(p) for p in payload.get("content", [])]
                for part in payload["content"]:
                    if part.get("type") in ("input_audio", "output_audio"):
                        part["audio"] = pybase64.b64encode(item.audio).decode()
            self._emit({"type": "conversation.item.retrieved", "item": payload}, now)
        elif kind == "conversation.item.delete":
            item = self._lookup(event, now)
            item_id = item.data["id"]
            del self.items[item_id]
            self.order.remove(item_id)
            self._emit({"type": "conversation.item.deleted", "item_id": item_id}, now)
        elif kind == "conversation.item.truncate":
            self._truncate(event, now)
        elif kind == "response.create":
            params = event.get("response") or {}
            if not isinstance(params, dict):
                raise _ClientError("Invalid type for 'response'.", "invalid_type", "response")
            self._start_response(params, now)
        elif kind == "response.cancel":
            self._release_due(now)
            target = event.get("response_id")
            response = self._responses.get(target) if isinstance(target, str) else self._active
            if response is None or response.done:
                raise _ClientError("Cancellation failed: no active response found", "response_cancel_not_active")
            self._cancel(response, "client_cancelled", now)

    # --- session.update ------------------------------------------------------------------------

    def _session_update(self, event: JSON, now: float) -> None:
        update = event.get("session")
        if not isinstance(update, dict):
            raise _ClientError("Missing required parameter: 'session'.", "invalid_event", "session")
        if update.get("type", "realtime") != "realtime":
            raise _ClientError("Only realtime sessions are supported by the local server.", "invalid_value", "session.type")
        self._apply_session(update)
        self._vad = self._build_vad(keep_position=True)
        self._emit({"type": "session.updated", "session": self.effective_session()}, now)

    def _apply_session(self, update: JSON) -> None:
        for key in update:
            if key not in _SESSION_KEYS:
                raise _ClientError(f"Unknown parameter: 'session.{key}'.", "unknown_parameter", f"session.{key}")
        merged = orjson.loads(orjson.dumps(self.session))
        for key, value in update.items():
            if key == "audio":
                self._merge_audio(merged, value)
            elif key == "model":
                # The reference says the model cannot change mid-session, but the service accepts
                # a `model` in session.update (the Agents SDK always sends one, often not the
                # URL's); the scripted model is the same whatever the name, so record it.
                if value is not None and not isinstance(value, str):
                    raise _ClientError("Invalid type for 'session.model'.", "invalid_type", "session.model")
                if value:
                    merged["model"] = value
            elif key in ("instructions",):
                if value is not None and not isinstance(value, str):
                    raise _ClientError("Invalid type for 'session.instructions'.", "invalid_type", "session.instructions")
                merged[key] = value or ""
            elif key == "tools":
                merged[key] = self._check_tools(value, "session.tools")
            elif key == "output_modalities":
                merged[key] = self._check_modalities(value, "session.output_modalities") or ["audio"]
            elif key != "type":
                merged[key] = value
        self.session = merged
        self._cache_settings()

    def _cache_settings(self) -> None:
        # Read on every audio append: resolve once per session.update, not per frame.
        audio_in = self.session["audio"]["input"]
        self._input_format: AudioFormat = _format_name(audio_in["format"], "session.audio.input.format")
        self._td: JSON | None = audio_in["turn_detection"]
        self._input_bytes_per_ms = audio.bytes_per_ms(self._input_format)

    def _merge_audio(self, merged: JSON, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise _ClientError("Invalid type for 'session.audio'.", "invalid_type", "session.audio")
        for direction, block in value.items():
            if direction not in ("input", "output"):
                raise _ClientError(f"Unknown parameter: 'session.audio.{direction}'.", "unknown_parameter", f"session.audio.{direction}")
            if block is None:
                continue
            target = merged["audio"][direction]
            allowed = ("format", "transcription", "noise_reduction", "turn_detection") if direction == "input" else ("format", "voice", "speed")
            for key, inner in block.items():
                param = f"session.audio.{direction}.{key}"
                if key not in allowed:
                    raise _ClientError(f"Unknown parameter: '{param}'.", "unknown_parameter", param)
                if key == "format":
                    _format_name(inner, param)
                    target[key] = inner if inner is not None else {"type": "audio/pcm", "rate": 24000}
                elif key == "turn_detection":
                    if inner is not None:
                        if not isinstance(inner, dict) or inner.get("type") not in ("server_vad", "semantic_vad"):
                            raise _ClientError(f"Invalid value for '{param}.type'.", "invalid_value", f"{param}.type")
                        inner = _turn_detection_defaults(inner)
                    target[key] = inner
                elif key == "voice":
                    if inner != target.get("voice") and self._audio_produced:
                        raise _ClientError("Cannot update a conversation's voice if assistant audio is present.", "cannot_update_voice", param)
                    target[key] = inner
                else:
                    target[key] = inner

    @staticmethod
    def _check_tools(value: Any, param: str) -> list[JSON]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _ClientError(f"Invalid type for '{param}'.", "invalid_type", param)
        for index, tool in enumerate(value):
            if not isinstance(tool, dict) or tool.get("type", "function") not in ("function", "mcp"):
                raise _ClientError(f"Invalid value for '{param}[{index}]'.", "invalid_value", f"{param}[{index}]")
            if tool.get("type", "function") == "function" and not isinstance(tool.get("name"), str):
                raise _ClientError(f"Missing required parameter: '{param}[{index}].name'.", "missing_required_parameter", f"{param}[{index}].name")
        return value

    @staticmethod
    def _check_modalities(value: Any, param: str) -> list[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or len(value) != 1 or value[0] not in ("audio", "text"):
            raise _ClientError(f"Invalid value for '{param}': expected ['audio'] or ['text'].", "invalid_value", param)
        return list(value)

    # --- input audio and VAD ---------------------------------------------------------------------

    @property
    def input_format(self) -> AudioFormat:
        """The session's input audio format."""
        return self._input_format

    @property
    def output_format(self) -> AudioFormat:
        """The session's output audio format."""
        return _format_name(self.session["audio"]["output"]["format"], "session.audio.output.format")

    def _turn_detection(self) -> JSON | None:
        return self._td

    def _build_vad(self, keep_position: bool = False) -> VoiceActivityDetector:
        td = self._turn_detection() or {"type": "server_vad"}
        if td.get("type") == "semantic_vad":
            config = VadConfig(silence_duration_ms=SEMANTIC_SILENCE_MS[td.get("eagerness") or "auto"])
        else:
            config = VadConfig(
                threshold=float(td.get("threshold", 0.5)),
                prefix_padding_ms=int(td.get("prefix_padding_ms", 300)),
                silence_duration_ms=int(td.get("silence_duration_ms", 500)),
            )
        vad = VoiceActivityDetector(config, audio.sample_rate(self.input_format))
        if keep_position:
            vad.skip_to(self._input_ms)
        return vad

    def append_audio(self, data: bytes, now: float) -> None:
        """Append decoded input audio (session input format); run VAD when it is on."""
        if self.closed:
            return
        fmt = self._input_format
        self._buffer.append(data)
        self._input_ms += len(data) / self._input_bytes_per_ms
        td = self._td
        if td is None:
            return
        if fmt == "pcm16":  # a view of the bytes, as `decode_to_pcm16` gives, minus two calls
            samples = np.frombuffer(data, dtype="<i2", count=len(data) >> 1)
        else:
            samples = audio.decode_to_pcm16(data, fmt)
        events = self._vad.feed(samples)
        if not events and not td.get("idle_timeout_ms"):
            return
        for vad_event in events:
            if isinstance(vad_event, SpeechStarted):
                self._speech_started(vad_event.audio_start_ms, td, now)
            else:
                self._speech_stopped(vad_event.audio_end_ms, td, now)
        idle = td.get("idle_timeout_ms")
        if (
            idle
            and self._idle_start_ms is not None
            and not self._vad.in_speech
            and self._active is None
            and self._input_ms - self._idle_start_ms >= idle
        ):
            self._idle_timeout(now)

    def _speech_started(self, start_ms: int, td: JSON, now: float) -> None:
        self._idle_start_ms = None
        self._speech_item = self._new_id("item")
        self._speech_start_ms = max(start_ms, int(self._buffer_start_ms))
        self._emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": start_ms, "item_id": self._speech_item}, now)
        self._release_due(now)
        if td.get("interrupt_response", True) and self._active is not None and not self._active.done:
            self._cancel(self._active, "turn_detected", now)

    def _speech_stopped(self, end_ms: int, td: JSON, now: float) -> None:
        item_id = self._speech_item or self._new_id("item")
        self._emit({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": end_ms, "item_id": item_id}, now)
        # Commit exactly the utterance (prefix padding included); audio after it stays buffered.
        fmt = self.input_format
        start = audio.bytes_for_ms(max(0.0, self._speech_start_ms - self._buffer_start_ms), fmt)
        end = audio.bytes_for_ms(max(0.0, end_ms - self._buffer_start_ms), fmt)
        utterance = self._buffer.cut(start, end)
        self._buffer_start_ms = max(self._buffer_start_ms, float(end_ms))
        self._speech_item = None
        self._add_user_audio(item_id, utterance, now)
        if td.get("create_response", True) and self._active is None:
            self._start_response({}, now)

    def _idle_timeout(self, now: float) -> None:
        assert self._idle_start_ms is not None
        item_id = self._new_id("item")
        self._emit({"type": "input_audio_buffer.timeout_triggered", "audio_start_ms": int(self._idle_start_ms), "audio_end_ms": int(self._input_ms), "item_id": item_id}, now)
        self._idle_start_ms = None
        utterance = self._buffer.getvalue()
        self._buffer.clear()
        self._buffer_start_ms = self._input_ms
        self._add_user_audio(item_id, utterance, now, heard="")
        self._start_response({}, now, idle=True)

    def _commit(self, now: float, *, manual: bool) -> None:
        fmt = self.input_format
        buffered = audio.duration_ms(len(self._buffer), fmt)
        if buffered < _MIN_COMMIT_MS:
            raise _ClientError(
                "Error committing input audio buffer: buffer too small. Expected at least 100ms "
                f"of audio, but buffer only has {buffered:.2f}ms of audio.",
                "input_audio_buffer_commit_empty",
            )
        item_id = self._speech_item or self._new_id("item")
        utterance = self._buffer.getvalue()
        self._buffer.clear()
        self._buffer_start_ms = self._input_ms
        self._speech_item = None
        self._vad.reset()
        self._add_user_audio(item_id, utterance, now)

    def _add_user_audio(self, item_id: str, data: bytes, now: float, heard: str | None = None) -> None:
        fmt = self.input_format
        ms = audio.duration_ms(len(data), fmt)
        text = self.model.transcribe(ms, tuple(self._caller_lines)) if heard is None else heard
        previous = self.order[-1] if self.order else None
        item: JSON = {"id": item_id, "object": "realtime.item", "type": "message", "role": "user", "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}
        self._insert(_Item(item, audio=data, audio_format=fmt, heard=text), previous)
        self._emit({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous}, now)
        self._emit({"type": "conversation.item.added", "item": _copy(item), "previous_item_id": previous}, now)
        self._emit({"type": "conversation.item.done", "item": _copy(item), "previous_item_id": previous}, now)
        if self.session["audio"]["input"]["transcription"] is not None and text:
            words = text.split(" ")
            for index, word in enumerate(words):
                delta = word if index == 0 else " " + word
                self._emit({"type": "conversation.item.input_audio_transcription.delta", "item_id": item_id, "content_index": 0, "delta": delta}, now)
            item["content"][0]["transcript"] = text
            self._emit({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id, "content_index": 0, "transcript": text, "usage": {"type": "duration", "seconds": round(ms / 1000, 3)}}, now)

    # --- conversation items ---------------------------------------------------------------------

    def _insert(self, item: _Item, previous: str | None) -> None:
        item_id = item.data["id"]
        self.items[item_id] = item
        if item.data.get("type") == "message" and item.data.get("role") == "user":
            self._caller_lines.append(ConversationEntry(kind="user", text=item.heard))
        if previous is None:
            self.order.append(item_id)
        elif previous == "root":
            self.order.insert(0, item_id)
        else:
            self.order.insert(self.order.index(previous) + 1, item_id)

    def _lookup(self, event: JSON, now: float) -> _Item:
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise _ClientError("Missing required parameter: 'item_id'.", "invalid_event", "item_id")
        item = self.items.get(item_id)
        if item is None:
            raise _ClientError(f"Item with item_id '{item_id}' not found.", "item_not_found", "item_id")
        return item

    def _item_create(self, event: JSON, now: float) -> None:
        data = event.get("item")
        if not isinstance(data, dict):
            raise _ClientError("Missing required parameter: 'item'.", "invalid_event", "item")
        previous = event.get("previous_item_id")
        if previous is not None and previous != "root" and previous not in self.items:
            raise _ClientError(f"Previous item with item_id '{previous}' not found.", "item_not_found", "previous_item_id")
        item = self._validate_item(data, "item")
        if item["id"] in self.items:
            raise _ClientError(f"Item with item_id '{item['id']}' already exists.", "duplicate_item_id", "item.id")
        after = previous if previous is not None else (self.order[-1] if self.order else None)
        audio_bytes = b""
        heard = ""
        for part in item.get("content", []):
            if part.get("type") == "input_audio" and isinstance(part.get("audio"), str):
                audio_bytes = pybase64.b64decode(part.pop("audio"))
                heard = part.get("transcript") or self.model.transcribe(audio.duration_ms(len(audio_bytes), self.input_format), self._entries_before(after))
            elif part.get("type") in ("input_text", "output_text"):
                heard = (heard + " " + part.get("text", "")).strip()
        self._insert(_Item(item, audio=audio_bytes, audio_format=self.input_format, heard=heard), after if after != "root" else "root")
        self._emit({"type": "conversation.item.added", "item": _copy(item), "previous_item_id": after if after != "root" else None}, now)
        self._emit({"type": "conversation.item.done", "item": _copy(item), "previous_item_id": after if after != "root" else None}, now)

    def _validate_item(self, data: JSON, param: str) -> JSON:
        kind = data.get("type")
        item = dict(data)
        item.setdefault("id", self._new_id("item"))
        item["object"] = "realtime.item"
        item.setdefault("status", "completed")
        if kind == "message":
            role = data.get("role")
            allowed = {"user": ("input_text", "input_audio", "input_image"), "system": ("input_text",), "assistant": ("output_text", "output_audio")}
            if role not in allowed:
                raise _ClientError(f"Invalid value for '{param}.role'.", "invalid_value", f"{param}.role")
            content = data.get("content")
            if not isinstance(content, list):
                raise _ClientError(f"Missing required parameter: '{param}.content'.", "invalid_event", f"{param}.content")
            for index, part in enumerate(content):
                if not isinstance(part, dict) or part.get("type") not in allowed[role]:
                    raise _ClientError(f"Invalid value for '{param}.content[{index}].type'.", "invalid_value", f"{param}.content[{index}].type")
                if role == "assistant" and part.get("type") == "output_audio" and part.get("audio"):
                    raise _ClientError("Assistant audio cannot be created by the client.", "invalid_value", f"{param}.content[{index}]")
            item["content"] = [dict(p) for p in content]
        elif kind == "function_call":
            for key in ("name", "arguments"):
                if not isinstance(data.get(key), str):
                    raise _ClientError(f"Missing required parameter: '{param}.{key}'.", "invalid_event", f"{param}.{key}")
            item.setdefault("call_id", self._new_id("call"))
        elif kind == "function_call_output":
            for key in ("call_id", "output"):
                if not isinstance(data.get(key), str):
                    raise _ClientError(f"Missing required parameter: '{param}.{key}'.", "invalid_event", f"{param}.{key}")
        else:
            raise _ClientError(f"Invalid value for '{param}.type': {kind!r}.", "invalid_value", f"{param}.type")
        return item

    def _truncate(self, event: JSON, now: float) -> None:
        item = self._lookup(event, now)
        end_ms = event.get("audio_end_ms")
        content_index = event.get("content_index")
        if not isinstance(end_ms, int) or isinstance(end_ms, bool) or end_ms < 0:
            raise _ClientError("Invalid value for 'audio_end_ms'.", "invalid_event", "audio_end_ms")
        if not isinstance(content_index, int) or content_index != 0:
            raise _ClientError("Invalid value for 'content_index'.", "invalid_value", "content_index")
        data = item.data
        if data.get("role") != "assistant" or not item.audio:
            raise _ClientError("Only assistant messages with audio can be truncated.", "invalid_value", "item_id")
        length = audio.duration_ms(len(item.audio), item.audio_format)
        if end_ms > length + 1e-6:
            raise _ClientError(f"Audio content of {length:.0f}ms is shorter than {end_ms}ms.", "invalid_value", "audio_end_ms")
        item.audio = item.audio[: audio.bytes_for_ms(end_ms, item.audio_format)]
        part = data["content"][0]
        words = part.get("transcript", "").split(" ") if part.get("transcript") else []
        # Drop the transcript the user never heard: keep words whose audio had started.
        heard = [w for w, start in zip(words, item.word_starts_ms, strict=False) if start < end_ms]
        part["transcript"] = " ".join(heard)
        item.heard = part["transcript"]
        self._emit({"type": "conversation.item.truncated", "item_id": data["id"], "content_index": 0, "audio_end_ms": end_ms}, now)

    # --- responses -------------------------------------------------------------------------------

    def _entries_before(self, previous: str | None) -> tuple[ConversationEntry, ...]:
        """The conversation up to and including `previous` (`None`: all of it; `"root"`:
        nothing) — what a new item inserted there follows."""
        if previous == "root":
            return ()
        end = len(self.order) if previous is None else self.order.index(previous) + 1
        return self._entries([self.items[i] for i in self.order[:end]])

    def _entries(self, items: Sequence[_Item]) -> tuple[ConversationEntry, ...]:
        entries: list[ConversationEntry] = []
        for item in items:
            data = item.data
            kind = data.get("type")
            if kind == "message":
                entries.append(ConversationEntry(kind=data["role"], text=item.heard))
            elif kind == "function_call":
                entries.append(ConversationEntry(kind="function_call", name=data.get("name"), call_id=data.get("call_id")))
            elif kind == "function_call_output":
                entries.append(ConversationEntry(kind="function_call_output", call_id=data.get("call_id"), output=data.get("output")))
        return tuple(entries)

    def _start_response(self, params: JSON, now: float, idle: bool = False) -> None:
        self._release_due(now)
        conversation = params.get("conversation", "auto")
        out_of_band = conversation == "none"
        if not out_of_band and self._active is not None and not self._active.done:
            raise _ClientError(
                f"Conversation already has an active response in progress: {self._active.id}. "
                "Wait until the response is finished before creating a new one.",
                "conversation_already_has_active_response",
            )
        modalities = self._check_modalities(params.get("output_modalities"), "response.output_modalities") or self.session["output_modalities"]
        instructions = params.get("instructions")
        if instructions is None:
            instructions = self.session["instructions"]
        tools = self._check_tools(params["tools"], "response.tools") if "tools" in params else self.session["tools"]
        audio_params = (params.get("audio") or {}).get("output") or {}
        fmt = _format_name(audio_params["format"], "response.audio.output.format") if audio_params.get("format") else self.output_format
        voice = audio_params.get("voice") or self.session["audio"]["output"]["voice"]
        metadata = params.get("metadata")
        if "input" in params:
            context = self._response_input(params.get("input") or [])
        else:
            context = [self.items[i] for i in self.order]
        request = ResponseRequest(
            instructions=instructions,
            tools=tuple(t.get("name", "") for t in tools if t.get("type", "function") == "function"),
            entries=self._entries(context),
            out_of_band=out_of_band,
            idle_timeout=idle,
            metadata=metadata,
            response_instructions=params.get("instructions") if isinstance(params.get("instructions"), str) else None,
        )
        outputs = self.model.respond(request)
        response = _Response(
            id=self._new_id("resp"),
            base=now,
            out_of_band=out_of_band,
            conversation_id=None if out_of_band else self.conversation_id,
            modalities=list(modalities),
            audio_format=fmt,
            voice=voice,
            metadata=metadata,
            max_output_tokens=params.get("max_output_tokens", self.session.get("max_output_tokens", "inf")),
            input_tokens=sum(max(1, len(i.heard) // 4) for i in context) + len(instructions) // 4,
        )
        self._responses[response.id] = response
        if not out_of_band:
            self._active = response
        self._plan(response, outputs, now)

    def _response_input(self, items: Any) -> list[_Item]:
        if not isinstance(items, list):
            raise _ClientError("Invalid type for 'response.input'.", "invalid_type", "response.input")
        context: list[_Item] = []
        for index, data in enumerate(items):
            if isinstance(data, dict) and data.get("type") == "item_reference":
                ref = self.items.get(data.get("id", ""))
                if ref is None:
                    raise _ClientError(f"Item with item_id '{data.get('id')}' not found.", "item_not_found", f"response.input[{index}].id")
                context.append(ref)
            elif isinstance(data, dict):
                item = self._validate_item(data, f"response.input[{index}]")
                heard = " ".join(p.get("text") or p.get("transcript") or "" for p in item.get("content", []))
                context.append(_Item(item, heard=heard.strip()))
            else:
                raise _ClientError(f"Invalid value for 'response.input[{index}]'.", "invalid_value", f"response.input[{index}]")
        return context

    def _response_object(self, response: _Response, status: str, output: list[JSON], usage: JSON | None = None, status_details: JSON | None = None) -> JSON:
        return {
            "id": response.id,
            "object": "realtime.response",
            "status": status,
            "status_details": status_details,
            "output": output,
            "conversation_id": response.conversation_id,
            "output_modalities": response.modalities,
            "max_output_tokens": response.max_output_tokens,
            "audio": {"output": {"format": dict(_FORMAT_OBJECTS[response.audio_format]), "voice": response.voice}},
            "usage": usage,
            "metadata": response.metadata,
        }

    def _plan(self, response: _Response, outputs: Sequence[Message | FunctionCall], now: float) -> None:
        """Lay out the whole response as timed events (the pacing is in the due times)."""
        fast = self.options.pace == "fast"
        rid = response.id
        self._emit({"type": "response.created", "response": self._response_object(response, "in_progress", [])}, now)
        self._requests_used += 1
        self._emit({"type": "rate_limits.updated", "rate_limits": self._rate_limits()}, now)
        offset = 0.0  # ms from response start
        previous = self.order[-1] if self.order else None
        for index, output in enumerate(outputs):
            item_id = self._new_id("item")
            if isinstance(output, FunctionCall):
                call_id = self._new_id("call")
                item: JSON = {"id": item_id, "object": "realtime.item", "type": "function_call", "status": "in_progress", "name": output.name, "call_id": call_id, "arguments": ""}
                plan = _OutputPlan(item=item, kind="function_call")
            else:
                text_mode = response.modalities == ["text"]
                item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
                plan = _OutputPlan(item=item, kind="text" if text_mode else "audio", transcript=output.text)
            response.outputs.append(plan)
            at = response.base + (0.0 if fast else offset / 1000)
            self._schedule(at, {"type": "response.output_item.added", "response_id": rid, "output_index": index, "item": _copy(item)}, rid, ("announce", index))
            if not response.out_of_band:
                self._schedule(at, {"type": "conversation.item.added", "item": _copy(item), "previous_item_id": previous}, rid)
            if isinstance(output, FunctionCall):
                args = output.arguments
                half = len(args) // 2
                for piece in (args[:half], args[half:]):
                    if piece:
                        self._schedule(at, {"type": "response.function_call_arguments.delta", "response_id": rid, "item_id": item_id, "output_index": index, "call_id": call_id, "delta": piece}, rid)
                self._schedule(at, {"type": "response.function_call_arguments.done", "response_id": rid, "item_id": item_id, "output_index": index, "call_id": call_id, "name": output.name, "arguments": args}, rid)
                item.update(status="completed", arguments=args)
            elif plan.kind == "text":
                self._schedule(at, {"type": "response.content_part.added", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "part": {"type": "text", "text": ""}}, rid)
                words = output.text.split(" ")
                sent = 0
                for w, word in enumerate(words):
                    delta = word if w == 0 else " " + word
                    sent += len(delta)
                    self._schedule(at, {"type": "response.output_text.delta", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "delta": delta}, rid, ("text", index, sent))
                self._schedule(at, {"type": "response.output_text.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "text": output.text}, rid)
                self._schedule(at, {"type": "response.content_part.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "part": {"type": "text", "text": output.text}}, rid)
                item.update(status="completed", content=[{"type": "output_text", "text": output.text}])
            else:
                offset = self._plan_audio(response, plan, index, offset, fast)
                at = response.base + (0.0 if fast else offset / 1000)
                item.update(status="completed", content=[{"type": "output_audio", "transcript": output.text}])
            self._schedule(at, {"type": "response.output_item.done", "response_id": rid, "output_index": index, "item": _copy(item)}, rid)
            if not response.out_of_band:
                self._schedule(at, {"type": "conversation.item.done", "item": _copy(item), "previous_item_id": previous}, rid)
                # The item joins the conversation now (so retrieve works mid-response); its
                # content is the planned one until the response ends or is cut short.
                stored = _Item(_copy(item), audio=plan.audio, audio_format=response.audio_format, heard=plan.transcript, word_starts_ms=plan.word_starts_ms)
                stored.data["status"] = "in_progress"
                self._insert(stored, previous)
                previous = item_id
        at = response.base + (0.0 if fast else offset / 1000)
        self._schedule(at, {"type": "response.done", "response": {}}, rid, ("done",))
        self._release_due(now)

    def _plan_audio(self, response: _Response, plan: _OutputPlan, index: int, offset: float, fast: bool) -> float:
        rid, item_id = response.id, plan.item["id"]
        fmt = response.audio_format
        encoded, chunks_b64 = _spoken(plan.transcript, self.options.words_per_minute, fmt, self.options.audio_chunk_ms, self.options.speech_engine)
        plan.audio = encoded
        total_ms = audio.duration_ms(len(encoded), fmt)
        words = plan.transcript.split(" ") if plan.transcript.strip() else []
        per_word = total_ms / max(1, len(words))
        plan.words = tuple(words)
        plan.word_starts_ms = tuple(i * per_word for i in range(len(words)))
        start = response.base + (0.0 if fast else offset / 1000)
        self._schedule(start, {"type": "response.content_part.added", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "part": {"type": "audio", "transcript": ""}}, rid)
        chunk = audio.bytes_for_ms(self.options.audio_chunk_ms, fmt)
        timeline: list[tuple[float, int, JSON, tuple[Any, ...]]] = []
        for n, pos in enumerate(range(0, len(encoded), chunk)):
            t = float(n * self.options.audio_chunk_ms)
            timeline.append((t, 0, {"type": "response.output_audio.delta", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "delta": chunks_b64[n]}, ("audio", index, min(len(encoded), pos + chunk))))
        chars = 0
        for w, word in enumerate(words):
            delta = word if w == 0 else " " + word
            chars += len(delta)
            timeline.append((plan.word_starts_ms[w], 1, {"type": "response.output_audio_transcript.delta", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "delta": delta}, ("transcript", index, chars)))
        timeline.sort(key=lambda entry: (entry[0], entry[1]))
        for at_ms, _, event, track in timeline:
            self._schedule(response.base + (0.0 if fast else (offset + at_ms) / 1000), event, rid, track)
        last_chunk = float(max(0, math.ceil(len(encoded) / chunk) - 1) * self.options.audio_chunk_ms)
        end = offset + last_chunk
        at = response.base + (0.0 if fast else end / 1000)
        self._schedule(at, {"type": "response.output_audio.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0}, rid)
        self._schedule(at, {"type": "response.output_audio_transcript.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "transcript": plan.transcript}, rid)
        self._schedule(at, {"type": "response.content_part.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "part": {"type": "audio", "transcript": plan.transcript}}, rid)
        response.audio_ms += total_ms
        return end

    def _rate_limits(self) -> list[JSON]:
        return [
            {"name": "requests", "limit": self.options.request_limit, "remaining": max(0, self.options.request_limit - self._requests_used), "reset_seconds": 0.012},
            {"name": "tokens", "limit": self.options.token_limit, "remaining": max(0, self.options.token_limit - self._tokens_used), "reset_seconds": 0.3},
        ]

    def _release_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, out = heapq.heappop(heap)
            if out.track is not None:
                self._on_release(out, due)
            self._ready.append(out.event)

    def _on_release(self, out: _Out, due: float) -> None:
        response = self._responses[out.response_id or ""]
        track = out.track
        assert track is not None
        kind = track[0]
        if kind == "audio":
            response.outputs[track[1]].released_bytes = track[2]
            self._audio_produced = True
        elif kind in ("transcript", "text"):
            response.outputs[track[1]].released_chars = track[2]
        elif kind == "announce":
            response.outputs[track[1]].announced = True
        elif kind == "done":
            self._finish(response, out.event, due)

    def _usage(self, response: _Response, output_text: str, audio_ms: float) -> JSON:
        text_tokens = max(0, len(output_text) // 4)
        audio_tokens = int(audio_ms / 50)
        output_tokens = text_tokens + audio_tokens
        self._tokens_used += output_tokens + response.input_tokens
        return {
            "total_tokens": response.input_tokens + output_tokens,
            "input_tokens": response.input_tokens,
            "output_tokens": output_tokens,
            "input_token_details": {"text_tokens": response.input_tokens, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 0, "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}},
            "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
        }

    def _finish(self, response: _Response, event: JSON, released_at: float) -> None:
        """`response.done` is going out: fill it in and settle the conversation."""
        response.done = True
        output = [_copy(plan.item) for plan in response.outputs]
        for plan in response.outputs:
            stored = self.items.get(plan.item["id"])
            if stored is not None:
                stored.data["status"] = "completed"
        text = " ".join(p.transcript for p in response.outputs)
        event["response"] = self._response_object(response, "completed", output, self._usage(response, text, response.audio_ms))
        if self._active is response:
            self._active = None
            # Idle timeout counts from when the user has heard the whole answer.
            remaining_ms = max(0.0, response.audio_ms - (released_at - response.base) * 1000)
            self._idle_start_ms = self._input_ms + remaining_ms

    def _cancel(self, response: _Response, reason: str, now: float) -> None:
        """Stop a response where the client is: close what was announced with what was sent."""
        self._release_due(now)
        if response.done:
            return
        self._heap = [entry for entry in self._heap if entry[2].response_id != response.id]
        heapq.heapify(self._heap)
        rid = response.id
        output: list[JSON] = []
        for index, plan in enumerate(response.outputs):
            item_id = plan.item["id"]
            if not plan.announced:
                if item_id in self.items:
                    del self.items[item_id]
                    self.order.remove(item_id)
                continue
            item = plan.item
            if plan.kind == "audio":
                heard_audio = plan.audio[: plan.released_bytes]
                transcript = plan.transcript[: plan.released_chars]
                base = {"response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0}
                self._emit({"type": "response.output_audio.done", **base}, now)
                self._emit({"type": "response.output_audio_transcript.done", **base, "transcript": transcript}, now)
                self._emit({"type": "response.content_part.done", **base, "part": {"type": "audio", "transcript": transcript}}, now)
                item = {**item, "status": "incomplete", "content": [{"type": "output_audio", "transcript": transcript}]}
                stored = self.items.get(item_id)
                if stored is not None:
                    stored.audio = heard_audio
                    stored.heard = transcript
            elif plan.kind == "text":
                text = plan.transcript[: plan.released_chars]
                base = {"response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0}
                self._emit({"type": "response.output_text.done", **base, "text": text}, now)
                self._emit({"type": "response.content_part.done", **base, "part": {"type": "text", "text": text}}, now)
                item = {**item, "status": "incomplete", "content": [{"type": "output_text", "text": text}]}
                stored = self.items.get(item_id)
                if stored is not None:
                    stored.heard = text
            stored = self.items.get(item_id)
            if stored is not None:
                stored.data = _copy(item)
            self._emit({"type": "response.output_item.done", "response_id": rid, "output_index": index, "item": _copy(item)}, now)
            if not response.out_of_band:
                self._emit({"type": "conversation.item.done", "item": _copy(item)}, now)
            output.append(_copy(item))
        response.done = True
        sent_ms = sum(audio.duration_ms(p.released_bytes, response.audio_format) for p in response.outputs)
        sent_text = " ".join(p.transcript[: p.released_chars] for p in response.outputs)
        details = {"type": "cancelled", "reason": reason}
        self._emit({"type": "response.done", "response": self._response_object(response, "cancelled", output, self._usage(response, sent_text, sent_ms), details)}, now)
        if self._active is response:
            self._active = None

    # --- faults that the core carries out -----------------------------------------------------

    def rate_limited(self, now: float) -> None:
        """Report exhausted rate limits and fail the next request, as the service does."""
        self._requests_used = self.options.request_limit
        self._tokens_used = self.options.token_limit
        self._emit({"type": "rate_limits.updated", "rate_limits": self._rate_limits()}, now)
        self._error(now, "Rate limit reached for requests. Please try again later.", "rate_limit_exceeded", kind="rate_limit_error")


_FORMAT_OBJECTS: Final[dict[AudioFormat, JSON]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}


def _format_name(value: Any, param: str) -> AudioFormat:
    if value is None:
        return "pcm16"
    if not isinstance(value, dict) or value.get("type") not in _FORMAT_NAMES:
        raise _ClientError(f"Invalid value for '{param}': expected an audio format object.", "invalid_value", param)
    if value.get("type") == "audio/pcm" and value.get("rate", 24000) != 24000:
        raise _ClientError(f"Invalid value for '{param}.rate': only 24000 is supported.", "invalid_value", f"{param}.rate")
    return _FORMAT_NAMES[value["type"]]


@functools.lru_cache(maxsize=256)
def _spoken(text: str, words_per_minute: int, fmt: AudioFormat, chunk_ms: int, engine: SpeechEngine = "auto") -> tuple[bytes, tuple[str, ...]]:
    """The audio of `text` in `fmt` and its base64 delta chunks, computed once per sentence:
    scripted models say the same sentences over and over, and synthesis plus base64 were the
    bulk of planning a response."""
    encoded = audio.encode_from_pcm16(audio.synthesize_speech(text, words_per_minute=words_per_minute, engine=engine), fmt)
    chunk = audio.bytes_for_ms(chunk_ms, fmt)
    pieces = tuple(pybase64.b64encode(encoded[pos : pos + chunk]).decode() for pos in range(0, len(encoded), chunk))
    return encoded, pieces


def _copy(value: JSON) -> JSON:
    out: JSON = orjson.loads(orjson.dumps(value))
    return out


