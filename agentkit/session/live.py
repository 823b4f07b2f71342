"""`RealtimeSession`: the public half of a live conversation (lifecycle, events, app calls).

The session owns no protocol logic. Its pump (`session.pump`) reads frames from the transport
and feeds them to its `Supervisor`, then flushes what the supervisor decided: frames to send
(in order, under one lock), events to deliver (`runtime.delivery`), work to start or cancel
(tools, handoffs, guardrail checks: `runtime.tool_runner`). App calls (`send_audio`,
`interrupt`, `approve`, ...) go the same way. Besides the pump it does only what needs a clock
or a socket: it sleeps until the supervisor's next deadline and calls `tick()` (every timeout
of the session is one of those deadlines: `runtime.watchdog`), and it runs the reconnect loop
(`runtime.reconnect`) with its own sleep and transports.

What it does is reported to one observer (`runtime.observer`): the tracer when tracing is
on, a no-op otherwise, so there is one code path either way. Other observers (a store's
recorder: `agentkit.store`) join the tracer through `observers=` and are reported to the same
way, as one `ObserverGroup`.

Sessions share nothing mutable: each has its own supervisor, history, policy, tool runner
(and its thread limiter), queue and tasks, so any number run side by side in one process.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic

import anyio
from anyio.abc import TaskGroup, TaskStatus

from ..agent import RealtimeAgent
from ..context import TContext
from ..errors import AgentKitError
from ..events import SessionEvent, SessionEventName, SessionStatus
from ..history import History, HistoryItem
from ..logs import get_logger
from ..policy import QualityPolicy, ReconnectPolicy, SessionLimits, TransportFactory
from ..protocol.dialects import Dialect
from ..protocol.encode import ImageDetail, image_data_url
from ..protocol.wire_types import CallId
from ..runtime.config import RuntimeConfig
from ..runtime.delivery import EventHandler, EventQueue
from ..runtime.observer import (
    NO_OBSERVER,
    ObserverFactory,
    SessionObserver,
    join_observers,
    start_tracer,
)
from ..runtime.policy import SessionPolicy
from ..runtime.slots import SessionSlots
from ..runtime.supervisor import Supervisor
from ..runtime.tool_runner import ToolRunner
from ..runtime.work import Work
from ..settings import SessionSettings
from ..transports.base import Transport
from .pump import SessionPump
from .quality import MeasuredTransport, QualityWatch

if TYPE_CHECKING:
    from ..tracing import Instrumentation, SessionTracer

__all__ = ["EventHandler", "RealtimeSession"]

logger = get_logger("agentkit.session")

class RealtimeSession(SessionPump, Generic[TContext]):
    """A live realtime session. Use it as an async context manager; build it with
    `RealtimeRunner.session(...)`.

    ```python
    async with runner.session(transport, context=state) as session:
        async for event in session:
            if event.type == "audio":
                speaker.play(event.audio)
            elif event.type == "tool_approval_required":
                await session.approve(event.call_id)
    ```

    Events come by async iteration and by `session.on(name, handler)`; both see every event
    (the iterator's queue is bounded: see `SessionLimits.max_queued_events`). A fatal failure
    (the service ended the session and it could not be resumed, the connection broke with no
    reconnect policy) ends the iteration by raising it.

    The runner passes its `RuntimeConfig` as `config`; the other configuration arguments
    (`settings`, `dialect`, `raw_events`, `max_queued_events`, `policy`'s settings,
    `limits`, `reconnect`) are for a session built by hand and ignored with a `config`.
    `quality` (a `QualityPolicy`) turns on connection quality events over a transport with
    stats (`WebRTCTransport`), and the codec fallback. `observers` make the session's other
    observers when it starts (a store's recorder: see `agentkit.store`).
    """

    def __init__(
        self,
        *,
        agent: RealtimeAgent[Any],
        transport: Transport,
        context: TContext,
        settings: SessionSettings | None = None,
        dialect: Dialect = "ga",
        history: Iterable[HistoryItem] = (),
        tool_runner: ToolRunner | None = None,
        agents: Mapping[str, RealtimeAgent[Any]] | None = None,
        raw_events: bool = False,
        max_queued_events: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        policy: SessionPolicy | None = None,
        limits: SessionLimits | None = None,
        reconnect: ReconnectPolicy | None = None,
        transport_factory: TransportFactory | None = None,
        random_source: Callable[[], float] = random.random,
        slots: SessionSlots | None = None,
        instrumentation: Instrumentation | None = None,
        config: RuntimeConfig | None = None,
        quality: QualityPolicy | None = None,
        observers: Sequence[ObserverFactory] = (),
    ) -> None:
        if config is None:
            config = RuntimeConfig.from_arguments(
                settings=settings,
                dialect=dialect,
                raw_events=raw_events,
                max_queued_events=max_queued_events,
                limits=limits,
                guardrails=policy.guardrails if policy is not None else None,
                approvals=policy.approvals if policy is not None else None,
                reconnect=reconnect,
            )
        if tool_runner is None:
            tool_runner = ToolRunner(
                max_threads=config.max_tool_threads, error_formatter=config.tool_error_formatter
            )
        elif tool_runner.error_formatter is not config.tool_error_formatter:
            # One wording for every failure, timeouts (worded by the supervisor) included.
            config = dataclasses.replace(config, tool_error_formatter=tool_runner.error_formatter)
        self.config = config
        self._supervisor = Supervisor(
            agent,
            config,
            history=history,
            policy=policy,
            output_audio_buffer=bool(getattr(transport, "has_output_audio_buffer", False)),
        )
        self._transport = transport
        self._transport_factory = transport_factory
        self.context: TContext = context
        self._agents = dict(agents or {})
        self._clock = clock
        self._random = random_source
        self._slots = slots
        self._holds_slot = False
        self._wakeup = anyio.Event()
        # The running backend's own `Event` class: `anyio.Event()` looks the backend up on
        # every call, and the iterator makes one each time it waits (once per event when
        # the app keeps up).
        self._new_event: Callable[[], anyio.Event] = type(self._wakeup)
        # The iterator replaces `_wakeup` each time it waits: look it up at each wake.
        self._events = EventQueue(config.limits.max_queued_events, lambda: self._wakeup.set())
        # The queue and handlers themselves, for the flush's fast path (see `_flush`).
        self._queue = self._events.queue
        self._handlers = self._events.handlers
        self._max_queued = self._events.max_queued
        self._timer_wakeup = anyio.Event()
        self._timer_deadline: float | None = None
        # fast_acquire: the default acquire adds two checkpoints (one a shielded `sleep(0)`)
        # to every flush that sends something.
        self._send_lock = anyio.Lock(fast_acquire=True)
        # Tools, transfers and guardrail rounds, each in its own task (see `runtime.work`).
        self._calls = Work(
            self._supervisor,
            tool_runner,
            self._task_failed,
            context=context,
            agents=self._agents,
            clock=clock,
            flush=self._flush_quietly,
        )
        self._task_group: TaskGroup | None = None
        # Background work (pump, timers) runs in its own task group under its own cancel
        # scope, so `close()` called from the body of `async with` stops that work without
        # cancelling the caller's task (which hosts the outer task group).
        self._work: TaskGroup | None = None
        self._work_scope = anyio.CancelScope()
        self._closing = False
        self._finished = False
        self._fatal: AgentKitError | None = None
        self._reconnect_reason: str | None = None
        self._instrumentation = instrumentation
        self._observer_factories = tuple(observers)
        # Set when the session starts, if tracing is on; `_observer` is it, or the no-op.
        self._tracer: SessionTracer | None = None
        self._observer: SessionObserver = NO_OBSERVER
        # The quiet warning (see `SessionLimits.quiet_warning_s`): watched until the conversation starts;
        # `_waiting_since` is when the iterator began waiting, while it waits.
        self._quiet_watch = True
        self._waiting_since: float | None = None
        # Connection quality (see `QualityPolicy`): watched only over a transport with stats.
        quality = quality if quality is not None else config.quality
        self._quality = (
            QualityWatch(quality, clock())
            if quality is not None and isinstance(transport, MeasuredTransport)
            else None
        )
        self._codec = None
        self._codec_change = None

    # -- reading state ------------------------------------------------------------------------

    @property
    def status(self) -> SessionStatus:
        """The connection's status."""
        return self._supervisor.status

    @property
    def current_agent(self) -> RealtimeAgent[Any]:
        """The agent speaking now."""
        return self._supervisor.agent

    @property
    def history(self) -> History:
        """The conversation so far (read `history.items()` for snapshots)."""
        return self._supervisor.history

    @property
    def pending_approvals(self) -> list[CallId]:
        """Call ids waiting for `approve()` / `reject()`, oldest first."""
        return self._supervisor.pending_approvals

    @property
    def text_only(self) -> bool:
        """True once the session fell back to text (see `ReconnectPolicy.text_fallback`)."""
        return self._supervisor.text_only

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> RealtimeSession[TContext]:
        if self._slots is not None:
            self._slots.acquire()  # raises SessionLimitError before anything starts
            self._holds_slot = True
        self._tracer = start_tracer(
            self._instrumentation, self._supervisor, transport=self._transport, clock=self._clock
        )
        members: list[SessionObserver] = [] if self._tracer is None else [self._tracer]
        members += [make(self._supervisor, self._announce_soon) for make in self._observer_factories]
        if members:
            observer = join_observers(members)
            self._observer = self._calls.observer = observer
            observer.wake_with(self._wake_timer)
            if observer is not self._tracer:
                self._supervisor.observe_with(observer)
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        try:
            await task_group.start(self._host_work)
            await self._open_mcp_servers()
            self._supervisor.connecting()
            await self._flush()
            await self._connect(self._transport)
        except BaseException as exc:
            self._supervisor.disconnected()
            with anyio.CancelScope(shield=True):
                for event in self._supervisor.events_to_emit():
                    await self._events.deliver(event)
            self._finished = True
            self._fatal = exc if isinstance(exc, AgentKitError) else None
            self._observer.end(exc)
            self._release_slot()
            task_group.cancel_scope.cancel()
            self._task_group = None
            await task_group.__aexit__(None, None, None)
            raise
        assert self._work is not None
        self._work.start_soon(self._read_loop)
        self._work.start_soon(self._timer_loop)
        return self

    async def _host_work(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        with self._work_scope:
            async with anyio.create_task_group() as work:
                self._work = work
                task_status.started()
                await anyio.sleep_forever()
        self._work = None
        await self._calls.tasks.stop()

    async def _open_mcp_servers(self) -> None:
        # Local MCP servers (`agentkit.mcp.lifecycle`): connected before the first
        # `session.update`, which offers their tools; closed with the background work.
        from ..mcp import local_servers, serve_mcp_servers

        servers = local_servers([self._supervisor.agent, *self._agents.values()])
        if servers:
            assert self._work is not None
            await self._work.start(serve_mcp_servers, servers)

    def _task_failed(self, error: BaseException) -> None:
        # What a task group does with a failing child: the session fails with it.
        work = self._work
        if work is None:
            logger.error("a session task failed after the session ended", exc_info=error)
        else:
            work.start_soon(_reraise, error)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
        if self._task_group is not None:
            task_group, self._task_group = self._task_group, None
            # The body's own exception is not handed to the task group (which would wrap it
            # in an ExceptionGroup): it propagates unchanged once our tasks have stopped.
            await task_group.__aexit__(None, None, None)

    async def close(self) -> None:
        """Cancel running tools, close the connection, end the event iteration."""
        if self._closing:
            return
        self._closing = True
        self._calls.tasks.cancel_all()
        with anyio.CancelScope(shield=True):
            await self._close_transport()
            self._supervisor.disconnected()
            self._supervisor.commands()  # the cancellations were done above
            for event in self._supervisor.events_to_emit():
                await self._events.deliver(event)
        self._observer.end(self._fatal)
        self._release_slot()
        self._finish()
        self._work_scope.cancel()

    def _announce_soon(self, event: SessionEvent) -> None:
        """Deliver an observer's own event (see `ObserverFactory`) from any task."""
        work = self._work
        if work is not None and not self._finished:
            work.start_soon(self._announce, event)

    def _release_slot(self) -> None:
        if self._holds_slot and self._slots is not None:
            self._holds_slot = False
            self._slots.release()

    # -- events ---------------------------------------------------------------------------------

    def on(self, name: SessionEventName, handler: EventHandler) -> Callable[[], None]:
        """Call `handler(event)` for every event of type `name`; returns an unsubscribe."""
        return self._events.on(name, handler)

    def __aiter__(self) -> AsyncIterator[SessionEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[SessionEvent]:
        events = self._events
        while True:
            event = events.next()
            while event is not None:
                yield event
                event = events.next()
            if self._finished:
                if self._fatal is not None:
                    raise self._fatal
                return
            self._wakeup = wakeup = self._new_event()
            if not self._quiet_watch:
                await wakeup.wait()
                continue
            self._watch_quiet()
            try:
                await wakeup.wait()
            finally:
                self._waiting_since = None

    def _watch_quiet(self) -> None:
        """The iterator is about to wait: have the timer look at the quiet warning's time,
        or stop watching once the conversation has started."""
        quiet_s = self.config.limits.quiet_warning_s
        if quiet_s is None or not self._supervisor.awaiting_first_turn():
            self._quiet_watch = False
            return
        now = self._clock()
        self._waiting_since = now
        self._wake_timer(now + quiet_s)

    def _check_quiet(self, now: float) -> None:
        since, quiet_s = self._waiting_since, self.config.limits.quiet_warning_s
        if since is None or quiet_s is None or now < since + quiet_s:
            return
        self._quiet_watch = False
        self._waiting_since = None
        supervisor = self._supervisor
        if supervisor.status is SessionStatus.CONNECTED and supervisor.awaiting_first_turn():
            logger.warning(
                "waited %gs for events, but nothing is owed: no response was asked for and "
                "the caller said nothing. Did you mean to call `session.respond()` (the agent "
                "speaks first)? `SessionLimits(quiet_warning_s=None)` silences this.",
                now - since,
            )

    # -- app calls ------------------------------------------------------------------------------

    async def send_audio(self, audio: bytes) -> None:
        """Stream caller audio (in the session's input format)."""
        self._supervisor.send_audio(audio, self._clock())
        await self._flush()

    async def send_text(self, text: str) -> None:
        """Say something as the user in text; the agent answers (after input guardrails)."""
        self._observer.user_text(text)
        self._supervisor.send_text(text, self._clock())
        await self._flush()

    async def respond(self, instructions: str | None = None) -> None:
        """Ask the agent to speak now, with no new user turn (a greeting: the service speaks
        only when asked). A `response.create` sent now, or once the active response is done;
        `instructions` apply to this response only ("Greet the caller by name")."""
        self._supervisor.respond(instructions, self._clock())
        await self._flush()

    async def send_image(
        self,
        data: bytes | str,
        *,
        mime_type: str = "image/png",
        detail: ImageDetail | None = None,
        text: str | None = None,
        respond: bool = True,
    ) -> None:
        """Show the agent an image as the user (GA protocol only), then ask for an answer.

        Args:
            data: The image's bytes, its base64 text, or a `data:image/...` URL.
            mime_type: The image's type (the service takes PNG and JPEG).
            detail: `"low"`, `"high"` or `"auto"` (the service's default).
            text: Words sent with the image in the same message ("What is this?").
            respond: Ask for a response (`False`: the image only joins the conversation).

        Raises:
            CompileError: The session speaks the beta dialect, which cannot send images;
                nothing is sent.
            UserError: `data` or `mime_type` is not an image.
        """
        url = image_data_url(data, mime_type)
        self._supervisor.send_image(
            url, text=text, detail=detail, respond=respond, now=self._clock()
        )
        await self._flush()

    async def send_raw(self, event: Mapping[str, Any]) -> None:
        """Send any client event as it is (escape hatch)."""
        self._supervisor.send_raw(event)
        await self._flush()

    async def interrupt(self) -> None:
        """Stop the assistant now: playback stops, the item is truncated where it was heard,
        the response is cancelled."""
        self._supervisor.interrupt(self._clock())
        await self._flush()

    async def start_turn(self) -> None:
        """Push-to-talk pressed (turn detection off): interrupt, clear the input buffer."""
        self._observer.turn_started()
        self._supervisor.start_turn(self._clock())
        await self._flush()

    async def end_turn(self) -> None:
        """Push-to-talk released: commit the caller's audio and ask for a response."""
        self._observer.turn_ended()
        self._supervisor.end_turn(self._clock())
        await self._flush()

    async def update_agent(self, agent: RealtimeAgent[Any]) -> None:
        """Switch to `agent` now (its configuration is sent; no response is requested)."""
        instructions = await agent.resolve_instructions(self._calls.run_context(agent, None))
        self._agents.setdefault(agent.name, agent)
        self._supervisor.update_agent(agent, instructions)
        await self._flush()

    async def approve(self, call_id: str, *, always: bool = False) -> bool:
        """Run a call parked by `tool_approval_required`. `always=True` approves every later
        call of that tool in this session. False when `call_id` is not waiting."""
        decided = self._supervisor.approve(call_id, always=always, now=self._clock())
        await self._flush()
        return decided

    async def reject(
        self, call_id: str, message: str | None = None, *, always: bool = False
    ) -> bool:
        """Refuse a parked call; the model is told `message` (or the configured rejection).
        `always=True` rejects every later call of that tool. False when not waiting."""
        decided = self._supervisor.reject(call_id, message, always=always, now=self._clock())
        await self._flush()
        return decided

    async def press_keys(self, keys: str) -> None:
        """The caller pressed these keypad keys, in order (a phone bridge's DTMF: Twilio's
        `dtmf` messages). Each is a `DtmfReceived` event; a sequence the current agent
        declares in `dtmf` runs its action. (On SIP the service sends the keys itself.)"""
        for key in keys:
            self._supervisor.press_key(key, self._clock())
        await self._flush()

    def playback_position(self, item_id: str, played_ms: float, *, finished: bool = False) -> None:
        """Tell the session how much of an assistant item has really been played.

        Without reports the session estimates from the clock; with them, a barge-in
        truncates exactly where the caller stopped hearing.
        """
        self._supervisor.playback_position(item_id, played_ms, finished=finished)


async def _reraise(error: BaseException) -> None:
    raise error
