"""The input audio buffer and turn detection: VAD timing, formats, commits, idle timeout."""

from __future__ import annotations

import pybase64
import pytest
from session_harness import Harness, speech

from agentkit import audio


@pytest.mark.parametrize("fmt", ["g711_ulaw", "g711_alaw"])
def test_vad_and_output_in_g711(fmt: audio.AudioFormat) -> None:
    h = Harness()
    wire = {"g711_ulaw": {"type": "audio/pcmu"}, "g711_alaw": {"type": "audio/pcma"}}[fmt]
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": wire}, "output": {"format": wire}}}})
    out = h.append(speech(500, "Where is my order 42?", 900), fmt=fmt)
    started = next(e for e in out if e["type"] == "input_audio_buffer.speech_started")
    assert abs(started["audio_start_ms"] - 200) <= 20
    deltas = [pybase64.b64decode(e["delta"]) for e in out if e["type"] == "response.output_audio.delta"]
    spoken = b"".join(deltas)
    # 8 kHz, 1 byte per sample: "Let me check." is 3 words at 165 wpm.
    assert audio.duration_ms(len(spoken), fmt) == pytest.approx(3 * 60000 / 165, abs=2)
    decoded = audio.decode_to_pcm16(spoken, fmt)
    assert decoded.std() > 1000  # real audio, not silence


def test_manual_commit_and_transcription() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None, "transcription": {"model": "gpt-4o-transcribe"}}}}})
    out = h.append(audio.synthesize_speech("hmm", engine="synthetic")[: audio.bytes_for_ms(50)])
    assert out == []  # no VAD without turn detection
    assert h.error(h.send({"type": "input_audio_buffer.commit", "event_id": "k"}))["message"].endswith("only has 50.00ms of audio.")
    h.append(audio.synthesize_speech("Where is my order 42?", engine="synthetic"))
    out = h.send({"type": "input_audio_buffer.commit"})
    types = h.types(out)
    assert types[:3] == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    completed = next(e for e in out if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "Where is my order 42?"
    deltas = "".join(e["delta"] for e in out if e["type"] == "conversation.item.input_audio_transcription.delta")
    assert deltas == completed["transcript"]
    assert "response.created" not in types  # manual mode: the client asks for the response
    out = h.send({"type": "response.create"})
    assert any(e["type"] == "response.function_call_arguments.done" for e in out)


def test_idle_timeout() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 2000}}}}})
    out = h.send({"type": "response.create"})  # greeting: 5 words = 1818 ms of audio to play
    out = h.append(audio.generate_silence(5000))
    triggered = [e for e in out if e["type"] == "input_audio_buffer.timeout_triggered"]
    assert len(triggered) == 1
    start, end = triggered[0]["audio_start_ms"], triggered[0]["audio_end_ms"]
    # The timeout counts from when the greeting finished playing (fast pace: ~1818 ms of input).
    assert abs(start - 1818) <= 100 and abs((end - start) - 2000) <= 100
    assert next(e for e in out if e["type"] == "response.output_audio_transcript.done")["transcript"] == "Are you still there?"


def test_a_minute_of_silence_leaves_a_bounded_buffer() -> None:
    """While no speech is detected the buffer keeps what VAD and the prefix padding need."""
    h = Harness()
    h.append(audio.generate_silence(60_000))
    buffered_ms = audio.duration_ms(len(h.core._input._buffer))
    assert buffered_ms <= 300 + 40 + 1000 + 100  # prefix padding, onset, trimming slack, a chunk
    # The utterance after the silence is still committed whole, prefix padding included.
    text = "Where is my order 42?"
    out = h.append(speech(0, text, 800))
    started = next(e for e in out if e["type"] == "input_audio_buffer.speech_started")
    stopped = next(e for e in out if e["type"] == "input_audio_buffer.speech_stopped")
    committed = next(e for e in out if e["type"] == "input_audio_buffer.committed")
    item = h.core.items[committed["item_id"]]
    assert abs(audio.duration_ms(len(item.audio)) - (stopped["audio_end_ms"] - started["audio_start_ms"])) <= 10
    assert started["audio_start_ms"] >= 60_000 - 300 - 20


def test_the_buffer_is_capped() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}})
    chunk = pybase64.b64encode(bytes(4 * 2**20)).decode()
    for _ in range(3):
        assert not [e for e in h.send({"type": "input_audio_buffer.append", "audio": chunk}) if e["type"] == "error"]
    error = h.error(h.send({"type": "input_audio_buffer.append", "audio": chunk, "event_id": "full"}))
    assert error["code"] == "input_audio_buffer_full" and error["param"] == "audio" and error["event_id"] == "full"
    assert len(h.core._input._buffer) == 12 * 2**20
    assert h.types(h.send({"type": "input_audio_buffer.clear"})) == ["input_audio_buffer.cleared"]
    assert not [e for e in h.send({"type": "input_audio_buffer.append", "audio": chunk}) if e["type"] == "error"]
