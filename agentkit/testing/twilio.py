"""`TwilioCaller`: a simulated Twilio Media Stream, for testing a phone bridge offline.

It does what Twilio does on a `<Connect><Stream>` call: opens the WebSocket with an
`X-Twilio-Signature` handshake, sends `connected` and `start`, streams the caller's audio as
20 ms `media` messages of real G.711 μ-law at 8 kHz (synthetic speech from `say()`, or any
bytes from `send_audio()`), keypad presses as `dtmf`, and `stop` at the end. The agent's
audio it receives is "played" the way Twilio plays it: a `mark` is echoed only once the audio
sent before it has been played, and a `clear` drops what was not played yet (and echoes the
marks it dropped, as Twilio does).

Playback is instant by default (`auto_play=True`: every mark is echoed as it arrives);
with `auto_play=False` the test decides how much has been played (`play(ms)`), which is how
a barge-in is made to land at a known position.

```python
async with TwilioCaller(bridge.media_url, auth_token="...") as phone:
    await phone.say("I'd like to return the speaker")
    await phone.press("0")
    await phone.wait_for(lambda: phone.clears == 1)
```
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import orjson
import pybase64
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ..audio import convert, generate_silence, synthesize_speech
from ..telephony.signatures import sign_twilio

__all__ = ["ReceivedMark", "TwilioCaller"]

_CHUNK = 160  # 20 ms of 8 kHz μ-law: what Twilio sends per media message


@dataclass(frozen=True)
class ReceivedMark:
    """A mark the bridge sent, with how much agent audio (ms) had arrived before it."""

    name: str
    at_ms: float


@dataclass
class _Queued:
    kind: Literal["media", "mark"]
    size: int = 0  # media: bytes left to play
    name: str = ""


@dataclass
class TwilioCaller:
    """A simulated Twilio call on the bridge at `url` (see the module docs).

    Args:
        url: The media stream's WebSocket URL (`ws://127.0.0.1:PORT/twilio/media`).
        auth_token: The account's auth token, to sign the handshake (`None`: unsigned).
        signed_url: The URL Twilio would sign (the public `wss://` one), default `url`.
        auto_play: Echo marks as soon as they arrive (instant playback).
        parameters: The `<Parameter>`s of the stream, sent in `start.customParameters`.
    """

    url: str
    auth_token: str | None = None
    signed_url: str | None = None
    auto_play: bool = True
    parameters: dict[str, str] = field(default_factory=dict)
    stream_sid: str = field(default_factory=lambda: "MZ" + secrets.token_hex(16))
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    heard: bytearray = field(default_factory=bytearray)
    """The agent's audio as received (μ-law), in order."""
    played_ms: float = 0.0
    """How much of it has been played (the rest was queued, or dropped by a clear)."""
    marks: list[ReceivedMark] = field(default_factory=list)
    echoed: list[str] = field(default_factory=list)
    """The mark names echoed back, in order."""
    clears: int = 0
    cleared_at_ms: list[float] = field(default_factory=list)
    """`played_ms` at each clear: where the caller stopped hearing the agent."""
    closed: bool = False
    _ws: ClientConnection | None = None
    _reader: asyncio.Task[None] | None = None
    _queue: list[_Queued] = field(default_factory=list)
    _partial: float = 0.0  # ms of the first queued media already played
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _sequence: int = 0
    _to_echo: list[str] = field(default_factory=list)

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> TwilioCaller:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.hang_up()

    async def connect(self) -> None:
        """Open the stream: the signed handshake, `connected`, `start`."""
        headers = {}
        if self.auth_token is not None:
            headers["X-Twilio-Signature"] = sign_twilio(self.auth_token, self.signed_url or self.url, ())
        self._ws = await connect(self.url, additional_headers=headers, compression=None)
        self._reader = asyncio.get_running_loop().create_task(self._read())
        await self.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self.send(
            {
                "event": "start",
                "streamSid": self.stream_sid,
                "start": {
                    "accountSid": "AC" + "0" * 32,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": self.parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )

    async def hang_up(self) -> None:
        """Send `stop` and close the stream."""
        if self._ws is None or self.closed:
            return
        try:
            await self.send({"event": "stop", "streamSid": self.stream_sid, "stop": {"callSid": self.call_sid}})
            await self._ws.close()
        except ConnectionClosed:
            pass
        if self._reader is not None:
            await self._reader
        self.closed = True

    # -- the caller ----------------------------------------------------------------------------

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        """Send one message as it is (a dict is JSON-encoded): for malformed-input tests.
        Mark echoes due are sent first, so the bridge hears them in playback order."""
        await self._flush_echoes()
        await self._send_now(message)

    async def _send_now(self, message: dict[str, Any] | str | bytes) -> None:
        if self._ws is None:
            raise RuntimeError("not connected")
        self._sequence += 1
        if isinstance(message, dict):
            message = orjson.dumps({**message, "sequenceNumber": str(self._sequence)}).decode()
        await self._ws.send(message)

    async def send_audio(self, ulaw: bytes) -> None:
        """The caller's audio (G.711 μ-law, 8 kHz), in 20 ms media messages."""
        for start in range(0, len(ulaw), _CHUNK):
            chunk = ulaw[start : start + _CHUNK]
            await self.send(
                {
                    "event": "media",
                    "streamSid": self.stream_sid,
                    "media": {
                        "track": "inbound",
                        "chunk": str(start // _CHUNK + 1),
                        "timestamp": str(start // 8),
                        "payload": pybase64.b64encode(chunk).decode(),
                    },
                }
            )

    async def say(self, text: str, *, silence_ms: int = 900, engine: Any = "synthetic") -> bytes:
        """The caller says `text` (synthetic speech, μ-law), then `silence_ms` of silence so
        the service's turn detection ends the turn. Returns the μ-law bytes sent."""
        speech = synthesize_speech(text, words_per_minute=200, engine=engine)
        ulaw = convert(speech, "pcm16", "g711_ulaw") + generate_silence(silence_ms, "g711_ulaw")
        await self.send_audio(ulaw)
        return ulaw

    async def press(self, keys: str) -> None:
        """Press keypad keys: one `dtmf` message each."""
        for key in keys:
            await self.send({"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"track": "inbound_track", "digit": key}})

    def play(self, ms: float) -> None:
        """Play `ms` more of the queued agent audio, echoing the marks it reaches."""
        budget = ms
        while self._queue:
            head = self._queue[0]
            if head.kind == "mark":
                self._queue.pop(0)
                self._echo(head.name)
                continue
            left = head.size / 8 - self._partial
            if budget < left:
                self._partial += budget
                self.played_ms += budget
                return
            budget -= left
            self.played_ms += left
            self._partial = 0.0
            self._queue.pop(0)

    async def wait_for(self, condition: Callable[[], bool], what: str = "condition", timeout: float = 10.0) -> None:
        """Wait until `condition()` holds (checked whenever the bridge sends something)."""
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    if self.closed:
                        raise AssertionError(f"the stream closed before {what}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s") from None

    # -- what the bridge sends -----------------------------------------------------------------

    def _echo(self, name: str) -> None:
        self.echoed.append(name)
        self._to_echo.append(name)
        if self._ws is not None and not self.closed:
            asyncio.get_running_loop().create_task(self._flush_echoes())

    async def _flush_echoes(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while self._to_echo and not self.closed:
                name = self._to_echo.pop(0)
                await self._send_now({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                message = orjson.loads(raw)
                event = message.get("event")
                if event == "media":
                    data = pybase64.b64decode(message["media"]["payload"])
                    self.heard += data
                    self._queue.append(_Queued("media", len(data)))
                elif event == "mark":
                    name = message["mark"]["name"]
                    self.marks.append(ReceivedMark(name, len(self.heard) / 8))
                    self._queue.append(_Queued("mark", name=name))
                elif event == "clear":
                    self.clears += 1
                    self.cleared_at_ms.append(self.played_ms)
                    dropped = [q.name for q in self._queue if q.kind == "mark"]
                    self._queue.clear()
                    self._partial = 0.0
                    for name in dropped:  # Twilio echoes the marks a clear dropped
                        self._echo(name)
                if self.auto_play:
                    self.play(float("inf"))
                self._changed.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            self._changed.set()
