"""The outbound audio track of a WebRTC peer: queued audio out as encoded 20 ms RTP payloads.

This is the fast path `bench/webrtc.py` (CPU per session-second, concurrent calls) asks for.
aiortc's sender calls `track.recv()` for each frame. Given an `av.AudioFrame`, it measures
the frame's audio level in pure Python (the `ssrc-audio-level` header extension, ~60 µs per
frame), then hands the frame to its encoder *on a thread pool* (`run_in_executor`, 50 times a
second per call), whose encoder resamples it to 48 kHz stereo first. Given an `av.Packet`
instead (aiortc's documented path for pre-encoded media, the one `MediaPlayer(decode=False)`
uses), it only packs the payload. So `OutboundAudio.recv` returns packets, encoded here:

- **G.711** (`pcmu`, `pcma`): audio is encoded once when it is queued (a numpy table lookup
  over a whole 100 ms delta); a frame is a 160-byte slice of the queue. Nothing resamples or
  builds a PyAV object per frame.
- **Opus**: one libopus encoder per track, mono, at 24 kHz (the protocol's PCM16 rate, so
  the app's and the scripted model's audio go in without resampling; Opus decoders output
  48 kHz whatever the encoder's input rate), 32 kbit/s (a voice call's usual rate; aiortc's
  own encoder sends 96 kbit/s stereo), the `audio` application at complexity 5: 50 µs per
  frame of speech where `voip` at complexity 10 takes 126 µs (`_OPUS_OPTIONS`). Whole frames of digital silence are not
  encoded: libopus spends ~350 µs on a frame of zeros (against ~65 µs on speech) as its
  filters decay, so they go out as `OPUS_SILENCE`, once the encoder has been given one
  frame of silence after speech (that frame carries out the encoder's look-ahead, the last
  6.5 ms of the speech).

The header extensions then carry the `mid` only: no audio level (the service does not use
it), and `abs-send-time` is a video extension aiortc does not negotiate for audio.

Pacing: the tracks of one event loop share one `FrameClock`, a single timer every 20 ms that
releases every track whose frame is due, instead of one sleeping task per track (one event
loop wake-up per tick for the whole server, not one per call).
"""

from __future__ import annotations

import asyncio
import fractions
import random
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar, Final

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, CodecContext, Packet
from av.audio.codeccontext import AudioCodecContext

from ..audio import AudioFormat, Resampler, alaw_encode, decode_to_pcm16, sample_rate, ulaw_encode
from .webrtc_media import CODEC_RATES, FRAME_MS, Codec, MediaFaults

__all__ = ["OPUS_RATE", "OPUS_SILENCE", "FrameClock", "OutboundAudio"]

OPUS_RATE: Final = 24000
"""The PCM rate the Opus encoder takes (the protocol's PCM16 rate)."""
OPUS_SILENCE: Final = b"\xf8\xff\xfe"
"""One 20 ms Opus frame of silence (TOC 0xF8: CELT fullband 20 ms mono, one frame; the
range-coded silence flag): what encoders send for digital silence."""
_OPUS_BITRATE: Final = 32000
# libopus's cost per 20 ms frame of the scripted speech at 24 kHz mono, 32 kbit/s, on this
# machine: `voip` (SILK / hybrid) 126 µs at complexity 10, 134 µs at 5; `audio` (CELT at this
# rate) 102 µs at 10, 50 µs at 5. libwebrtc itself runs complexity 5 on mobile and 9 on
# desktop. Speech at 12 kHz of bandwidth and 32 kbit/s is well within CELT's range.
_OPUS_OPTIONS: Final = {"application": "audio", "compression_level": "5"}
_QUEUED: Final[dict[Codec, AudioFormat]] = {"opus": "pcm16", "pcmu": "g711_ulaw", "pcma": "g711_alaw"}
"""What a track of each codec queues (PCM16 at 24 kHz, or the G.711 bytes that go out)."""


class FrameClock:
    """One timer for every track of an event loop: ticks every 20 ms while a track waits.

    `FrameClock.of(loop)` is the loop's clock. A track starts on a tick (`start()`), so its
    frames fall due on ticks too, and one timer releases every frame due at a tick. Times
    are the loop's (`loop.time()`).
    """

    _clocks: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FrameClock]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._origin = loop.time()
        self._period = FRAME_MS / 1000
        self._waiting: dict[int, list[asyncio.Future[None]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed: int | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> FrameClock:
        """The clock of `loop` (made on first use)."""
        clock = cls._clocks.get(loop)
        if clock is None:
            clock = cls._clocks[loop] = cls(loop)
        return clock

    def start(self) -> float:
        """The time of the next tick: where a new track's first frame is due."""
        return self._origin + (int((self._loop.time() - self._origin) / self._period) + 1) * self._period

    async def wait(self, due: float) -> None:
        """Return at the first tick at or after `due`, at once if `due` has passed."""
        if due <= self._loop.time():
            return
        tick = round((due - self._origin) / self._period + 0.499)  # the first tick >= due
        future = self._loop.create_future()
        waiters = self._waiting.get(tick)
        if waiters is None:
            waiters = self._waiting[tick] = []
        waiters.append(future)
        if self._armed is None or tick < self._armed:
            self._arm(tick)
        await future

    def _arm(self, tick: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(self._origin + tick * self._period, self._tick)
        self._armed = tick

    def _tick(self) -> None:
        self._timer = self._armed = None
        now = (self._loop.time() - self._origin) / self._period + 0.05  # 1 ms of slack
        for tick in sorted(self._waiting):
            if tick > now:
                self._arm(tick)
                return
            for future in self._waiting.pop(tick):
                if not future.done():
                    future.set_result(None)


class _Segment:
    __slots__ = ("available_at", "data", "tag")

    def __init__(self, data: bytearray, tag: str | None, available_at: float) -> None:
        self.data = data
        self.tag = tag
        self.available_at = available_at


class OutboundAudio(MediaStreamTrack):
    """An audio track fed with audio: `push_audio()` queues, `recv()` paces encoded frames.

    Args:
        codec: The codec frames are encoded in (`set_codec` changes it once negotiated,
            before the first frame).
        faults: Media impairments (the local server's fault injection).
        on_started: Called with a segment's tag when its first sample goes out.
        on_stopped: Called with the tag when its last sample went out: `finish(tag)` was
            called and its queue ran dry, or the next segment has another tag.
    """

    kind = "audio"

    def __init__(
        self,
        codec: Codec = "opus",
        *,
        faults: MediaFaults | None = None,
        on_started: Callable[[str], None] | None = None,
        on_stopped: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.faults = faults or MediaFaults()
        self.on_started = on_started
        self.on_stopped = on_stopped
        self._queue: deque[_Segment] = deque()
        self._playing: str | None = None
        self._finished: set[str] = set()
        self._pts = 0
        self._clock: FrameClock | None = None
        self.started_at = 0.0
        """When the first frame was due (`loop.time()`); frame n is due 20 ms x n later."""
        # One streaming resampler per source rate, kept for the track's life: a resampler
        # made per chunk costs its setup every 20-100 ms and restarts its filter at each edge.
        self._resamplers: dict[int, Resampler] = {}
        self._random = random.Random(self.faults.seed)
        self._opus: AudioCodecContext | None = None
        self._quiet = True  # the encoder has had a frame of silence since its last speech
        self.frames_sent = 0
        self.set_codec(codec)

    def set_codec(self, codec: Codec) -> None:
        """Encode frames in `codec` (before any audio is queued)."""
        if self._queue:
            raise RuntimeError("set_codec() must come before any audio is queued")
        self.codec: Codec = codec
        self.rate = OPUS_RATE if codec == "opus" else CODEC_RATES[codec]
        """The sample rate of the queued audio."""
        self.clock_rate = CODEC_RATES[codec]
        """The RTP clock rate (packet `pts` units)."""
        self._time_base = fractions.Fraction(1, self.clock_rate)
        self._width = 2 if codec == "opus" else 1  # queued bytes per sample (PCM16, G.711)
        self._frame_bytes = self.rate * FRAME_MS // 1000 * self._width
        self._pad = {"opus": b"\0", "pcmu": ulaw_encode([0]), "pcma": alaw_encode([0])}[codec]
        self._silence = bytes(self._pad * self._frame_bytes)
        self._opus = None
        self._resamplers.clear()

    @property
    def playing(self) -> str | None:
        """The tag whose audio is going out now."""
        return self._playing

    @property
    def queued_ms(self) -> float:
        """Audio waiting to go out, in ms."""
        return sum(len(s.data) for s in self._queue) / (self.rate * self._width) * 1000

    def push_audio(self, data: bytes, fmt: AudioFormat, tag: str | None = None) -> None:
        """Queue audio in a protocol format (`tag`: whose audio it is)."""
        source = sample_rate(fmt)
        if fmt == _QUEUED[self.codec] and source == self.rate:
            self._push(data, tag)  # already what the queue holds: no work at all
            return
        pcm16 = decode_to_pcm16(data, fmt).astype("<i2", copy=False).tobytes()
        if source != self.rate:
            resampler = self._resamplers.get(source)
            if resampler is None:
                resampler = self._resamplers[source] = Resampler(source, self.rate)
            pcm16 = resampler.process(pcm16)
        self._push(self._encode_queue(pcm16), tag)

    def finish(self, tag: str) -> None:
        """No more audio of `tag` will be pushed: it stops once what is queued has played
        (until then a gap in its audio is silence, not a stop)."""
        for resampler in self._resamplers.values():
            tail = resampler.flush()  # the last ~2 ms the filter held back
            if tail:
                self._push(self._encode_queue(tail), tag)
        self._finished.add(tag)

    def clear(self) -> str | None:
        """Drop everything queued; the tag that was playing (its audio stops here)."""
        self._queue.clear()
        self._finished.clear()
        playing, self._playing = self._playing, None
        return playing

    async def recv(self) -> Packet[Any]:  # aiortc's sender packs packets as they are
        """The next 20 ms frame, encoded, at its time (aiortc's sender calls this in a loop)."""
        if self.readyState != "live":
            raise MediaStreamError
        clock = self._clock
        if clock is None:
            clock = self._clock = FrameClock.of(asyncio.get_running_loop())
            self.started_at = clock.start()
        due = self.started_at + self.frames_sent * FRAME_MS / 1000
        if self.faults.jitter_ms:
            # Off the shared clock's ticks: held up by a random time, not a whole tick.
            due += self._random.uniform(0, self.faults.jitter_ms) / 1000
            await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
        else:
            await clock.wait(due)
        packet = Packet(self._payload(self._take()))
        packet.pts = self._pts
        packet.time_base = self._time_base
        self._pts += self.clock_rate * FRAME_MS // 1000
        self.frames_sent += 1
        return packet

    # -- the queue -------------------------------------------------------------------------------

    def _encode_queue(self, pcm16: bytes) -> bytes:
        """PCM16 at the queue's rate as the queue holds it (G.711 is encoded here, once)."""
        if self.codec == "opus":
            return pcm16
        samples = np.frombuffer(pcm16, dtype="<i2")
        return ulaw_encode(samples) if self.codec == "pcmu" else alaw_encode(samples)

    def _push(self, data: bytes, tag: str | None) -> None:
        if not data:
            return
        queue = self._queue
        if queue and queue[-1].tag == tag and not self.faults.delay_ms:
            queue[-1].data += data
        else:
            available_at = time.monotonic() + self.faults.delay_ms / 1000
            queue.append(_Segment(bytearray(data), tag, available_at))

    def _take(self) -> bytes:
        """One frame of the queue, padded with silence; reports starts and stops."""
        size = self._frame_bytes
        queue = self._queue
        out = b""
        if queue:
            now = time.monotonic()
            parts = bytearray()
            while len(parts) < size and queue and queue[0].available_at <= now:
                segment = queue[0]
                if segment.tag != self._playing:
                    self._switch(segment.tag)
                want = size - len(parts)
                parts += segment.data[:want]
                del segment.data[:want]  # bytearray drops its front in O(1)
                if not segment.data:
                    queue.popleft()
            out = bytes(parts)
        playing = self._playing
        if playing is not None and playing in self._finished and not (queue and queue[0].tag == playing):
            self._finished.discard(playing)
            self._switch(None)
        if not out:
            return self._silence
        if len(out) < size:
            out += self._pad * (size - len(out))
        return out

    def _payload(self, frame: bytes) -> bytes:
        """The RTP payload of one frame of the queue."""
        if self.codec != "opus":
            return frame
        if frame == self._silence:
            if self._quiet:
                return OPUS_SILENCE
            self._quiet = True  # this one still goes through the encoder: its look-ahead
        else:
            self._quiet = False
        encoder = self._opus
        if encoder is None:
            encoder = self._opus = _opus_encoder()
        samples = self._frame_bytes // 2
        pcm = AudioFrame(format="s16", layout="mono", samples=samples)
        pcm.planes[0].update(frame)
        pcm.sample_rate = OPUS_RATE
        pcm.pts = self.frames_sent * samples
        packets = encoder.encode(pcm)  # libopus returns each frame's packet at once
        return bytes(packets[0]) if packets else OPUS_SILENCE

    def _switch(self, tag: str | None) -> None:
        previous, self._playing = self._playing, tag
        if previous is not None and self.on_stopped is not None:
            self.on_stopped(previous)
        if tag is not None and self.on_started is not None:
            self.on_started(tag)


def _opus_encoder() -> AudioCodecContext:
    """libopus for a voice call: mono, 24 kHz in, 32 kbit/s (`_OPUS_OPTIONS`)."""
    encoder = CodecContext.create("libopus", "w")
    assert isinstance(encoder, AudioCodecContext)
    encoder.bit_rate = _OPUS_BITRATE
    encoder.format = "s16"
    encoder.layout = "mono"
    encoder.sample_rate = OPUS_RATE
    encoder.time_base = fractions.Fraction(1, OPUS_RATE)
    encoder.options = _OPUS_OPTIONS
    return encoder
