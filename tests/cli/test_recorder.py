"""`agentkit run --record`: only the agent's audio is kept, decoded to a 24 kHz PCM16 WAV."""

from __future__ import annotations

import wave
from pathlib import Path

from agentkit.cli.recorder import AudioRecorder
from agentkit.events import AssistantTranscript, AudioOut


def delta(audio: bytes, item: str = "i1") -> AudioOut:
    return AudioOut(audio=audio, item_id=item, content_index=0, response_id="r1")


def test_the_agents_audio_is_kept_back_to_back_as_a_wav(tmp_path: Path) -> None:
    recorder = AudioRecorder("g711_ulaw")
    # Two responses of 100 ms each at 8 kHz μ-law; what the caller said is not recorded.
    recorder.observe(delta(b"\xff" * 800), at=0.0)
    recorder.observe(AssistantTranscript("i1", "Hello"), at=0.1)
    recorder.observe(delta(b"\xff" * 800, "i2"), at=5.0)
    target = tmp_path / "agent.wav"
    recorder.write(target)
    with wave.open(str(target), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24_000)
        # 200 ms of speech, not the 5 s the call took: silences between responses are left out.
        assert wav.getnframes() == 4_800


def test_g711_deltas_are_decoded_as_one_stream(tmp_path: Path) -> None:
    # 1 s of a 440 Hz tone in μ-law, delivered as 20 ms deltas: the recording is the same as
    # decoding the whole call at once (no filter restart, no samples lost at each edge).
    from agentkit import audio

    tone = audio.synthesize_speech("hello there", sample_rate=8000, engine="synthetic")
    ulaw = audio.convert(audio.resample(audio.pcm16_samples(tone), 8000, 24000).tobytes(), "pcm16", "g711_ulaw")
    recorder = AudioRecorder("g711_ulaw")
    for start in range(0, len(ulaw), 160):
        recorder.observe(delta(ulaw[start : start + 160]), at=0.0)
    target = tmp_path / "agent.wav"
    recorder.write(target)
    whole = audio.convert(ulaw, "g711_ulaw", "pcm16")
    with wave.open(str(target), "rb") as wav:
        recorded = wav.readframes(wav.getnframes())
    assert len(recorded) == len(whole)
    assert recorded == whole
