"""Audio primitives: PCM16, G.711 μ-law/A-law, durations, resampling, WAV files, test speech.

The Realtime protocol moves audio in three formats (see `AudioFormat`):

| name | wire (GA) | samples | bytes per ms |
| --- | --- | --- | --- |
| `pcm16` | `{"type": "audio/pcm", "rate": 24000}` | 24 kHz, 16-bit little-endian, mono | 48 |
| `g711_ulaw` | `{"type": "audio/pcmu"}` | 8 kHz, 8-bit μ-law | 8 |
| `g711_alaw` | `{"type": "audio/pcma"}` | 8 kHz, 8-bit A-law | 8 |

G.711 coding uses 64 K-entry / 256-entry numpy lookup tables built once from the ITU
algorithm (the classic Sun `g711.c` reference), so encoding a 100 ms frame is one fancy-index,
not a Python loop; the tests check every sample against CPython's `audioop`.

Resampling is FFmpeg's libswresample through PyAV (already installed for aiortc): a
band-limited filter, so 24 kHz audio going to 8 kHz G.711 loses what lies above 4 kHz instead
of folding it back as aliasing. `resample` and `convert` take whole buffers; audio that
arrives in chunks goes through one `Resampler` or `Converter` per stream, which carries the
filter's state from chunk to chunk (a fresh filter per chunk clicks at every edge).
`bench/resample.py` compares it with soxr and the former hand-written resampler: as cheap as
that one per 100 ms chunk, with no aliasing and 2 ms held back (soxr's streaming mode, cheaper
still, holds back 40-75 ms in bursts).

`synthesize_speech` makes deterministic speech-like audio (voiced syllable bursts with a pitch
contour, pauses between words) whose duration follows the words — enough for a VAD, a
barge-in test or a demo, with no TTS service. When `espeak-ng` is installed and
`engine="auto"`/`"espeak"`, it speaks for real instead.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import wave
import zlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, get_args

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import av

__all__ = [
    "PCM16_SAMPLE_RATE",
    "AudioFormat",
    "Converter",
    "Resampler",
    "SpeechEngine",
    "alaw_decode",
    "alaw_encode",
    "bytes_for_ms",
    "bytes_per_ms",
    "convert",
    "decode_to_pcm16",
    "duration_ms",
    "encode_from_pcm16",
    "espeak_available",
    "generate_silence",
    "pcm16_from_samples",
    "pcm16_samples",
    "read_wav",
    "resample",
    "rms_dbfs",
    "sample_rate",
    "synthesize_speech",
    "ulaw_decode",
    "ulaw_encode",
    "write_wav",
]

AudioFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]
"""The audio format names of the protocol (beta spelling; GA uses format objects)."""

AUDIO_FORMATS: Final[tuple[str, ...]] = get_args(AudioFormat)

PCM16_SAMPLE_RATE: Final = 24_000
"""The only PCM rate the Realtime protocol accepts."""

_G711_SAMPLE_RATE: Final = 8_000

Int16Array = npt.NDArray[np.int16]
UInt8Array = npt.NDArray[np.uint8]


# --- format arithmetic -------------------------------------------------------------------------


def sample_rate(fmt: AudioFormat) -> int:
    """Samples per second of `fmt`: 24 000 for PCM16, 8 000 for G.711."""
    return PCM16_SAMPLE_RATE if fmt == "pcm16" else _G711_SAMPLE_RATE


def _bytes_per_sample(fmt: AudioFormat) -> int:
    return 2 if fmt == "pcm16" else 1


def bytes_per_ms(fmt: AudioFormat) -> int:
    """Bytes of one millisecond of `fmt` audio: 48 for PCM16, 8 for G.711."""
    return sample_rate(fmt) * _bytes_per_sample(fmt) // 1000


def duration_ms(nbytes: int, fmt: AudioFormat = "pcm16") -> float:
    """How many milliseconds `nbytes` bytes of `fmt` audio last."""
    return nbytes / bytes_per_ms(fmt)


def bytes_for_ms(ms: float, fmt: AudioFormat = "pcm16") -> int:
    """Bytes of `ms` milliseconds of `fmt` audio, rounded down to a whole sample."""
    width = _bytes_per_sample(fmt)
    samples = int(ms * sample_rate(fmt) / 1000)
    return samples * width


def generate_silence(ms: float, fmt: AudioFormat = "pcm16") -> bytes:
    """`ms` milliseconds of digital silence in `fmt` (G.711 silence is not zero bytes)."""
    n = int(ms * sample_rate(fmt) / 1000)
    if fmt == "pcm16":
        return bytes(2 * n)
    zeros = np.zeros(n, dtype=np.int16)
    return ulaw_encode(zeros) if fmt == "g711_ulaw" else alaw_encode(zeros)


# --- PCM16 -------------------------------------------------------------------------------------


def pcm16_samples(data: bytes) -> Int16Array:
    """View little-endian PCM16 bytes as int16 samples (no copy; a trailing odd byte is ignored)."""
    usable = len(data) - (len(data) % 2)
    return np.frombuffer(data, dtype="<i2", count=usable // 2).astype(np.int16, copy=False)


def pcm16_from_samples(samples: npt.ArrayLike) -> bytes:
    """Little-endian PCM16 bytes of `samples` (floats in [-1, 1] are scaled; ints are clipped)."""
    array = np.asarray(samples)
    if np.issubdtype(array.dtype, np.floating):
        array = np.round(np.clip(array, -1.0, 1.0) * 32767.0)
    clipped: Int16Array = np.clip(array, -32768, 32767).astype("<i2")
    return clipped.tobytes()


def rms_dbfs(data: bytes) -> float:
    """RMS level of PCM16 audio in dBFS (a full-scale square wave is 0 dBFS; silence is -inf)."""
    samples = pcm16_samples(data).astype(np.float64)
    if samples.size == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(samples * samples)))
    return 20.0 * math.log10(rms / 32768.0) if rms > 0 else -math.inf


# --- G.711 (ITU-T G.711, Sun reference implementation) ----------------------------------------

_ULAW_BIAS: Final = 0x84  # 0x21 in the 14-bit domain
_ULAW_CLIP_14: Final = 8159


def _build_ulaw_tables() -> tuple[UInt8Array, Int16Array]:
    # Encoder on the 14-bit magnitude, as in the reference g711.c (and CPython's audioop):
    # floor-shift, fold the sign, clip, bias, find the segment, keep 4 mantissa bits.
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), _ULAW_CLIP_14) + (_ULAW_BIAS >> 2)
    seg_ends = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    segment = np.searchsorted(seg_ends, magnitude, side="left")
    uval = (np.minimum(segment, 7) << 4) | ((magnitude >> (np.minimum(segment, 7) + 1)) & 0x0F)
    uval = np.where(segment >= 8, 0x7F, uval)
    encode = uval ^ mask
    codes = np.arange(256, dtype=np.int32)
    inverted = ~codes & 0xFF
    exp = (inverted >> 4) & 0x07
    man = inverted & 0x0F
    value = (((man << 3) + _ULAW_BIAS) << exp) - _ULAW_BIAS
    decode = np.where(inverted & 0x80, -value, value)
    return encode.astype(np.uint8), decode.astype(np.int16)


def _build_alaw_tables() -> tuple[UInt8Array, Int16Array]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3  # 13-bit linear
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    magnitude = np.where(pcm >= 0, pcm, -pcm - 1)
    seg_ends = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    segment = np.searchsorted(seg_ends, magnitude, side="left")
    shift = np.where(segment < 2, 1, segment)
    aval = (np.minimum(segment, 7) << 4) | ((magnitude >> shift) & 0x0F)
    aval = np.where(segment >= 8, 0x7F, aval)
    encode = aval ^ mask
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    t = (codes & 0x0F) << 4
    seg = (codes & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    decode = np.where(codes & 0x80, t, -t)
    return encode.astype(np.uint8), decode.astype(np.int16)


_ULAW_ENCODE, _ULAW_DECODE = _build_ulaw_tables()
_ALAW_ENCODE, _ALAW_DECODE = _build_alaw_tables()


def _encode_table(samples: npt.ArrayLike, table: UInt8Array) -> bytes:
    # int16 → uint16 offset index: -32768 → 0.
    index = np.asarray(samples, dtype=np.int16).astype(np.int32) + 32768
    return table[index].tobytes()


def ulaw_encode(samples: npt.ArrayLike) -> bytes:
    """G.711 μ-law bytes of int16 samples (same sample rate in and out)."""
    return _encode_table(samples, _ULAW_ENCODE)


def ulaw_decode(data: bytes) -> Int16Array:
    """int16 samples of G.711 μ-law bytes."""
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_encode(samples: npt.ArrayLike) -> bytes:
    """G.711 A-law bytes of int16 samples (same sample rate in and out)."""
    return _encode_table(samples, _ALAW_ENCODE)


def alaw_decode(data: bytes) -> Int16Array:
    """int16 samples of G.711 A-law bytes."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


# --- resampling and conversion -----------------------------------------------------------------

# Input samples fed after the end of a stream before flushing: swresample holds back up to a
# filter length of input (32 taps at the lower rate) and returns nothing at all for a stream
# shorter than that, so a little silence lets every real sample out; the tail is then trimmed
# to the exact length.
_FLUSH_PAD_SAMPLES: Final = 512


class Resampler:
    """Resample a stream of PCM16 chunks from `src_rate` to `dst_rate`, carrying filter state.

    A band-limited (windowed-sinc) resampler, FFmpeg's libswresample through PyAV: going down,
    what lies above the new Nyquist frequency is filtered out instead of folding back as
    aliasing; going up, no images are left above the old one. A filter looks at samples on both
    sides of each output, so resampling chunk by chunk with a fresh filter each time would click
    at every chunk edge: one `Resampler` per stream keeps the history across `process` calls.

    The output is aligned with the input (no added delay) but a few milliseconds are held back
    until the next chunk, or `flush`, which returns them and makes the total exactly
    `floor(samples_in * dst_rate / src_rate)` samples. After `flush` the same object starts a
    new stream. Equal rates pass the bytes through untouched.

    ```python
    down = Resampler(24_000, 8_000)
    out = b"".join(down.process(chunk) for chunk in chunks) + down.flush()
    ```
    """

    __slots__ = ("_carry", "_dst_rate", "_produced", "_received", "_src_rate", "_swr")

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError(f"sample rates must be positive, not {src_rate} and {dst_rate}")
        self._src_rate = src_rate
        self._dst_rate = dst_rate
        self._swr: av.AudioResampler | None = None
        self._carry = b""  # an odd byte left from the previous chunk
        self._received = 0  # input samples since the stream started
        self._produced = 0  # output samples since the stream started

    @property
    def src_rate(self) -> int:
        """Samples per second going in."""
        return self._src_rate

    @property
    def dst_rate(self) -> int:
        """Samples per second coming out."""
        return self._dst_rate

    def process(self, chunk: bytes) -> bytes:
        """Resample the next chunk of little-endian PCM16; returns what is ready (maybe b"")."""
        if self._src_rate == self._dst_rate:
            return chunk
        if self._carry:
            chunk, self._carry = self._carry + chunk, b""
        if len(chunk) % 2:
            chunk, self._carry = chunk[:-1], chunk[-1:]
        if not chunk:
            return b""
        self._received += len(chunk) // 2
        return self._feed(chunk)

    def flush(self) -> bytes:
        """End the stream: the samples held back, to the exact total length; then start afresh."""
        if self._src_rate == self._dst_rate or self._swr is None:
            self._reset()
            return b""
        expected = self._received * self._dst_rate // self._src_rate
        tail = self._feed(bytes(2 * _FLUSH_PAD_SAMPLES)) + self._drain(None)
        missing = max(0, expected - self._produced + len(tail) // 2)
        self._reset()
        return tail[: 2 * missing].ljust(2 * missing, b"\0")

    def _feed(self, chunk: bytes) -> bytes:
        # PyAV is imported here, not at the top: loading FFmpeg costs ~55 ms, which every
        # command that imports this module but never resamples would pay.
        import av

        samples = len(chunk) // 2
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(chunk)
        frame.sample_rate = self._src_rate
        return self._drain(frame)

    def _drain(self, frame: av.AudioFrame | None) -> bytes:
        if self._swr is None:
            import av

            self._swr = av.AudioResampler(format="s16", layout="mono", rate=self._dst_rate)
        out = b"".join(
            memoryview(done.planes[0])[: 2 * done.samples] for done in self._swr.resample(frame)
        )
        self._produced += len(out) // 2
        return out

    def _reset(self) -> None:
        self._swr = None
        self._carry = b""
        self._received = self._produced = 0


def resample(samples: npt.ArrayLike, src_rate: int, dst_rate: int) -> Int16Array:
    """Resample a whole buffer of int16 samples from `src_rate` to `dst_rate`.

    One-shot `Resampler` (band-limited, no aliasing); `floor(n * dst_rate / src_rate)` samples
    come back. For audio that arrives in chunks, keep one `Resampler` for the stream instead.
    """
    array = np.asarray(samples, dtype=np.int16)
    if src_rate == dst_rate or array.size == 0:
        return array
    resampler = Resampler(src_rate, dst_rate)
    out = bytearray(resampler.process(array.astype("<i2").tobytes()))
    out += resampler.flush()
    return np.frombuffer(out, dtype="<i2").astype(np.int16, copy=False)


def decode_to_pcm16(data: bytes, fmt: AudioFormat) -> Int16Array:
    """int16 samples of `fmt` audio at the format's own rate (24 kHz or 8 kHz)."""
    if fmt == "pcm16":
        return pcm16_samples(data)
    if fmt == "g711_ulaw":
        return ulaw_decode(data)
    return alaw_decode(data)


class Converter:
    """`convert` for a stream: decode `src`, resample, encode `dst`, chunk by chunk.

    Keeps the resampler's state across chunks (see `Resampler`), so converting audio deltas one
    at a time gives the same audio as converting them joined, with no clicks at the joins.
    Call `flush` at the end of the stream for the last few milliseconds.
    """

    __slots__ = ("_dst", "_resampler", "_src")

    def __init__(self, src: AudioFormat, dst: AudioFormat) -> None:
        self._src: AudioFormat = src
        self._dst: AudioFormat = dst
        self._resampler = Resampler(sample_rate(src), sample_rate(dst))

    def process(self, data: bytes) -> bytes:
        """Convert the next chunk; returns what is ready (maybe b"")."""
        if self._src == self._dst:
            return data
        if self._src != "pcm16":
            data = decode_to_pcm16(data, self._src).astype("<i2").tobytes()
        return self._encode(self._resampler.process(data))

    def flush(self) -> bytes:
        """End the stream: the audio held back by the resampler, encoded."""
        return self._encode(self._resampler.flush())

    def _encode(self, pcm16: bytes) -> bytes:
        if self._dst == "pcm16" or not pcm16:
            return pcm16
        samples = pcm16_samples(pcm16)
        return ulaw_encode(samples) if self._dst == "g711_ulaw" else alaw_encode(samples)


def encode_from_pcm16(pcm16: bytes, fmt: AudioFormat) -> bytes:
    """Encode 24 kHz PCM16 bytes as `fmt` (G.711 is resampled to 8 kHz first)."""
    return convert(pcm16, "pcm16", fmt)


def convert(data: bytes, src: AudioFormat, dst: AudioFormat) -> bytes:
    """Convert a whole buffer between protocol formats, resampling as needed.

    For a stream of chunks, use one `Converter` instead: converting each chunk on its own
    restarts the resampling filter at every chunk edge.
    """
    if src == dst:
        return data
    converter = Converter(src, dst)
    return converter.process(data) + converter.flush()


# --- WAV ---------------------------------------------------------------------------------------


def read_wav(source: str | Path | bytes, *, rate: int = PCM16_SAMPLE_RATE) -> bytes:
    """Read a PCM WAV file (8/16/32-bit, any rate, any channels) as mono PCM16 at `rate`.

    `source` is a path or the file's bytes. Channels are averaged.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    with stream, wave.open(stream, "rb") as wav:
        channels, width, src_rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.int32)
    elif width == 4:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.int64) >> 16
    else:
        raise ValueError(f"unsupported WAV sample width {width * 8} bits")
    if channels > 1:
        samples = samples[: samples.size - samples.size % channels].reshape(-1, channels).mean(axis=1)
    mono = np.clip(samples, -32768, 32767).astype(np.int16)
    return resample(mono, src_rate, rate).astype("<i2").tobytes()


def write_wav(target: str | Path | io.BytesIO, pcm16: bytes, *, rate: int = PCM16_SAMPLE_RATE) -> None:
    """Write mono PCM16 bytes as a WAV file (path or writable binary buffer)."""
    with wave.open(str(target) if isinstance(target, Path) else target, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm16)


# --- speech ------------------------------------------------------------------------------------

_WORD = re.compile(r"[\w']+")
_VOWEL_GROUP = re.compile(r"[aeiouy]+", re.IGNORECASE)


def espeak_available() -> bool:
    """Whether the `espeak-ng` binary is on `PATH`."""
    return shutil.which("espeak-ng") is not None


SpeechEngine = Literal["auto", "synthetic", "espeak"]
"""Which voice `synthesize_speech` uses: espeak-ng when installed (`auto`), or always one."""


def synthesize_speech(
    text: str,
    *,
    sample_rate: int = PCM16_SAMPLE_RATE,
    words_per_minute: int = 165,
    engine: SpeechEngine = "auto",
) -> bytes:
    """PCM16 mono speech for `text`, deterministic for the same arguments.

    With `engine="synthetic"` (the default when espeak-ng is not installed), each word gets `60 / words_per_minute` seconds:
    voiced syllable bursts (harmonics of a falling pitch contour under a raised-cosine
    envelope, with a short noisy onset for consonants), then a ~70 ms pause before the next
    word, so the total duration is exactly the word count at that rate. Pauses stay well under
    any sensible VAD silence duration; a VAD sees one utterance.

    `engine="espeak"` speaks with `espeak-ng` (resampled to `sample_rate`); `"auto"` (default)
    uses espeak-ng when installed and the synthetic voice otherwise. Pass `"synthetic"` where
    exact durations matter (tests). Text with no words gives b"".
    """
    if engine == "espeak" or (engine == "auto" and espeak_available()):
        return _espeak(text, sample_rate, words_per_minute)
    return _synthetic_speech(text, sample_rate, words_per_minute)


@lru_cache(maxsize=256)
def _synthetic_speech(text: str, rate: int, wpm: int) -> bytes:
    words = _WORD.findall(text)
    if not words:
        return b""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    word_samples = round(rate * 60.0 / wpm)
    pause = min(int(0.07 * rate), word_samples // 4)
    total = word_samples * len(words)
    out = np.zeros(total, dtype=np.float64)
    for index, word in enumerate(words):
        syllables = max(1, len(_VOWEL_GROUP.findall(word)))
        voiced = word_samples - pause
        syllable_len = voiced // syllables
        # Declination: pitch falls over the utterance, with a per-word wobble.
        progress = index / max(1, len(words) - 1)
        base_f0 = 150.0 - 40.0 * progress + float(rng.uniform(-8.0, 8.0))
        start = index * word_samples
        for s in range(syllables):
            n = syllable_len
            # Pitch rises then falls inside a syllable (a small accent).
            contour = base_f0 * (1.0 + 0.08 * np.sin(np.pi * np.linspace(0.0, 1.0, n)))
            phase = 2.0 * np.pi * np.cumsum(contour) / rate
            # Vowel-like spectrum: harmonics weighted by two formant bumps.
            f1, f2 = float(rng.uniform(350, 800)), float(rng.uniform(900, 2200))
            signal = np.zeros(n)
            for h in range(1, 12):
                freq = h * base_f0
                weight = np.exp(-(((freq - f1) / 250.0) ** 2)) + 0.6 * np.exp(
                    -(((freq - f2) / 400.0) ** 2)
                )
                signal += (weight + 0.05) * np.sin(h * phase)
            signal /= max(1e-9, float(np.max(np.abs(signal))))
            envelope = np.sin(np.pi * np.linspace(0.0, 1.0, n)) ** 0.6
            onset = min(n, int(0.03 * rate))
            noise = np.zeros(n)
            noise[:onset] = rng.normal(0.0, 0.25, onset) * np.linspace(1.0, 0.0, onset)
            loud = 0.45 + 0.1 * float(rng.uniform())
            seg_start = start + s * syllable_len
            out[seg_start : seg_start + n] = loud * envelope * signal + noise
    return pcm16_from_samples(out)


def _espeak(text: str, rate: int, wpm: int) -> bytes:
    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    result = subprocess.run(
        ["espeak-ng", "--stdout", "-s", str(wpm), text],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return read_wav(result.stdout, rate=rate)
