"""The sans-I/O core of a live session: wire events and app calls in; frames, app events and
commands out.

Like `websockets`' `Protocol`, the `Supervisor` never touches a socket, a clock or a task:

* inputs: `receive_frame()` / `receive_event()` (decoded wire events), app calls
  (`send_audio()`, `send_text()`, `interrupt()`, `start_turn()`, `end_turn()`,
  `update_agent()`, `approve()`, `reject()`), work results (`tool_finished()`,
  `handoff_finished()`, `guardrails_finished()`), playback reports (`playback_position()`),
  connection changes (`connecting()`, `connected()`, `disconnected()`) and the clock
  (`tick()` at `next_deadline()`). Anything that needs the time takes `now` (monotonic
  seconds) as an argument, so tests control the clock.
* outputs, drained by the runtime after each input: `data_to_send()` (client frames, in
  order), `events_to_emit()` (`SessionEvent`s for the app) and `commands()` (tool and
  guardrail work to start or cancel, a reconnect, a close).

Everything hard is decided here, once, for every transport:

* **One `response.create`, never while a response is active.** Requests are queued and sent
  when no response is active and none is on its way; a response the server starts itself
  (server VAD) satisfies a queued request (but not a queued safe reply).
* **Exactly one `function_call_output` per call id**, whatever happens: a result, an error, a
  timeout, a rejection, or an interruption that cancels the call; late or duplicate results
  are ignored.
* **Follow-up after tools**: when a response is done and every call it made has its output,
  one `response.create` follows (not after an interrupted response: the caller's new turn
  gets the answer).
* **Handoffs**: `session.update` for the new agent, then the call's output, then the follow-up
  `response.create`, so the new agent speaks first with its own configuration.
* **Interruption**: tell the app to stop playback, truncate the assistant item at the real
  playback position (what the app reported, else an estimate from the clock bounded by the
  audio received), cancel the response only where the server will not.
* **Guardrails** (policy from `SessionPolicy`): typed input is checked before it is sent; an
  audio turn's response is held back (audio, text and calls) until the turn's transcript
  passed the input checks; the assistant's transcript is checked every
  `output_debounce_chars` and once more before it is reported final. A trip cancels,
  clears, truncates, marks the item, and asks for the safe reply.
* **Approvals**: a `needs_approval` call is parked until `approve()` / `reject()` or its
  deadline; its response's follow-up waits for it like for any running tool.
* **Reconnect**: while the connection is down no frame is produced (the replay re-creates the
  state they described): items the client makes (typed messages, tool outputs) go into the
  history first, under client ids, so `connected()` after a drop replays them with
  everything else, then asks for the response the drop cut off.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, get_args

import orjson

from .. import protocol as p
from ..agent import RealtimeAgent
from ..compiler import compile_agent_swap
from ..errors import AgentKitError, ProtocolError
from ..events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioEnd,
    AudioInterrupted,
    AudioOut,
    Breadcrumb,
    ErrorEvent,
    GuardrailTripped,
    HandoffEvent,
    HistoryAdded,
    HistoryUpdated,
    InputAudioDropped,
    RawServerEvent,
    Reconnected,
    SessionEvent,
    SessionLimitReached,
    SessionStatus,
    StatusChanged,
    TextFallback,
    ToolApprovalRequired,
    ToolApprovalResolved,
    ToolEnd,
    ToolStart,
    UserTranscript,
    UserTranscriptDelta,
)
from ..guardrails import Guardrail
from ..handoffs import Handoff
from ..history import History, HistoryItem
from ..policy import SessionLimits
from ..protocol.dialects import Dialect
from ..protocol.sealed import sealed_constructor
from ..settings import SessionSettings
from ..tools import FunctionTool
from .policy import GuardrailVerdict, SessionPolicy
from .reconnect import replay_frames, replay_items

__all__ = [
    "CancelTool",
    "CloseSession",
    "Command",
    "Reconnect",
    "RunGuardrails",
    "RunHandoff",
    "RunTool",
    "Supervisor",
]

# Error codes after which the service closes the session: reconnect (or end) instead of
# limping on.
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
_TEXT_ONLY: Final = SessionSettings(output_modalities=("text",))


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
class RunGuardrails:
    """Run `guardrails` on `text` (in a task: never on the pump) and report back with
    `Supervisor.guardrails_finished(check_id, verdict, now)`."""

    check_id: int
    stage: Literal["input", "output"]
    guardrails: tuple[Guardrail, ...]
    text: str
    agent: RealtimeAgent[Any]


@dataclass(frozen=True, slots=True)
class CancelTool:
    """Cancel the running call; its output has already been sent."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Close this connection and open a new one (the runtime's reconnect loop):
    `reason` is `session_expired`, `renewal`, ..."""

    reason: str


@dataclass(frozen=True, slots=True)
class CloseSession:
    """End the session: the service reported something it will not recover from (`error`),
    or a session limit was reached (`error` is None)."""

    error: AgentKitError | None


Command = RunTool | RunHandoff | RunGuardrails | CancelTool | Reconnect | CloseSession


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


@dataclass(slots=True)
class _Check:
    """A guardrail run in flight: what it is about."""

    stage: Literal["input", "output"]
    item_id: str
    text: str
    response_id: str | None = None
    typed: bool = False  # a typed message, held until it passes
    final: bool = False  # the final transcript, held until it passes


@dataclass(slots=True)
class _OutputTrack:
    """Output-guardrail progress on one assistant item."""

    response_id: str
    chars: int = 0
    checked: int = 0
    final_text: str | None = None
    tripped: bool = False


@dataclass(slots=True)
class _Typed:
    """A typed message waiting for its input checks, released in the order it was sent."""

    item_id: str
    text: str
    passed: bool = False


@dataclass(slots=True)
class _Approval:
    call: _Call
    tool: FunctionTool
    arguments: str
    deadline: float | None


# The events and commands made per frame are sealed, not constructed (see `agentkit.protocol.sealed`).
_new_AudioOut = sealed_constructor(AudioOut)
_new_AssistantTranscriptDelta = sealed_constructor(AssistantTranscriptDelta)
_new_HistoryAdded = sealed_constructor(HistoryAdded)
_new_HistoryUpdated = sealed_constructor(HistoryUpdated)
_new_AgentStart = sealed_constructor(AgentStart)
_new_AgentEnd = sealed_constructor(AgentEnd)
_new_ToolStart = sealed_constructor(ToolStart)
_new_ToolEnd = sealed_constructor(ToolEnd)
_new_RunTool = sealed_constructor(RunTool)
_new_UserTranscriptDelta = sealed_constructor(UserTranscriptDelta)
_new_HistoryItem = sealed_constructor(HistoryItem)


class Supervisor:
    """The state machine of one realtime session (see the module docs).

    Args:
        agent: The starting agent.
        settings: The runner's session settings (agents' overrides are merged per agent).
        dialect: The wire dialect, `"ga"` or `"beta"`.
        history: Initial conversation, re-created on the service when the session starts.
        raw_events: Also emit every decoded wire event as `RawServerEvent`; off by default
            because it doubles the events per audio delta.
        policy: Guardrail and approval policy (one per session: it remembers "always").
        limits: Session limits (duration, idle timeout, payload sizes).
        can_reconnect: Whether the runtime reconnects; if not, `session_expired` ends the
            session instead of asking for a `Reconnect`.
        output_audio_buffer: The transport has a server-side output audio buffer (WebRTC,
            SIP), so stopping the agent also needs `output_audio_buffer.clear`.
        renew_after_s: Ask for a proactive `Reconnect("renewal")` this long after each
            connect, at the first moment no response is active.
    """

    def __init__(
        self,
        agent: RealtimeAgent[Any],
        settings: SessionSettings | None = None,
        *,
        dialect: Dialect = "ga",
        history: Iterable[HistoryItem] = (),
        raw_events: bool = False,
        policy: SessionPolicy | None = None,
        limits: SessionLimits | None = None,
        can_reconnect: bool = False,
        output_audio_buffer: bool = False,
        renew_after_s: float | None = None,
    ) -> None:
        self.agent: RealtimeAgent[Any] = agent
        self.settings = settings if settings is not None else SessionSettings()
        self.dialect: Dialect = dialect
        self.history = History(history)
        self.raw_events = raw_events
        self.policy = policy if policy is not None else SessionPolicy()
        self.limits = limits if limits is not None else SessionLimits()
        self.can_reconnect = can_reconnect
        self.output_audio_buffer = output_audio_buffer
        self.renew_after_s = renew_after_s
        self.status = SessionStatus.DISCONNECTED
        self.text_only = False
        self.audio_started = False
        effective = self.settings.merged(agent.settings)
        turn = effective.turn_detection
        # Until the server tells us its effective session: what we asked for.
        self.interrupt_response = bool(turn is not None and turn.interrupt_response)
        self._bytes_per_ms = _BYTES_PER_MS[_SETTINGS_FORMAT_TO_GA[effective.output_audio_format]]
        self._online = False
        self._frames: list[str] = []
        self._events: list[SessionEvent] = []
        self._commands: list[Command] = []
        # Instrumentation (see `observe_with`): off by default, at the cost of one check per
        # event that is neither an audio chunk nor a transcript delta.
        self._observer: Observer | None = None
        self._observed: AbstractSet[type] = frozenset()
        self._observe_deltas = False
        self._wire_handlers: Mapping[type, _Handler] = _HANDLERS
        self._active_response: str | None = None
        self._create_in_flight: str | None = None  # event_id of our unanswered response.create
        self._want_response = False
        self._response_params: dict[str, Any] | None = None  # a safe reply's instructions
        self._inflight_params: dict[str, Any] | None = None
        self._responses: dict[str, _Response] = {}
        self._calls: dict[str, _Call] = {}
        self._answered_calls: set[str] = set()
        self._interrupted_responses: set[str] = set()
        self._playback: _Playback | None = None
        self._cancel_sent: str | None = None  # the response we already sent response.cancel for
        self._client_event_ids = 0
        self._client_item_ids = 0
        # guardrails
        self._check_ids = 0
        self._checks: dict[int, _Check] = {}
        self._typed: deque[_Typed] = deque()
        self._gate: dict[str, float] = {}  # user audio items awaiting input checks → deadline
        self._gated_responses: set[str] = set()
        self._blocked_responses: set[str] = set()
        self._held: list[p.ServerEvent] = []
        self._out: dict[str, _OutputTrack] = {}
        self._deleted_by_us: set[str] = set()
        # approvals
        self._approvals: dict[str, _Approval] = {}
        # limits, renewal, outages
        self._started_at: float | None = None
        self._connected_at: float | None = None
        self._last_activity: float | None = None
        self._renew_due = False
        self._ended = False
        self._dropped_chunks = 0
        self._dropped_bytes = 0
        self._reconnects = 0
        # stall watchdog: the clock as last given, when the service was last heard, when our
        # pending response.create went out, and whether this connection was declared stalled
        self._now = 0.0
        self._heard_at: float | None = None
        self._create_sent_at = 0.0
        self._stalled = False
        # When to look again (None: nothing owed). Armed when something becomes owed and
        # pushed back at each look, so a frame only stores `_heard_at`: nothing per frame
        # computes a deadline.
        self._stall_check_at: float | None = None

    # -- outputs ------------------------------------------------------------------------------

    def data_to_send(self) -> list[str]:
        """The client frames to send, in order; drains the buffer."""
        frames, self._frames = self._frames, []
        return frames

    def has_data_to_send(self) -> bool:
        """Whether `data_to_send()` would return frames (without draining them)."""
        return bool(self._frames)

    def observe_with(self, observer: Observer | None) -> None:
        """Report to `observer` what this supervisor receives and decides, as it happens.

        For instrumentation (`tracing.SessionTracer` is one): it gets the wire events and
        session events of the classes in its `event_types` (an audio chunk only when it is
        the first of its item) and `response_requested()` when a `response.create` is sent.
        Asking the supervisor rather than scanning its outputs keeps the per-frame path free
        of it: an audio delta costs an observer nothing.
        """
        self._observer = observer
        if observer is None:
            self._observed = frozenset()
            self._observe_deltas = False
            self._wire_handlers = _HANDLERS
            return
        observed = self._observed = frozenset(observer.event_types)
        self._observe_deltas = AssistantTranscriptDelta in observed
        observe = observer.observe
        handlers = dict(_HANDLERS)
        for cls in observed & _HANDLERS.keys():
            handlers[cls] = _observed_handler(_HANDLERS[cls], observe)
        self._wire_handlers = handlers

    def _emit(self, event: SessionEvent) -> None:
        self._events.append(event)
        if type(event) in self._observed:
            self._observer.observe(event)  # type: ignore[union-attr]

    def events_to_emit(self) -> list[SessionEvent]:
        """The events for the app, in order; drains the buffer."""
        events, self._events = self._events, []
        return events

    def commands(self) -> list[Command]:
        """Work to start or cancel, reconnects and closes; drains the buffer."""
        commands, self._commands = self._commands, []
        return commands

    @property
    def active_response_id(self) -> str | None:
        """The response the model is producing now, if any."""
        return self._active_response

    @property
    def pending_approvals(self) -> list[str]:
        """Call ids parked for approval, oldest first."""
        return list(self._approvals)

    def _send(self, frame: str) -> None:
        # While the connection is down nothing is sent: whatever a frame would have said is
        # in the history or the agent, and `connected()` replays both.
        if self._online:
            self._frames.append(frame)

    # -- connection ---------------------------------------------------------------------------

    def connecting(self) -> None:
        """The transport is opening."""
        self._set_status(SessionStatus.CONNECTING)

    def connected(
        self, instructions: str | None = None, *, now: float = 0.0, text_only: bool = False
    ) -> None:
        """The transport is open: configure the session for the current agent and re-create
        the conversation (the seeded history on the first connect; everything on a
        reconnect), then ask for any response the outage cut off.

        Args:
            instructions: The current agent's resolved instructions (required when they are
                a function of the run context).
            now: The clock, for session limits and renewal.
            text_only: Continue as a text-only session (the reconnect fallback).
        """
        reconnect = self._started_at is not None
        if text_only:
            self.text_only = True
        settings = self.settings.merged(_TEXT_ONLY) if self.text_only else self.settings
        self._frames.clear()
        self._online = True
        frames, replayed = replay_frames(
            self.agent,
            settings,
            self.history.items(),
            dialect=self.dialect,
            instructions=instructions,
        )
        self._frames.extend(frames)
        # A new service session has produced no audio yet: the voice may be set again.
        self.audio_started = False
        if self._started_at is None:
            self._started_at = now
        self._connected_at = now
        self._last_activity = now
        self._renew_due = False
        self._now = now
        self._heard_at = now
        self._stalled = False
        self._stall_check_at = None
        self._set_status(SessionStatus.CONNECTED)
        if text_only:
            self._emit(TextFallback(replayed))
        elif reconnect:
            self._reconnects += 1
            self._emit(Reconnected(self._reconnects, replayed))
        if reconnect:
            replayed_items = replay_items(self.history.items())
            if replayed_items and replayed_items[-1].get("role") == "user":
                # The caller's last turn reached the service but no answer came back.
                self._want_response = True
        if self._dropped_chunks:
            self._emit(InputAudioDropped(self._dropped_chunks, self._dropped_bytes, "disconnected"))
            self._dropped_chunks = self._dropped_bytes = 0
        # Typed messages that passed their checks while we were down were recorded in the
        # history and replayed above; the ones still being checked go out when they pass.
        self._maybe_create_response()

    def disconnected(self, *, reconnecting: bool = False) -> None:
        """The transport closed.

        Args:
            reconnecting: The runtime will reconnect: running tools, parked approvals and
                pending checks carry on (their results are replayed or sent afterwards);
                a response cut off by the drop is asked for again once reconnected.
                Otherwise running tools are cancelled (nothing can be sent anymore).
        """
        self._online = False
        self._frames.clear()
        if not reconnecting:
            for call_id in list(self._calls):
                self._commands.append(CancelTool(call_id))
            self._calls.clear()
            self._approvals.clear()
        else:
            for item in self.history.items():
                if (
                    item.kind == "message"
                    and item.role == "assistant"
                    and item.status == "in_progress"
                ):
                    # Cut off by the drop: the new session will not have it (see replay_items).
                    self.history.upsert({"id": item.item_id, "status": "incomplete"})
            for state in list(self._responses.values()):
                if state.done:
                    continue
                # The drop ended this response: the new service session knows nothing of it.
                state.done = True
                self._emit(_new_AgentEnd(state.agent_name, state.response_id, "disconnected"))
                if state.pending or state.calls:
                    self._check_follow_up(state)
                else:
                    del self._responses[state.response_id]
                    if not state.interrupted:
                        self._want_response = True  # finish the answer the caller lost
            if self._create_in_flight is not None:
                # Asked for, never answered: ask again on the new connection.
                self._want_response = True
                if self._inflight_params is not None and self._response_params is None:
                    self._response_params = self._inflight_params
        self._active_response = None
        self._create_in_flight = None
        self._cancel_sent = None
        self._playback = None
        self._gate.clear()
        self._gated_responses.clear()
        self._held.clear()
        self._set_status(SessionStatus.RECONNECTING if reconnecting else SessionStatus.DISCONNECTED)

    def _set_status(self, new: SessionStatus) -> None:
        if new is not self.status:
            old, self.status = self.status, new
            self._emit(StatusChanged(old, new))

    # -- clock ----------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When `tick()` must be called next (monotonic seconds), if ever."""
        # The session asks after every flush: no list is built unless approvals or held
        # turns are waiting.
        deadline: float | None = None
        if self._approvals or self._gate:
            deadlines = [a.deadline for a in self._approvals.values() if a.deadline is not None]
            deadlines.extend(self._gate.values())
            deadline = min(deadlines, default=None)
        if self._ended:
            return deadline
        limits = self.limits
        if limits.max_duration_s is not None and self._started_at is not None:
            at = self._started_at + limits.max_duration_s
            if deadline is None or at < deadline:
                deadline = at
        if limits.idle_timeout_s is not None and self._last_activity is not None and self._online:
            at = self._last_activity + limits.idle_timeout_s
            if deadline is None or at < deadline:
                deadline = at
        stall = self._stall_check_at
        if stall is not None and (deadline is None or stall < deadline):
            deadline = stall
        if (
            self.renew_after_s is not None
            and self._connected_at is not None
            and self._online
            and not self._renew_due
        ):
            at = self._connected_at + self.renew_after_s
            if deadline is None or at < deadline:
                deadline = at
        return deadline

    def _stall_deadline(self) -> float | None:
        """When the service, owing us a response (a `response.create` sent, or a response
        under way), will have been silent for `stall_timeout_s`."""
        timeout = self.limits.stall_timeout_s
        if (
            timeout is None
            or not self._online
            or self._stalled
            or self._heard_at is None
            or (self._create_in_flight is None and self._active_response is None)
        ):
            return None
        return max(self._heard_at, self._create_sent_at) + timeout

    def tick(self, now: float) -> None:
        """Apply whatever is due at `now`: approval timeouts, held responses whose input
        checks took too long, session limits, proactive renewal, a stalled service."""
        self._now = now
        check = self._stall_check_at
        if check is not None and now >= check:
            stall = self._stall_check_at = self._stall_deadline()
            if stall is not None and now >= stall:
                self._stall(now)
        for call_id, approval in list(self._approvals.items()):
            if approval.deadline is not None and approval.deadline <= now:
                approved = self.policy.approvals.default == "approve"
                self._decide(call_id, approved, None, by="timeout")
        expired = [item_id for item_id, deadline in self._gate.items() if deadline <= now]
        for item_id in expired:
            self._emit(
                ErrorEvent(
                    AgentKitError(
                        f"no transcript for user item {item_id!r} within "
                        f"{self.policy.guardrails.input_check_timeout_s:g}s: its response is "
                        "let through unchecked"
                    ),
                    "input_check_timeout",
                )
            )
            self._release_gate(item_id, now)
        if self._ended:
            return
        limits = self.limits
        if (
            limits.max_duration_s is not None
            and self._started_at is not None
            and now >= self._started_at + limits.max_duration_s
        ):
            self._end_on_limit("max_duration", limits.max_duration_s)
            return
        if (
            limits.idle_timeout_s is not None
            and self._last_activity is not None
            and self._online
            and now >= self._last_activity + limits.idle_timeout_s
        ):
            self._end_on_limit("idle_timeout", limits.idle_timeout_s)
            return
        if (
            self.renew_after_s is not None
            and self._connected_at is not None
            and self._online
            and not self._renew_due
            and now >= self._connected_at + self.renew_after_s
        ):
            self._renew_due = True
            self._maybe_renew()

    def _arm_stall(self, since: float) -> None:
        timeout = self.limits.stall_timeout_s
        if timeout is not None and self._stall_check_at is None:
            self._stall_check_at = since + timeout

    def _stall(self, now: float) -> None:
        # The socket may look healthy (websockets' pings are answered below the service), but
        # what the service owes us is not coming: treat it as a lost connection.
        self._stalled = True
        self._stall_check_at = None
        waited = now - max(self._heard_at or 0.0, self._create_sent_at)
        error = ProtocolError(
            f"the service sent nothing for {waited:.1f}s while a response was due "
            f"(stall_timeout_s={self.limits.stall_timeout_s:g})"
        )
        self._emit(ErrorEvent(error, "stalled"))
        if self.can_reconnect:
            self._commands.append(Reconnect("stalled"))
        else:
            self._commands.append(CloseSession(error))

    def _end_on_limit(self, limit: Literal["max_duration", "idle_timeout"], seconds: float) -> None:
        self._ended = True
        self._emit(SessionLimitReached(limit, seconds))
        self._commands.append(CloseSession(None))

    def _maybe_renew(self) -> None:
        # Renew between turns only: a renewal mid-response would cut the agent off.
        if self._renew_due and self._active_response is None and self._create_in_flight is None:
            self._renew_due = False
            self._connected_at = None
            self._commands.append(Reconnect("renewal"))

    def _clock(self, now: float | None) -> None:
        if now is not None:
            self._now = now

    def _activity(self, now: float) -> None:
        self._last_activity = now

    # -- app calls ----------------------------------------------------------------------------

    def send_audio(self, audio: bytes, now: float = 0.0) -> None:
        """Append caller audio (in the session's input format) to the input buffer.

        Audio larger than `limits.max_audio_append_bytes` is split over several events;
        audio that cannot be sent (connection down, text-only session) is counted and
        reported with `InputAudioDropped`.
        """
        self._now = now
        if not self._online or self.text_only:
            self._dropped_chunks += 1
            self._dropped_bytes += len(audio)
            if self.text_only:
                self._emit(InputAudioDropped(1, len(audio), "text-only session"))
                self._dropped_chunks = self._dropped_bytes = 0
            return
        self._activity(now)
        size = self.limits.max_audio_append_bytes
        if len(audio) <= size:
            self._frames.append(p.encode_input_audio_append(audio))
            return
        view = memoryview(audio)
        for start in range(0, len(audio), size):
            self._frames.append(p.encode_input_audio_append(view[start : start + size]))

    def send_text(self, text: str, now: float = 0.0) -> None:
        """Add a user text message and ask for a response (queued while one is active).

        With input guardrails the message is checked first and sent only if it passes.
        """
        self._now = now
        if len(text) > self.limits.max_text_chars:
            self._emit(
                ErrorEvent(
                    AgentKitError(
                        f"a typed message of {len(text)} characters is over the "
                        f"{self.limits.max_text_chars}-character limit; it was not sent"
                    ),
                    "payload_too_large",
                )
            )
            return
        self._activity(now)
        item_id = self._next_item_id()
        self.history.add_local(HistoryItem.user(text, item_id=item_id), agent_name=self.agent.name)
        guardrails = tuple(self.agent.input_guardrails)
        if guardrails:
            self._typed.append(_Typed(item_id, text))
            self._start_check(_Check("input", item_id, text, typed=True), guardrails)
            return
        self._send(
            p.encode_item_create(p.user_message_item(text, item_id=item_id), dialect=self.dialect)
        )
        self._request_response()

    def send_raw(self, event: Mapping[str, Any]) -> None:
        """Send any client event as it is."""
        self._send(p.encode_client_event(event))
        if self._observer is not None and event.get("type") == "response.create":
            self._observer.response_requested()  # the app's own (a greeting, say)

    def start_turn(self, now: float) -> None:
        """Push-to-talk pressed: stop the assistant if it is speaking, empty the input buffer."""
        self._now = now
        self._activity(now)
        self._interrupt(now, manual=True)
        self._send(p.encode_input_audio_clear())

    def end_turn(self, now: float = 0.0) -> None:
        """Push-to-talk released: commit the buffer as the user's turn and ask for a response."""
        self._now = now
        self._activity(now)
        self._send(p.encode_input_audio_commit())
        self._request_response()

    def interrupt(self, now: float) -> None:
        """Stop the assistant now (a manual barge-in)."""
        self._now = now
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
        self._emit(Breadcrumb(text, call_id))

    def playback_position(self, item_id: str, played_ms: float, *, finished: bool = False) -> None:
        """The app reports how much of `item_id` it has actually played (ms).

        With reports, truncation uses them instead of the clock estimate. `finished=True` says
        the item played to its end, so a later barge-in has nothing to cut.
        """
        playback = self._playback
        if playback is not None and playback.item_id == item_id:
            playback.reported_ms = played_ms
            playback.finished = finished

    # -- approvals ------------------------------------------------------------------------------

    def approve(self, call_id: str, *, always: bool = False, now: float | None = None) -> bool:
        """Run a parked call; `always` approves every later call of the same tool (and the
        ones parked now). False when `call_id` is not waiting for approval."""
        self._clock(now)
        return self._decide(call_id, True, None, by="app", always=always)

    def reject(
        self,
        call_id: str,
        message: str | None = None,
        *,
        always: bool = False,
        now: float | None = None,
    ) -> bool:
        """Refuse a parked call: the model gets `message` (or the configured rejection) as the
        call's output. `always` rejects every later call of the same tool."""
        self._clock(now)
        return self._decide(call_id, False, message, by="app", always=always)

    def _decide(
        self,
        call_id: str,
        approved: bool,
        message: str | None,
        *,
        by: Literal["app", "always", "timeout"],
        always: bool = False,
    ) -> bool:
        approval = self._approvals.pop(call_id, None)
        if approval is None:
            return False
        call = approval.call
        self._emit(ToolApprovalResolved(call_id, call.name, approved, by))
        if approved:
            self._dispatch(call, approval.tool, approval.arguments)
        else:
            output = self.policy.rejection_output(message)
            self._send_output(call, output)
            self._emit(_new_ToolEnd(call_id, call.name, output, call.agent.name, "rejected"))
            self._after_output(call)
        if always:
            self.policy.remember(call.name, approved)
            for other_id, other in list(self._approvals.items()):
                if other.call.name == call.name:
                    self._decide(other_id, approved, message, by="always")
        return True

    # -- tool results -------------------------------------------------------------------------

    def tool_finished(
        self, call_id: str, output: str, *, error: str | None = None, now: float | None = None
    ) -> None:
        """A tool call ended: send its output (once) and follow up when its response is done.

        While the connection is down the output is recorded in the history and replayed on
        reconnect, so it is never lost. `now` (here and in the other calls that may ask for a
        response) dates the `response.create` for the stall watchdog; without it the last
        time given is used.
        """
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None:
            return  # already answered (cancelled, timed out) or unknown: never a second output
        limit = self.limits.max_tool_output_chars
        if len(output) > limit:
            self._emit(
                ErrorEvent(
                    AgentKitError(
                        f"tool {call.name!r} returned {len(output)} characters; cut to {limit}"
                    ),
                    "tool_output_truncated",
                )
            )
            output = output[:limit] + "\n[output truncated: it was too long]"
        self._send_output(call, output)
        self._emit(_new_ToolEnd(call_id, call.name, output, call.agent.name, error))
        self._after_output(call)

    def handoff_finished(
        self,
        call_id: str,
        target: RealtimeAgent[Any],
        instructions: str | None = None,
        *,
        now: float | None = None,
    ) -> None:
        """A transfer was accepted: `session.update` to `target`, then the output, then (once
        the response is done) one `response.create`, so the new agent speaks first."""
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None:
            return
        try:
            self._swap_agent(target, instructions, call_id=call_id)
        except AgentKitError as exc:
            self._emit(ErrorEvent(exc))
            self.handoff_failed(call_id, _json({"error": f"transfer failed: {exc}"}))
            return
        self._send_output(call, _json({"assistant": target.name}))
        self._after_output(call)

    def handoff_failed(self, call_id: str, output: str, *, now: float | None = None) -> None:
        """A transfer was refused (bad arguments, `on_handoff` raised): tell the model why."""
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None:
            return
        self._send_output(call, output)
        self._after_output(call)

    # -- guardrails ---------------------------------------------------------------------------

    def guardrails_finished(self, check_id: int, verdict: GuardrailVerdict, now: float) -> None:
        """A `RunGuardrails` finished: release what waited for it, or act on the trip."""
        self._now = now
        check = self._checks.pop(check_id, None)
        if check is None:
            return
        for name, message in verdict.errors:
            self._emit(
                ErrorEvent(
                    AgentKitError(f"guardrail {name!r} failed: {message}"), "guardrail_error"
                )
            )
        tripped = verdict.tripped
        if check.stage == "input":
            if tripped is not None:
                self._input_tripped(check, tripped, verdict, now)
            elif check.typed:
                for typed in self._typed:
                    if typed.item_id == check.item_id:
                        typed.passed = True
                self._release_typed()
            else:
                self._release_gate(check.item_id, now)
            return
        track = self._out.get(check.item_id)
        if track is None or track.tripped:
            return
        if tripped is not None:
            self._output_tripped(check, track, tripped, verdict, now)
        elif check.final and track.final_text is not None:
            self._emit_final(check.item_id, track.final_text)
            del self._out[check.item_id]

    def _start_check(self, check: _Check, guardrails: tuple[Guardrail, ...]) -> None:
        self._check_ids += 1
        self._checks[self._check_ids] = check
        self._commands.append(
            RunGuardrails(self._check_ids, check.stage, guardrails, check.text, self.agent)
        )

    def _release_typed(self) -> None:
        # In order: a message that passed waits for the ones typed before it.
        while self._typed and self._typed[0].passed:
            typed = self._typed.popleft()
            self._send(
                p.encode_item_create(
                    p.user_message_item(typed.text, item_id=typed.item_id), dialect=self.dialect
                )
            )
            self._request_response()

    def _release_gate(self, item_id: str, now: float) -> None:
        if self._gate.pop(item_id, None) is None or self._gate:
            return
        held, self._held = self._held, []
        self._gated_responses.clear()
        for event in held:
            self.receive_event(event, now)

    def _input_tripped(
        self, check: _Check, guardrail: Guardrail, verdict: GuardrailVerdict, now: float
    ) -> None:
        item = self.history.mark_guardrail(check.item_id, guardrail.name)
        if item is not None:
            self._emit(_new_HistoryUpdated(item))
        cancelled: str | None = None
        if check.typed:
            # Never sent: the model does not see it. Later typed messages still go in order.
            self._typed = deque(t for t in self._typed if t.item_id != check.item_id)
            self._release_typed()
        else:
            # The turn is in the service's conversation: take it out so the model never acts
            # on it, and drop everything its response produced (held, never shown).
            self._gate.pop(check.item_id, None)
            blocked = set(self._gated_responses)
            self._blocked_responses |= blocked
            for rid in blocked:
                self._interrupted_responses.add(rid)
                state = self._responses.get(rid)
                if state is not None:
                    state.interrupted = True
                finished = any(
                    isinstance(e, p.ResponseDone) and e.response_id == rid for e in self._held
                )
                if rid == self._active_response and not finished:
                    cancelled = rid
                    self._cancel(rid)
            self._deleted_by_us.add(check.item_id)
            self._send(p.encode_item_delete(check.item_id))
            held, self._held = self._held, []
            self._gated_responses.clear()
            # Only the ends of the blocked responses matter now (bookkeeping, no output).
            for event in held:
                if isinstance(event, p.ResponseDone):
                    self.receive_event(event, now)
        reply, instructions = self.policy.reply_after_trip(guardrail, "input")
        self._emit(
            GuardrailTripped(
                guardrail.name,
                "input",
                verdict.details,
                check.text,
                check.item_id,
                cancelled,
                reply,
            )
        )
        self._request_response({"instructions": instructions})

    def _output_tripped(
        self,
        check: _Check,
        track: _OutputTrack,
        guardrail: Guardrail,
        verdict: GuardrailVerdict,
        now: float,
    ) -> None:
        track.tripped = True
        track.final_text = None
        rid = track.response_id
        self._interrupted_responses.add(rid)
        state = self._responses.get(rid)
        if state is not None:
            state.interrupted = True
        cancelled = None
        if rid == self._active_response:
            cancelled = rid
            self._cancel(rid)
        if self.output_audio_buffer:
            # WebRTC/SIP: the service is still playing buffered audio; after the cancel.
            self._send(p.encode_output_audio_clear())
        playback = self._playback
        if playback is not None and playback.item_id == check.item_id:
            self._playback = None
            played = int(playback.played_ms(now))
            self._emit(AudioInterrupted(playback.item_id, playback.content_index, played))
            # Cut the item where the caller stopped hearing it: the service drops the rest
            # of the transcript, so the model does not build on words never said.
            self._send(p.encode_item_truncate(playback.item_id, playback.content_index, played))
        elif self.history.get(check.item_id) is not None:
            # Text output (nothing played): take the whole item out of the model's context.
            self._deleted_by_us.add(check.item_id)
            self._send(p.encode_item_delete(check.item_id))
        item = self.history.mark_guardrail(check.item_id, guardrail.name)
        if item is not None:
            self._emit(_new_HistoryUpdated(item))
        reply, instructions = self.policy.reply_after_trip(guardrail, "output")
        self._emit(
            GuardrailTripped(
                guardrail.name,
                "output",
                verdict.details,
                check.text,
                check.item_id,
                cancelled,
                reply,
            )
        )
        self._request_response({"instructions": instructions})

    def _cancel(self, rid: str) -> None:
        # One cancel per response: a second would draw `response_cancel_not_active`.
        if self._cancel_sent != rid:
            self._cancel_sent = rid
            self._send(p.encode_response_cancel(rid))

    # -- wire events --------------------------------------------------------------------------

    def receive_frame(self, frame: str | bytes, now: float) -> None:
        """Decode and handle one inbound frame."""
        self.receive_event(p.decode_server_event(frame, self.dialect), now)

    def receive_event(self, event: p.ServerEvent, now: float) -> None:
        """Handle one decoded wire event."""
        self._now = self._heard_at = now
        if self._gated_responses and type(event) is not p.ResponseCreated:
            rid = getattr(event, "response_id", None)
            if rid is not None and rid in self._gated_responses:
                # Held until the caller's turn passed its input checks (see module docs).
                self._held.append(event)
                return
        if self.raw_events:
            self._events.append(RawServerEvent(event))
        # One dict lookup on the exact class instead of a `match` that tries up to 37 class
        # patterns in turn (a rate-limit update used to pay for all of them). The table is
        # exhaustive over `ServerEvent`: checked at import (below the class) and by a test,
        # since a dict dispatch cannot end in `assert_never`.
        self._wire_handlers[type(event)](self, event, now)

    # -- wire event handlers, one per `ServerEvent` member (see `_HANDLERS`) -------------------

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

    def _on_transcript_done(self, event: p.ResponseOutputAudioTranscriptDone, now: float) -> None:
        self._on_assistant_text_done(event.item_id, event.response_id, event.transcript)

    def _on_text_done(self, event: p.ResponseOutputTextDone, now: float) -> None:
        self._on_assistant_text_done(event.item_id, event.response_id, event.text)

    def _on_audio_done(self, event: p.ResponseOutputAudioDone, now: float) -> None:
        if event.response_id not in self._interrupted_responses:
            self._emit(AudioEnd(event.item_id, event.content_index))

    def _on_user_transcript_delta(self, event: p.InputAudioTranscriptionDelta, now: float) -> None:
        self.history.append_text(event.item_id, event.delta)
        self._events.append(_new_UserTranscriptDelta(event.item_id, event.delta))

    def _on_user_transcript(self, event: p.InputAudioTranscriptionCompleted, now: float) -> None:
        self._activity(now)
        item = self.history.set_text(event.item_id, event.transcript)
        self._emit(UserTranscript(event.item_id, event.transcript))
        if item is not None:
            self._emit(_new_HistoryUpdated(item))
        if event.item_id in self._gate:
            self._start_check(
                _Check("input", event.item_id, event.transcript),
                tuple(self.agent.input_guardrails),
            )

    def _on_user_transcript_failed(
        self, event: p.InputAudioTranscriptionFailed, now: float
    ) -> None:
        if event.item_id in self._gate:
            # Nothing to check: let the response through rather than hold it forever.
            self._release_gate(event.item_id, now)

    def _on_committed(self, event: p.InputAudioBufferCommitted, now: float) -> None:
        self._activity(now)
        if self.agent.input_guardrails and self._transcribed:
            self._gate[event.item_id] = now + self.policy.guardrails.input_check_timeout_s

    def _on_speech_started(self, event: p.InputAudioBufferSpeechStarted, now: float) -> None:
        self._activity(now)
        self._interrupt(now, manual=False)

    def _on_response_created_event(self, event: p.ResponseCreated, now: float) -> None:
        self._activity(now)
        if self._gate:
            self._gated_responses.add(event.response_id)
        self._on_response_created(event.response_id)

    def _on_response_done_event(self, event: p.ResponseDone, now: float) -> None:
        self._activity(now)
        self._on_response_done(event, now)

    def _on_output_item_done(self, event: p.ResponseOutputItemDone, now: float) -> None:
        if event.response_id not in self._blocked_responses:
            self._maybe_start_call(event.item, event.response_id, now)

    def _on_item(
        self,
        event: p.ConversationItemAdded | p.ConversationItemCreated | p.ConversationItemDone,
        now: float,
    ) -> None:
        self._upsert_item(event.item, event.previous_item_id)

    def _on_item_retrieved(self, event: p.ConversationItemRetrieved, now: float) -> None:
        self._upsert_item(event.item, None)

    def _upsert_item(self, wire: Mapping[str, Any], previous_item_id: str | None) -> None:
        result = self.history.upsert(wire, previous_item_id, agent_name=self.agent.name)
        if result is not None:
            item, is_new = result
            self._emit(_new_HistoryAdded(item) if is_new else _new_HistoryUpdated(item))

    def _on_item_truncated(self, event: p.ConversationItemTruncated, now: float) -> None:
        truncated = self.history.mark_truncated(event.item_id, event.audio_end_ms)
        if truncated is not None:
            self._emit(_new_HistoryUpdated(truncated))

    def _on_item_deleted(self, event: p.ConversationItemDeleted, now: float) -> None:
        if event.item_id in self._deleted_by_us:
            # We took it out of the model's context (a guardrail trip); the history keeps
            # it, marked.
            self._deleted_by_us.discard(event.item_id)
        else:
            deleted = self.history.delete(event.item_id)
            if deleted is not None:
                self._emit(_new_HistoryUpdated(dataclasses.replace(deleted, status="deleted")))

    def _on_session_event(self, event: p.SessionCreated | p.SessionUpdated, now: float) -> None:
        self._on_session(event.session)

    def _on_error_event(self, event: p.ServerError, now: float) -> None:
        self._on_error(event)

    def _on_malformed(self, event: p.MalformedServerEvent, now: float) -> None:
        self._emit(ErrorEvent(event.to_exception(), "malformed_event"))

    def _on_unknown(self, event: p.UnknownServerEvent, now: float) -> None:
        if not self.raw_events:  # kept, never dropped
            self._events.append(RawServerEvent(event))

    def _on_nothing(self, event: p.ServerEvent, now: float) -> None:
        # Nothing to decide: the app sees these with raw_events=True. Function calls start
        # on `output_item.done`, which carries the whole call.
        return

    @property
    def _transcribed(self) -> bool:
        # Without input transcription no transcript ever comes: holding a response for one
        # would silence the agent, so audio turns are only gated when it is on.
        return self.settings.merged(self.agent.settings).input_transcription is not None

    # -- handlers -----------------------------------------------------------------------------

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
            playback = self._playback = _Playback(
                event.item_id, event.content_index, event.response_id, started_at=now
            )
            self._emit(chunk)  # an item's first chunk: observed (the others are not)
        else:
            self._events.append(chunk)
        playback.received_ms += len(event.audio) / self._bytes_per_ms

    def _track_output(self, item_id: str, response_id: str, added: int) -> None:
        guardrails = self.agent.output_guardrails
        if not guardrails:
            return
        track = self._out.get(item_id)
        if track is None:
            track = self._out[item_id] = _OutputTrack(response_id)
        track.chars += added
        if self.policy.output_check_due(track.chars, track.checked):
            track.checked = track.chars
            current = self.history.get(item_id)
            if current is not None:
                self._start_check(
                    _Check("output", item_id, current.text, response_id), tuple(guardrails)
                )

    def _on_assistant_text_done(self, item_id: str, response_id: str, text: str) -> None:
        if response_id in self._interrupted_responses:
            return  # the service truncates what was not heard; the delta text stands
        track = self._out.get(item_id)
        if track is not None and track.tripped:
            return
        guardrails = self.agent.output_guardrails
        if guardrails:
            # Final only once the whole text passed: a tripped answer is never reported final.
            self.history.set_text(item_id, text)
            if track is None:
                track = self._out[item_id] = _OutputTrack(response_id)
            track.final_text = text
            self._start_check(
                _Check("output", item_id, text, response_id, final=True), tuple(guardrails)
            )
            return
        self._emit_final(item_id, text)

    def _emit_final(self, item_id: str, text: str) -> None:
        item = self.history.set_text(item_id, text)
        self._emit(AssistantTranscript(item_id, text))
        if item is not None:
            self._emit(_new_HistoryUpdated(item))

    def _on_response_created(self, response_id: str) -> None:
        self._active_response = response_id
        self._arm_stall(self._now)
        if self._create_in_flight is not None:
            self._create_in_flight = None
        elif self._response_params is None:
            # The server started this one (VAD): it answers whatever we had queued, since
            # everything queued so far is already in the conversation (a safe reply is not
            # answered by it and stays queued).
            self._want_response = False
        self._responses.setdefault(response_id, _Response(response_id, self.agent.name))
        self._emit(_new_AgentStart(self.agent.name, response_id))

    def _on_response_done(self, event: p.ResponseDone, now: float) -> None:
        response_id = event.response_id
        blocked = response_id in self._blocked_responses
        # Calls we missed as output_item.done (the response lists every output item).
        output = event.response.get("output")
        if isinstance(output, list) and not blocked:
            for item in output:
                if isinstance(item, dict):
                    self._maybe_start_call(item, response_id, now)
        self._blocked_responses.discard(response_id)
        for item_id in [
            i for i, t in self._out.items() if t.response_id == response_id and t.final_text is None
        ]:
            del self._out[item_id]
        state = self._responses.setdefault(response_id, _Response(response_id, self.agent.name))
        state.done = True
        if self._active_response == response_id:
            self._active_response = None
        self._emit(_new_AgentEnd(state.agent_name, response_id, event.status))
        self._interrupted_responses.discard(response_id)
        self._check_follow_up(state)
        self._maybe_create_response()
        self._maybe_renew()

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
            # response`: a server-started response covers what we wanted; or a rate limit).
            self._create_in_flight = None
            self._maybe_create_response()
        if event.code == "response_cancel_not_active" and self._cancel_sent is not None:
            # Our cancel crossed the response's end on the wire: the response is over, which
            # is what the cancel wanted. Not an error the app should see.
            return
        error = event.to_exception()
        self._emit(ErrorEvent(error, event.code))
        if event.code in _FATAL_CODES:
            # The service is about to close the connection.
            if self.can_reconnect:
                self._commands.append(Reconnect(event.code or "session_expired"))
            else:
                self._commands.append(CloseSession(error))

    # -- function calls -----------------------------------------------------------------------

    def _maybe_start_call(self, item: Mapping[str, Any], response_id: str, now: float) -> None:
        if item.get("type") != "function_call":
            return
        call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
        if not isinstance(call_id, str) or not isinstance(name, str):
            self._emit(ErrorEvent(ProtocolError(f"function call without call_id/name: {item!r}")))
            return
        if call_id in self._calls or call_id in self._answered_calls:
            return  # one dispatch per call id
        if not isinstance(arguments, str):
            arguments = "{}"
        if isinstance(item.get("id"), str):
            # The whole call, arguments included, so a replay re-creates it exactly.
            self.history.upsert(item, None, agent_name=self.agent.name)
        agent = self.agent  # the call belongs to the agent active now, even across a handoff
        target = agent.find_tool(name)
        state = self._responses.setdefault(response_id, _Response(response_id, agent.name))
        state.calls.add(call_id)
        state.pending.add(call_id)
        call = self._calls[call_id] = _Call(
            call_id,
            name,
            response_id,
            agent,
            cancellable=isinstance(target, FunctionTool) and target.cancellable,
        )
        if isinstance(target, Handoff):
            self._commands.append(RunHandoff(call_id, target, arguments, agent))
            return
        if target is not None and target.needs_approval:
            decision = self.policy.approval_for(target)
            if decision == "ask":
                timeout = self.policy.approvals.timeout_s
                self._approvals[call_id] = _Approval(
                    call, target, arguments, None if timeout is None else now + timeout
                )
                self._emit(
                    ToolApprovalRequired(
                        call_id, name, arguments, agent.name, timeout, self.policy.approvals.default
                    )
                )
                return
            self._approvals[call_id] = _Approval(call, target, arguments, None)
            self._decide(call_id, decision == "approve", None, by="always")
            return
        self._dispatch(call, target, arguments)

    def _dispatch(self, call: _Call, tool: FunctionTool | None, arguments: str) -> None:
        self._emit(_new_ToolStart(call.call_id, call.name, arguments, call.agent.name))
        self._commands.append(_new_RunTool(call.call_id, call.name, arguments, tool, call.agent))

    def _send_output(self, call: _Call, output: str) -> None:
        del self._calls[call.call_id]
        self._approvals.pop(call.call_id, None)
        self._answered_calls.add(call.call_id)
        item_id = self._next_item_id()
        wire = p.function_call_output_item(call.call_id, output, item_id=item_id)
        # Recorded before it is sent: an output made while the connection is down is
        # replayed after the reconnect.
        self.history.add_local(
            _new_HistoryItem(
                item_id,
                "function_call_output",
                None,  # role
                "",  # text
                "completed",
                call.call_id,
                None,  # name
                None,  # arguments
                output,
                None,  # audio_end_ms
                None,  # agent_name: add_local sets it
                None,  # guardrail
            ),
            agent_name=call.agent.name,
        )
        self._send(p.encode_item_create(wire, dialect=self.dialect))

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

    def _request_response(self, params: dict[str, Any] | None = None) -> None:
        self._want_response = True
        if params is not None:
            self._response_params = params
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
        params, self._response_params = self._response_params, None
        self._inflight_params = params
        self._client_event_ids += 1
        event_id = f"agentkit_rc_{self._client_event_ids}"
        self._create_in_flight = event_id
        self._create_sent_at = self._now
        self._arm_stall(self._now)
        self._send(p.encode_response_create(params, dialect=self.dialect, event_id=event_id))
        if self._observer is not None:
            self._observer.response_requested()

    def _next_item_id(self) -> str:
        # Client ids (≤ 32 characters, as the service requires) let the service's echo of an
        # item refresh the history entry recorded when it was made.
        self._client_item_ids += 1
        return f"ak_item_{self._client_item_ids}"

    # -- agents -----------------------------------------------------------------------------------

    def _swap_agent(
        self, agent: RealtimeAgent[Any], instructions: str | None, *, call_id: str | None
    ) -> None:
        update = compile_agent_swap(
            agent,
            self.settings.merged(_TEXT_ONLY) if self.text_only else self.settings,
            dialect=self.dialect,
            audio_started=self.audio_started,
            instructions=instructions,
        )
        self._send(p.encode_client_event(update))
        previous, self.agent = self.agent, agent
        self._emit(HandoffEvent(previous.name, agent.name, call_id))

    # -- interruption -----------------------------------------------------------------------------

    def _interrupt(self, now: float, *, manual: bool) -> None:
        playback = self._playback
        if playback is not None:
            self._playback = None
            played = int(playback.played_ms(now))
            owned_by_active = playback.response_id == self._active_response
            still_playing = not playback.finished and played < int(playback.received_ms)
            if still_playing or owned_by_active:
                self._emit(AudioInterrupted(playback.item_id, playback.content_index, played))
                # Sync the server with what the caller heard (`conversation.item.truncate`
                # drops the unheard transcript); at 0 ms nothing was played: no truncate.
                if played > 0:
                    self._send(
                        p.encode_item_truncate(playback.item_id, playback.content_index, played)
                    )
        active = self._active_response
        if active is not None:
            self._interrupted_responses.add(active)
            state = self._responses.get(active)
            if state is not None:
                state.interrupted = True
            # With `interrupt_response`, server VAD cancels the response itself on speech.
            if manual or not self.interrupt_response:
                self._cancel(active)
        for call in [c for c in self._calls.values() if c.cancellable]:
            state = self._responses.get(call.response_id)
            if state is not None:
                state.interrupted = True
            self._commands.append(CancelTool(call.call_id))
            output = _json({"error": "cancelled: the caller interrupted before the tool finished"})
            self._send_output(call, output)
            self._emit(_new_ToolEnd(call.call_id, call.name, output, call.agent.name, "cancelled"))
            self._after_output(call)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


_Handler = Callable[[Supervisor, Any, float], None]


class Observer(Protocol):
    """What `Supervisor.observe_with` reports to (see there)."""

    @property
    def event_types(self) -> AbstractSet[type]:
        """The wire and session event classes to report."""
        ...

    def observe(self, event: SessionEvent | p.ServerEvent) -> None:
        """One event: a wire event before it is handled, a session event as it is emitted."""
        ...

    def response_requested(self) -> None:
        """A `response.create` was just queued to go out (`data_to_send`), ours or the app's."""
        ...


def _observed_handler(
    handler: _Handler, observe: Callable[[SessionEvent | p.ServerEvent], None]
) -> _Handler:
    def observed(supervisor: Supervisor, event: Any, now: float) -> None:
        observe(event)
        handler(supervisor, event, now)

    return observed


# The wire-event dispatch of `Supervisor.receive_event`: exactly one handler per member of
# `ServerEvent`, keyed on the event's class (decoded events are never subclassed).
_HANDLERS: Final[dict[type, _Handler]] = {
    p.ResponseOutputAudioDelta: Supervisor._on_audio,
    p.ResponseOutputAudioTranscriptDelta: Supervisor._on_transcript_delta,
    p.ResponseOutputTextDelta: Supervisor._on_transcript_delta,
    p.ResponseOutputAudioTranscriptDone: Supervisor._on_transcript_done,
    p.ResponseOutputTextDone: Supervisor._on_text_done,
    p.ResponseOutputAudioDone: Supervisor._on_audio_done,
    p.InputAudioTranscriptionDelta: Supervisor._on_user_transcript_delta,
    p.InputAudioTranscriptionCompleted: Supervisor._on_user_transcript,
    p.InputAudioTranscriptionFailed: Supervisor._on_user_transcript_failed,
    p.InputAudioBufferCommitted: Supervisor._on_committed,
    p.InputAudioBufferSpeechStarted: Supervisor._on_speech_started,
    p.ResponseCreated: Supervisor._on_response_created_event,
    p.ResponseDone: Supervisor._on_response_done_event,
    p.ResponseOutputItemDone: Supervisor._on_output_item_done,
    p.ConversationItemAdded: Supervisor._on_item,
    p.ConversationItemCreated: Supervisor._on_item,
    p.ConversationItemDone: Supervisor._on_item,
    p.ConversationItemRetrieved: Supervisor._on_item_retrieved,
    p.ConversationItemTruncated: Supervisor._on_item_truncated,
    p.ConversationItemDeleted: Supervisor._on_item_deleted,
    p.SessionCreated: Supervisor._on_session_event,
    p.SessionUpdated: Supervisor._on_session_event,
    p.ServerError: Supervisor._on_error_event,
    p.MalformedServerEvent: Supervisor._on_malformed,
    p.UnknownServerEvent: Supervisor._on_unknown,
    p.InputAudioBufferSpeechStopped: Supervisor._on_nothing,
    p.InputAudioBufferCleared: Supervisor._on_nothing,
    p.InputAudioBufferTimeoutTriggered: Supervisor._on_nothing,
    p.ResponseOutputItemAdded: Supervisor._on_nothing,
    p.ResponseContentPartAdded: Supervisor._on_nothing,
    p.ResponseContentPartDone: Supervisor._on_nothing,
    p.ResponseFunctionCallArgumentsDelta: Supervisor._on_nothing,
    p.ResponseFunctionCallArgumentsDone: Supervisor._on_nothing,
    p.RateLimitsUpdated: Supervisor._on_nothing,
    p.OutputAudioBufferStarted: Supervisor._on_nothing,
    p.OutputAudioBufferStopped: Supervisor._on_nothing,
    p.OutputAudioBufferCleared: Supervisor._on_nothing,
}


def _check_handlers() -> None:
    """At import: the table covers `ServerEvent` exactly (what `assert_never` would check)."""
    members = set(get_args(p.ServerEvent))
    missing, extra = members - _HANDLERS.keys(), _HANDLERS.keys() - members
    if missing or extra:
        raise TypeError(
            f"Supervisor event table out of date: missing {sorted(c.__name__ for c in missing)}, "
            f"extra {sorted(c.__name__ for c in extra)}"
        )


_check_handlers()
