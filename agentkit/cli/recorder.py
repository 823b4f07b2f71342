"""`agentkit run --record`: the agent's audio, kept and written as a WAV file."""

from __future__ import annotations

from pathlib import Path

from .. import audio as pcm
from ..caller import CallerTurn
from ..events import AudioOut, SessionEvent

__all__ = ["AudioRecorder"]


class AudioRecorder:
    """Keeps the agent's audio, decoded to PCM16 at 24 kHz, for `--record`.

    Responses follow each other without the silences between them: the file is what the
    agent said, not a timeline of the call.
    """

    def __init__(self, output_format: pcm.AudioFormat) -> None:
        self.output_format: pcm.AudioFormat = output_format
        self.pcm16 = bytearray()
        # One streaming decoder for the whole call: G.711 deltas resampled one by one would
        # restart the filter at each (clicks, samples lost at every edge).
        self._decoder = pcm.Converter(output_format, "pcm16")

    def caller_turn(self, turn: CallerTurn) -> None:
        """Not recorded: only the agent's audio is kept."""

    def turn_ended(self, at: float) -> None:
        """Not recorded."""

    def audio_sent(self, end_ms: float, at: float) -> None:
        """Not recorded."""

    def observe(self, event: SessionEvent, at: float) -> None:
        """Keep each audio delta, decoded."""
        if isinstance(event, AudioOut):
            self.pcm16 += self._decoder.process(event.audio)

    def write(self, path: Path) -> None:
        """Write the WAV file."""
        self.pcm16 += self._decoder.flush()
        pcm.write_wav(path, bytes(self.pcm16), rate=pcm.PCM16_SAMPLE_RATE)
