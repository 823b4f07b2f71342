"""The caller's side of a conversation: typed lines, synthesized speech and recordings sent
into a live session, one turn at a time.

A scripted or typed conversation only makes sense if each turn waits for the agent to be
done: its answer spoken, its tools returned, a handoff's new agent finished speaking. The
session has no single "idle" signal, so `SettleTracker` derives one from the events (a
sans-I/O state machine, tested without sockets), and `Caller` pumps a session through it:
it consumes the session's events (timestamping each on receipt with `time.perf_counter`),
hands them to observers (the console, the latency meter, a recorder, a test), and waits on
the tracker between turns.

Speech goes through the session's own turn detection, as a person's would: with server VAD
the synthesized utterance is followed by enough silence for the VAD to end the turn; with
push-to-talk (`turn_detection: null`) the turn is committed. Audio is paced in real time
(`pace="realtime"`, 20 ms chunks sent as a microphone would capture them) or sent at once
(`pace="fast"`, tests).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol

import anyio
import anyio.abc

from . import audio as pcm
from .errors import AgentKitError, SessionError
from .events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioInterrupted,
    GuardrailTripped,
    RawServerEvent,
    SessionEvent,
    SessionStatus,
    StatusChanged,
)
from .protocol import (
    InputAudioBufferCleared,
    InputAudioBufferSpeechStarted,
    InputAudioBufferSpeechStopped,
    ResponseDone,
)
from .server.script import Script
from .session import RealtimeSession
from .settings import ServerVad, SessionSettings

__all__ = [
    "CallObserver",
    "Caller",
    "CallerMode",
    "CallerTurn",
    "ConversationError",
    "Pace",
    "SettleTracker",
]

Pace = Literal["realtime", "fast"]
CallerMode = Literal["text", "voice", "push_to_talk", "recording"]
"""How a caller turn reaches the agent: typed, spoken through server VAD, spoken with
push-to-talk, or a recording (which VAD may split into several turns)."""

# Silence after an utterance beyond what VAD waits for, so the turn ends even when the
# detector's frames do not line up with ours.
_SILENCE_MARGIN_MS = 300
# Semantic VAD waits a model-judged time; the longest the local server stands in for it
# (eagerness "low") is 1500 ms.
_SEMANTIC_SILENCE_MS = 1500
_LEAD_SILENCE_MS = 200
_LIVE_TAIL_MS = 1200  # silence after a spoken turn on Live: its built-in turn detection ends the turn
_REALTIME_CHUNK_MS = 20
_FAST_CHUNK_MS = 200


class ConversationError(SessionError):
    """The conversation could not go on: the agent did not finish a turn in time, did not
    answer it at all, or the session ended early."""


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """The caller starts a turn.

    Attributes:
        label: What the caller says (the script's line or the typed text); for a recording,
            its name.
        mode: How the turn reaches the agent.
        at: When the caller started (`time.perf_counter()`).
        vad_silence_ms: The silence server VAD waits for before it ends the turn (0 without
            server VAD): `speech_stopped.audio_end_ms` includes it.
    """

    label: str | None
    mode: CallerMode
    at: float
    vad_silence_ms: float = 0.0


class CallObserver(Protocol):
    """What `Caller` tells the console, the latency meter, a recorder or a test.

    `at` is a `time.perf_counter()` reading taken when the caller acted or the event was
    received.
    """

    def caller_turn(self, turn: CallerTurn) -> None:
        """The caller starts a turn."""

    def turn_ended(self, at: float) -> None:
        """The caller finished a typed or push-to-talk turn (VAD turns end on the server)."""

    def audio_sent(self, end_ms: float, at: float) -> None:
        """Input audio up to `end_ms` of the session's input timeline was sent."""

    def observe(self, event: SessionEvent, at: float) -> None:
        """A session event arrived."""


class SettleTracker:
    """Whether the agent is done with the caller's last turn, from the session's events.

    Not settled while any of these holds:

    * a response was asked for (text sent, turn committed, VAD ended a turn, a greeting
      requested) and has not started;
    * a response is running (`AgentStart` without its `AgentEnd`);
    * an assistant item has words but no final transcript yet: with output guardrails the
      final transcript is released only once the whole text passed, which may be after
      the response ended;
    * a completed response made function calls (tools or a handoff): the runtime sends their
      outputs, then one follow-up response, so the agent is not done until that one ran;
    * VAD heard the caller start speaking and not stop;
    * a barrier (`input_audio_buffer.clear` after streamed audio) is unanswered: until the
      server answers it, it may not have processed all the audio and its VAD events.

    A guardrail trip makes the agent say its safe reply: one more response is expected, except
    when an input guardrail stopped a typed line before it was sent: then the line gets no
    answer of its own, and the safe reply is the response the caller was waiting for.
    """

    def __init__(self) -> None:
        self.awaiting = 0
        self.active: set[str] = set()
        self.open_items: dict[str, str] = {}  # assistant item id -> its response id
        self.follow_up = False
        self.speech_open = False
        self.barriers = 0
        self.ended = False
        self.responses_started = 0
        self.typed_unanswered = False

    @property
    def settled(self) -> bool:
        """True when nothing more is coming for the last turn."""
        return not (
            self.awaiting
            or self.active
            or self.open_items
            or self.follow_up
            or self.speech_open
            or self.barriers
        )

    def expect_response(self) -> None:
        """The caller asked for a response (text, commit, greeting)."""
        self.awaiting += 1

    def expect_typed_answer(self) -> None:
        """The caller typed a line and waits for its answer (or, if an input guardrail stops
        the line before it is sent, for the safe reply that takes its place)."""
        self.awaiting += 1
        self.typed_unanswered = True

    def expect_barrier(self) -> None:
        """The caller sent `input_audio_buffer.clear` and waits for `cleared`."""
        self.barriers += 1

    def observe(self, event: SessionEvent) -> None:
        """Update from one session event."""
        if isinstance(event, AgentStart):
            self.responses_started += 1
            self.active.add(event.response_id)
            self.awaiting = max(0, self.awaiting - 1)
            self.follow_up = False
            self.typed_unanswered = False
        elif isinstance(event, AgentEnd):
            self.active.discard(event.response_id)
            if event.status != "completed":
                # A cut-off response's items get no final transcript.
                for item_id, response_id in list(self.open_items.items()):
                    if response_id == event.response_id:
                        del self.open_items[item_id]
        elif isinstance(event, AssistantTranscriptDelta):
            self.open_items.setdefault(event.item_id, event.response_id)
        elif isinstance(event, AssistantTranscript | AudioInterrupted):
            self.open_items.pop(event.item_id, None)
        elif isinstance(event, GuardrailTripped):
            if event.item_id is not None:
                self.open_items.pop(event.item_id, None)
            if event.stage == "input" and self.typed_unanswered:
                # The typed line was never sent: the safe reply is its answer.
                self.typed_unanswered = False
            else:
                self.awaiting += 1  # the safe reply
        elif isinstance(event, RawServerEvent):
            self._raw(event)
        elif isinstance(event, StatusChanged) and event.new is SessionStatus.DISCONNECTED:
            self.ended = True

    def _raw(self, raw: RawServerEvent) -> None:
        wire = raw.event
        if isinstance(wire, ResponseDone):
            # Only a completed response is followed up; the runtime does not answer the
            # calls of a cancelled one with a new response (the caller's next turn does).
            if wire.status == "completed" and _made_calls(wire.response):
                self.follow_up = True
        elif isinstance(wire, InputAudioBufferSpeechStarted):
            self.speech_open = True
            # A barge-in: whatever follow-up was due, the caller's new turn gets the answer.
            self.follow_up = False
        elif isinstance(wire, InputAudioBufferSpeechStopped):
            self.speech_open = False
            self.awaiting += 1
        elif isinstance(wire, InputAudioBufferCleared):
            self.barriers = max(0, self.barriers - 1)


def _made_calls(response: Mapping[str, object]) -> bool:
    output = response.get("output")
    if not isinstance(output, list):
        return False
    return any(isinstance(item, Mapping) and item.get("type") == "function_call" for item in output)


class Caller:
    """Plays the caller in a connected session. Use it as an async context manager around
    the turns, inside the session's own `async with`:

    ```python
    async with runner.session(transport) as session, Caller(session, settings) as caller:
        await caller.play(script)
    ```

    Args:
        session: A connected session (built with `raw_events=True`: the tracker and the
            meter need the VAD and `response.done` wire events).
        settings: The runner's session settings; each turn reads the current agent's
            effective turn detection and input format from them.
        pace: `realtime` streams speech as fast as it would be spoken; `fast` at once.
        observers: Told about every caller action and session event, in order.
        turn_timeout: Seconds a turn may take to settle before `ConversationError`.
        speak: False sends `audio` turns as text (no usable speech synthesis for a real
            model's speech recognition).
        speech_engine: Passed to `synthesize_speech` (`synthetic` is deterministic).
    """

    def __init__(
        self,
        session: RealtimeSession[Any],
        settings: SessionSettings,
        *,
        pace: Pace = "realtime",
        observers: Sequence[CallObserver] = (),
        turn_timeout: float = 60.0,
        speak: bool = True,
        speech_engine: Literal["auto", "synthetic", "espeak"] = "synthetic",
    ) -> None:
        self.session = session
        self.settings = settings
        self.pace: Pace = pace
        self.observers = list(observers)
        self.turn_timeout = turn_timeout
        self.speak = speak
        self.speech_engine: Literal["auto", "synthetic", "espeak"] = speech_engine
        self.tracker = SettleTracker()
        self.failure: AgentKitError | None = None
        self.turns_played = 0
        self._input_ms = 0.0
        self._changed = anyio.Event()
        self._task_group: anyio.abc.TaskGroup | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Caller:
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._consume)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task_group, self._task_group = self._task_group, None
        if task_group is not None:
            task_group.cancel_scope.cancel()
            await task_group.__aexit__(None, None, None)

    async def _consume(self) -> None:
        tracker = self.tracker
        observers = self.observers
        try:
            async for event in self.session:
                at = time.perf_counter()
                tracker.observe(event)
                for observer in observers:
                    observer.observe(event, at)
                self._wake()
        except AgentKitError as exc:
            self.failure = exc
        tracker.ended = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    # -- turns --------------------------------------------------------------------------------

    async def play(self, script: Script) -> None:
        """The script's greeting (if it has one), then each caller turn, each settled."""
        if script.greeting:
            await self.greet()
        for turn in script.turns:
            await self.say(turn.user, turn.mode)

    async def greet(self) -> None:
        """Ask the agent to speak first (a response with no caller turn) and wait for it."""
        self._check_alive()
        self.tracker.expect_response()
        await self.session.send_raw({"type": "response.create"})
        await self.settle("the greeting")

    async def say(self, text: str, mode: Literal["audio", "text"] = "text") -> None:
        """One caller turn: typed, or spoken as synthesized speech; waits for the agent."""
        self._check_alive()
        self.turns_played += 1
        started = self.tracker.responses_started
        what = f"turn {self.turns_played} ({text!r})"
        if mode == "text" or not self.speak:
            self._caller_turn(text, "text")
            self.tracker.expect_typed_answer()
            await self.session.send_text(text)
            self._turn_ended()
        else:
            speech = pcm.synthesize_speech(text, engine=self.speech_engine)
            await self._speak(speech, text)
        await self.settle(what)
        if self.tracker.responses_started == started:
            raise ConversationError(f"the agent did not answer {what}: no response started")

    async def send_recording(self, pcm16: bytes, label: str) -> None:
        """Stream a recording (mono PCM16 at 24 kHz) as the caller's audio and wait until
        the agent answered every turn the session's turn detection found in it."""
        self._check_alive()
        self.turns_played += 1
        await self._speak(pcm16, None, label=label)
        await self.settle(f"the recording {label}")

    async def settle(self, what: str) -> None:
        """Wait until the agent is done with the last turn (see `SettleTracker`)."""
        tracker = self.tracker
        with anyio.move_on_after(self.turn_timeout) as scope:
            while not tracker.settled and not tracker.ended:
                await self._changed.wait()
        if scope.cancelled_caught:
            raise ConversationError(
                f"the agent did not finish {what} within {self.turn_timeout:g} s"
            )
        if tracker.ended and not tracker.settled:
            self._check_alive()
            raise ConversationError(f"the session ended during {what}")

    def _check_alive(self) -> None:
        if self.failure is not None:
            raise self.failure
        if self.tracker.ended:
            raise ConversationError("the session has ended")

    # -- speech -------------------------------------------------------------------------------

    def _effective(self) -> SessionSettings:
        return self.settings.merged(self.session.current_agent.settings)

    async def _speak(self, speech: bytes, text: str | None, *, label: str | None = None) -> None:
        settings = self._effective()
        fmt = settings.input_audio_format
        turn = settings.turn_detection
        lead = pcm.generate_silence(_LEAD_SILENCE_MS, "pcm16")
        if self.session.config.dialect == "live":
            # Live's turn detection is built in, with no VAD events nor `clear` to wait on:
            # the voice layer's answer (its turn's start and end) is what the turn settles on.
            self._caller_turn(text if text is not None else label, "voice" if text is not None else "recording")
            tail = pcm.generate_silence(_LIVE_TAIL_MS, "pcm16")
            await self._stream(pcm.encode_from_pcm16(lead + speech + tail, fmt), fmt)
            self.tracker.expect_response()
            return
        if turn is None:
            self._caller_turn(text if text is not None else label, "push_to_talk")
            await self.session.start_turn()
            await self._stream(pcm.encode_from_pcm16(lead + speech, fmt), fmt)
            self.tracker.expect_response()
            await self.session.end_turn()
            self._turn_ended()
            return
        silence_ms = (
            turn.silence_duration_ms if isinstance(turn, ServerVad) else _SEMANTIC_SILENCE_MS
        )
        mode: CallerMode = "voice" if text is not None else "recording"
        # Semantic VAD's wait is the model's own: its `audio_end_ms` counts as the end.
        vad_silence = turn.silence_duration_ms if isinstance(turn, ServerVad) else 0
        self._caller_turn(text if text is not None else label, mode, vad_silence)
        tail = pcm.generate_silence(silence_ms + _SILENCE_MARGIN_MS, "pcm16")
        await self._stream(pcm.encode_from_pcm16(lead + speech + tail, fmt), fmt)
        # The server answers `clear` after everything sent before it, so once `cleared`
        # arrives every VAD event of this audio has too.
        self.tracker.expect_barrier()
        await self.session.send_raw({"type": "input_audio_buffer.clear"})

    async def _stream(self, encoded: bytes, fmt: pcm.AudioFormat) -> None:
        chunk_ms = _REALTIME_CHUNK_MS if self.pace == "realtime" else _FAST_CHUNK_MS
        size = pcm.bytes_for_ms(chunk_ms, fmt)
        start = time.perf_counter()
        for offset in range(0, len(encoded), size):
            piece = encoded[offset : offset + size]
            self._input_ms += pcm.duration_ms(len(piece), fmt)
            if self.pace == "realtime":
                # A microphone sends a chunk once it has been captured.
                delay = start + self._elapsed(offset + len(piece), fmt) - time.perf_counter()
                if delay > 0:
                    await anyio.sleep(delay)
            await self.session.send_audio(piece)
            at = time.perf_counter()
            for observer in self.observers:
                observer.audio_sent(self._input_ms, at)

    @staticmethod
    def _elapsed(nbytes: int, fmt: pcm.AudioFormat) -> float:
        return pcm.duration_ms(nbytes, fmt) / 1000.0

    def _caller_turn(self, label: str | None, mode: CallerMode, vad_silence_ms: float = 0) -> None:
        turn = CallerTurn(label, mode, time.perf_counter(), vad_silence_ms)
        for observer in self.observers:
            observer.caller_turn(turn)

    def _turn_ended(self) -> None:
        at = time.perf_counter()
        for observer in self.observers:
            observer.turn_ended(at)

