"""Latency of a live conversation, measured from the events as they arrive.

Two numbers matter to a person on a call:

* **Response latency**: from the end of the caller's speech to the agent's first audio. The
  end of speech is the moment the caller stopped talking, not when the service noticed:
  for a typed turn, when the text was sent; for push-to-talk, when the turn was committed;
  for server VAD, the moment the last voiced audio left the runner. VAD reports that
  position in the input audio timeline (`speech_stopped.audio_end_ms`, which includes the
  configured silence), so the meter keeps a log of when each stretch of input audio was
  sent and maps the position back to a wall-clock time. The wait for silence is part of
  the latency the caller lives through, so it is counted.
* **Tool round trip**: from the call arriving complete (`ToolStart`) to its output going out
  (`ToolEnd`).

`LatencyMeter` is sans-I/O: it never reads a clock. Every input carries `at`, a
`time.perf_counter()` reading the runtime took when the event arrived, so tests feed made-up
times.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..caller import CallerTurn
from ..events import (
    AgentStart,
    AssistantTranscriptDelta,
    AudioOut,
    RawServerEvent,
    SessionEvent,
    ToolEnd,
    ToolStart,
    UserTranscript,
)
from ..protocol import InputAudioBufferSpeechStopped

__all__ = ["LatencyMeter", "ToolTiming", "TurnTiming", "percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) of `values`, interpolating linearly between ranks.

    The same definition as numpy's default, so p50 of two values is their mean and p95 of a
    handful of turns sits just under the slowest one instead of jumping to it.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class TurnTiming:
    """One caller turn and how long the agent took to start answering it.

    Attributes:
        label: What the caller said (the script's line, the typed text, or the transcript).
        mode: `text`, `voice` (server VAD) or `push_to_talk`.
        end_of_speech: When the caller finished (perf_counter seconds).
        first_audio: When the agent's first audio (or text, for text-only output) arrived.
        agent: The agent whose response produced it.
    """

    label: str | None
    mode: str
    end_of_speech: float
    first_audio: float | None = None
    agent: str | None = None
    item_id: str | None = None

    @property
    def latency_ms(self) -> float | None:
        """End of speech to first audio, in milliseconds; None when the agent never spoke."""
        if self.first_audio is None:
            return None
        return (self.first_audio - self.end_of_speech) * 1000.0


@dataclass
class ToolTiming:
    """One tool call's round trip."""

    tool_name: str
    agent: str
    started: float
    ended: float | None = None
    error: str | None = None

    @property
    def round_trip_ms(self) -> float | None:
        """Call complete to output sent, in milliseconds; None while it runs."""
        return None if self.ended is None else (self.ended - self.started) * 1000.0


@dataclass
class _Sent:
    """A stretch of input audio and when it was sent."""

    end_ms: float
    at: float


@dataclass
class LatencyMeter:
    """Collects turn and tool timings from caller actions and session events.

    Args:
        audio_output: Whether the agent answers in audio. With audio output a transcript
            delta is not "first audio" (real services may send it before the audio).
    """

    audio_output: bool = True
    turns: list[TurnTiming] = field(default_factory=list)
    tools: list[ToolTiming] = field(default_factory=list)
    _sent: list[_Sent] = field(default_factory=list)
    _sent_ends: list[float] = field(default_factory=list)
    _pending: CallerTurn | None = None
    _agent: str | None = None
    _calls: dict[str, ToolTiming] = field(default_factory=dict)

    # -- caller actions ---------------------------------------------------------------------

    def caller_turn(self, turn: CallerTurn) -> None:
        """The caller starts a turn: its end comes from `turn_ended` (typed, push-to-talk)
        or from the server's `speech_stopped` (VAD)."""
        self._pending = turn

    def turn_ended(self, at: float) -> None:
        """The caller finished a typed or push-to-talk turn at `at`."""
        pending, self._pending = self._pending, None
        label, mode = (pending.label, pending.mode) if pending is not None else (None, "text")
        self.turns.append(TurnTiming(label, mode, at))

    def audio_sent(self, end_ms: float, at: float) -> None:
        """Input audio up to position `end_ms` (of the session's input timeline) was sent."""
        self._sent.append(_Sent(end_ms, at))
        self._sent_ends.append(end_ms)

    def sent_at(self, position_ms: float) -> float | None:
        """When the audio at `position_ms` was sent (the chunk that contains it)."""
        if not self._sent:
            return None
        index = bisect.bisect_left(self._sent_ends, position_ms)
        return self._sent[min(index, len(self._sent) - 1)].at

    # -- session events -----------------------------------------------------------------------

    def observe(self, event: SessionEvent, at: float) -> None:
        """Account for one session event received at `at`."""
        if isinstance(event, AudioOut):
            self._first_output(at)
        elif isinstance(event, AssistantTranscriptDelta):
            if not self.audio_output:
                self._first_output(at)
        elif isinstance(event, AgentStart):
            self._agent = event.agent_name
        elif isinstance(event, ToolStart):
            timing = ToolTiming(event.tool_name, event.agent_name, at)
            self._calls[event.call_id] = timing
            self.tools.append(timing)
        elif isinstance(event, ToolEnd):
            running = self._calls.pop(event.call_id, None)
            if running is not None:
                running.ended = at
                running.error = event.error
        elif isinstance(event, UserTranscript):
            for turn in reversed(self.turns):
                if turn.item_id == event.item_id:
                    if turn.label is None:
                        turn.label = event.transcript
                    break
        elif isinstance(event, RawServerEvent) and isinstance(
            event.event, InputAudioBufferSpeechStopped
        ):
            self._speech_stopped(event.event, at)

    def _speech_stopped(self, event: InputAudioBufferSpeechStopped, at: float) -> None:
        pending = self._pending
        # `audio_end_ms` includes the silence VAD waited for; the voice ended before it.
        silence = pending.vad_silence_ms if pending is not None else 0.0
        sent = self.sent_at(max(0.0, event.audio_end_ms - silence))
        # Audio we never logged (another client's, or a gap): the best we know is now.
        end_of_speech = sent if sent is not None and sent <= at else at
        label: str | None = None
        mode = "voice"
        if pending is not None:
            mode = pending.mode
            if pending.mode == "voice":
                # A spoken line is one turn. A recording may hold several, each named by its
                # transcript when that arrives, so it stays pending.
                label, self._pending = pending.label, None
        self.turns.append(TurnTiming(label, mode, end_of_speech, item_id=event.item_id))

    def _first_output(self, at: float) -> None:
        if self.turns:
            turn = self.turns[-1]
            if turn.first_audio is None:
                turn.first_audio = at
                turn.agent = self._agent

    # -- results ------------------------------------------------------------------------------

    def turn_latencies_ms(self) -> list[float]:
        """The latency of every turn the agent answered, in order."""
        return [t.latency_ms for t in self.turns if t.latency_ms is not None]

    def tool_round_trips_ms(self) -> dict[str, list[float]]:
        """Finished round trips per tool name, in order of first call."""
        out: dict[str, list[float]] = {}
        for timing in self.tools:
            if timing.round_trip_ms is not None:
                out.setdefault(timing.tool_name, []).append(timing.round_trip_ms)
        return out
