"""The inbound audio of a WebRTC peer: the remote track's RTP decoded, as protocol audio.

This is the receive half of the fast path `bench/webrtc.py` asks for.

- `decode_inline(pc)`: aiortc decodes each receiver's RTP on a thread of its own: every
  20 ms frame is put on a `queue.Queue` (waking the thread and handing it the GIL), decoded,
  and posted back to the event loop with `run_coroutine_threadsafe` (a coroutine, a task and
  a wake-up of the loop per frame). Decoding a 20 ms audio frame costs less than that hand-off
  (Opus ~17 µs with FFmpeg's decoder in mono, G.711 ~10 µs), so this decodes it on the loop,
  where the packet arrives, and hands the frames to a callback there and then (no queue, no
  task switch: the remote track's own queue then stays empty). It is a per-receiver stand-in for aiortc's decoder
  queue (`RTCRtpReceiver.__decoder_queue`), installed before the receiver starts; aiortc's
  decoder thread still starts, waits on it, idle, and ends the track when the receiver
  stops, as before. If aiortc's receiver is not laid out as expected (another version),
  nothing is changed and aiortc decodes as usual: only slower.
- `InboundAudio`: the decoded frames (Opus at 48 kHz, G.711 at 8 kHz mono)
  as audio in a protocol format, through one resampler per target rate for the stream's
  life.
"""

from __future__ import annotations

import fractions
import queue
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, AudioResampler, CodecContext, FFmpegError, Packet

from ..audio import AudioFormat, alaw_encode, sample_rate, ulaw_encode
from ..logs import get_logger

__all__ = ["InboundAudio", "audio_frames", "decode_inline", "silent"]

logger = get_logger("agentkit.transports.webrtc")

_QUEUE: Final = "_RTCRtpReceiver__decoder_queue"
_THREAD: Final = "_RTCRtpReceiver__decoder_thread"
_OPUS_TIME_BASE: Final = fractions.Fraction(1, 48000)


class _InlineDecoder(queue.Queue[Any]):
    """Stands in for an audio receiver's decoder queue: `put` decodes on the caller's thread
    (the event loop) and hands the frames to `deliver`; only the stop marker (`None`) is
    queued, for aiortc's decoder thread, which then ends the track."""

    def __init__(self, deliver: Callable[[AudioFrame], None]) -> None:
        super().__init__()
        self._deliver = deliver
        self._failed = False
        self._codec: str | None = None
        self._decoder: Any = None

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None)
            return
        codec, encoded = item
        if codec.name != self._codec:
            opus = codec.name.lower() == "opus"
            self._decoder, self._codec = _OpusMono() if opus else get_decoder(codec), codec.name
        try:
            frames = self._decoder.decode(encoded)
        except FFmpegError as exc:  # aiortc's worker logs and goes on, keeping the decoder
            logger.warning("failed to decode a %s frame: %s", codec.name, exc)
            return
        for frame in frames:
            try:
                self._deliver(frame)
            except Exception:
                # Raised into aiortc's receive loop, it would close the whole transport
                # (events included) over one frame: report it once, drop the frame.
                if not self._failed:
                    self._failed = True
                    logger.exception("a decoded %s frame could not be delivered", codec.name)


class _OpusMono:
    """FFmpeg's own Opus decoder, mono: ~17 µs per 20 ms frame where aiortc's (libopus,
    stereo) takes ~50 µs. A call's audio is a voice: one channel is all the session reads."""

    def __init__(self) -> None:
        self._codec = CodecContext.create("opus", "r")
        self._codec.layout = "mono"
        self._codec.sample_rate = 48000

    def decode(self, encoded: JitterFrame) -> list[AudioFrame]:
        packet = Packet(encoded.data)
        packet.pts = encoded.timestamp
        packet.time_base = _OPUS_TIME_BASE
        return self._codec.decode(packet)


def decode_inline(pc: RTCPeerConnection, deliver: Callable[[AudioFrame], None]) -> bool:
    """Decode the audio of `pc`'s receivers on the event loop and hand each decoded frame
    to `deliver`, there and then (see the module docstring); False when aiortc's receiver
    is not what this expects, and its frames come through the remote track as usual.

    Call it once both descriptions are set, before the connection starts its receivers
    (with no `await` in between)."""
    installed = False
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if (
            transceiver.kind != "audio"
            or not isinstance(getattr(receiver, _QUEUE, None), queue.Queue)
            or getattr(receiver, _THREAD, True) is not None  # started already, or unknown
        ):
            continue
        setattr(receiver, _QUEUE, _InlineDecoder(deliver))
        installed = True
    return installed


async def audio_frames(track: MediaStreamTrack) -> AsyncIterator[AudioFrame]:
    """The decoded audio frames of a remote track, until it ends."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if isinstance(frame, AudioFrame):
            yield frame


class InboundAudio:
    """A remote track's decoded frames as audio in a protocol format, for the stream's life.

    Opus decodes to 48 kHz (`flt`, mono when `decode_inline` decodes it; `s16` stereo when
    aiortc does), G.711 to 8 kHz mono `s16`: one libswresample
    context per target rate (kept, so its filter runs on across frame edges) downmixes and
    resamples the decoded frame as it is, with no numpy copy and no new frame per 20 ms.
    """

    __slots__ = ("_resamplers",)

    def __init__(self) -> None:
        self._resamplers: dict[int, AudioResampler] = {}

    def pcm(self, frame: AudioFrame, rate: int) -> bytes:
        """PCM16 mono at `rate` of the next decoded frame of the stream."""
        if frame.sample_rate == rate and frame.format.name == "s16" and frame.layout.name == "mono":
            return bytes(memoryview(frame.planes[0])[: 2 * frame.samples])
        resampler = self._resamplers.get(rate)
        if resampler is None:
            resampler = self._resamplers[rate] = AudioResampler(format="s16", layout="mono", rate=rate)
        return b"".join(memoryview(out.planes[0])[: 2 * out.samples] for out in resampler.resample(frame))

    def audio(self, frame: AudioFrame, fmt: AudioFormat) -> bytes:
        """The next decoded frame in a protocol format (PCM16 24 kHz, G.711 8 kHz)."""
        pcm = self.pcm(frame, sample_rate(fmt))
        if fmt == "pcm16":
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2")
        return ulaw_encode(samples) if fmt == "g711_ulaw" else alaw_encode(samples)




def silent(frame: AudioFrame, threshold: int = 64) -> bool:
    """True when a decoded frame is (near) silence, under `threshold` in PCM16 units: the
    idle frames a peer sends between turns."""
    samples = frame.to_ndarray()
    if samples.size == 0:
        return True
    if samples.dtype.kind == "f":  # FFmpeg's Opus decoder: floats in [-1, 1]
        return bool(np.abs(samples).max() * 32768 < threshold)
    return bool(np.abs(samples.astype(np.int32)).max() < threshold)

