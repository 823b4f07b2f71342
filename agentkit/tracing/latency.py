"""Response latency, defined once: from the end of the caller's speech to the first audio of
the agent's answer, on the session's clock.

That is the wait a person on a call lives through, so it is the one number the console
summary (`agentkit run`), the `agentkit.turn.response_latency` histogram and the response
spans' `agentkit.turn.response_latency_s` attribute all report, computed by
`ResponseLatency`. The end of speech is the moment the caller stopped talking, not when the
service noticed:

* typed turn: when the text was sent; push-to-talk: when the turn was released;
* server VAD: when the last voiced audio left the runner. VAD reports that position in the
  input audio timeline (`speech_stopped.audio_end_ms`, which includes the configured
  silence), so `ResponseLatency` keeps a log of when each stretch of input audio was sent
  (`audio_sent`) and maps the position back to the clock. Without that log (audio it was not
  told about) the best estimate is the moment `speech_stopped` arrived less the silence the
  service waited for.

The wait for silence is part of the latency the caller lives through, so it is counted. (An
earlier tracer timed VAD turns from the arrival of `speech_stopped`, which leaves the
silence out and made its histogram read about half a second faster than the console.)

Also here, for the console summary: `LatencyMeter`, which collects every turn's timing and
every tool's round trip (call complete, `ToolStart`, to output sent, `ToolEnd`) from a
caller's actions and the session's events, and `percentile`.

Everything here is sans-I/O: it never reads a clock. Every input carries `at`, a reading of
the session's clock, so tests feed made-up times.
"""

from __future__ import annotations

import bisect
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

__all__ = [
    "CallerTurnLike",
    "LatencyMeter",
    "ResponseLatency",
    "ToolTiming",
    "TurnTiming",
    "percentile",
]


class ResponseLatency:
    """The one response latency (see the module docstring), for one session's turns.

    Feed it the input audio as it is sent (`audio_sent`, optional), the end of each caller
    turn (`speech_ended`, or `speech_stopped` for server VAD) and the answer's first audio
    (`first_audio`, which returns the latency once per turn). All times are the session's
    clock, in seconds.
    """

    __slots__ = ("_sent_at", "_sent_ends", "since")

    def __init__(self) -> None:
        self._sent_ends: list[float] = []  # input audio positions (ms), in order sent
        self._sent_at: list[float] = []  # when each was sent
        self.since: float | None = None
        """The end of speech of the turn waiting for its answer, if one waits."""

    def audio_sent(self, end_ms: float, at: float) -> None:
        """Input audio up to position `end_ms` (of the session's input timeline) was sent."""
        self._sent_ends.append(end_ms)
        self._sent_at.append(at)

    def sent_at(self, position_ms: float) -> float | None:
        """When the audio at `position_ms` was sent (the chunk that contains it)."""
        if not self._sent_at:
            return None
        index = bisect.bisect_left(self._sent_ends, position_ms)
        return self._sent_at[min(index, len(self._sent_at) - 1)]

    def speech_ended(self, at: float) -> float:
        """A typed turn was sent, or push-to-talk released, at `at`: its end of speech."""
        self.since = at
        return at

    def speech_stopped(self, audio_end_ms: float, at: float, silence_ms: float = 0.0) -> float:
        """Server VAD reported (received at `at`) that speech stopped at `audio_end_ms` of the
        input timeline, `silence_ms` of silence included: returns the end of speech."""
        # `audio_end_ms` includes the silence VAD waited for; the voice ended before it.
        sent = self.sent_at(max(0.0, audio_end_ms - silence_ms))
        # Audio we never logged (another client's, or a gap): the report came once the
        # silence had passed, so the voice ended that long before it arrived.
        self.since = sent if sent is not None and sent <= at else at - silence_ms / 1000.0
        return self.since

    def first_audio(self, at: float) -> float | None:
        """The answer's first audio came at `at`: the latency of the turn that waited for it
        (seconds), or `None` when no turn waits (its answer already began)."""
        since = self.since
        if since is None:
            return None
        self.since = None
        return at - since


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
