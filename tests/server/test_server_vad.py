"""`agentkit.server.vad`: the energy detector's onset and offset on synthetic speech and
silence at 24 kHz and 8 kHz, and the server's turn detection timing built on it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from session_harness import Harness, speech

from agentkit import audio
from agentkit.server.vad import (
    SEMANTIC_SILENCE_MS,
    SpeechStarted,
    SpeechStopped,
    VadConfig,
    VadEvent,
    VoiceActivityDetector,
    threshold_dbfs,
)

RATES = [24_000, 8_000]


def silence(ms: int, rate: int) -> npt.NDArray[np.int16]:
    return np.zeros(rate * ms // 1000, dtype=np.int16)


def tone(ms: int, rate: int, dbfs: float = -15.0) -> npt.NDArray[np.int16]:
    """A 440 Hz sine whose RMS level is `dbfs`."""
    amplitude = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    t = np.arange(rate * ms // 1000) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def utterance(rate: int, *parts: tuple[str, int]) -> npt.NDArray[np.int16]:
    return np.concatenate([tone(ms, rate) if kind == "voice" else silence(ms, rate) for kind, ms in parts])


@pytest.mark.parametrize("rate", RATES)
def test_onset_includes_the_padding_and_offset_the_silence(rate: int) -> None:
    vad = VoiceActivityDetector(VadConfig(), rate)
    events = vad.feed(utterance(rate, ("silence", 500), ("voice", 1000), ("silence", 800)))
    # Voice from 500 ms to 1500 ms: start 500 - 300 (padding), end 1500 + 500 (silence).
    assert events == [SpeechStarted(audio_start_ms=200), SpeechStopped(audio_end_ms=2000)]
    assert not vad.in_speech and vad.position_ms == 2300


@pytest.mark.parametrize("rate", RATES)
def test_the_turn_stays_open_until_the_whole_silence_duration_passed(rate: int) -> None:
    vad = VoiceActivityDetector(VadConfig(silence_duration_ms=500), rate)
    assert vad.feed(utterance(rate, ("voice", 300), ("silence", 490))) == [
        SpeechStarted(audio_start_ms=0)  # padding never goes before the start of the audio
    ]
    assert vad.in_speech
    # A pause shorter than the silence duration, then more voice: still one turn.
    assert vad.feed(utterance(rate, ("voice", 200))) == []
    assert vad.feed(silence(499, rate)) == []
    assert vad.feed(silence(1, rate)) == [SpeechStopped(audio_end_ms=990 + 500)]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(("voice_ms", "opens"), [(10, False), (20, False), (30, True)])
def test_a_click_does_not_open_a_turn(rate: int, voice_ms: int, opens: bool) -> None:
    vad = VoiceActivityDetector(VadConfig(prefix_padding_ms=0), rate)
    events = vad.feed(utterance(rate, ("silence", 100), ("voice", voice_ms), ("silence", 100)))
    assert (events[:1] == [SpeechStarted(audio_start_ms=100)]) is opens
    if not opens:
        assert events == [] and not vad.in_speech


def test_the_threshold_maps_onto_dbfs_and_gates_quiet_voices() -> None:
    assert [threshold_dbfs(t) for t in (0.0, 0.5, 1.0, -1.0, 2.0)] == [-60, -35, -10, -60, -10]
    quiet = np.concatenate([tone(200, 24_000, dbfs=-40.0), silence(600, 24_000)])
    assert VoiceActivityDetector(VadConfig(threshold=0.5), 24_000).feed(quiet) == []
    sensitive = VoiceActivityDetector(VadConfig(threshold=0.0, prefix_padding_ms=0), 24_000)
    assert sensitive.feed(quiet) == [SpeechStarted(0), SpeechStopped(200 + 500)]


def test_reset_forgets_the_utterance_and_skip_to_keeps_the_timeline() -> None:
    vad = VoiceActivityDetector(VadConfig(prefix_padding_ms=0), 8_000)
    assert vad.feed(tone(100, 8_000)) == [SpeechStarted(0)]
    vad.reset()
    assert not vad.in_speech
    assert vad.feed(silence(1000, 8_000)) == []  # no stop for a forgotten turn
    vad.skip_to(5_000)
    assert vad.position_ms == 5_000
    vad.skip_to(10)  # never backwards
    assert vad.position_ms == 5_000
    assert vad.feed(tone(50, 8_000)) == [SpeechStarted(5_000)]


def test_semantic_eagerness_waits_longest_when_low() -> None:
    assert SEMANTIC_SILENCE_MS["low"] > SEMANTIC_SILENCE_MS["medium"] > SEMANTIC_SILENCE_MS["high"]
    assert SEMANTIC_SILENCE_MS["auto"] == SEMANTIC_SILENCE_MS["medium"]


CALL = {rate: utterance(rate, ("silence", 120), ("voice", 250), ("silence", 80), ("voice", 40), ("silence", 600)) for rate in RATES}


@settings(max_examples=40, deadline=None)
@given(rate=st.sampled_from(RATES), cuts=st.lists(st.floats(0, 1), max_size=12))
def test_any_chunking_gives_the_same_events(rate: int, cuts: list[float]) -> None:
    samples = CALL[rate]
    whole = VoiceActivityDetector(VadConfig(), rate).feed(samples)
    assert whole == [SpeechStarted(0), SpeechStopped(490 + 500)]
    vad = VoiceActivityDetector(VadConfig(), rate)
    events: list[VadEvent] = []
    bounds = sorted(int(c * samples.size) for c in cuts)
    for start, end in zip([0, *bounds], [*bounds, samples.size], strict=True):
        events += vad.feed(samples[start:end])
    assert events == whole


# --- through the server session (moved from test_server_input_audio.py) --------------------


def test_vad_timing_on_generated_audio() -> None:
    """300 ms silence, ~1.2 s of speech, 800 ms silence; defaults: padding 300, silence 500."""
    h = Harness()
    text = "Where is my order 42?"  # 5 words at 165 wpm = 1818 ms
    speech_ms = audio.duration_ms(len(audio.synthesize_speech(text, engine="synthetic")))
    out = h.append(speech(300, text, 800))
    started = [e for e in out if e["type"] == "input_audio_buffer.speech_started"]
    stopped = [e for e in out if e["type"] == "input_audio_buffer.speech_stopped"]
    assert len(started) == len(stopped) == 1
    # Speech begins at 300 ms; audio_start_ms includes the 300 ms prefix padding (±20 ms for
    # the syllable's soft onset on 10 ms frames).
    assert abs(started[0]["audio_start_ms"] - (300 - 300)) <= 20
    # The last word's voice ends ~70 ms (the word pause) before the speech's end; the stop
    # includes the 500 ms silence duration. Tolerance: 100 ms.
    voice_end = 300 + speech_ms - 70
    assert abs(stopped[0]["audio_end_ms"] - (voice_end + 500)) <= 100
    assert stopped[0]["item_id"] == started[0]["item_id"]
    committed = [e for e in out if e["type"] == "input_audio_buffer.committed"]
    assert committed and committed[0]["item_id"] == started[0]["item_id"]
    # create_response: the script's turn runs on the committed audio.
    assert "response.created" in h.types(out)
    assert any(e["type"] == "response.function_call_arguments.done" for e in out)


def test_semantic_vad_eagerness() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}}}})
    # 1 s of silence is a pause for a "low" eagerness speaker (1500 ms), not the end of the turn.
    out = h.append(speech(300, "Where is", 1000))
    assert "input_audio_buffer.speech_stopped" not in h.types(out)
    out = h.append(audio.generate_silence(700))
    assert "input_audio_buffer.speech_stopped" in h.types(out)
