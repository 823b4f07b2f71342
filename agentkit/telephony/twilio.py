"""The Twilio Media Streams bridge, sans I/O: Twilio's messages and the session's events in;
messages for Twilio and calls for the session out.

Like `websockets`' `Protocol`, `TwilioMediaBridge` touches no socket: the pump
(`telephony.routes`) feeds it what Twilio sent (`receive()`) and what the session emitted
(`session_event()`), then sends `data_to_send()` to Twilio and applies `actions()` to the
session. So every rule below is a plain unit test.

- **Audio is G.711 μ-law end to end.** Twilio streams 8 kHz μ-law; the realtime session is
  configured for the same (`audio/pcmu`, `g711_ulaw` in beta), so the caller's bytes are
  appended as they came and the agent's bytes are played as they came: no decoding,
  resampling or re-encoding anywhere (base64 is only the wire's framing of those bytes).
- **Playback position from marks.** Each chunk of agent audio sent to Twilio is followed by
  a `mark`; Twilio echoes a mark once the audio before it has been played, which is how much
  of the item the caller has heard (`Played`, then `RealtimeSession.playback_position`). A
  barge-in truncates the item exactly there.
- **Barge-in.** When the session interrupts the agent (`AudioInterrupted`: the service heard
  the caller start speaking, or a key was pressed), Twilio is told to `clear` its buffer.
  Twilio then echoes the marks it dropped; those were never played, so they are forgotten
  first.
- **DTMF.** A `dtmf` message becomes `PressKeys` (`RealtimeSession.press_keys`).
- **Bad input** (not JSON, an unknown shape, media before `start`, another stream's id,
  a message or a payload over the limits) is reported as `BadMessage` for the pump to log,
  and changes nothing: the call goes on.

Messages are checked at the door by pydantic models of Twilio's documented shapes (unknown
extra fields are allowed: Twilio adds some over time).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

import orjson
import pybase64
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..events import AudioEnd, AudioInterrupted, AudioOut, SessionEvent

__all__ = [
    "MAX_MESSAGE_BYTES",
    "AppendAudio",
    "BadMessage",
    "BridgeAction",
    "CallStarted",
    "CallStopped",
    "Played",
    "PressKeys",
    "TwilioMediaBridge",
]

MAX_MESSAGE_BYTES: Final = 64 * 1024
"""The largest Twilio message taken (Twilio's media messages carry 20 ms: ~250 bytes)."""
_ULAW_BYTES_PER_MS: Final = 8  # 8 kHz, one byte a sample


# -- what Twilio sends (https://www.twilio.com/docs/voice/media-streams/websocket-messages) --

class _Message(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Connected(_Message):
    event: Literal["connected"]


class _StartInfo(_Message):
    streamSid: str
    callSid: str = ""
    accountSid: str = ""
    customParameters: dict[str, str] = Field(default_factory=dict)


class _Start(_Message):
    event: Literal["start"]
    start: _StartInfo


class _MediaInfo(_Message):
    payload: str
    track: str = "inbound"


class _Media(_Message):
    event: Literal["media"]
    streamSid: str
    media: _MediaInfo


class _MarkInfo(_Message):
    name: str


class _Mark(_Message):
    event: Literal["mark"]
    streamSid: str
    mark: _MarkInfo


class _DtmfInfo(_Message):
    digit: Annotated[str, Field(pattern=r"^[0-9*#A-D]$")]


class _Dtmf(_Message):
    event: Literal["dtmf"]
    streamSid: str
    dtmf: _DtmfInfo


class _Stop(_Message):
    event: Literal["stop"]
    streamSid: str


_TWILIO_MESSAGE: Final[TypeAdapter[Any]] = TypeAdapter(
    Annotated[_Connected | _Start | _Media | _Mark | _Dtmf | _Stop, Field(discriminator="event")]
)


# -- what the bridge asks of the session -------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CallStarted:
    """Twilio's `start`: the stream is open (greet the caller now)."""

    stream_sid: str
    call_sid: str
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AppendAudio:
    """The caller's μ-law audio, exactly as Twilio sent it: `session.send_audio(audio)`."""

    audio: bytes


@dataclass(frozen=True, slots=True)
class PressKeys:
    """The caller pressed `keys`: `session.press_keys(keys)`."""

    keys: str


@dataclass(frozen=True, slots=True)
class Played:
    """Twilio has played `played_ms` of item `item_id` (all of it when `finished`):
    `session.playback_position(item_id, played_ms, finished=finished)`."""

    item_id: str
    played_ms: float
    finished: bool = False


@dataclass(frozen=True, slots=True)
class CallStopped:
    """Twilio's `stop`: the caller hung up (end the session)."""


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A message the bridge refused; `reason` is for the log. Nothing changed."""

    reason: str


BridgeAction = CallStarted | AppendAudio | PressKeys | Played | CallStopped | BadMessage
"""Everything `TwilioMediaBridge.actions()` returns."""


@dataclass(slots=True)
class _Pending:
    item_id: str
    end_ms: float


class TwilioMediaBridge:
    """One Twilio Media Stream bridged to one realtime session (see the module docs).

    Args:
        max_message_bytes: Messages longer than this are refused unread.
        max_audio_bytes: A media payload decoding to more bytes than this is refused (the
            default is 1 s of μ-law; Twilio sends 20 ms).
    """

    def __init__(
        self, *, max_message_bytes: int = MAX_MESSAGE_BYTES, max_audio_bytes: int = 8000
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.max_audio_bytes = max_audio_bytes
        self.stream_sid: str | None = None
        self.call_sid: str | None = None
        self.stopped = False
        self._out: list[str] = []
        self._actions: list[BridgeAction] = []
        self._marks = 0
        # Marks sent and not yet echoed, in order: what each one says was played.
        self._pending: dict[str, _Pending] = {}
        self._sent_ms: dict[str, float] = {}  # per item: the audio sent to Twilio so far
        self._done_items: set[str] = set()  # items whose audio is all sent (`AudioEnd`)
        self.bad_messages = 0
        self._sid_json = ""

    # -- outputs ----------------------------------------------------------------------------

    def data_to_send(self) -> list[str]:
        """The messages for Twilio, in order; drains them."""
        out, self._out = self._out, []
        return out

    def actions(self) -> list[BridgeAction]:
        """What the session must do, in order; drains them."""
        actions, self._actions = self._actions, []
        return actions

    # -- from Twilio --------------------------------------------------------------------------

    def receive(self, message: str | bytes) -> None:
        """Handle one message Twilio sent."""
        if len(message) > self.max_message_bytes:
            self._bad(f"a message of {len(message)} bytes (over {self.max_message_bytes})")
            return
        try:
            parsed = _TWILIO_MESSAGE.validate_json(message)
        except ValidationError as exc:
            self._bad(f"not a Twilio Media Streams message: {_first_error(exc)}")
            return
        if isinstance(parsed, _Connected):
            return
        if isinstance(parsed, _Start):
            if self.stream_sid is not None:
                self._bad(f"a second start (stream {parsed.start.streamSid!r})")
                return
            info = parsed.start
            self.stream_sid, self.call_sid = info.streamSid, info.callSid
            self._sid_json = orjson.dumps(info.streamSid).decode()
            self._actions.append(CallStarted(info.streamSid, info.callSid, dict(info.customParameters)))
            return
        if self.stream_sid is None:
            self._bad(f"{parsed.event} before start")
            return
        if parsed.streamSid != self.stream_sid:
            self._bad(f"{parsed.event} for unknown stream {parsed.streamSid!r}")
            return
        if isinstance(parsed, _Media):
            self._media(parsed.media)
        elif isinstance(parsed, _Mark):
            self._mark(parsed.mark.name)
        elif isinstance(parsed, _Dtmf):
            self._actions.append(PressKeys(parsed.dtmf.digit))
        else:
            self.stopped = True
            self._actions.append(CallStopped())

    def _media(self, media: _MediaInfo) -> None:
        if media.track not in ("inbound", "inbound_track"):
            return  # a both-tracks stream also echoes our own audio back: not the caller
        payload = media.payload
        if len(payload) * 3 // 4 > self.max_audio_bytes:
            self._bad(f"a media payload of ~{len(payload) * 3 // 4} bytes (over {self.max_audio_bytes})")
            return
        try:
            audio = pybase64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            self._bad("a media payload that is not base64")
            return
        if audio:
            self._actions.append(AppendAudio(audio))

    def _mark(self, name: str) -> None:
        pending = self._pending
        if name not in pending:
            return  # dropped by a `clear` (Twilio echoes those too), or not ours
        # Twilio plays in order, so every earlier mark has been played as well.
        while True:
            first = next(iter(pending))
            mark = pending.pop(first)
            if first == name:
                break
        item = mark.item_id
        finished = item in self._done_items and not any(p.item_id == item for p in pending.values())
        if finished:
            self._done_items.discard(item)
            self._sent_ms.pop(item, None)
        self._actions.append(Played(item, mark.end_ms, finished))

    def _bad(self, reason: str) -> None:
        self.bad_messages += 1
        self._actions.append(BadMessage(reason))

    # -- from the session -----------------------------------------------------------------

    def session_event(self, event: SessionEvent) -> None:
        """Handle one event of the session (the others are not the bridge's business)."""
        if type(event) is AudioOut:
            self.play(event.item_id, event.audio)
        elif type(event) is AudioEnd:
            if event.item_id in self._sent_ms:
                self._done_items.add(event.item_id)
        elif type(event) is AudioInterrupted:
            self.clear()

    def play(self, item_id: str, audio: bytes) -> None:
        """Send the agent's `audio` (μ-law, as the session got it) and a mark after it."""
        sid = self.stream_sid
        if sid is None or self.stopped or not audio:
            return
        sent = self._sent_ms.get(item_id)
        if sent is None:
            # A new item: nothing of it is heard until Twilio says so (not a clock guess).
            sent = 0.0
            self._actions.append(Played(item_id, 0.0))
        end = sent + len(audio) / _ULAW_BYTES_PER_MS
        self._sent_ms[item_id] = end
        self._marks += 1
        name = str(self._marks)
        self._pending[name] = _Pending(item_id, end)
        payload = pybase64.b64encode(audio).decode("ascii")
        # Built as text: the payload is base64 (no escaping) and this runs per chunk.
        self._out.append(
            f'{{"event":"media","streamSid":{self._sid_json},"media":{{"payload":"{payload}"}}}}'
        )
        self._out.append(orjson.dumps({"event": "mark", "streamSid": sid, "mark": {"name": name}}).decode())

    def clear(self) -> None:
        """Stop what Twilio is playing (a barge-in): `clear`, and forget its marks."""
        sid = self.stream_sid
        if sid is None or self.stopped:
            return
        self._pending.clear()
        self._sent_ms.clear()
        self._done_items.clear()
        self._out.append(orjson.dumps({"event": "clear", "streamSid": sid}).decode())


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
