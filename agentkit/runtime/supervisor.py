"""The sans-I/O core of a live session: wire events and app calls in; frames, app events and
commands out.

Like `websockets`' `Protocol`, the `Supervisor` never touches a socket, a clock or a task:

* inputs: `receive_frame()` / `receive_event()` (decoded wire events), app calls
  (`send_audio()`, `send_text()`, `send_image()`, `respond()`, `interrupt()`,
  `start_turn()`, `end_turn()`, `update_agent()`, `approve()`, `reject()`, `press_key()`), work results (`tool_finished()`,
  `handoff_finished()`, `guardrails_finished()`), playback reports (`playback_position()`),
  connection changes (`connecting()`, `connected()`, `disconnected()`) and the clock
  (`tick()` at `next_deadline()`). Anything that needs the time takes `now` (monotonic
  seconds) as an argument, so tests control the clock.
* outputs, drained by the runtime after each input: `data_to_send()` (client frames, in
  order), `events_to_emit()` (`SessionEvent`s for the app) and `commands()` (tool and
  guardrail work to start or cancel, a reconnect, a close; see `runtime.commands`).

Everything hard is decided here, once, for every transport, each concern in its own part
(this class is their façade; see `runtime.core` for how they fit):

| part | decides |
| --- | --- |
| `runtime.responses` | one `response.create` at a time; the follow-up after tool calls |
| `runtime.calls` | one dispatch and exactly one output per call id; handoff ordering |
| `runtime.call_progress` | `ToolCallProgress` as a call's arguments stream in |
| `runtime.approvals` | calls parked until `approve()` / `reject()` or their deadline |
| `runtime.hosted_mcp` | hosted MCP calls reported, their approval requests answered |
| `runtime.guardrail_gate` | typed input and spoken turns held for input checks; output checks; trips |
| `runtime.playback` | what the caller heard; interruption and truncation |
| `runtime.watchdog` | every deadline: call timeouts, approvals, held turns, limits, renewal, stalls |
| `runtime.dispatch` | which method handles each wire event |
| `runtime.dtmf` | keypad digits: the event, and the action of a declared sequence |

Connection changes are here: while the connection is down no frame is produced (the replay
re-creates the state they described): items the client makes (typed messages, tool outputs)
go into the history first, under client ids, so `connected()` after a drop replays them
with everything else, then asks for the response the drop cut off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from .. import protocol as p
from ..agent import RealtimeAgent
from ..compiler import compile_agent_swap, compile_live_swap
from ..errors import AgentKitError, CompileError
from ..events import (
    AssistantTranscriptDelta,
    Breadcrumb,
    ErrorEvent,
    HandoffEvent,
    InputAudioDropped,
    RawServerEvent,
    Reconnected,
    SessionStatus,
    TextFallback,
)
from ..history import History, HistoryItem
from ..protocol.encode import ImageDetail, encode_user_image
from ..protocol.live_decode import LiveDecoder
from ..protocol.wire_types import CallId, ItemId, JsonMapping
from .approvals import Approvals
from .call_progress import CallProgress
from .calls import Calls
from .commands import (
    CancelTool,
    CloseSession,
    Command,
    Reconnect,
    RunGuardrails,
    RunHandoff,
    RunTool,
)
from .config import RuntimeConfig
from .core import TEXT_ONLY, Core, Handler
from .dispatch import WireHandlers, build_handlers, observed_handlers
from .dtmf import Keypad
from .guardrail_gate import GuardrailGate
from .hosted_mcp import HostedMcp
from .live import LIVE_HANDLERS
from .observer import SupervisorObserver
from .playback import Playback
from .policy import SessionPolicy
from .reconnect import replay_frames, replay_items
from .responses import Responses
from .watchdog import Watchdog

__all__ = [
    "CancelTool",
    "CloseSession",
    "Command",
    "Observer",
    "Reconnect",
    "RunGuardrails",
    "RunHandoff",
    "RunTool",
    "Supervisor",
]

Observer = SupervisorObserver
"""What `Supervisor.observe_with` reports to (the name it had before `runtime.observer`)."""

class Supervisor(
    Calls,
    CallProgress,
    Approvals,
    HostedMcp,
    GuardrailGate,
    Playback,
    Responses,
    Watchdog,
    WireHandlers,
    Keypad,
    Core,
):
    """The state machine of one realtime session (see the module docs).

    Args:
        agent: The starting agent.
        config: The runtime configuration (settings, dialect, limits, guardrail, approval,
            reconnect and tool policy); defaults throughout when omitted.
        history: Initial conversation, re-created on the service when the session starts.
        policy: The session's guardrail and approval policy (it remembers "always"
            decisions); built from `config` when omitted.
        output_audio_buffer: The transport has a server-side output audio buffer (WebRTC,
            SIP), so stopping the agent also needs `output_audio_buffer.clear`.
    """

    def _on_output_item_added(self, event: p.ResponseOutputItemAdded, now: float) -> None:
        # Two parts read an output item's start: a function call's name for its progress
        # events, a hosted MCP call's name and arguments for its tool events.
        self._track_call_progress(event)
        self._track_mcp_call(event)

    def __init__(
        self,
        agent: RealtimeAgent[Any],
        config: RuntimeConfig | None = None,
        *,
        history: Iterable[HistoryItem] = (),
        policy: SessionPolicy | None = None,
        output_audio_buffer: bool = False,
    ) -> None:
        config = config if config is not None else RuntimeConfig()
        if policy is None:
            policy = SessionPolicy(config.guardrails, config.approvals)
        # Live adds its own events to the table (see `runtime.live`).
        self._handlers = _LIVE if config.dialect == "live" else _HANDLERS
        self._init_core(agent, config, History(history), policy, self._handlers)
        self._live_decoder = LiveDecoder()
        live = config.live
        self._live_turn_end_s = (live.turn_end_ms if live is not None else 700) / 1000
        self._live_turn_due: float | None = None  # when the voice layer's silence ends its turn
        # What a Live session fixed at startup (its voice and format cannot change).
        self._live_voice = self.settings.merged(agent.settings).voice if agent.voice is None else agent.voice
        self._live_format = self.settings.merged(agent.settings).output_audio_format
        self.output_audio_buffer = output_audio_buffer
        self._init_responses()
        self._init_calls()
        self._init_progress()
        self._init_approvals()
        self._init_hosted_mcp()
        self._init_gate()
        self._init_playback(config.settings, agent)
        self._init_watchdog(config)
        self._init_keypad()
        self._dropped_chunks = 0
        self._dropped_bytes = 0
        self._reconnects = 0
        # Whether the app has started the conversation (audio, text, an image, a turn, a
        # `respond()`, a raw event), for `awaiting_first_turn`.
        self._app_started = False
        self._seeded = len(self.history)

    def observe_with(self, observer: SupervisorObserver | None) -> None:
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
            self._wire_handlers = self._handlers
            return
        observed = self._observed = frozenset(observer.event_types)
        self._observe_deltas = AssistantTranscriptDelta in observed
        self._wire_handlers = observed_handlers(self._handlers, observed, observer.observe)

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
        settings = self.settings.merged(TEXT_ONLY) if self.text_only else self.settings
        self._frames.clear()
        self._online = True
        frames, replayed = replay_frames(
            self.agent,
            settings,
            self.history.items(),
            dialect=self.dialect,
            instructions=instructions,
            live=self.config.live,
        )
        self._frames.extend(frames)
        if self.dialect == "live":
            # A new Live session: its timeline starts empty.
            self._live_decoder = LiveDecoder()
            self._live_voice = self.agent.voice or settings.merged(self.agent.settings).voice
            self._live_format = settings.merged(self.agent.settings).output_audio_format
        # A new service session has produced no audio yet: the voice may be set again.
        self.audio_started = False
        self._connected_now(now)
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
            self._cancel_calls()
            self._drop_approvals()
        else:
            for item in self.history.items():
                if (
                    item.kind == "message"
                    and item.role == "assistant"
                    and item.status == "in_progress"
                ):
                    # Cut off by the drop: the new session will not have it (see replay_items).
                    self.history.upsert({"id": item.item_id, "status": "incomplete"})
            self._responses_cut_by_drop()
        self._no_response_under_way()
        self._playback = None
        self._drop_held()
        self._set_status(SessionStatus.RECONNECTING if reconnecting else SessionStatus.DISCONNECTED)

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
        self._app_started = True
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
        self._app_started = True
        item_id = self._next_item_id()
        self.history.add_local(HistoryItem.user(text, item_id=item_id), agent_name=self.agent.name)
        if self._hold_typed(item_id, text):
            return
        self._send_user_text(item_id, text)

    def send_image(
        self,
        image_url: str,
        *,
        text: str | None = None,
        detail: ImageDetail | None = None,
        respond: bool = True,
        now: float = 0.0,
    ) -> None:
        """Add a user message with an image (a `data:` URL) and `text`, if any; then ask for
        a response unless `respond=False`.

        The history records the message with its image and text, and a reconnect replays
        both. Input guardrails are not run: they check text, and
        the text here is a caption of the image, not the caller's turn.

        Raises:
            CompileError: the session speaks the beta dialect, which has no image parts;
                nothing is sent or recorded.
        """
        self._now = now
        item_id = self._next_item_id()
        # Encoded first: a dialect that cannot carry it raises before anything changes.
        frame = encode_user_image(
            image_url, text=text, detail=detail, item_id=item_id, dialect=self.dialect
        )
        self._activity(now)
        self._app_started = True
        self.history.add_local(
            HistoryItem.user(text or "", item_id=item_id, images=(image_url,)),
            agent_name=self.agent.name,
        )
        self._send(frame)
        if respond:
            self._request_response()

    def respond(self, instructions: str | None = None, now: float = 0.0) -> None:
        """Ask the agent to speak now, with no new user turn (a greeting, say).

        A `response.create` scheduled like every other one: sent at once when no response
        is active or on its way, else queued until the active one is done (one response at
        a time); reported to the observer like every `response.create` of ours.
        `instructions` apply to this response only (e.g. "Greet the caller by name").
        """
        self._now = now
        self._app_started = True
        self._request_response({"instructions": instructions} if instructions else None)

    def awaiting_first_turn(self) -> bool:
        """True while the conversation has not started: nothing is owed (no response asked
        for, on its way or under way, no call, approval or held turn pending), the app has
        sent nothing (no audio, text, image, turn or `respond()`), and no item was added
        beyond the seeded history. A session waiting then waits for the app: the service
        speaks only when asked (`respond()`) or when the caller speaks."""
        return not (
            self._app_started
            or len(self.history) != self._seeded
            or self._want_response
            or self._create_in_flight is not None
            or self._active_response is not None
            or self._responses
            or self._approvals
            or self._gate
        )

    def _send_user_text(self, item_id: ItemId, text: str) -> None:
        self._send(
            p.encode_item_create(p.user_message_item(text, item_id=item_id), dialect=self.dialect)
        )
        self._request_response()

    def send_raw(self, event: JsonMapping) -> None:
        """Send any client event as it is."""
        self._app_started = True
        self._send(p.encode_client_event(event))
        if self._observer is not None and event.get("type") == "response.create":
            self._observer.response_requested()  # the app's own (a greeting, say)

    def start_turn(self, now: float) -> None:
        """Push-to-talk pressed: stop the assistant if it is speaking, empty the input buffer.

        Raises:
            CompileError: the session speaks Live, whose turn detection is built in.
        """
        self._refuse_on_live("start_turn")
        self._now = now
        self._activity(now)
        self._app_started = True
        self._interrupt(now, manual=True)
        self._send(p.encode_input_audio_clear())

    def end_turn(self, now: float = 0.0) -> None:
        """Push-to-talk released: commit the buffer as the user's turn and ask for a response.

        Raises:
            CompileError: the session speaks Live, whose turn detection is built in.
        """
        self._refuse_on_live("end_turn")
        self._now = now
        self._activity(now)
        self._app_started = True
        self._send(p.encode_input_audio_commit())
        self._request_response()

    def _refuse_on_live(self, call: str) -> None:
        if self.dialect == "live":
            raise CompileError(
                f"{call}(): Live has no push-to-talk (its turn detection is built in; mute the "
                "input with a raw session.input_audio.mute instead)",
                field="turn_detection",
                dialect="live",
            )

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

    def add_breadcrumb(self, text: str, call_id: CallId | None = None) -> None:
        """A note from a tool for the transcript; never sent to the model."""
        self.history.add_note(text, agent_name=self.agent.name)
        self._emit(Breadcrumb(text, call_id))

    def _swap_agent(
        self, agent: RealtimeAgent[Any], instructions: str | None, *, call_id: CallId | None
    ) -> None:
        if self.dialect == "live":
            # A backend swap: the delegation's instructions and tools, and a note to the voice.
            for event in compile_live_swap(
                agent,
                self.settings,
                live=self.config.live,
                session_voice=self._live_voice,
                session_format=self._live_format,
                instructions=instructions,
            ):
                self._send(p.encode_client_event(event))
            previous, self.agent = self.agent, agent
            self._emit(HandoffEvent(previous.name, agent.name, call_id))
            return
        update = compile_agent_swap(
            agent,
            self.settings.merged(TEXT_ONLY) if self.text_only else self.settings,
            dialect=self.dialect,
            audio_started=self.audio_started,
            instructions=instructions,
        )
        self._send(p.encode_client_event(update))
        previous, self.agent = self.agent, agent
        self._emit(HandoffEvent(previous.name, agent.name, call_id))

    # -- the clock ----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When `tick()` must be called next (monotonic seconds), if ever."""
        deadline = Watchdog.next_deadline(self)
        due = self._live_turn_due
        if due is not None and (deadline is None or due < deadline):
            return due
        return deadline

    def tick(self, now: float) -> None:
        """Apply whatever is due at `now` (see `Watchdog.tick`); on Live, also end the voice
        layer's turn once it has been silent for `LiveOptions.turn_end_ms`."""
        due = self._live_turn_due
        if due is not None and now >= due:
            self._end_voice_turn(now)
        Watchdog.tick(self, now)

    def _end_voice_turn(self, now: float) -> None:
        self._live_turn_due = None
        for event in self._live_decoder.close_voice_turn():
            self.receive_event(event, now)  # type: ignore[arg-type]

    # -- wire events --------------------------------------------------------------------------

    def receive_frame(self, frame: str | bytes, now: float) -> None:
        """Decode and handle one inbound frame."""
        if self.dialect == "live":
            decoder = self._live_decoder
            for event in decoder.decode(frame):
                self.receive_event(event, now)  # type: ignore[arg-type]
            if decoder.voice_fragment:
                self._live_turn_due = now + self._live_turn_end_s
            return
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
        # One dict lookup on the exact class (see `runtime.dispatch`).
        self._wire_handlers[type(event)](self, event, now)


# The wire-event dispatch of `Supervisor.receive_event` (see `runtime.dispatch`), checked to
# cover `ServerEvent` exactly when this module is imported.
_HANDLERS: Final[dict[type, Handler]] = build_handlers(Supervisor)
_LIVE: Final[dict[type, Handler]] = {**_HANDLERS, **LIVE_HANDLERS}
