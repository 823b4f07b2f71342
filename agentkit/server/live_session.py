"""The sans-I/O state machine of one local GPT-Live session: `LiveServerSession`.

GPT-Live is a voice layer that listens and speaks, plus a backend (Responses) the voice
layer delegates work to. The local server plays both with what it already has: one Realtime
`ServerSession` (`session.py`) runs the conversation script, VAD, transcription and audio
pacing; this class speaks Live at its door and renders the core's events as Live events:

* the caller's audio goes to the core (muted: silence; during a fixture: dropped); its
  committed turns come back as `session.input_transcript.delta`s dated on the session clock;
* what a response says is the voice layer speaking (`session.output_audio.delta`,
  `session.output_transcript.delta` with `start_ms`/`end_ms`);
* a response's function call (a script `call:` step) is delegated work:
  `session.delegation.created`, then the Responses stream in `response.event`s
  (`response.created`, `response.output_item.added` / `.done`, `response.completed`);
* the client answers with `response.item.create` (the output) and `response.create`: the core
  continues the script (the backend's answer, spoken by the voice layer, reported as the
  backend's output too).

The session clock is milliseconds since the session opened. Client events are checked by
`protocol/live_schema.py` at the door; an error names its `param` and leaves the session
alive. `session.start` must come first, once; voice, format and voice instructions never
change; the session ends with `session.closed` (`close_requested`, `expired` at its maximum
duration, or a reason injected with `close(reason)`) and a close of the connection.

What the local server does not emulate, it refuses by name: Decisions and client
delegation, hosted tools, triggers, WebRTC `client` settings.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson
import pybase64

from ..audio import AudioFormat, Resampler, bytes_for_ms, convert, generate_silence
from ..logs import get_logger
from ..protocol.client_errors import InvalidClientEvent
from ..protocol.live_schema import check_live_event
from ..protocol.wire_types import JsonObject
from .errors import ClientError, describe
from .live_shapes import BACKEND_DONE, backend_item, backend_response, live_error, live_resource
from .model import ResponseModel, spoken_directive
from .session import MAX_APPEND_BASE64, CloseConnection, ServerSession
from .session_config import SessionOptions

__all__ = ["LIVE_MAX_FIXTURE_BYTES", "LiveServerSession", "Outgoing"]

LIVE_MAX_FIXTURE_BYTES: Final = 30 * 24_000 * 2
"""The longest audio fixture: 30 s of 24 kHz PCM16."""

_FORMATS: Final[Mapping[str, AudioFormat]] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "g711_ulaw",
    "audio/pcma": "g711_alaw",
}
_GA_FORMATS: Final[Mapping[AudioFormat, JsonObject]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}
_BUSY: Final = "conversation_already_has_active_response"
_OURS: Final = "live_internal_"  # event ids of the requests this class makes of the core
_FOREVER: Final = 10.0 * 365 * 24 * 3600
logger = get_logger("agentkit.server")

Audience = Literal["all", "primary", "sideband"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event to send, and to which connections (reflected audio differs per side)."""

    event: JsonObject
    audience: Audience = "all"


class LiveServerSession:
    """One Live session, no I/O (see the module docs). The pump calls `receive`, `poll` and
    `next_deadline` exactly as it does a `ServerSession`'s."""

    def __init__(
        self,
        *,
        model: ResponseModel,
        now: float,
        options: SessionOptions,
        session_id: str | None = None,
        wall_clock: float | None = None,
    ) -> None:
        self.model = model
        self.options = options
        self.id = session_id or f"sess_{secrets.token_hex(8)}"
        self.opened_at = now
        self._wall = now if wall_clock is None else wall_clock
        self._deadline = now + options.max_duration_s
        self.expires_at = int(self._wall + options.max_duration_s)
        self.started = False
        self.closed = False
        self.sidebands = 0
        """Sideband connections attached (reflected audio is made only for them)."""
        self.core: ServerSession | None = None
        """The Realtime session that plays the model, once started."""
        self.config: JsonObject = {}
        self._delegation: JsonObject = {}
        self._voice: Any = options.voice
        self._format: JsonObject = {"type": "audio/pcm", "rate": 24000}
        self._fmt: AudioFormat = "pcm16"
        self._in16: Resampler | None = None  # 16 kHz PCM sessions: the core runs at 24 kHz
        self._out16: Resampler | None = None
        self._ready: list[Outgoing | CloseConnection] = []
        self._timeline: list[tuple[float, int, Outgoing]] = []  # fixture audio, paced
        self._events = 0
        self._muted = False
        self._fixture_until: float | None = None
        self._speech: dict[str, list[int]] = {}  # caller item → [start_ms, end_ms]
        self._said_until = 0.0  # the output timeline: where the voice layer's speech ends
        self._heard_until = 0.0
        self._backend: dict[str, str | None] = {}  # core response → delegation id
        self._delegations = 0
        self._awaiting: str | None = None  # the delegation waiting for its calls' outputs
        self._creates: list[tuple[str, JsonObject]] = []  # requests of the core not yet placed
        self._placed: dict[str, JsonObject] = {}  # placed, until the core starts or refuses them
        self._core_busy = False  # the core has a response under way (as its events said)
        self._appended: list[str] = []
        self._sequence = 0  # of the nested Responses events
        self._spoke = False  # the voice layer said something since the caller last spoke
        self._first_delta: set[str] = set()  # core responses whose speech has started

    # --- the clock and the outbox ---------------------------------------------------------------

    def ms(self, now: float) -> int:
        """The session clock: milliseconds since the session opened."""
        return int((now - self.opened_at) * 1000)

    def _emit(self, event: JsonObject, audience: Audience = "all") -> None:
        self._events += 1
        event["event_id"] = f"event_live_{self._events}"
        self._ready.append(Outgoing(event, audience))

    def _error(self, message: str, code: str, param: str | None = None, cid: Any = None) -> None:
        self._emit(live_error(message, code, param=param, client_event_id=cid))

    # --- the pump's interface ---------------------------------------------------------------------

    def poll(self, now: float) -> list[Outgoing | CloseConnection]:
        """Everything due by `now`, in order; ends the session at its maximum duration."""
        if not self.closed and now >= self._deadline:
            self.close(now, "expired")
        timeline = self._timeline
        while timeline and timeline[0][0] <= now:
            self._ready.append(heapq.heappop(timeline)[2])
        core = self.core
        if core is not None and not self.closed:
            self._place_creates(now)
            for event in core.poll(now):
                if isinstance(event, dict):
                    self._render(event, now)
        if self._fixture_until is not None and now >= self._fixture_until:
            self._fixture_until = None
        out, self._ready = self._ready, []
        return out

    def next_deadline(self) -> float | None:
        """When `poll` next has something to do (`None` once closed)."""
        if self.closed:
            return None if not self._ready else -math.inf
        if self._ready:
            return -math.inf
        deadline = self._deadline
        if self._timeline:
            deadline = min(deadline, self._timeline[0][0])
        if self.core is not None:
            if self._creates and not self._core_busy:
                return -math.inf
            inner = self.core.next_deadline()
            if inner is not None:
                deadline = min(deadline, inner)
        return deadline

    def close(self, now: float, reason: str, cid: Any = None) -> None:
        """End the session: `session.closed` with `reason`, then close the connections."""
        if self.closed:
            return
        event: JsonObject = {
            "type": "session.closed",
            "reason": reason,
            "session": self._resource(),
            "usage": {"seconds": float(int(now - self.opened_at))},
        }
        if isinstance(cid, str):
            event["client_event_id"] = cid
        self._emit(event)
        self._ready.append(CloseConnection(1000, f"session closed: {reason}"))
        self._timeline.clear()
        self.closed = True

    def receive(self, raw: str | bytes, now: float, *, sideband: bool = False) -> None:
        """Handle one client text frame (JSON) from the primary or a sideband connection."""
        if self.closed:
            return
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            self._error(f"Invalid JSON in client event: {exc}", "invalid_json")
            return
        if not isinstance(event, dict):
            self._error("Client events must be JSON objects.", "invalid_event")
            return
        cid = event.get("event_id")
        try:
            self._handle(event, now, sideband)
        except (ClientError, InvalidClientEvent) as exc:
            self._error(exc.message, exc.code, exc.param, cid)
        except Exception as exc:  # a bug: answer as the service does, keep the session
            logger.warning("live client event %.60r failed: %s", event.get("type"), describe(exc))
            self._emit(live_error("The server had an error while processing your request.", "server_error", client_event_id=cid, kind="server_error"))

    # --- client events ----------------------------------------------------------------------------

    def _handle(self, event: JsonObject, now: float, sideband: bool) -> None:
        kind = event.get("type")
        if kind == "session.input_audio.append" and self.started:
            self._append(event, now)
            return
        if not self.started and kind != "session.start":
            raise ClientError(
                "Send session.start first and wait for session.started before other events.",
                "session_not_started",
                "type",
            )
        valid = check_live_event(event)
        cid = valid.event_id
        if kind == "session.start":
            if sideband:
                raise ClientError("A sideband connection attaches to a started session: do not send session.start.", "invalid_event", "type")
            if self.started:
                raise ClientError("The session has already started; session.start is accepted once.", "session_already_started", "type")
            self._start(event["session"], now, cid)
        elif kind == "session.update":
            self._update(event["session"], now, cid)
        elif kind == "session.input_audio.mute":
            self._muted = True
            self._emit({"type": "session.input_audio.muted", **_cid(cid)})
        elif kind == "session.input_audio.unmute":
            self._muted = False
            self._emit({"type": "session.input_audio.unmuted", **_cid(cid)})
        elif kind == "session.output_audio.fixture.play":
            self._fixture(event["audio"], now, cid)
        elif kind in ("session.instructions.append", "session.thinking.append", "session.commentary.append"):
            self._context(kind, event["content"], event["delegation_id"], now, cid)
        elif kind == "response.item.create":
            self._backend_item(event["item"], now)
        elif kind == "response.create":
            self._creates.append((f"{_OURS}rc_{self._events}_{len(self._creates)}", {"metadata": {"live": "backend", "delegation": self._awaiting or ""}}))
            self._awaiting = None
        elif kind == "session.close":
            self.close(now, "close_requested", cid)
        else:  # decision.*
            raise ClientError("The local server does not emulate Decisions sessions.", "unsupported", "type")

    def _start(self, session: JsonObject, now: float, cid: Any) -> None:
        delegation = session.get("delegation")
        if not isinstance(delegation, dict) or delegation.get("type") != "responses":
            raise ClientError(
                "The local server emulates Responses delegation only: set session.delegation to "
                '{"type": "responses", "responses": {...}}.',
                "unsupported",
                "session.delegation.type" if isinstance(delegation, dict) else "session.delegation",
            )
        responses = delegation.get("responses") or {}
        if not responses.get("model"):
            raise ClientError("Missing required parameter: 'session.delegation.responses.model'.", "missing_required_parameter", "session.delegation.responses.model")
        if session.get("triggers"):
            raise ClientError("The local server does not emulate Decisions triggers.", "unsupported", "session.triggers")
        if session.get("client") is not None:
            raise ClientError("session.client configures a WebRTC frontend; this is a WebSocket session.", "invalid_value", "session.client")
        tools = _function_tools(responses, "session.delegation.responses")
        audio = session.get("audio") or {}
        fmt = audio.get("format") or {"type": "audio/pcm", "rate": 24000}
        self._format, self._fmt = dict(fmt), _FORMATS[fmt["type"]]
        if fmt == {"type": "audio/pcm", "rate": 16000}:
            self._in16, self._out16 = Resampler(16000, 24000), Resampler(24000, 16000)
        self._voice = (audio.get("output") or {}).get("voice") or self.options.voice
        self.config = session
        self._delegation = {"type": "responses", "responses": dict(responses), "acknowledgement_delay_ms": delegation.get("acknowledgement_delay_ms", 0)}
        options = dataclasses.replace(self.options, max_duration_s=_FOREVER, model=str(responses["model"]))
        core_session: JsonObject = {
            "instructions": str(responses.get("instructions") or ""),
            "tools": tools,
            "audio": {
                "input": {"format": _GA_FORMATS[self._fmt], "transcription": {"model": "gpt-4o-mini-transcribe"}, "turn_detection": {"type": "server_vad"}},
                "output": {"format": _GA_FORMATS[self._fmt]},
            },
        }
        if responses.get("tool_choice") is not None:
            core_session["tool_choice"] = _tool_choice(responses["tool_choice"])
        self.core = core = ServerSession(model=self.model, now=now, options=options, session=core_session, session_id=self.id, wall_clock=self._wall)
        for index, item in enumerate(session.get("input") or ()):
            role = {"developer": "system"}.get(item["role"], item["role"])
            part = "output_text" if role == "assistant" else "input_text"
            text = item["content"][0]["text"]
            core.handle_event({"type": "conversation.item.create", "event_id": f"{_OURS}input_{index}", "item": {"type": "message", "role": role, "content": [{"type": part, "text": text}]}}, now)
        core.poll(now)  # the seeding's echoes: not for the client
        self.started = True
        self._emit({"type": "session.started", "session": self._resource(), **_cid(cid)})

    def _resource(self) -> JsonObject:
        if not self.config:
            return live_resource(self.id, self.expires_at, {"model": self.options.model}, {"type": "client"}, self._voice, self._format)
        return live_resource(self.id, self.expires_at, self.config, self._delegation, self._voice, self._format)

    def _update(self, update: JsonObject, now: float, cid: Any) -> None:
        if update.get("triggers"):
            raise ClientError("The local server does not emulate Decisions triggers.", "unsupported", "session.triggers")
        delegation = update.get("delegation")
        if delegation is not None:
            if delegation.get("type") != self._delegation["type"]:
                raise ClientError("The delegation type cannot change after startup.", "invalid_value", "session.delegation.type")
            changes = delegation.get("responses") or {}
            tools = _function_tools(changes, "session.delegation.responses") if "tools" in changes else None
            self._delegation["responses"].update(changes)
            if "acknowledgement_delay_ms" in delegation:
                self._delegation["acknowledgement_delay_ms"] = delegation["acknowledgement_delay_ms"]
            core_update: JsonObject = {"instructions": self._instructions()}
            if tools is not None:
                core_update["tools"] = tools
            if changes.get("tool_choice") is not None:
                core_update["tool_choice"] = _tool_choice(changes["tool_choice"])
            self._core_event({"type": "session.update", "session": core_update}, now)
        self._emit({"type": "session.updated", "session": self._resource(), **_cid(cid)})

    def _instructions(self) -> str:
        backend = str(self._delegation["responses"].get("instructions") or "")
        return "\n".join([backend, *self._appended]) if self._appended else backend

    def _append(self, event: JsonObject, now: float) -> None:
        audio_b64 = event.get("audio")
        if len(event) > 2 + ("event_id" in event) or type(audio_b64) is not str:
            check_live_event(event)
        assert isinstance(audio_b64, str)
        if len(audio_b64) > MAX_APPEND_BASE64:
            raise ClientError(f"Invalid 'audio': an append carries at most {MAX_APPEND_BASE64 // 2**20} MiB of base64 audio.", "invalid_value", "audio")
        try:
            data = pybase64.b64decode(audio_b64, validate=True)
        except ValueError:
            raise ClientError("Invalid base64 in 'audio'.", "invalid_value", "audio") from None
        if self.sidebands:
            reflected = data if self._in16 is None else Resampler(16000, 24000).process(data)
            if self._fmt != "pcm16":
                reflected = convert(data, self._fmt, "pcm16")
            self._emit_reflected({"type": "session.input_audio.append", "audio": pybase64.b64encode(reflected).decode()})
        if self._fixture_until is not None:
            return  # input during a fixture is dropped, not replayed
        if self._in16 is not None:
            data = self._in16.process(data)
        if self._muted:
            data = generate_silence(len(data) / (48 if self._fmt == "pcm16" else 8), self._fmt)
        assert self.core is not None
        self.core.append_audio(data, now)

    def _emit_reflected(self, event: JsonObject) -> None:
        # Reflected audio has no event_id (`SessionInputAudioAppend`).
        self._ready.append(Outgoing(event, "sideband"))

    def _fixture(self, audio_b64: str, now: float, cid: Any) -> None:
        try:
            pcm = pybase64.b64decode(audio_b64, validate=True)
        except ValueError:
            raise ClientError("Invalid base64 in 'audio'.", "invalid_value", "audio") from None
        if len(pcm) > LIVE_MAX_FIXTURE_BYTES or len(pcm) % 2:
            raise ClientError("A fixture is at most 30 seconds of 24 kHz PCM16 audio (whole samples).", "invalid_value", "audio")
        if self._fixture_until is not None:
            raise ClientError("An audio fixture is already playing.", "fixture_active", "type")
        self._core_event({"type": "response.cancel"}, now, quiet=True)
        self._emit({"type": "session.output_audio.fixture.playing", **_cid(cid)})
        chunk = bytes_for_ms(self.options.audio_chunk_ms, "pcm16")
        realtime = self.options.pace == "realtime"
        due = now
        for start in range(0, len(pcm), chunk):
            piece = pcm[start : start + chunk]
            self._schedule(due, self._audio_out(convert(piece, "pcm16", self._fmt) if self._out16 is None else Resampler(24000, 16000).process(piece), piece, due))
            if realtime:
                due += len(piece) / 48_000
        self._events += 1
        self._schedule(due, Outgoing({"type": "session.output_audio.fixture.played", "event_id": f"event_live_{self._events}", **_cid(cid)}))
        self._fixture_until = due

    def _schedule(self, due: float, out: Outgoing) -> None:
        heapq.heappush(self._timeline, (due, len(self._timeline) + self._events, out))

    def _context(self, kind: str, content: str, delegation_id: str | None, now: float, cid: Any) -> None:
        if delegation_id is not None:
            raise ClientError("Non-null delegation ids are not accepted with Responses delegation.", "invalid_value", "delegation_id")
        if self._fixture_until is not None:
            raise ClientError("Rejected while an audio fixture is playing.", "fixture_active", "type")
        if len(content) > 2000:  # ~500 tokens
            raise ClientError("Invalid 'content': at most 500 tokens.", "string_above_max_length", "content")
        at = self.ms(now)
        self._emit({"type": kind.replace(".append", ".appended"), "start_ms": at, "end_ms": at, **_cid(cid)})
        if kind == "session.instructions.append":
            self._appended.append(content)
            self._core_event({"type": "session.update", "session": {"instructions": self._instructions()}}, now)
            said = spoken_directive(content)
        else:
            said = content if kind == "session.commentary.append" else None
        if said:
            # The voice layer acts on it: the scripted voice says what it is told to.
            self._creates.append((f"{_OURS}say_{self._events}", {"instructions": f'Say exactly: "{said}"', "metadata": {"live": "voice"}}))

    def _backend_item(self, item: JsonObject, now: float) -> None:
        if item.get("type") == "function_call_output":
            wire: JsonObject = {"type": "function_call_output", "call_id": item["call_id"], "output": item["output"]}
        else:
            content = item["content"]
            text = content if isinstance(content, str) else " ".join(part["text"] for part in content)
            role = "system" if item["role"] != "user" else "user"
            wire = {"type": "message", "role": role, "content": [{"type": "input_text", "text": text}]}
        self._core_event({"type": "conversation.item.create", "item": wire}, now)

    def _core_event(self, event: JsonObject, now: float, *, quiet: bool = False) -> None:
        assert self.core is not None
        self._events += 1
        event["event_id"] = f"{_OURS}{'quiet_' if quiet else ''}{self._events}"
        self.core.handle_event(event, now)

    def _place_creates(self, now: float) -> None:
        """Send the core the response requests it can take now (one response at a time)."""
        if self._creates and not self._core_busy:
            event_id, params = self._creates.pop(0)
            self._placed[event_id] = params
            self._core_busy = True  # until its `response.created`, or a refusal, says otherwise
            assert self.core is not None
            self.core.handle_event({"type": "response.create", "event_id": event_id, "response": params}, now)

    # --- the core's events, as Live events ---------------------------------------------------

    def _render(self, event: JsonObject, now: float) -> None:
        kind = event["type"]
        if kind == "response.output_audio.delta":
            pcm = pybase64.b64decode(event["delta"])
            sent = pcm if self._out16 is None else self._out16.process(pcm)
            self._ready.append(self._audio_out(sent, pcm if self._fmt == "pcm16" else convert(pcm, self._fmt, "pcm16"), now))
        elif kind == "response.output_audio_transcript.delta":
            delta = event["delta"]
            if event["response_id"] not in self._first_delta:
                # A new utterance of the same turn: its first fragment is a new word.
                self._first_delta.add(event["response_id"])
                if self._spoke and not delta.startswith(" "):
                    event["delta"] = " " + delta
            self._spoke = True
            start = max(self._heard_until, float(self.ms(now)))
            end = start + len(event["delta"]) * 60_000 / (self.options.words_per_minute * 6)
            self._heard_until = end
            self._emit({"type": "session.output_transcript.delta", "delta": event["delta"], "start_ms": int(start), "end_ms": int(end)})
        elif kind == "input_audio_buffer.speech_started":
            self._speech[event["item_id"]] = [event["audio_start_ms"], event["audio_start_ms"]]
        elif kind == "input_audio_buffer.speech_stopped":
            self._speech.setdefault(event["item_id"], [event["audio_end_ms"]] * 2)[1] = event["audio_end_ms"]
        elif kind == "conversation.item.input_audio_transcription.delta":
            self._spoke = False
            start, end = self._speech.get(event["item_id"], [self.ms(now)] * 2)
            # What answers it comes after it on the timeline.
            self._heard_until = max(self._heard_until, float(end))
            self._said_until = max(self._said_until, float(end))
            self._emit({"type": "session.input_transcript.delta", "delta": event["delta"], "start_ms": start, "end_ms": end})
        elif kind == "response.created":
            self._response_created(event["response"], now)
        elif kind == "response.output_item.done":
            self._output_item(event, now)
        elif kind == "response.done":
            self._response_done(event["response"], now)
        elif kind == "error":
            self._core_error(event["error"])

    def _audio_out(self, sent: bytes, pcm24: bytes, now: float) -> Outgoing:
        """The voice layer's audio: as is on the primary connection; dated and as 24 kHz PCM16
        on sidebands (`OutputAudioDeltaEvent`)."""
        # No event_id: `OutputAudioDeltaEvent` has none (the hot path's events are unnamed).
        event: JsonObject = {"type": "session.output_audio.delta", "delta": pybase64.b64encode(sent).decode()}
        if not self.sidebands:
            return Outgoing(event)
        start = max(self._said_until, float(self.ms(now)))
        self._said_until = start + len(pcm24) / 48
        self._ready.append(Outgoing({**event, "delta": pybase64.b64encode(pcm24).decode(), "start_ms": int(start), "end_ms": int(self._said_until)}, "sideband"))
        return Outgoing(event, "primary")

    def _response_created(self, response: JsonObject, now: float) -> None:
        self._core_busy = True
        self._placed.clear()
        metadata = response.get("metadata") or {}
        if metadata.get("live") == "backend":
            delegation = metadata.get("delegation") or None
            self._backend[response["id"]] = delegation
            self._backend_event(delegation, {"type": "response.created", "response": self._snapshot(response["id"], "in_progress", now)})

    def _snapshot(self, response_id: str, status: str, now: float) -> JsonObject:
        responses = self._delegation["responses"]
        return backend_response(response_id, status, str(responses["model"]), int(self._wall + now - self.opened_at), responses.get("tool_choice"))

    def _backend_event(self, delegation: str | None, event: JsonObject) -> None:
        self._sequence += 1
        event["sequence_number"] = self._sequence
        self._emit({"type": "response.event", "delegation_id": delegation, "event": event})

    def _output_item(self, event: JsonObject, now: float) -> None:
        rid, item = event["response_id"], event["item"]
        backend = rid in self._backend
        if item.get("type") == "function_call" and not backend:
            # The voice layer delegates: the rest of this response is the backend's.
            self._delegations += 1
            created = f"dlg_{self.id[-8:]}_{self._delegations}"
            self._backend[rid] = created
            self._emit({"type": "session.delegation.created", "offset_ms": self.ms(now), "delegation": {"id": created, "target": "responses", "type": "delegation", "response_id": rid}})
            self._backend_event(created, {"type": "response.created", "response": self._snapshot(rid, "in_progress", now)})
            backend = True
        if not backend:
            return
        delegation = self._backend[rid]
        out = backend_item(item)
        if out is None:
            return
        if out["type"] == "function_call":
            self._awaiting = delegation
        index = event.get("output_index", 0)
        self._backend_event(delegation, {"type": "response.output_item.added", "output_index": index, "item": {**out, "status": "in_progress"}})
        self._backend_event(delegation, {"type": "response.output_item.done", "output_index": index, "item": out})

    def _response_done(self, response: JsonObject, now: float) -> None:
        self._core_busy = False
        rid = response["id"]
        if rid in self._backend:
            delegation = self._backend.pop(rid)
            status = str(response.get("status") or "completed")
            snapshot = self._snapshot(rid, status, now)
            self._backend_event(delegation, {"type": BACKEND_DONE.get(status, "response.incomplete"), "response": snapshot})
        self._emit({"type": "session.usage.updated", "usage": {"seconds": float(int(now - self.opened_at))}})

    def _core_error(self, error: JsonObject) -> None:
        cid = error.get("event_id")
        if isinstance(cid, str) and cid.startswith(_OURS):
            if error.get("code") == _BUSY and not cid.startswith(f"{_OURS}quiet_"):
                # The core is answering (the caller spoke): ask again when it is done.
                params = self._placed.pop(cid, None)
                if params is not None:
                    self._creates.insert(0, (cid, params))
                return
            if cid in self._placed:  # refused for another reason: not busy after all
                self._placed.pop(cid)
                self._core_busy = False
            if cid.startswith(f"{_OURS}quiet_"):
                return
            cid = None
        self._emit(live_error(str(error.get("message")), error.get("code"), param=error.get("param"), client_event_id=cid, kind=str(error.get("type") or "invalid_request_error")))



def _cid(cid: Any) -> JsonObject:
    return {"client_event_id": cid} if isinstance(cid, str) else {}


def _function_tools(responses: Mapping[str, Any], param: str) -> list[JsonObject]:
    tools: list[JsonObject] = []
    for index, tool in enumerate(responses.get("tools") or ()):
        if tool.get("type") != "function":
            raise ClientError(f"The local server emulates function tools only, not {tool.get('type')!r}.", "unsupported", f"{param}.tools[{index}].type")
        out: JsonObject = {"type": "function", "name": tool["name"], "description": tool.get("description") or ""}
        out["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
        tools.append(out)
    return tools


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str) or (isinstance(choice, dict) and choice.get("type") == "function" and set(choice) == {"type", "name"}):
        return choice
    raise ClientError("The local server emulates 'auto', 'none', 'required' and function tool choices only.", "unsupported", "session.delegation.responses.tool_choice")
