"""The WebRTC transport (`aiortc`): events on the `oai-events` data channel, audio as RTP.

It fits the same four-coroutine contract as `WebSocketTransport`, so the session, the
supervisor, tools, handoffs, guardrails, reconnect and tracing work unchanged. What differs
is where the audio goes, and this module hides it:

- `send()` of an `input_audio_buffer.append` frame does not go on the data channel (the
  service does not take it over WebRTC): its PCM is queued on the outbound audio track
  (`OutboundAudio`: 20 ms frames, silence when the app sends nothing). Every other frame
  goes on the data channel as it is.
- the remote audio track is decoded to PCM in the session's output format and handed to
  `receive()` as `response.output_audio.delta` frames of the response that is playing
  (`output_audio_buffer.started` ... `.stopped` / `.cleared`), so the app gets `audio`
  events as over a WebSocket. Over WebRTC the service plays the audio out and sends
  `response.output_audio.done` when it has *generated* it; that frame is held until the
  buffer stopped. `output_audio_buffer.stopped` itself is held until the response's last
  audio has been delivered (the RTP path trails the data channel by the receiver's jitter
  buffer), so both follow the last chunk the app was given, and `stopped` can end the
  playback (`runtime.playback`) without a barge-in over its last words going unreported.
- `has_output_audio_buffer` tells the session that the service buffers the output: an
  interruption then also needs `output_audio_buffer.clear` (the supervisor sends it).

The session's audio formats are read from the `session.update` frames that go out (GA
`audio.input.format` / `audio.output.format`, beta `input_audio_format` /
`output_audio_format`): the app sends and receives audio exactly as it would over a
WebSocket.

Signaling (the SDP exchange in each of its forms, hangup) is `webrtc_signaling`; codecs and
tracks are `webrtc_media`. `stats()` reads `RTCPeerConnection.getStats()`; `link_stats()` is
the typed reading the session's quality watch takes (`webrtc_stats`, `QualityPolicy`), and
`switch_codec()` is how it moves the call to another codec: the next `connect()` offers it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import orjson
import pybase64
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame

from ..audio import (
    AudioFormat,
)
from ..errors import TransportError
from ..logs import get_logger
from ..protocol.dialects import Dialect
from .base import ConnectionClosed
from .webrtc_ice import gather_loopback, is_loopback
from .webrtc_inbound import InboundAudio, audio_frames, decode_inline, silent
from .webrtc_media import CODEC_RATES, Codec, negotiated_codec, prefer_codec
from .webrtc_signaling import SignalingError, exchange_sdp, hangup
from .webrtc_stats import LinkStats, link_stats_of
from .webrtc_track import OutboundAudio

__all__ = ["OPENAI_API_BASE", "Codec", "SignalingError", "WebRTCTransport", "audio_format_of"]

OPENAI_API_BASE: Final = "https://api.openai.com/v1"
"""The base of OpenAI's REST API; the WebRTC call is `POST {base}/realtime/calls`."""

logger = get_logger("agentkit.transports.webrtc")

_GA_FORMATS: Final[Mapping[str, AudioFormat]] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "g711_ulaw",
    "audio/pcma": "g711_alaw",
}
_BETA_FORMATS: Final[frozenset[str]] = frozenset({"pcm16", "g711_ulaw", "g711_alaw"})
_PLAYBACK_EVENTS: Final = (
    "output_audio_buffer.",
    "content_part.added",
    "output_audio.done",
    "response.audio.done",
)
_APPEND_PREFIX: Final = '{"type":"input_audio_buffer.append"'
# Audio that keeps arriving after `output_audio_buffer.stopped` (the RTP path trails the
# data channel by the receiver's jitter buffer) still belongs to the response, up to this.
_TRAILING_MS: Final = 300


def audio_format_of(session: Mapping[str, Any], direction: str) -> AudioFormat | None:
    """The audio format (`pcm16`, `g711_ulaw`, `g711_alaw`) a session object sets for
    `direction` (`input` / `output`), GA or beta shaped; `None` when it sets none."""
    audio = session.get("audio")
    if isinstance(audio, Mapping):
        side = audio.get(direction)
        fmt = side.get("format") if isinstance(side, Mapping) else None
        if isinstance(fmt, Mapping) and fmt.get("type") in _GA_FORMATS:
            return _GA_FORMATS[fmt["type"]]
    beta = session.get(f"{direction}_audio_format")
    if isinstance(beta, str) and beta in _BETA_FORMATS:
        return beta  # type: ignore[return-value]
    return None


class _Closed:
    """The inbox's end marker."""

    def __init__(self, error: ConnectionClosed) -> None:
        self.error = error


class _Trailing:
    """A response whose buffer stopped while its last audio is still on the RTP path: the
    frames held until that audio has been delivered (`audio.done`, then `stopped`)."""

    __slots__ = ("held", "response_id", "timer", "until")

    def __init__(
        self, response_id: str, until: float, held: list[str | bytes], timer: asyncio.TimerHandle
    ) -> None:
        self.response_id = response_id
        self.until = until
        self.held = held
        self.timer = timer


class WebRTCTransport:
    """One WebRTC call to a realtime endpoint (OpenAI, Azure, the local server).

    ```python
    transport = WebRTCTransport(server.base_url, api_key="sk-test", codec="pcmu")
    async with runner.session(transport) as session: ...
    ```

    Args:
        base_url: The REST base (`https://api.openai.com/v1`, Azure's
            `https://<resource>.openai.azure.com/openai/v1`, `LocalRealtimeServer.base_url`).
        api_key: An API key (the multipart form, with `session`) or an ephemeral `ek_` key
            (the `application/sdp` form; the session comes from the key).
        model: The model (GA multipart `session.model`; beta `?model=`).
        session: Extra GA session fields for the multipart form.
        codec: The audio codec to offer: `opus` (48 kHz), `pcmu` or `pcma` (8 kHz).
        dialect: `"beta"` uses the preview form (`/realtime/sessions`, `/realtime?model=`).
        headers: Extra headers (Azure's `api-key`).
        connect_timeout: Seconds for the whole setup (HTTP, ICE, DTLS, data channel).
    """

    has_output_audio_buffer: Final = True
    """The service plays the audio out itself (see `Supervisor`'s `output_audio_buffer`)."""

    def __init__(
        self,
        base_url: str = OPENAI_API_BASE,
        *,
        api_key: str | None = None,
        model: str = "gpt-realtime",
        session: Mapping[str, Any] | None = None,
        codec: Codec = "opus",
        dialect: Dialect = "ga",
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = 15.0,
    ) -> None:
        _check_codec(codec)
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        self.session = dict(session or {})
        self.codec: Codec = codec
        self.dialect: Dialect = dialect
        self.headers = dict(headers or {})
        self.connect_timeout = connect_timeout
        self.input_format: AudioFormat = audio_format_of(self.session, "input") or "pcm16"
        """The format of the app's audio (`send_audio`); follows `session.update`."""
        self.output_format: AudioFormat = audio_format_of(self.session, "output") or "pcm16"
        """The format of the `audio` events; follows `session.update`."""
        self.call_id: str | None = None
        """The call's id (`rtc_...`) once connected: for sideband control and `hangup()`."""
        self.negotiated: Codec | None = None
        """The codec the answer chose."""
        self._pc: RTCPeerConnection | None = None
        self._channel: Any = None
        self._track: OutboundAudio | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._inbox: deque[str | bytes | _Closed] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed: ConnectionClosed | None = None
        # Output playback, from the data channel: the audio part of each response, the
        # response playing now, the one whose last audio is still arriving, and the
        # `response.output_audio.done` frames held back.
        self._parts: dict[str, tuple[str, int, int]] = {}
        self._playing: str | None = None
        self._trailing: _Trailing | None = None
        self._held_done: dict[str, str | bytes] = {}
        self._inbound = InboundAudio()

    # -- the contract -------------------------------------------------------------------------

    async def connect(self) -> None:
        """Negotiate the call; returns once the data channel is open."""
        await self._teardown()
        self._reset()
        try:
            await asyncio.wait_for(self._connect(), self.connect_timeout)
        except TransportError:  # the signaling refused the call, or ICE failed
            await self._teardown()
            raise
        except TimeoutError as exc:
            await self._teardown()
            raise TransportError(
                f"the WebRTC call at {self.base_url} did not open within {self.connect_timeout} s "
                "(ICE, DTLS or the data channel)"
            ) from exc
        except (OSError, ValueError) as exc:
            await self._teardown()
            raise TransportError(f"cannot open the WebRTC call at {self.base_url}: {exc!r}") from exc
        except BaseException:
            await self._teardown()
            raise

    async def send(self, frame: str) -> None:
        """Send one client event: audio appends to the audio track, the rest to the channel."""
        if self._closed is not None:
            raise self._closed
        channel = self._channel
        if channel is None:
            raise ConnectionClosed("not connected", clean=False)
        if frame.startswith(_APPEND_PREFIX):
            self._queue_audio(frame)
            return
        if '"session.update"' in frame:
            self._follow_formats(frame)
        if channel.readyState != "open":
            raise self._lost("the data channel is closed")
        channel.send(frame)

    async def receive(self) -> str | bytes:
        """The next event: a data channel message, or an audio delta made from RTP audio."""
        inbox = self._inbox
        while not inbox:
            if self._closed is not None:
                raise self._closed
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        item = inbox.popleft()
        if isinstance(item, _Closed):
            inbox.appendleft(item)  # later calls raise too
            raise item.error
        return item

    async def close(self) -> None:
        """Close the call (peer connection, tracks, tasks); safe to call twice."""
        if self._closed is None:
            self._closed = ConnectionClosed("connection closed (by us)", clean=True, code=1000)
        self._push(_Closed(self._closed))
        await self._teardown()

    # -- extras -------------------------------------------------------------------------------

    async def hangup(self) -> None:
        """End the call on the service (`POST .../calls/{call_id}/hangup`), then close."""
        if self.call_id is not None:
            with contextlib.suppress(SignalingError):
                await hangup(self.base_url, self.call_id, api_key=self.api_key, headers=self.headers)
        await self.close()

    async def stats(self) -> Any:
        """`RTCPeerConnection.getStats()`: an `RTCStatsReport` (empty when not connected)."""
        if self._pc is None:
            return {}
        return await self._pc.getStats()

    async def link_stats(self, at: float) -> LinkStats:
        """The call's audio stats now (`at`: the caller's clock), typed (see `webrtc_stats`)."""
        codec = self.negotiated or self.codec
        if self._pc is None:
            return LinkStats(at, codec)
        return link_stats_of(await self._pc.getStats(), codec, at)

    def switch_codec(self, codec: Codec) -> None:
        """Offer `codec` from the next `connect()` on (the live call keeps its codec)."""
        _check_codec(codec)
        self.codec = codec

    # -- setup and teardown -------------------------------------------------------------------

    def _reset(self) -> None:
        self._inbound = InboundAudio()  # the call's resamplers, for its life
        self._inbox.clear()
        self._closed = None
        self._parts.clear()
        self._playing = None
        self._drop_trailing()
        self._held_done.clear()

    async def _connect(self) -> None:
        pc = self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        channel = self._channel = pc.createDataChannel("oai-events")
        track = self._track = OutboundAudio(self.codec)
        transceiver = pc.addTransceiver(track, direction="sendrecv")
        prefer_codec(transceiver, self.codec)
        opened = asyncio.get_running_loop().create_future()

        def on_state() -> None:
            # Before the data channel opened, a failed connection fails `connect()` now
            # rather than at its timeout. ("closed" is our own teardown: nobody waits.)
            if pc.connectionState == "failed" and self._pc is pc and not opened.done():
                opened.set_exception(
                    TransportError(
                        f"the WebRTC call at {self.base_url} did not connect: the peer "
                        "connection failed (ICE or DTLS)"
                    )
                )
            self._on_state()

        channel.on("open", lambda: _resolve(opened))
        channel.on("message", self._on_message)
        channel.on("close", lambda: self._lose("the data channel closed"))
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", on_state)
        if is_loopback(urlsplit(self.base_url).hostname or ""):
            await gather_loopback(pc)  # a local server: stay on loopback (see webrtc_ice)
        await pc.setLocalDescription(await pc.createOffer())
        answer = await exchange_sdp(
            self.base_url,
            pc.localDescription.sdp,
            model=self.model,
            api_key=self.api_key,
            session=self.session,
            headers=self.headers,
            dialect=self.dialect,
        )
        self.call_id = answer.call_id
        self.negotiated = negotiated_codec(answer.sdp)
        if self.negotiated is not None and self.negotiated != track.codec:
            track.set_codec(self.negotiated)
        await pc.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        decode_inline(pc, self._on_audio_frame)
        await opened

    async def _teardown(self) -> None:
        self._drop_trailing()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        pc, self._pc = self._pc, None
        self._channel = None
        if self._track is not None:
            self._track.stop()
            self._track = None
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()

    def _on_state(self) -> None:
        pc = self._pc
        if pc is not None and pc.connectionState in ("failed", "closed"):
            self._lose(f"the peer connection {pc.connectionState}")

    def _lost(self, why: str) -> ConnectionClosed:
        return ConnectionClosed(f"connection lost ({why})", clean=False)

    def _lose(self, why: str) -> None:
        if self._closed is None:
            self._closed = self._lost(why)
            self._push(_Closed(self._closed))

    def _push(self, item: str | bytes | _Closed) -> None:
        self._inbox.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- outbound audio -----------------------------------------------------------------------

    def _queue_audio(self, frame: str) -> None:
        audio = orjson.loads(frame).get("audio")
        if self._track is not None and isinstance(audio, str):
            self._track.push_audio(pybase64.b64decode(audio), self.input_format)

    def _follow_formats(self, frame: str) -> None:
        try:
            event = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return
        session = event.get("session") if isinstance(event, dict) else None
        if isinstance(session, Mapping):
            self.input_format = audio_format_of(session, "input") or self.input_format
            self.output_format = audio_format_of(session, "output") or self.output_format

    # -- inbound events and audio -------------------------------------------------------------

    def _on_message(self, message: str | bytes) -> None:
        # Playback bookkeeping needs a few event types only: a cheap look before parsing.
        head = message[:120] if isinstance(message, str) else message[:120].decode(errors="replace")
        if any(kind in head for kind in _PLAYBACK_EVENTS) and self._track_playback(message):
            return  # held until the audio has played
        self._push(message)

    def _track_playback(self, message: str | bytes) -> bool:
        """Follow which response is playing; True when `message` is held back."""
        try:
            event = orjson.loads(message)
        except orjson.JSONDecodeError:
            return False
        kind = event.get("type")
        rid = event.get("response_id")
        if kind == "response.content_part.added":
            part = event.get("part") or {}
            if part.get("type") in ("audio", "output_audio") and isinstance(rid, str):
                self._parts[rid] = (event["item_id"], event.get("output_index", 0), event.get("content_index", 0))
        elif kind == "output_audio_buffer.started" and isinstance(rid, str):
            self._end_trailing()  # the previous response's `stopped` goes first
            self._playing = rid
        elif kind == "output_audio_buffer.stopped":
            self._end_trailing()
            playing, self._playing = self._playing, None
            key = rid if isinstance(rid, str) else playing or ""
            done = self._held_done.pop(key, None)
            held = [message] if done is None else [done, message]
            if playing is None:  # no audio of it on the way
                self._parts.pop(key, None)
                for frame in held:
                    self._push(frame)
            else:
                # Its last audio is still in the receiver's jitter buffer: hold `stopped`
                # until that audio has been delivered (`_end_trailing`), at most this long.
                loop = asyncio.get_running_loop()
                delay = _TRAILING_MS / 1000
                timer = loop.call_later(delay, self._end_trailing)
                self._trailing = _Trailing(playing, loop.time() + delay, held, timer)
            return True
        elif kind == "output_audio_buffer.cleared":
            self._end_trailing()
            playing, self._playing = self._playing, None
            key = rid if isinstance(rid, str) else playing or ""
            self._parts.pop(key, None)
            held_done = self._held_done.pop(key, None)
            self._push(message)
            if held_done is not None:
                self._push(held_done)
            return True
        elif kind in ("response.output_audio.done", "response.audio.done") and rid in self._parts:
            # Generated, not yet played (the service plays it out): after the last chunk.
            self._held_done[rid] = message
            return True
        return False

    def _end_trailing(self) -> None:
        """The trailing response's audio has been delivered: release what was held."""
        trailing = self._trailing
        if trailing is None:
            return
        self._trailing = None
        trailing.timer.cancel()
        # Any audio of it from now on is late: dropped, and its `audio.done` is not held.
        self._parts.pop(trailing.response_id, None)
        for frame in trailing.held:
            self._push(frame)

    def _drop_trailing(self) -> None:
        trailing, self._trailing = self._trailing, None
        if trailing is not None:
            trailing.timer.cancel()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.get_running_loop().create_task(self._read_audio(track)))

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        # aiortc's own decoding, when `decode_inline` could not take it over: then the
        # frames come through the track (else this waits, idle, for the track to end).
        async for frame in audio_frames(track):
            self._on_audio_frame(frame)

    def _on_audio_frame(self, frame: AudioFrame) -> None:
        """One decoded 20 ms frame of the service's audio: an audio delta of the response
        that is playing, or nothing (the idle frames between turns)."""
        rid = self._playing
        trailing = self._trailing
        if rid is None and trailing is not None:
            if asyncio.get_running_loop().time() < trailing.until and not silent(frame):
                rid = trailing.response_id
            else:
                self._end_trailing()  # the trailing audio ended
                return
        part = self._parts.get(rid) if rid is not None else None
        if part is None:
            return
        pcm = self._inbound.audio(frame, self.output_format)
        item_id, output_index, content_index = part
        self._push(
            orjson.dumps(
                {
                    "type": "response.audio.delta" if self.dialect == "beta" else "response.output_audio.delta",
                    "event_id": "rtc_audio",
                    "response_id": rid,
                    "item_id": item_id,
                    "output_index": output_index,
                    "content_index": content_index,
                    "delta": pybase64.b64encode(pcm).decode("ascii"),
                }
            ).decode()
        )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _check_codec(codec: str) -> None:
    if codec not in CODEC_RATES:
        raise ValueError(f"codec must be one of {sorted(CODEC_RATES)}, not {codec!r}")
