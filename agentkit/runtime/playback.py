"""The assistant's output as the caller gets it: audio chunks and transcript deltas, how much
was heard, and what an interruption does.

Owns the playback position of the current assistant audio item and the set of responses
the caller cut off (`_interrupted_responses`: their late audio and text are dropped).
On a barge-in it tells the app to stop playback, truncates the item at the real playback
position (what the app reported, else an estimate from the clock bounded by the audio
received), cancels the response only where the server will not, and cancels the calls
that may be cancelled, each with its one output.

`_on_audio` and `_on_transcript_delta` are the per-frame hot path: keep them as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .. import protocol as p
from ..agent import RealtimeAgent
from ..events import AssistantTranscriptDelta, AudioEnd, AudioInterrupted, AudioOut, SessionEvent
from ..history import History
from ..protocol.sealed import sealed_constructor
from ..protocol.wire_types import CallId, Dialect, ItemId, JsonMapping, ResponseId
from ..settings import SessionSettings
from .commands import CancelTool, Command
from .core import to_json
from .observer import SupervisorObserver

if TYPE_CHECKING:
    from .calls import Call
    from .responses import ResponseState

__all__ = ["BYTES_PER_MS", "Playback", "PlaybackPosition"]

# Bytes of output audio per millisecond: PCM16 24 kHz mono, G.711 8 kHz.
BYTES_PER_MS: Final[Mapping[str, float]] = {
    "audio/pcm": 48.0,
    "audio/pcmu": 8.0,
    "audio/pcma": 8.0,
}
_SETTINGS_FORMAT_TO_GA: Final[Mapping[str, str]] = {
    "pcm16": "audio/pcm",
    "g711_ulaw": "audio/pcmu",
    "g711_alaw": "audio/pcma",
}

# The events made per frame are sealed, not constructed (see `agentkit.protocol.sealed`).
_new_AudioOut = sealed_constructor(AudioOut)
_new_AssistantTranscriptDelta = sealed_constructor(AssistantTranscriptDelta)


@dataclass(slots=True)
class PlaybackPosition:
    """What the caller has heard of the current assistant audio item."""

    item_id: ItemId
    content_index: int
    response_id: ResponseId
    started_at: float
    received_ms: float = 0.0
    reported_ms: float | None = None
    finished: bool = False

    def played_ms(self, now: float) -> float:
        heard = self.reported_ms if self.reported_ms is not None else (now - self.started_at) * 1000
        # Never past what was received: the caller cannot have heard audio we never got.
        return max(0.0, min(heard, self.received_ms))


class Playback:
    """Supervisor part: assistant output, playback position, interruption (module docs)."""

    # From the other parts (see `runtime.core`):
    agent: RealtimeAgent[Any]
    history: History
    audio_started: bool
    output_audio_buffer: bool
    dialect: Dialect
    _events: list[SessionEvent]
    _commands: list[Command]
    _observer: SupervisorObserver | None
    _observe_deltas: bool
    _active_response: ResponseId | None
    _responses: dict[ResponseId, ResponseState]
    _calls: dict[CallId, Call]
    _emit: Callable[[SessionEvent], None]
    _send: Callable[[str], None]
    _cancel: Callable[[ResponseId], None]
    _track_output: Callable[[ItemId, ResponseId, int], None]
    _send_output: Callable[[Call, str], None]
    _after_output: Callable[[Call], None]
    _tool_ended: Callable[[Call, str, str | None], None]
    _activity: Callable[[float], None]

    def _init_playback(self, settings: SessionSettings, agent: RealtimeAgent[Any]) -> None:
        effective = settings.merged(agent.settings)
        turn = effective.turn_detection
        # Until the server tells us its effective session: what we asked for.
        self.interrupt_response = bool(turn is not None and turn.interrupt_response)
        self._bytes_per_ms = BYTES_PER_MS[_SETTINGS_FORMAT_TO_GA[effective.output_audio_format]]
        self._playback: PlaybackPosition | None = None
        self._interrupted_responses: set[ResponseId] = set()

    def playback_position(self, item_id: str, played_ms: float, *, finished: bool = False) -> None:
        """The app reports how much of `item_id` it has actually played (ms).

        With reports, truncation uses them instead of the clock estimate. `finished=True` says
        the item played to its end, so a later barge-in has nothing to cut.
        """
        playback = self._playback
        if playback is not None and playback.item_id == item_id:
            playback.reported_ms = played_ms
            playback.finished = finished

    # -- wire events ------------------------------------------------------------------------


    def _on_audio(self, event: p.ResponseOutputAudioDelta, now: float) -> None:
        if event.response_id in self._interrupted_responses:
            return  # audio of a response the caller already cut off: never play it
        self.audio_started = True
        playback = self._playback
        chunk = _new_AudioOut(event.audio, event.item_id, event.content_index, event.response_id)
        if (
            playback is None
            or playback.item_id != event.item_id
            or playback.content_index != event.content_index
        ):
            playback = self._playback = PlaybackPosition(
                event.item_id, event.content_index, event.response_id, started_at=now
            )
            self._emit(chunk)  # an item's first chunk: observed (the others are not)
        else:
            self._events.append(chunk)
        playback.received_ms += len(event.audio) / self._bytes_per_ms

    def _on_transcript_delta(
        self,
        event: p.ResponseOutputAudioTranscriptDelta | p.ResponseOutputTextDelta,
        now: float,
    ) -> None:
        if event.response_id not in self._interrupted_responses:
            self.history.append_text(event.item_id, event.delta)
            delta = _new_AssistantTranscriptDelta(event.item_id, event.response_id, event.delta)
            self._events.append(delta)
            if self._observe_deltas:
                self._observer.observe(delta)  # type: ignore[union-attr]
            if self.agent.output_guardrails:
                self._track_output(event.item_id, event.response_id, len(event.delta))

    def _on_audio_done(self, event: p.ResponseOutputAudioDone, now: float) -> None:
        if event.response_id not in self._interrupted_responses:
            self._emit(AudioEnd(event.item_id, event.content_index))
            playback = self._playback
            if self.output_audio_buffer and playback is not None and playback.item_id == event.item_id:
                # WebRTC/SIP: the transport reports the audio done once it has played, so
                # this item has nothing left to cut.
                playback.finished = True

    def _on_output_audio_stopped(self, event: p.OutputAudioBufferStopped, now: float) -> None:
        # WebRTC/SIP: the service played the response's audio to its end (the transport
        # delivers this after the response's last audio chunk): nothing of it is playing,
        # so a barge-in from now on has nothing to cut.
        playback = self._playback
        if playback is not None and playback.response_id == event.response_id:
            self._playback = None

    def _on_speech_started(self, event: p.InputAudioBufferSpeechStarted, now: float) -> None:
        self._activity(now)
        self._interrupt(now, manual=False)

    def _on_session(self, session: JsonMapping) -> None:
        audio = session.get("audio")
        if not isinstance(audio, Mapping):
            return
        audio_in = audio.get("input")
        if isinstance(audio_in, Mapping) and "turn_detection" in audio_in:
            turn = audio_in["turn_detection"]
            self.interrupt_response = (
                isinstance(turn, Mapping) and turn.get("interrupt_response", True) is not False
            )
        audio_out = audio.get("output")
        if isinstance(audio_out, Mapping):
            fmt = audio_out.get("format")
            if isinstance(fmt, Mapping) and fmt.get("type") in BYTES_PER_MS:
                self._bytes_per_ms = BYTES_PER_MS[fmt["type"]]

    # -- interruption -----------------------------------------------------------------------

    def _cut_off(self, rid: ResponseId) -> None:
        """Mark response `rid` as cut off: its late output is dropped, no follow-up after it."""
        self._interrupted_responses.add(rid)
        state = self._responses.get(rid)
        if state is not None:
            state.interrupted = True

    def _stop_item(self, item_id: ItemId, now: float) -> bool:
        """Stop `item_id` if it is the one playing: tell the app, cut it where the caller
        stopped hearing it (the service drops the rest of the transcript, so the model does
        not build on words never said). False when it was not playing."""
        playback = self._playback
        if playback is None or playback.item_id != item_id:
            return False
        self._playback = None
        played = int(playback.played_ms(now))
        self._emit(AudioInterrupted(playback.item_id, playback.content_index, played))
        self._send(p.encode_item_truncate(playback.item_id, playback.content_index, played))
        return True

    def _interrupt(self, now: float, *, manual: bool) -> None:
        playback = self._playback
        if playback is not None:
            self._playback = None
            played = int(playback.played_ms(now))
            owned_by_active = playback.response_id == self._active_response
            # Over WebRTC/SIP the audio arrives as it is played (received ≈ heard), so only
            # its end says it stopped playing; otherwise what was received but not yet heard.
            still_playing = not playback.finished and (
                self.output_audio_buffer or played < int(playback.received_ms)
            )
            if still_playing or owned_by_active:
                self._emit(AudioInterrupted(playback.item_id, playback.content_index, played))
                # Sync the server with what the caller heard (`conversation.item.truncate`
                # drops the unheard transcript); at 0 ms nothing was played: no truncate.
                if played > 0:
                    self._send(
                        p.encode_item_truncate(playback.item_id, playback.content_index, played)
                    )
        if self.dialect == "live":
            # Live: the service stops its own speech; delegated work is not cancelled by a
            # barge-in and its results are still wanted (late outputs go out as usual).
            if playback is not None:
                self._interrupted_responses.add(playback.response_id)
            return
        active = self._active_response
        if active is not None:
            self._cut_off(active)
            # With `interrupt_response`, server VAD cancels the response itself on speech.
            if manual or not self.interrupt_response:
                self._cancel(active)
        if manual and self.output_audio_buffer and (playback is not None or active is not None):
            # WebRTC/SIP: the service is still playing what it buffered; after the cancel.
            # (On speech, server VAD clears the buffer itself.)
            self._send(p.encode_output_audio_clear())
        for call in [c for c in self._calls.values() if c.cancellable]:
            state = self._responses.get(call.response_id)
            if state is not None:
                state.interrupted = True
            self._commands.append(CancelTool(call.call_id))
            output = to_json({"error": "cancelled: the caller interrupted before the tool finished"})
            self._send_output(call, output)
            self._tool_ended(call, output, "cancelled")
            self._after_output(call)
