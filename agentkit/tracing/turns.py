"""Caller turns as spans: `agentkit.user_turn` from the start of the caller's speech to its
end (server VAD's speech start and stop, push-to-talk's press and release, or an instant
span for a typed turn), its transcript recorded with content capture; and the bookkeeping of
each turn's response latency (`ResponseLatency`: the end of speech, then the answer's first
audio, which `SessionTracer` reports).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from .conventions import RESPONSE_LATENCY_ATTRIBUTE, USER_TURN_SPAN, TurnDetection
from .deferred import Deferral
from .latency import ResponseLatency
from .payloads import vad_silence_ms
from .records import Response, SessionPart, Shared, Turn

if TYPE_CHECKING:
    from ..events import UserTranscript
    from ..protocol import (
        InputAudioBufferCommitted,
        InputAudioBufferSpeechStarted,
        InputAudioBufferSpeechStopped,
        SessionCreated,
        SessionUpdated,
    )

__all__ = ["TurnSpans"]


class TurnSpans(SessionPart):
    """The caller's turn spans of one session and their response latency (a part of its
    `SessionTracer`).

    Args:
        deferred: Where turn spans go (handed to the SDK in groups).
        agent_context: The active agent's span context, the parent of a turn; read when a
            turn begins.
        turn_began: Called with the time when a caller turn begins, so the tracer can close
            what the caller's speech ends (a transfer waiting for the new agent's voice).
        agent_attributes: A metric point's attributes for an agent and a turn detection
            (built once each).
    """

    def __init__(
        self,
        shared: Shared,
        deferred: Deferral,
        agent_context: Callable[[], Context],
        turn_began: Callable[[float], None],
        agent_attributes: Callable[[str, str | None], Mapping[str, str]],
    ) -> None:
        super().__init__(shared)
        self._deferred = deferred
        self._agent_context = agent_context
        self._turn_began = turn_began
        self._agent_attributes = agent_attributes
        self.turn: Turn | None = None
        """The latest caller turn (the parent of the responses that answer it)."""
        self._turn_count = 0
        self._open_turns: dict[str, Turn] = {}  # by item id, until their transcript arrives
        # The turn waiting for its answer's first audio, and how it ended.
        self.latency = ResponseLatency()
        self.latency_detection: TurnDetection = "server_vad"
        self._vad_silence_ms = 0.0  # the service's, from its session configuration

    # -- the app's calls (see `SessionTracer`) --------------------------------------------------

    def user_text(self, text: str) -> None:
        """See `SessionTracer.user_text`."""
        turn = self.begin_turn("text")
        now = turn.started
        turn.speech_end = self.latency.speech_ended(now)
        self.latency_detection = "text"
        self.end_turn(turn, text if self._capture else None)

    def turn_started(self) -> None:
        """See `SessionTracer.turn_started`."""
        self.begin_turn("push_to_talk")

    def turn_ended(self) -> None:
        """See `SessionTracer.turn_ended`."""
        turn = self.turn
        if turn is None or turn.detection != "push_to_talk" or turn.speech_end is not None:
            turn = self.begin_turn("push_to_talk")
        turn.speech_end = self.latency.speech_ended(self._clock())
        self.latency_detection = "push_to_talk"

    # -- events ---------------------------------------------------------------------------------

    def on_user_transcript(self, event: UserTranscript) -> None:
        turn = self._open_turns.get(event.item_id)
        if turn is None:
            return
        self.end_turn(turn, event.transcript if self._capture else None)

    def on_speech_started(self, event: InputAudioBufferSpeechStarted) -> None:
        turn = self.begin_turn("server_vad", event.item_id)
        self._open_turns[event.item_id] = turn

    def on_speech_stopped(self, event: InputAudioBufferSpeechStopped) -> None:
        turn = self._open_turns.get(event.item_id) or self.turn
        now = self._clock()
        if turn is not None and turn.speech_end is None:
            turn.speech_end = now
        self.latency.speech_stopped(event.audio_end_ms, now, self._vad_silence_ms)
        self.latency_detection = "server_vad"

    def on_committed(self, event: InputAudioBufferCommitted) -> None:
        # Push-to-talk learns its item id here; its transcript will name it.
        turn = self.turn
        if turn is not None and turn.item_id is None and not turn.ended:
            turn.item_id = event.item_id
            turn.attributes["agentkit.turn.item_id"] = event.item_id
            self._open_turns[event.item_id] = turn

    def on_session_updated(self, event: SessionCreated | SessionUpdated) -> None:
        self._vad_silence_ms = vad_silence_ms(event.session)

    def answered(self, response: Response, now: float) -> None:
        """`response`'s first audio came at `now`: the response latency of the turn that
        waited for it, if one did, goes on the response's span and into the histogram."""
        latency = self.latency.first_audio(now)
        if latency is not None:
            response.attributes[RESPONSE_LATENCY_ATTRIBUTE] = latency
            self._deferred.record(
                self._metrics.response_latency,
                latency,
                self._agent_attributes(response.agent_name, self.latency_detection),
            )

    # -- turns ----------------------------------------------------------------------------------

    def begin_turn(self, detection: TurnDetection, item_id: str | None = None) -> Turn:
        now = self._clock()
        previous = self.turn
        if previous is not None and not previous.ended:
            if previous.speech_end is None:
                # Cut off by the next turn (VAD restarted): its speech ended when this began.
                previous.speech_end = now
            if previous.item_id is None:
                self.end_turn(previous)  # no transcript will ever name it
        # A turn waits for its transcript only until the next one ends: with transcription
        # off none comes, and spans must not pile up until the session ends.
        if self._open_turns:
            for stale in [t for t in self._open_turns.values() if t is not previous]:
                self.end_turn(stale)
        self._turn_began(now)
        self._turn_count += 1
        # The agent is the parent span's (`invoke_agent`): not repeated here.
        attributes: dict[str, AttributeValue] = {
            "agentkit.turn.number": self._turn_count,
            "agentkit.turn.detection": detection,
        }
        if item_id is not None:
            attributes["agentkit.turn.item_id"] = item_id
        turn = Turn(self._agent_context(), self._ns(now), detection, now, attributes, item_id)
        self.turn = turn
        self.latency.since = None
        return turn

    def end_turn(self, turn: Turn, transcript: str | None = None) -> None:
        """End a turn span at the end of its speech, even when closed later (its transcript
        comes after the caller stopped talking). `transcript`: to record (content capture
        already checked)."""
        if turn.ended:
            return
        turn.ended = True
        if turn.item_id is not None:
            self._open_turns.pop(turn.item_id, None)
        if transcript is not None:
            turn.attributes["agentkit.user_turn.transcript"] = transcript
        end = turn.speech_end if turn.speech_end is not None else self._clock()
        span = turn.span
        if span is None:
            span = self.turn_span(turn)  # the usual case: start and end in one go
        elif turn.attributes:
            span.set_attributes(turn.attributes)
        span.end(self._ns(end))

    def turn_span(self, turn: Turn) -> Span:
        """The turn's span, made now (with what is known so far) if it does not exist."""
        span = turn.span
        if span is None:
            span = turn.span = self._deferred.start_span(
                USER_TURN_SPAN,
                context=turn.parent,
                attributes=turn.attributes,
                start_time=turn.start_ns,
            )
            turn.attributes = {}
        return span

    def turn_context(self, turn: Turn) -> Context:
        context = turn.context
        if context is None:
            context = turn.context = trace.set_span_in_context(self.turn_span(turn))
        return context

    def close(self) -> None:
        """The session ended: end every turn still open (their transcripts will not come)."""
        for turn in list(self._open_turns.values()):
            self.end_turn(turn)
        if self.turn is not None:
            self.end_turn(self.turn)
