"""Server voice activity detection on the real appended audio.

An energy detector on 10 ms frames, measured in the input audio's own timeline (milliseconds
of audio appended so far), which is what `audio_start_ms` / `audio_end_ms` mean on the wire:

- a frame is *voiced* when its RMS level exceeds the threshold. The protocol's `threshold`
  (0..1, default 0.5) maps linearly onto a dBFS scale: 0 → -60 dBFS, 0.5 → -35 dBFS,
  1 → -10 dBFS. Higher thresholds need louder audio, as documented for the service.
- speech *starts* after `ONSET_FRAMES` consecutive voiced frames (30 ms, so a click does not
  open a turn); `audio_start_ms` = start of the first voiced frame minus `prefix_padding_ms`
  (never before 0) — it "includes the prefix padding".
- speech *stops* once `silence_duration_ms` of unvoiced frames follow the last voiced one;
  `audio_end_ms` = end of the last voiced frame plus `silence_duration_ms`, i.e. the end of the
  audio sent to the model, which "includes the silence duration".

Semantic VAD has no language model here; its `eagerness` picks a silence duration
(`SEMANTIC_SILENCE_MS`). Pure and incremental: feed any chunking, get the same events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "FRAME_MS",
    "ONSET_FRAMES",
    "SEMANTIC_SILENCE_MS",
    "SpeechStarted",
    "SpeechStopped",
    "VadConfig",
    "VadEvent",
    "VoiceActivityDetector",
    "threshold_dbfs",
]

FRAME_MS: Final = 10
ONSET_FRAMES: Final = 3

SEMANTIC_SILENCE_MS: Final[dict[str, int]] = {"low": 1500, "medium": 800, "auto": 800, "high": 400}
"""Silence duration standing in for semantic VAD's eagerness (low waits longest)."""


def threshold_dbfs(threshold: float) -> float:
    """The RMS level (dBFS) a 10 ms frame must exceed to count as speech."""
    return -60.0 + 50.0 * min(1.0, max(0.0, threshold))


@dataclass(frozen=True)
class VadConfig:
    """Detector settings, as on the wire (`server_vad`) or derived (`semantic_vad`)."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began; `audio_start_ms` includes the prefix padding."""

    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    """Speech ended; `audio_end_ms` includes the silence duration."""

    audio_end_ms: int


VadEvent = SpeechStarted | SpeechStopped


class VoiceActivityDetector:
    """Incremental energy VAD over int16 samples at one sample rate.

    `feed()` takes samples in any chunking and returns the events they complete. The
    detector keeps less than one frame of samples between calls.
    """

    def __init__(self, config: VadConfig, sample_rate: int) -> None:
        self.config = config
        self._frame = sample_rate * FRAME_MS // 1000
        # Compare mean squares, not dB, per frame: one multiply-add per sample and no log.
        level = 32768.0 * 10 ** (threshold_dbfs(config.threshold) / 20.0)
        self._min_mean_square = level * level
        # A chunk whose *total* sum of squares is under one frame's threshold has no voiced
        # frame (frame sums are non-negative parts of it); the margin covers float32 rounding.
        self._quiet_total = level * level * self._frame * (1.0 - 1e-3)
        self._pending = np.zeros(0, dtype=np.int16)
        self._frames_seen = 0
        self._run = 0  # consecutive voiced frames while not in speech
        self._in_speech = False
        self._last_voiced_end = 0  # frame index (exclusive) of the last voiced frame
        self._silence_frames = (config.silence_duration_ms + FRAME_MS - 1) // FRAME_MS

    @property
    def in_speech(self) -> bool:
        """Whether the detector is inside an utterance."""
        return self._in_speech

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio consumed (whole frames)."""
        return self._frames_seen * FRAME_MS

    def feed(self, samples: npt.NDArray[np.int16]) -> list[VadEvent]:
        """Consume samples; return the speech start/stop events they complete."""
        if not self._in_speech and not self._pending.size and samples.size % self._frame == 0:
            # Waiting for speech (most of a call): when even the chunk's peak is below the
            # threshold no frame's mean square can exceed it — two reductions instead of a
            # float copy and a per-frame sum of squares. Cheaper still (one BLAS dot): the whole
            # chunk's energy is under a single frame's threshold.
            if samples.size:
                flat = samples.astype(np.float32)
                if float(np.dot(flat, flat)) <= self._quiet_total:
                    self._run = 0
                    self._frames_seen += samples.size // self._frame
                    return []
            peak = max(int(samples.max()), -int(samples.min())) if samples.size else 0
            if peak * peak <= self._min_mean_square:
                self._run = 0
                self._frames_seen += samples.size // self._frame
                return []
        if self._pending.size:
            samples = np.concatenate([self._pending, samples])
        whole = samples.size // self._frame
        self._pending = samples[whole * self._frame :].copy()
        if whole == 0:
            return []
        frames = samples[: whole * self._frame].astype(np.float32).reshape(whole, self._frame)
        voiced = np.einsum("ij,ij->i", frames, frames) / self._frame > self._min_mean_square
        events: list[VadEvent] = []
        base = self._frames_seen
        # Fast paths for the common cases (10-50 appends a second per session): silence while
        # waiting for speech, and voice while in speech. Only transitions need the frame loop.
        if not self._in_speech and not voiced.any():
            self._run = 0
            self._frames_seen += whole
            return events
        if self._in_speech and voiced.all():
            self._frames_seen += whole
            self._last_voiced_end = self._frames_seen
            return events
        for offset, is_voiced in enumerate(voiced.tolist()):
            index = base + offset
            if not self._in_speech:
                self._run = self._run + 1 if is_voiced else 0
                if self._run >= ONSET_FRAMES:
                    first = index - ONSET_FRAMES + 1
                    start = max(0, first * FRAME_MS - self.config.prefix_padding_ms)
                    self._in_speech = True
                    self._last_voiced_end = index + 1
                    events.append(SpeechStarted(audio_start_ms=start))
            elif is_voiced:
                self._last_voiced_end = index + 1
            elif index + 1 - self._last_voiced_end >= self._silence_frames:
                self._in_speech = False
                self._run = 0
                end = self._last_voiced_end * FRAME_MS + self.config.silence_duration_ms
                events.append(SpeechStopped(audio_end_ms=end))
        self._frames_seen += whole
        return events

    def reset(self) -> None:
        """Forget any utterance in progress (after `input_audio_buffer.clear`)."""
        self._in_speech = False
        self._run = 0

    def skip_to(self, position_ms: float) -> None:
        """Account for audio the detector did not see (kept in step with the buffer)."""
        self._frames_seen = max(self._frames_seen, math.floor(position_ms / FRAME_MS))
