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
