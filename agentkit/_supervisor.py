"""The sans-I/O core of a live session: wire events and app calls in; frames, app events and
commands out.

Like `websockets`' `Protocol`, the `Supervisor` never touches a socket, a clock or a task:

* inputs: `receive_frame()` / `receive_event()` (decoded wire events), app calls
  (`send_audio()`, `send_text()`, `interrupt()`, `start_turn()`, `end_turn()`,
  `update_agent()`), tool results (`tool_finished()`, `handoff_finished()`), playback reports
  (`playback_position()`), connection changes (`connecting()`, `connected()`,
  `disconnected()`). Anything that needs the time takes `now` (monotonic seconds) as an
  argument, so tests control the clock.
* outputs, drained by the runtime after each input: `data_to_send()` (client frames, in
  order), `events_to_emit()` (`SessionEvent`s for the app) and `commands()` (tool work to
  start or cancel, a fatal close).

Everything hard is decided here, once, for every transport:

* **One `response.create`, never while a response is active.** Requests are queued and sent
  when no response is active and none is on its way; a response the server starts itself
  (server VAD) satisfies a queued request.
* **Exactly one `function_call_output` per call id**, whatever happens: a result, an error, a
  timeout, or an interruption that cancels the call; late or duplicate results are ignored.
* **Follow-up after tools**: when a response is done and every call it made has its output,
  one `response.create` follows (not after an interrupted response: the caller's new turn
  gets the answer).
* **Handoffs**: `session.update` for the new agent, then the call's output, then the follow-up
  `response.create`, so the new agent speaks first with its own configuration.
* **Interruption**: tell the app to stop playback, truncate the assistant item at the real
  playback position (what the app reported, else an estimate from the clock bounded by the
  audio received), cancel the response only where the server will not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, assert_never

import orjson

from . import protocol as p
from .agent import RealtimeAgent
from .compiler import compile_agent_swap, compile_session_update
from .dialects import Dialect
from .errors import AgentKitError, ProtocolError
from .events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioEnd,
    AudioInterrupted,
    AudioOut,
    Breadcrumb,
    ErrorEvent,
    HandoffEvent,
    HistoryAdded,
    HistoryUpdated,
    RawServerEvent,
    SessionEvent,
    SessionStatus,
    StatusChanged,
    ToolEnd,
    ToolStart,
    UserTranscript,
    UserTranscriptDelta,
)
from .handoffs import Handoff
from .history import History, HistoryItem
from .settings import SessionSettings
from .tools import FunctionTool

__all__ = [
    "CancelTool",
    "CloseSession",
    "Command",
    "RunHandoff",
    "RunTool",
    "Supervisor",
]

# Error codes after which the service closes the session: end it instead of limping on.
_FATAL_CODES: Final[frozenset[str]] = frozenset({"session_expired"})

# Bytes of output audio per millisecond: PCM16 24 kHz mono, G.711 8 kHz.
_BYTES_PER_MS: Final[Mapping[str, float]] = {
    "audio/pcm": 48.0,
    "audio/pcmu": 8.0,
    "audio/pcma": 8.0,
}
_SETTINGS_FORMAT_TO_GA: Final[Mapping[str, str]] = {
    "pcm16": "audio/pcm",
    "g711_ulaw": "audio/pcmu",
    "g711_alaw": "audio/pcma",
}


# --- commands: work the runtime must start or stop ---------------------------------------------


@dataclass(frozen=True, slots=True)
class RunTool:
    """Run `tool` (None: the model named a tool the agent lacks) and report back with
    `Supervisor.tool_finished(call_id, ...)`."""

    call_id: str
    name: str
    arguments: str
    tool: FunctionTool | None
    agent: RealtimeAgent[Any]


@dataclass(frozen=True, slots=True)
class RunHandoff:
    """Validate the transfer arguments, run `on_handoff`, resolve the target's instructions,
    then call `Supervisor.handoff_finished()` (or `handoff_failed()`)."""

    call_id: str
    handoff: Handoff
    arguments: str
    agent: RealtimeAgent[Any]


@dataclass(frozen=True, slots=True)
class CancelTool:
    """Cancel the running call; its output has already been sent."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CloseSession:
    """End the session: the service reported something it will not recover from."""

    error: AgentKitError


Command = RunTool | RunHandoff | CancelTool | CloseSession


# --- bookkeeping --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Call:
    call_id: str
    name: str
    response_id: str
    agent: RealtimeAgent[Any]
    cancellable: bool


@dataclass(slots=True)
class _Response:
    response_id: str
    agent_name: str
    calls: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    done: bool = False
    interrupted: bool = False


@dataclass(slots=True)
class _Playback:
    """What the caller has heard of the current assistant audio item."""

    item_id: str
    content_index: int
    response_id: str
    started_at: float
    received_ms: float = 0.0
    reported_ms: float | None = None
    finished: bool = False

    def played_ms(self, now: float) -> float:
        heard = self.reported_ms if self.reported_ms is not None else (now - self.started_at) * 1000
        # Never past what was received: the caller cannot have heard audio we never got.
        return max(0.0, min(heard, self.received_ms))


class Supervisor:
    """The state machine of one realtime session (see the module docs).

    Args:
        agent: The starting agent.
        settings: The runner's session settings (agents' overrides are merged per agent).
        dialect: The wire dialect, `"ga"` or `"beta"`.
        history: Initial conversation, re-created on the service when the session starts.
        raw_events: Also emit every decoded wire event as `RawServerEvent`; off by default
            because it doubles the events per audio delta.
    """

    def __init__(
        self,
        agent: RealtimeAgent[Any],
        settings: SessionSettings | None = None,
        *,
        dialect: Dialect = "ga",
        history: Iterable[HistoryItem] = (),
        raw_events: bool = False,
    ) -> None:
        self.agent: RealtimeAgent[Any] = agent
        self.settings = settings if settings is not None else SessionSettings()
        self.dialect: Dialect = dialect
        self.history = History(history)
        self.raw_events = raw_events
        self.status = SessionStatus.DISCONNECTED
        self.audio_started = False
        effective = self.settings.merged(agent.settings)
        turn = effective.turn_detection
        # Until the server tells us its effective session: what we asked for.
        self.interrupt_response = bool(turn is not None and turn.interrupt_response)
        self._bytes_per_ms = _BYTES_PER_MS[_SETTINGS_FORMAT_TO_GA[effective.output_audio_format]]
        self._frames: list[str] = []
        self._events: list[SessionEvent] = []
        self._commands: list[Command] = []
        self._active_response: str | None = None
        self._create_in_flight: str | None = None  # event_id of our unanswered response.create
        self._want_response = False
        self._responses: dict[str, _Response] = {}
        self._calls: dict[str, _Call] = {}
        self._answered_calls: set[str] = set()
        self._interrupted_responses: set[str] = set()
        self._playback: _Playback | None = None
        self._cancel_sent: str | None = None  # the response we already sent response.cancel for
        self._client_event_ids = 0

    # -- outputs ------------------------------------------------------------------------------

    def data_to_send(self) -> list[str]:
        """The client frames to send, in order; drains the buffer."""
        frames, self._frames = self._frames, []
        return frames

    def events_to_emit(self) -> list[SessionEvent]:
        """The events for the app, in order; drains the buffer."""
        events, self._events = self._events, []
        return events

    def commands(self) -> list[Command]:
        """Tool work to start or cancel, and fatal closes; drains the buffer."""
        commands, self._commands = self._commands, []
        return commands

    @property
    def active_response_id(self) -> str | None:
        """The response the model is producing now, if any."""
        return self._active_response

    # -- connection ---------------------------------------------------------------------------

    def connecting(self) -> None:
        """The transport is opening."""
        self._set_status(SessionStatus.CONNECTING)

    def connected(self, instructions: str | None = None) -> None:
        """The transport is open: configure the session and re-create the seeded history.

        Args:
            instructions: The starting agent's resolved instructions (required when they are
                a function of the run context).
        """
        self._frames.append(
            p.encode_client_event(
                compile_session_update(
                    self.agent, self.settings, dialect=self.dialect, instructions=instructions
                )
            )
        )
        previous: str | None = None
        for item in self.history.items():
            if item.kind == "breadcrumb":
                continue
            wire = item.to_wire()
            wire["id"] = item.item_id
            self._frames.append(
                p.encode_item_create(wire, previous_item_id=previous, dialect=self.dialect)
            )
            previous = item.item_id
        self._set_status(SessionStatus.CONNECTED)

    def disconnected(self) -> None:
        """The transport closed: running tools are cancelled (nothing can be sent anymore)."""
        for call_id in list(self._calls):
            self._commands.append(CancelTool(call_id))
        self._calls.clear()
        self._active_response = None
        self._create_in_flight = None
        self._playback = None
        self._set_status(SessionStatus.DISCONNECTED)

    def _set_status(self, new: SessionStatus) -> None:
        if new is not self.status:
            old, self.status = self.status, new
            self._events.append(StatusChanged(old, new))

    # -- app calls ----------------------------------------------------------------------------

    def send_audio(self, audio: bytes) -> None:
        """Append caller audio (in the session's input format) to the input buffer."""
        self._frames.append(p.encode_input_audio_append(audio))

    def send_text(self, text: str) -> None:
        """Add a user text message and ask for a response (queued while one is active)."""
        self._frames.append(p.encode_user_message(text, dialect=self.dialect))
        self._request_response()

    def send_raw(self, event: Mapping[str, Any]) -> None:
        """Send any client event as it is."""
        self._frames.append(p.encode_client_event(event))

    def start_turn(self, now: float) -> None:
        """Push-to-talk pressed: stop the assistant if it is speaking, empty the input buffer."""
        self._interrupt(now, manual=True)
        self._frames.append(p.encode_input_audio_clear())

    def end_turn(self) -> None:
        """Push-to-talk released: commit the buffer as the user's turn and ask for a response."""
        self._frames.append(p.encode_input_audio_commit())
        self._request_response()

    def interrupt(self, now: float) -> None:
        """Stop the assistant now (a manual barge-in)."""
        self._interrupt(now, manual=True)

    def update_agent(self, agent: RealtimeAgent[Any], instructions: str | None = None) -> None:
        """Switch the session to `agent` without a tool call (no response is requested).

        Raises:
            CompileError, DefinitionError: `agent` cannot take over this session.
        """
        self._swap_agent(agent, instructions, call_id=None)

    def add_breadcrumb(self, text: str, call_id: str | None = None) -> None:
        """A note from a tool for the transcript; never sent to the model."""
        self.history.add_note(text, agent_name=self.agent.name)
        self._events.append(Breadcrumb(text, call_id))

    def playback_position(self, item_id: str, played_ms: float, *, finished: bool = False) -> None:
        """The app reports how much of `item_id` it has actually played (ms).

        With reports, truncation uses them instead of the clock estimate. `finished=True` says
        the item played to its end, so a later barge-in has nothing to cut.
        """
        playback = self._playback
        if playback is not None and playback.item_id == item_id:
            playback.reported_ms = played_ms
            playback.finished = finished

    # -- tool results -------------------------------------------------------------------------

    def tool_finished(self, call_id: str, output: str, *, error: str | None = None) -> None:
        """A tool call ended: send its output (once) and follow up when its response is done."""
        call = self._calls.get(call_id)
        if call is None:
            return  # already answered (cancelled, timed out) or unknown: never a second output
        self._send_output(call, output)
        self._events.append(ToolEnd(call_id, call.name, output, call.agent.name, error))
        self._after_output(call)

    def handoff_finished(
        self, call_id: str, target: RealtimeAgent[Any], instructions: str | None = None
    ) -> None:
        """A transfer was accepted: `session.update` to `target`, then the output, then (once
        the response is done) one `response.create`, so the new agent speaks first."""
        call = self._calls.get(call_id)
        if call is None:
            return
        try:
            self._swap_agent(target, instructions, call_id=call_id)
        except AgentKitError as exc:
            self._events.append(ErrorEvent(exc))
            self.handoff_failed(call_id, _json({"error": f"transfer failed: {exc}"}))
            return
        self._send_output(call, _json({"assistant": target.name}))
        self._after_output(call)

    def handoff_failed(self, call_id: str, output: str) -> None:
        """A transfer was refused (bad arguments, `on_handoff` raised): tell the model why."""
        call = self._calls.get(call_id)
        if call is None:
            return
        self._send_output(call, output)
        self._after_output(call)

    # -- wire events --------------------------------------------------------------------------

    def receive_frame(self, frame: str | bytes, now: float) -> None:
        """Decode and handle one inbound frame."""
        self.receive_event(p.decode_server_event(frame, self.dialect), now)

    def receive_event(self, event: p.ServerEvent, now: float) -> None:
        """Handle one decoded wire event."""
        if self.raw_events:
            self._events.append(RawServerEvent(event))
        match event:
            case p.ResponseOutputAudioDelta():
                self._on_audio(event, now)
            case p.ResponseOutputAudioTranscriptDelta() | p.ResponseOutputTextDelta():
                if event.response_id not in self._interrupted_responses:
                    self.history.append_text(event.item_id, event.delta)
                    self._events.append(
                        AssistantTranscriptDelta(event.item_id, event.response_id, event.delta)
                    )
            case p.ResponseOutputAudioTranscriptDone():
                self._on_assistant_text_done(event.item_id, event.response_id, event.transcript)
            case p.ResponseOutputTextDone():
                self._on_assistant_text_done(event.item_id, event.response_id, event.text)
            case p.ResponseOutputAudioDone():
                if event.response_id not in self._interrupted_responses:
                    self._events.append(AudioEnd(event.item_id, event.content_index))
            case p.InputAudioTranscriptionDelta():
                self.history.append_text(event.item_id, event.delta)
                self._events.append(UserTranscriptDelta(event.item_id, event.delta))
            case p.InputAudioTranscriptionCompleted():
                item = self.history.set_text(event.item_id, event.transcript)
                self._events.append(UserTranscript(event.item_id, event.transcript))
                if item is not None:
                    self._events.append(HistoryUpdated(item))
            case p.InputAudioBufferSpeechStarted():
                self._interrupt(now, manual=False)
            case p.ResponseCreated():
                self._on_response_created(event.response_id)
            case p.ResponseDone():
                self._on_response_done(event)
            case p.ResponseOutputItemDone():
                self._maybe_start_call(event.item, event.response_id)
            case (
                p.ConversationItemAdded()
                | p.ConversationItemCreated()
                | p.ConversationItemDone()
                | p.ConversationItemRetrieved()
            ):
                previous = (
                    None
                    if isinstance(event, p.ConversationItemRetrieved)
                    else event.previous_item_id
                )
                result = self.history.upsert(event.item, previous, agent_name=self.agent.name)
                if result is not None:
                    item, is_new = result
                    self._events.append(HistoryAdded(item) if is_new else HistoryUpdated(item))
            case p.ConversationItemTruncated():
                truncated = self.history.mark_truncated(event.item_id, event.audio_end_ms)
                if truncated is not None:
                    self._events.append(HistoryUpdated(truncated))
            case p.ConversationItemDeleted():
                deleted = self.history.delete(event.item_id)
                if deleted is not None:
                    self._events.append(
                        HistoryUpdated(dataclasses.replace(deleted, status="deleted"))
                    )
            case p.SessionCreated() | p.SessionUpdated():
                self._on_session(event.session)
            case p.ServerError():
                self._on_error(event)
            case p.MalformedServerEvent():
                self._events.append(ErrorEvent(event.to_exception()))
            case p.UnknownServerEvent():
                if not self.raw_events:  # kept, never dropped
                    self._events.append(RawServerEvent(event))
            case (
                p.InputAudioBufferSpeechStopped()
                | p.InputAudioBufferCommitted()
                | p.InputAudioBufferCleared()
                | p.InputAudioBufferTimeoutTriggered()
                | p.InputAudioTranscriptionFailed()
                | p.ResponseOutputItemAdded()
                | p.ResponseContentPartAdded()
                | p.ResponseContentPartDone()
                | p.ResponseFunctionCallArgumentsDelta()
                | p.ResponseFunctionCallArgumentsDone()
                | p.RateLimitsUpdated()
                | p.OutputAudioBufferStarted()
                | p.OutputAudioBufferStopped()
                | p.OutputAudioBufferCleared()
            ):
                # Nothing to decide: the app sees them with raw_events=True. Function calls
                # start on `output_item.done`, which carries the whole call.
                pass
            case _:
                assert_never(event)

    # -- handlers -----------------------------------------------------------------------------

    def _on_audio(self, event: p.ResponseOutputAudioDelta, now: float) -> None:
        if event.response_id in self._interrupted_responses:
            return  # audio of a response the caller already cut off: never play it
        self.audio_started = True
        playback = self._playback
        if (
            playback is None
            or playback.item_id != event.item_id
            or playback.content_index != event.content_index
        ):
            playback = self._playback = _Playback(
                event.item_id, event.content_index, event.response_id, started_at=now
            )
        playback.received_ms += len(event.audio) / self._bytes_per_ms
        self._events.append(
            AudioOut(event.audio, event.item_id, event.content_index, event.response_id)
        )

    def _on_assistant_text_done(self, item_id: str, response_id: str, text: str) -> None:
        if response_id in self._interrupted_responses:
            return  # the service truncates what was not heard; the delta text stands
        item = self.history.set_text(item_id, text)
        self._events.append(AssistantTranscript(item_id, text))
        if item is not None:
            self._events.append(HistoryUpdated(item))

    def _on_response_created(self, response_id: str) -> None:
        self._active_response = response_id
        if self._create_in_flight is not None:
            self._create_in_flight = None
        else:
            # The server started this one (VAD): it answers whatever we had queued, since
            # everything queued so far is already in the conversation.
            self._want_response = False
        self._responses.setdefault(response_id, _Response(response_id, self.agent.name))
        self._events.append(AgentStart(self.agent.name, response_id))

    def _on_response_done(self, event: p.ResponseDone) -> None:
        response_id = event.response_id
        # Calls we missed as output_item.done (the response lists every output item).
        output = event.response.get("output")
        if isinstance(output, list):
            for item in output:
                if isinstance(item, dict):
                    self._maybe_start_call(item, response_id)
        state = self._responses.setdefault(response_id, _Response(response_id, self.agent.name))
        state.done = True
        if self._active_response == response_id:
            self._active_response = None
        self._events.append(AgentEnd(state.agent_name, response_id, event.status))
        self._interrupted_responses.discard(response_id)
        self._check_follow_up(state)
        self._maybe_create_response()

    def _on_session(self, session: Mapping[str, Any]) -> None:
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
            if isinstance(fmt, Mapping) and fmt.get("type") in _BYTES_PER_MS:
                self._bytes_per_ms = _BYTES_PER_MS[fmt["type"]]

    def _on_error(self, event: p.ServerError) -> None:
        if event.client_event_id is not None and event.client_event_id == self._create_in_flight:
            # Our response.create was refused (typically `conversation_already_has_active_
            # response`: a server-started response covers what we wanted).
            self._create_in_flight = None
            self._maybe_create_response()
        error = event.to_exception()
        self._events.append(ErrorEvent(error, event.code))
        if event.code in _FATAL_CODES:
            self._commands.append(CloseSession(error))

    # -- function calls -----------------------------------------------------------------------

    def _maybe_start_call(self, item: Mapping[str, Any], response_id: str) -> None:
        if item.get("type") != "function_call":
            return
        call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
        if not isinstance(call_id, str) or not isinstance(name, str):
            self._events.append(
                ErrorEvent(ProtocolError(f"function call without call_id/name: {item!r}"))
            )
            return
        if call_id in self._calls or call_id in self._answered_calls:
            return  # one dispatch per call id
        if not isinstance(arguments, str):
            arguments = "{}"
        agent = self.agent  # the call belongs to the agent active now, even across a handoff
        target = agent.find_tool(name)
        state = self._responses.setdefault(response_id, _Response(response_id, agent.name))
        state.calls.add(call_id)
        state.pending.add(call_id)
        self._calls[call_id] = _Call(
            call_id,
            name,
            response_id,
            agent,
            cancellable=isinstance(target, FunctionTool) and target.cancellable,
        )
        if isinstance(target, Handoff):
            self._commands.append(RunHandoff(call_id, target, arguments, agent))
        else:
            self._events.append(ToolStart(call_id, name, arguments, agent.name))
            self._commands.append(RunTool(call_id, name, arguments, target, agent))

    def _send_output(self, call: _Call, output: str) -> None:
        del self._calls[call.call_id]
        self._answered_calls.add(call.call_id)
        self._frames.append(
            p.encode_function_call_output(call.call_id, output, dialect=self.dialect)
        )

    def _after_output(self, call: _Call) -> None:
        state = self._responses.get(call.response_id)
        if state is not None:
            state.pending.discard(call.call_id)
            self._check_follow_up(state)
        self._maybe_create_response()

    def _check_follow_up(self, state: _Response) -> None:
        if not state.done or state.pending:
            return
        del self._responses[state.response_id]
        if state.calls and not state.interrupted:
            self._want_response = True

    # -- responses ------------------------------------------------------------------------------

    def _request_response(self) -> None:
        self._want_response = True
        self._maybe_create_response()

    def _maybe_create_response(self) -> None:
        # Only one response may write to the conversation at a time
        # (`conversation_already_has_active_response`): wait for `response.done`.
        if (
            not self._want_response
            or self._active_response is not None
            or self._create_in_flight is not None
            or self.status is not SessionStatus.CONNECTED
        ):
            return
        self._want_response = False
        self._client_event_ids += 1
        event_id = f"agentkit_rc_{self._client_event_ids}"
        self._create_in_flight = event_id
        self._frames.append(p.encode_response_create(dialect=self.dialect, event_id=event_id))

    # -- agents -----------------------------------------------------------------------------------

    def _swap_agent(
        self, agent: RealtimeAgent[Any], instructions: str | None, *, call_id: str | None
    ) -> None:
        update = compile_agent_swap(
            agent,
            self.settings,
            dialect=self.dialect,
            audio_started=self.audio_started,
            instructions=instructions,
        )
        self._frames.append(p.encode_client_event(update))
        previous, self.agent = self.agent, agent
        self._events.append(HandoffEvent(previous.name, agent.name, call_id))

    # -- interruption -----------------------------------------------------------------------------

    def _interrupt(self, now: float, *, manual: bool) -> None:
        playback = self._playback
        if playback is not None:
            self._playback = None
            played = int(playback.played_ms(now))
            owned_by_active = playback.response_id == self._active_response
            still_playing = not playback.finished and played < int(playback.received_ms)
            if still_playing or owned_by_active:
                self._events.append(
                    AudioInterrupted(playback.item_id, playback.content_index, played)
                )
                # Sync the server with what the caller heard (`conversation.item.truncate`
                # drops the unheard transcript); at 0 ms nothing was played: no truncate.
                if played > 0:
                    self._frames.append(
                        p.encode_item_truncate(playback.item_id, playback.content_index, played)
                    )
        active = self._active_response
        if active is not None:
            self._interrupted_responses.add(active)
            state = self._responses.get(active)
            if state is not None:
                state.interrupted = True
            # With `interrupt_response`, server VAD cancels the response itself on speech.
            # One cancel per response: a second would draw `response_cancel_not_active`.
            if (manual or not self.interrupt_response) and self._cancel_sent != active:
                self._cancel_sent = active
                self._frames.append(p.encode_response_cancel(active))
        for call in [c for c in self._calls.values() if c.cancellable]:
            state = self._responses.get(call.response_id)
            if state is not None:
                state.interrupted = True
            self._commands.append(CancelTool(call.call_id))
            output = _json({"error": "cancelled: the caller interrupted before the tool finished"})
            self._send_output(call, output)
            self._events.append(
                ToolEnd(call.call_id, call.name, output, call.agent.name, "cancelled")
            )
            self._after_output(call)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
