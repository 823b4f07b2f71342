"""WebRTC media for both ends: codecs, the outbound audio track, decoded frames to PCM.

The client transport (`transports.webrtc`) and the local server's endpoint (`server.webrtc`)
move audio the same way, so it lives here once:

- `prefer_codec` is the design notes' `applyCodecPreferences`: the audio transceiver offers
  only `opus` (48 kHz), `pcmu` or `pcma` (8 kHz);
- `OutboundAudio` is the audio track a peer sends: PCM pushed by the app (or by the server's
  scripted model) goes out in 20 ms frames, paced in real time, silence when nothing is
  queued. Segments carry a tag (the server's response id) so the track can say when a
  tag's audio starts and stops playing (`output_audio_buffer.started` / `.stopped`);
- `frame_pcm` turns a decoded `av.AudioFrame` (Opus decodes to 48 kHz stereo, G.711 to
  8 kHz mono) into PCM16 mono at the rate asked for.

Media faults (`MediaFaults`) act where a frame is made or sent, so a test can hear their
effect without a network emulator: jitter and delay on `OutboundAudio`, loss on the RTP
packets (`lose_packets`), so the receiver counts the gaps in the sequence numbers as lost
packets, as it would on a real network. A track's `faults` can change during a call.
"""

from __future__ import annotations

import asyncio
import fractions
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from aiortc import MediaStreamTrack, RTCRtpSender, RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import is_rtcp
from av import AudioFrame

from ..audio import (
    AudioFormat,
    Resampler,
    alaw_encode,
    decode_to_pcm16,
    resample,
    sample_rate,
    ulaw_encode,
)
from .codecs import CODEC_RATES, Codec

__all__ = [
    "CODEC_RATES",
    "FRAME_MS",
    "Codec",
    "MediaFaults",
    "OutboundAudio",
    "Resamplers",
    "audio_frames",
    "frame_audio",
    "frame_pcm",
    "lose_packets",
    "negotiated_codec",
    "prefer_codec",
    "silent",
]

FRAME_MS: Final = 20
"""The length of one RTP audio frame (aiortc's, and every browser's, default)."""

_MIME: Final[dict[Codec, str]] = {"opus": "audio/opus", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}
_SDP_NAMES: Final[dict[str, Codec]] = {"opus": "opus", "pcmu": "pcmu", "pcma": "pcma"}


def prefer_codec(transceiver: RTCRtpTransceiver, codec: Codec) -> None:
    """Offer only `codec` on `transceiver` (before `createOffer`)."""
    capabilities = RTCRtpSender.getCapabilities("audio")
    chosen = [c for c in capabilities.codecs if c.mimeType.lower() == _MIME[codec]]
    transceiver.setCodecPreferences(chosen)


def negotiated_codec(sdp: str) -> Codec | None:
    """The first audio codec of an SDP answer's `m=audio` line (the one both ends use)."""
    payloads: list[str] = []
    names: dict[str, str] = {}
    in_audio = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_audio = line.startswith("m=audio")
            if in_audio:
                payloads = line.split()[3:]
        elif in_audio and line.startswith("a=rtpmap:"):
            pt, _, rest = line[len("a=rtpmap:") :].partition(" ")
            names[pt] = rest.split("/")[0].lower()
    static = {"0": "pcmu", "8": "pcma"}
    for pt in payloads:
        name = names.get(pt, static.get(pt, ""))
        if name in _SDP_NAMES:
            return _SDP_NAMES[name]
    return None


async def audio_frames(track: MediaStreamTrack) -> AsyncIterator[AudioFrame]:
    """The decoded audio frames of a remote track, until it ends."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if isinstance(frame, AudioFrame):
            yield frame


Resamplers = dict[tuple[int, int], Resampler]
"""A stream's resamplers by (source rate, target rate): kept for the stream's life, since
one made per 20 ms frame costs its setup each time and restarts its filter at every edge."""


def frame_audio(
    frame: AudioFrame, fmt: AudioFormat, resamplers: Resamplers | None = None
) -> bytes:
    """A decoded frame as audio in a protocol format (PCM16 24 kHz, G.711 8 kHz); pass the
    stream's `resamplers` when frames follow each other."""
    pcm = frame_pcm(frame, sample_rate(fmt), resamplers)
    if fmt == "pcm16":
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2")
    return ulaw_encode(samples) if fmt == "g711_ulaw" else alaw_encode(samples)


def frame_pcm(frame: AudioFrame, rate: int, resamplers: Resamplers | None = None) -> bytes:
    """PCM16 mono at `rate` from a decoded audio frame (first channel of a stereo one),
    through the stream's `resamplers` when given (else a one-shot resample)."""
    samples = frame.to_ndarray()
    if frame.format.is_planar or samples.shape[0] > 1:
        mono = samples[0]
    else:
        mono = samples[0, :: len(frame.layout.channels)]
    if samples.dtype != np.int16:
        mono = np.clip(mono * 32768, -32768, 32767).astype(np.int16)
    if frame.sample_rate != rate:
        if resamplers is not None:
            key = (frame.sample_rate, rate)
            resampler = resamplers.get(key)
            if resampler is None:
                resampler = resamplers[key] = Resampler(*key)
            return resampler.process(mono.astype("<i2").tobytes())
        mono = resample(mono, frame.sample_rate, rate)
    out: bytes = mono.astype("<i2").tobytes()
    return out


@dataclass(frozen=True)
class MediaFaults:
    """Impairments of an outbound audio track (the local server's media fault injection).

    Attributes:
        loss_percent: RTP packets dropped at random (their audio never arrives; the
            receiver counts them lost).
        jitter_ms: Each frame is held up to this long at random (the pacing catches up).
        delay_ms: Audio goes out this much later than it was queued (events do not wait).
        seed: Seed of the random source, for repeatable tests.
    """

    loss_percent: float = 0.0
    jitter_ms: float = 0.0
    delay_ms: float = 0.0
    seed: int | None = None


class _Segment:
    __slots__ = ("available_at", "data", "tag")

    def __init__(self, data: bytearray, tag: str | None, available_at: float) -> None:
        self.data = data
        self.tag = tag
        self.available_at = available_at


class OutboundAudio(MediaStreamTrack):
    """An audio track fed with PCM16 mono: `push()` queues, `recv()` paces 20 ms frames.

    Args:
        rate: The frame rate of the track (`CODEC_RATES` of the negotiated codec avoids a
            resampling in the encoder); `set_rate` changes it before the first frame.
        faults: Media impairments (the local server's fault injection).
        on_started: Called with a segment's tag when its first sample goes out.
        on_stopped: Called with the tag when its last sample went out: `finish(tag)` was
            called and its queue ran dry, or the next segment has another tag.
    """

    kind = "audio"

    def __init__(
        self,
        rate: int = 48000,
        *,
        faults: MediaFaults | None = None,
        on_started: Callable[[str], None] | None = None,
        on_stopped: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.rate = rate
        self.faults = faults or MediaFaults()
        self.on_started = on_started
        self.on_stopped = on_stopped
        self._queue: deque[_Segment] = deque()
        self._playing: str | None = None
        self._finished: set[str] = set()
        self._pts = 0
        self._start: float | None = None
        # One streaming resampler per source rate, kept for the track's life: a resampler
        # made per chunk costs its setup every 20-100 ms and restarts its filter at each
        # edge (bench/webrtc.py's profile: 17% of the server's time).
        self._resamplers: dict[int, Resampler] = {}
        self._random = random.Random(self.faults.seed)
        self.frames_sent = 0

    def set_rate(self, rate: int) -> None:
        """Make frames at `rate` (queued audio is resampled)."""
        if rate == self.rate:
            return
        for segment in self._queue:
            samples = np.frombuffer(bytes(segment.data), dtype="<i2")
            segment.data = bytearray(resample(samples, self.rate, rate).astype("<i2").tobytes())
        self.rate = rate
        self._resamplers.clear()

    @property
    def playing(self) -> str | None:
        """The tag whose audio is going out now."""
        return self._playing

    @property
    def queued_ms(self) -> float:
        """Audio waiting to go out, in ms."""
        return sum(len(s.data) for s in self._queue) / (self.rate * 2) * 1000

    def push(self, pcm16: bytes, tag: str | None = None) -> None:
        """Queue PCM16 mono at the track's rate (`tag`: whose audio it is)."""
        if not pcm16:
            return
        queue = self._queue
        available_at = time.monotonic() + self.faults.delay_ms / 1000
        if queue and queue[-1].tag == tag and not self.faults.delay_ms:
            queue[-1].data += pcm16
        else:
            queue.append(_Segment(bytearray(pcm16), tag, available_at))

    def push_audio(self, data: bytes, fmt: AudioFormat, tag: str | None = None) -> None:
        """Queue audio in a protocol format (resampled to the track's rate)."""
        samples = decode_to_pcm16(data, fmt)
        source = sample_rate(fmt)
        pcm16 = samples.astype("<i2").tobytes()
        if source != self.rate:
            resampler = self._resamplers.get(source)
            if resampler is None:
                resampler = self._resamplers[source] = Resampler(source, self.rate)
            pcm16 = resampler.process(pcm16)
        self.push(pcm16, tag)

    def finish(self, tag: str) -> None:
        """No more audio of `tag` will be pushed: it stops once what is queued has played
        (until then a gap in its audio is silence, not a stop)."""
        for resampler in self._resamplers.values():
            tail = resampler.flush()  # the last ~2 ms the filter held back
            if tail:
                self.push(tail, tag)
        self._finished.add(tag)

    def clear(self) -> str | None:
        """Drop everything queued; the tag that was playing (its audio stops here)."""
        self._queue.clear()
        self._finished.clear()
        playing, self._playing = self._playing, None
        return playing

    async def recv(self) -> AudioFrame:
        """The next 20 ms frame, at its time (aiortc's sender calls this in a loop)."""
        if self.readyState != "live":
            raise MediaStreamError
        samples = self.rate * FRAME_MS // 1000
        faults = self.faults
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._pts / self.rate
        if faults.jitter_ms:
            due += self._random.uniform(0, faults.jitter_ms) / 1000
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        data = self._take(samples * 2)
        pts = self._pts
        self._pts += samples
        frame = AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(data)
        frame.sample_rate = self.rate
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, self.rate)
        self.frames_sent += 1
        return frame

    def _take(self, size: int) -> bytes:
        """`size` bytes of the queue, padded with silence; reports starts and stops."""
        out = bytearray()
        queue = self._queue
        now = time.monotonic()
        while len(out) < size and queue and queue[0].available_at <= now:
            segment = queue[0]
            if segment.tag != self._playing:
                self._switch(segment.tag)
            want = size - len(out)
            out += segment.data[:want]
            del segment.data[:want]
            if not segment.data:
                queue.popleft()
        playing = self._playing
        if playing is not None and playing in self._finished and not (queue and queue[0].tag == playing):
            self._finished.discard(playing)
            self._switch(None)
        if len(out) < size:
            out += bytes(size - len(out))
        return bytes(out)

    def _switch(self, tag: str | None) -> None:
        previous, self._playing = self._playing, tag
        if previous is not None and self.on_stopped is not None:
            self.on_stopped(previous)
        if tag is not None and self.on_started is not None:
            self.on_started(tag)


def lose_packets(sender: RTCRtpSender, faults: Callable[[], MediaFaults], seed: int | None = None) -> None:
    """Drop `faults().loss_percent` of the RTP packets `sender` sends (RTCP goes through).

    Call it once the description is set (the sender has its transport). The packets are
    dropped after they got their sequence numbers, as on a lossy network: the receiver's
    stats count them as lost and its jitter buffer conceals the gap.
    """
    transport = sender.transport
    send = transport._send_rtp
    chance = random.Random(seed)

    async def lossy(data: bytes) -> None:
        loss = faults().loss_percent
        if loss and not is_rtcp(data) and chance.uniform(0, 100) < loss:
            return
        await send(data)

    # aiortc has no hook between the packetizer and the wire: wrap the transport's send.
    setattr(transport, "_send_rtp", lossy)  # noqa: B010


def silent(pcm16: bytes, threshold: int = 64) -> bool:
    """True when PCM16 audio is (near) silence: the idle frames a peer sends between turns."""
    if not pcm16:
        return True
    samples = np.frombuffer(pcm16, dtype="<i2")
    return bool(np.abs(samples.astype(np.int32)).max() < threshold)

