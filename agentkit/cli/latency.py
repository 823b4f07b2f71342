"""The console summary's numbers (`agentkit run`): `LatencyMeter` collects every caller
turn's response latency and every tool's round trip (call complete, `ToolStart`, to output
sent, `ToolEnd`) from a caller's actions and the session's events; `percentile` sums them up.

The latency is the one the tracer reports too, computed by
`agentkit.tracing.latency.ResponseLatency` (see there for what it measures), so the summary,
the `agentkit.turn.response_latency` histogram and the response spans agree.

Everything here is sans-I/O: it never reads a clock. Every input carries `at`, a reading of
the session's clock, so tests feed made-up times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

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
from ..tracing.latency import ResponseLatency

__all__ = [
    "CallerTurnLike",
    "LatencyMeter",
    "ToolTiming",
    "TurnTiming",
    "percentile",
]


class CallerTurnLike(Protocol):
    """What `LatencyMeter` reads of a caller turn (`agentkit.caller.CallerTurn` is one)."""

    @property
    def label(self) -> str | None:
        """What the caller says (or the recording's name)."""
        ...

    @property
    def mode(self) -> str:
        """`text`, `voice`, `push_to_talk` or `recording`."""
        ...

    @property
    def vad_silence_ms(self) -> float:
        """The silence server VAD waits for (0 without it)."""
        ...


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
        end_of_speech: When the caller finished (the session's clock, seconds; see
            `ResponseLatency`).
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
        """The response latency in milliseconds (see `ResponseLatency`); None when the agent
        never spoke."""
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
class LatencyMeter:
    """Collects turn and tool timings from caller actions and session events.

    Args:
        audio_output: Whether the agent answers in audio. With audio output a transcript
            delta is not "first audio" (real services may send it before the audio).
    """

    audio_output: bool = True
    turns: list[TurnTiming] = field(default_factory=list)
    tools: list[ToolTiming] = field(default_factory=list)
    _latency: ResponseLatency = field(default_factory=ResponseLatency)
    _pending: CallerTurnLike | None = None
    _agent: str | None = None
    _calls: dict[str, ToolTiming] = field(default_factory=dict)

    # -- caller actions ---------------------------------------------------------------------

    def caller_turn(self, turn: CallerTurnLike) -> None:
        """The caller starts a turn: its end comes from `turn_ended` (typed, push-to-talk)
        or from the server's `speech_stopped` (VAD)."""
        self._pending = turn

    def turn_ended(self, at: float) -> None:
        """The caller finished a typed or push-to-talk turn at `at`."""
        pending, self._pending = self._pending, None
        label, mode = (pending.label, pending.mode) if pending is not None else (None, "text")
        self.turns.append(TurnTiming(label, mode, self._latency.speech_ended(at)))

    def audio_sent(self, end_ms: float, at: float) -> None:
        """Input audio up to position `end_ms` (of the session's input timeline) was sent."""
        self._latency.audio_sent(end_ms, at)

    def sent_at(self, position_ms: float) -> float | None:
        """When the audio at `position_ms` was sent (the chunk that contains it)."""
        return self._latency.sent_at(position_ms)

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
        silence = pending.vad_silence_ms if pending is not None else 0.0
        end_of_speech = self._latency.speech_stopped(event.audio_end_ms, at, silence)
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
