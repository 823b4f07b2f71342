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

The tracer (`SessionTracer`) and the console's meter (`agentkit.cli.latency.LatencyMeter`)
each keep one `ResponseLatency` per session.

Everything here is sans-I/O: it never reads a clock. Every input carries `at`, a reading of
the session's clock, so tests feed made-up times.
"""

from __future__ import annotations

import bisect

__all__ = ["ResponseLatency"]


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
