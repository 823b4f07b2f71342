"""Audio primitives: G.711 against the reference codec, arithmetic, WAV, resampling, speech."""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from needs import need

from agentkit import audio

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:  # CPython's C implementation of the same ITU reference, removed in 3.13.
        import audioop
    except ImportError:  # pragma: no cover - python >= 3.13
        audioop = None  # type: ignore[assignment]


@pytest.mark.skipif(audioop is None, reason="audioop removed in this Python")
def test_g711_matches_reference_codec_on_every_sample() -> None:
    pcm = ALL_INT16.astype("<i2").tobytes()
    assert audio.ulaw_encode(ALL_INT16) == audioop.lin2ulaw(pcm, 2)
    assert audio.alaw_encode(ALL_INT16) == audioop.lin2alaw(pcm, 2)
    codes = bytes(range(256))
    assert audio.ulaw_decode(codes).astype("<i2").tobytes() == audioop.ulaw2lin(codes, 2)
    assert audio.alaw_decode(codes).astype("<i2").tobytes() == audioop.alaw2lin(codes, 2)


def test_g711_known_codes() -> None:
    assert audio.ulaw_encode([0]) == b"\xff"
    assert audio.alaw_encode([0]) == b"\xd5"
    assert audio.ulaw_decode(b"\x00")[0] == -32124
    assert audio.ulaw_decode(b"\x80")[0] == 32124
    assert audio.alaw_decode(b"\xd5")[0] == 8
    assert audio.alaw_decode(b"\xaa")[0] == 32256


def test_g711_round_trip_error_bounds() -> None:
    # Logarithmic quantisation: about half a segment step, i.e. a bounded *relative* error
    # (1/32 for A-law; μ-law's 14-bit floor-shift adds a little at segment edges) for loud
    # samples, and a few units for quiet ones. Clipping starts at 32635 (μ-law).
    for encode, decode, floor, rel in (
        (audio.ulaw_encode, audio.ulaw_decode, 12, 1 / 19),
        (audio.alaw_encode, audio.alaw_decode, 8, 1 / 32),
    ):
        back = decode(encode(ALL_INT16)).astype(np.int32)
        magnitude = np.abs(ALL_INT16.astype(np.int32))
        err = np.abs(back - ALL_INT16.astype(np.int32))
        bound = np.maximum(floor, magnitude * rel)
        inside = magnitude <= 32000
        assert np.all(err[inside] <= bound[inside])
        assert np.mean(err[inside] / np.maximum(magnitude[inside], 1)) < 0.02
        # Re-encoding a decoded code gives the same code (the codec is idempotent).
        codes = np.frombuffer(encode(ALL_INT16), dtype=np.uint8)
        assert encode(decode(codes.tobytes())) == codes.tobytes()


def test_format_arithmetic() -> None:
    assert audio.bytes_per_ms("pcm16") == 48
    assert audio.bytes_per_ms("g711_ulaw") == audio.bytes_per_ms("g711_alaw") == 8
    assert audio.duration_ms(4800) == 100.0
    assert audio.duration_ms(800, "g711_alaw") == 100.0
    assert audio.bytes_for_ms(100) == 4800
    assert audio.bytes_for_ms(12.5, "g711_ulaw") == 100
    assert audio.generate_silence(100) == bytes(4800)
    assert audio.generate_silence(10, "g711_ulaw") == b"\xff" * 80
    assert audio.generate_silence(10, "g711_alaw") == b"\xd5" * 80
    assert audio.rms_dbfs(audio.generate_silence(10)) == -math.inf


def test_resample_and_convert() -> None:
    tone = audio.pcm16_from_samples(0.5 * np.sin(2 * np.pi * 440 * np.arange(2400) / 24000))
    ulaw = audio.convert(tone, "pcm16", "g711_ulaw")
    assert len(ulaw) == 800  # 100 ms at 8 kHz
    back = audio.convert(ulaw, "g711_ulaw", "pcm16")
    assert abs(len(back) - len(tone)) <= 6
    # Same loudness within 1 dB after 24k → 8k μ-law → 24k.
    assert abs(audio.rms_dbfs(back) - audio.rms_dbfs(tone)) < 1.0
    assert audio.resample(np.ones(10, dtype=np.int16), 8000, 8000).size == 10
    assert audio.resample(np.ones(300, dtype=np.int16), 8000, 24000).size == 900


def tone(freq: float, rate: int = 24000, ms: int = 1000, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(rate * ms // 1000) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def db(samples: np.ndarray) -> float:
    return audio.rms_dbfs(samples.astype("<i2").tobytes())


def streamed(samples: np.ndarray, src: int, dst: int, chunk_ms: int = 20) -> np.ndarray:
    resampler = audio.Resampler(src, dst)
    data, step = samples.astype("<i2").tobytes(), 2 * src * chunk_ms // 1000
    out = b"".join(resampler.process(data[i : i + step]) for i in range(0, len(data), step))
    return np.frombuffer(out + resampler.flush(), dtype="<i2")


def test_resampling_down_filters_out_what_would_alias() -> None:
    # 6 kHz is above 8 kHz's Nyquist frequency: a box average folded it back to 2 kHz at
    # -18.6 dB; a band-limited resampler removes it.
    high = tone(6000)
    for down in (audio.resample(high, 24000, 8000), streamed(high, 24000, 8000)):
        assert db(down[400:-400]) - db(high) < -40  # away from the edges' transients
    # G.711 encoding goes through the same filter.
    ulaw = audio.convert(high.astype("<i2").tobytes(), "pcm16", "g711_ulaw")
    assert db(audio.ulaw_decode(ulaw)[400:-400]) - db(high) < -40


def test_a_tone_keeps_its_frequency_and_level_down_and_back_up() -> None:
    low = tone(1000)
    for back in (
        audio.resample(audio.resample(low, 24000, 8000), 8000, 24000),
        streamed(streamed(low, 24000, 8000), 8000, 24000),
    ):
        assert back.size == low.size
        middle = slice(2400, -2400)
        assert abs(db(back[middle]) - db(low[middle])) < 0.5
        spectrum = np.abs(np.fft.rfft(back.astype(np.float64)))
        assert np.argmax(spectrum) * 24000 / back.size == pytest.approx(1000, abs=1)
        # Aligned with the input: no delay added, so the waveforms match sample by sample.
        assert np.max(np.abs(back[middle].astype(np.int32) - low[middle])) < 200


@pytest.mark.parametrize(("src", "dst"), [(24000, 8000), (8000, 24000), (24000, 48000), (44100, 24000)])
def test_streaming_in_chunks_matches_one_shot(src: int, dst: int) -> None:
    # Speech-like audio, 20 ms chunks: the filter's state carries over, so the chunk edges
    # are invisible (a stateless filter per chunk would click at each one).
    speech = audio.pcm16_samples(audio.synthesize_speech("one two three", sample_rate=src, engine="synthetic"))
    one_shot = audio.resample(speech, src, dst)
    chunked = streamed(speech, src, dst)
    assert chunked.size == one_shot.size
    assert np.max(np.abs(chunked.astype(np.int32) - one_shot)) <= 2
    edges = np.arange(dst // 50, one_shot.size, dst // 50)
    assert np.max(np.abs(chunked[edges].astype(np.int32) - one_shot[edges])) <= 2


@given(
    rate=st.sampled_from([(24000, 8000), (8000, 24000), (24000, 48000), (16000, 24000)]),
    chunk_ms=st.sampled_from([10, 20, 100]),
    total_ms=st.integers(0, 400),
)
def test_n_ms_in_gives_n_ms_out(rate: tuple[int, int], chunk_ms: int, total_ms: int) -> None:
    src, dst = rate
    samples = tone(440, src, total_ms)
    expected = dst * total_ms // 1000
    assert audio.resample(samples, src, dst).size == expected
    assert streamed(samples, src, dst, chunk_ms).size == expected


def test_silence_stays_silence() -> None:
    for src, dst in ((24000, 8000), (8000, 24000), (24000, 48000)):
        assert not streamed(np.zeros(src, dtype=np.int16), src, dst).any()
    pcm = audio.generate_silence(100)
    assert audio.convert(pcm, "pcm16", "g711_ulaw") == audio.generate_silence(100, "g711_ulaw")
    assert audio.convert(pcm, "pcm16", "g711_alaw") == audio.generate_silence(100, "g711_alaw")
    assert audio.convert(audio.generate_silence(100, "g711_ulaw"), "g711_ulaw", "pcm16") == bytes(4800)


def test_resampler_streams_bytes() -> None:
    data = tone(440, 24000, 100).astype("<i2").tobytes()
    resampler = audio.Resampler(24000, 8000)
    assert (resampler.src_rate, resampler.dst_rate) == (24000, 8000)
    # An odd byte waits for its other half in the next chunk.
    out = resampler.process(data[:481]) + resampler.process(data[481:]) + resampler.flush()
    assert out == audio.resample(tone(440, 24000, 100), 24000, 8000).astype("<i2").tobytes()
    # After flush the same object starts a new stream.
    assert resampler.process(data) + resampler.flush() == out
    assert resampler.flush() == b""
    assert audio.Resampler(8000, 8000).process(b"\x01\x02\x03") == b"\x01\x02\x03"
    with pytest.raises(ValueError, match="positive"):
        audio.Resampler(0, 8000)


def test_converter_streams_formats_like_convert() -> None:
    pcm = audio.synthesize_speech("hello there", engine="synthetic")
    for src, dst in (("pcm16", "g711_ulaw"), ("pcm16", "g711_alaw"), ("g711_ulaw", "pcm16"), ("g711_ulaw", "g711_alaw")):
        data = audio.convert(pcm, "pcm16", src)
        converter = audio.Converter(src, dst)
        step = audio.bytes_for_ms(20, src)
        out = b"".join(converter.process(data[i : i + step]) for i in range(0, len(data), step))
        assert out + converter.flush() == audio.convert(data, src, dst)
    assert audio.Converter("pcm16", "pcm16").process(pcm) == pcm


@given(st.lists(st.integers(-32768, 32767), max_size=200))
def test_pcm16_bytes_round_trip(samples: list[int]) -> None:
    data = audio.pcm16_from_samples(np.array(samples, dtype=np.int64))
    assert audio.pcm16_samples(data).tolist() == samples


def test_wav_round_trip_and_resample(tmp_path: object) -> None:
    pcm = audio.synthesize_speech("one two three", engine="synthetic")
    buf = io.BytesIO()
    audio.write_wav(buf, pcm)
    assert audio.read_wav(buf.getvalue()) == pcm
    # A 16 kHz stereo file comes back as 24 kHz mono of the same duration.
    stereo = io.BytesIO()
    import wave

    with wave.open(stereo, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(np.zeros(16000 * 2, dtype="<i2").tobytes())
    assert audio.duration_ms(len(audio.read_wav(stereo.getvalue()))) == pytest.approx(1000, abs=1)


def test_synthetic_speech_is_deterministic_and_word_timed() -> None:
    text = "Your table for two is booked at seven tonight."
    first = audio.synthesize_speech(text, engine="synthetic")
    assert first == audio.synthesize_speech(text, engine="synthetic")
    assert first != audio.synthesize_speech(text + " Thanks.", engine="synthetic")
    words = 9
    assert audio.duration_ms(len(first)) == pytest.approx(words * 60000 / 165, abs=1)
    assert audio.duration_ms(len(audio.synthesize_speech(text, words_per_minute=120, engine="synthetic"))) == pytest.approx(
        words * 500, abs=1
    )
    assert audio.synthesize_speech("...", engine="synthetic") == b""
    # Speech-like: loud enough for a VAD, not clipped, with real pauses between words.
    samples = audio.pcm16_samples(first)
    assert -25 < audio.rms_dbfs(first) < -6
    assert np.max(np.abs(samples)) < 32767
    frame = 24 * 20  # 20 ms frames
    levels = [audio.rms_dbfs(first[i * 2 * frame : (i + 1) * 2 * frame]) for i in range(len(samples) // frame)]
    assert sum(1 for db in levels if db < -50) >= words - 1
    # 8 kHz rendering has the same duration.
    low = audio.synthesize_speech(text, sample_rate=8000, engine="synthetic")
    assert len(low) * 3 == pytest.approx(len(first), abs=6)


def test_espeak_engine() -> None:
    need(audio.espeak_available(), "espeak-ng")
    pcm = audio.synthesize_speech("hello world", engine="espeak")
    assert 300 < audio.duration_ms(len(pcm)) < 3000
