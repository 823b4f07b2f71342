"""`RealtimeSession`: one live conversation, pumped between a transport and the supervisor.

The session owns no protocol logic. It reads frames from its transport and feeds them to its
`Supervisor`, then flushes what the supervisor decided: frames to send (in order, under one
lock), events to deliver (`runtime.delivery`), work to start or cancel (tools, handoffs,
guardrail checks: `runtime.tool_runner`). App calls (`send_audio`, `interrupt`, `approve`,
...) go the same way. Besides the pump it does only what needs a clock or a socket: it
sleeps until the supervisor's next deadline and calls `tick()` (every timeout of the
session is one of those deadlines: `runtime.watchdog`), and it runs the reconnect loop
(`runtime.reconnect`) with its own sleep and transports.

What it does is reported to one observer (`runtime.observer`): the tracer when tracing is
on, a no-op otherwise, so there is one code path either way.

Sessions share nothing mutable: each has its own supervisor, history, policy, tool runner
(and its thread limiter), queue and tasks, so any number run side by side in one process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, assert_never

import anyio
from anyio.abc import TaskGroup, TaskStatus

from .agent import RealtimeAgent
from .context import RunContext, TContext
from .errors import AgentKitError, TransportError
from .events import ErrorEvent, SessionEvent, SessionEventName, SessionStatus
from .history import History, HistoryItem
from .policy import ReconnectPolicy, SessionLimits, TransportFactory
from .protocol.dialects import Dialect
from .runtime.commands import (
    CancelTool,
    CloseSession,
    Command,
    Reconnect,
    RunGuardrails,
    RunHandoff,
    RunTool,
)
from .runtime.config import RuntimeConfig
from .runtime.delivery import EventHandler, EventQueue
from .runtime.observer import NO_OBSERVER, SessionObserver
from .runtime.policy import SessionPolicy
from .runtime.reconnect import reconnect
from .runtime.slots import SessionSlots
from .runtime.supervisor import Supervisor
from .runtime.tool_runner import CallTasks, ToolRunner
from .settings import SessionSettings
from .transports.base import ConnectionClosed, Transport

if TYPE_CHECKING:
    from .tracing import Instrumentation, SessionTracer

__all__ = ["EventHandler", "RealtimeSession"]

logger = logging.getLogger("agentkit.session")

# Task names for the work a session starts per call. Named explicitly: without a name anyio
# derives one from the function's module and qualified name on every spawn, which was a
# quarter of what starting a tool's task cost.
_TOOL_TASK = "agentkit.tool"
_HANDOFF_TASK = "agentkit.handoff"
_GUARDRAILS_TASK = "agentkit.guardrails"


class RealtimeSession(Generic[TContext]):
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
    ) -> None:
        if config is None:
            config = RuntimeConfig(
                settings=settings if settings is not None else SessionSettings(),
                dialect=dialect,
                raw_events=raw_events,
                limits=limits if limits is not None else SessionLimits(),
                reconnect=reconnect,
            ).with_queue(max_queued_events)
            if policy is not None:
                config = dataclasses.replace(
                    config, guardrails=policy.guardrails, approvals=policy.approvals
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
        self._tools = tool_runner
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
        self._events = EventQueue(config.limits.max_queued_events, self._wake_reader)
        # The queue and handlers themselves, for the flush's fast path (see `_flush`).
        self._queue = self._events.queue
        self._handlers = self._events.handlers
        self._max_queued = self._events.max_queued
        self._timer_wakeup = anyio.Event()
        self._timer_deadline: float | None = None
        # fast_acquire: the default acquire adds two checkpoints (one a shielded `sleep(0)`)
        # to every flush that sends something.
        self._send_lock = anyio.Lock(fast_acquire=True)
        # Tools, transfers and guardrail rounds, each in its own task (see `CallTasks`).
        self._tasks = CallTasks(self._task_failed)
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
        # Set when the session starts, if tracing is on; `_observer` is it, or the no-op.
        self._tracer: SessionTracer | None = None
        self._observer: SessionObserver = NO_OBSERVER

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
    def pending_approvals(self) -> list[str]:
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
        instrumentation = self._instrumentation
        if instrumentation is not None and instrumentation.active:
            supervisor = self._supervisor
            self._tracer = instrumentation.start_session(
                model=supervisor.settings.model,
                agent_name=supervisor.agent.name,
                transport=_transport_kind(self._transport),
                dialect=supervisor.dialect,
                clock=self._clock,
            )
            self._observer = self._tracer
            # Only a real observer is given to the supervisor: an untraced audio delta
            # then costs nothing (see `Supervisor.observe_with`).
            supervisor.observe_with(self._tracer)
            self._tracer.wake_with(self._wake_timer)
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        try:
            await task_group.start(self._host_work)
            self._supervisor.connecting()
            await self._flush()
            await self._transport.connect()
            agent = self._supervisor.agent
            instructions = await agent.resolve_instructions(self._run_context(agent, None))
            self._supervisor.connected(instructions, now=self._clock())
            await self._flush()
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
        await self._tasks.stop()

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
        self._tasks.cancel_all()
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
            await wakeup.wait()

    def _wake_reader(self) -> None:
        self._wakeup.set()

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
        instructions = await agent.resolve_instructions(self._run_context(agent, None))
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

    def playback_position(self, item_id: str, played_ms: float, *, finished: bool = False) -> None:
        """Tell the session how much of an assistant item has really been played.

        Without reports the session estimates from the clock; with them, a barge-in
        truncates exactly where the caller stopped hearing.
        """
        self._supervisor.playback_position(item_id, played_ms, finished=finished)

    # -- the pump -------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        supervisor = self._supervisor
        while True:
            receive = self._transport.receive
            error: AgentKitError
            try:
                while True:
                    frame = await receive()
                    # The tracer, if any, hears from the supervisor (`observe_with`).
                    supervisor.receive_frame(frame, self._clock())
                    await self._flush()
            except ConnectionClosed as exc:
                error = exc
            except AgentKitError as exc:
                error = exc
            if self._closing:
                return
            reason, self._reconnect_reason = self._reconnect_reason, None
            policy = self.config.reconnect
            if policy is None:
                if not (isinstance(error, ConnectionClosed) and error.clean) or (
                    reason is not None and self._fatal is None
                ):
                    self._fatal = error
                await self.close()
                return
            if reason is None:
                clean = isinstance(error, ConnectionClosed) and error.clean
                reason = "server closed the connection" if clean else "connection lost"
            supervisor.disconnected(reconnecting=True)
            await self._flush()
            await self._close_transport(shielded=True)
            failed = await reconnect(
                policy,
                reason,
                error,
                attempt=self._open,
                announce=self._announce,
                sleep=anyio.sleep,
                random=self._random,
                closing=lambda: self._closing,
            )
            if failed is not None:
                await self._announce(ErrorEvent(failed, "reconnect_failed"))
                self._fatal = failed
                await self.close()
            if self._closing:
                return

    async def _open(self, text_only: bool) -> BaseException | None:
        """Connect a new transport and replay the conversation into it; why it failed, if
        it did."""
        supervisor = self._supervisor
        policy = self.config.reconnect
        if text_only and policy is not None and policy.text_fallback is not None:
            transport = policy.text_fallback()
        elif self._transport_factory is not None:
            transport = self._transport_factory()
        else:
            # Without a factory the same transport reconnects (a WebSocketTransport opens a
            # new socket on `connect()`).
            transport = self._transport
        try:
            await transport.connect()
            self._transport = transport
            agent = supervisor.agent
            instructions = await agent.resolve_instructions(self._run_context(agent, None))
            supervisor.connected(instructions, now=self._clock(), text_only=text_only)
            await self._flush()
        except (TransportError, OSError) as exc:
            if supervisor.status is SessionStatus.CONNECTED:
                supervisor.disconnected(reconnecting=True)
                await self._flush()
            return exc
        return None

    async def _timer_loop(self) -> None:
        """Sleep until the supervisor's next deadline (or the observer's), then `tick()`."""
        supervisor = self._supervisor
        observer = self._observer
        while not self._closing:
            deadline = supervisor.next_deadline()
            due = observer.flush_due  # deferred spans (see `TracingConfig.defer_spans`)
            if due is not None and (deadline is None or due < deadline):
                deadline = due
            self._timer_deadline = deadline
            self._timer_wakeup = self._new_event()
            if deadline is None:
                await self._timer_wakeup.wait()
                continue
            delay = deadline - self._clock()
            if delay > 0:
                with anyio.move_on_after(delay):
                    await self._timer_wakeup.wait()
                continue
            now = self._clock()
            supervisor.tick(now)
            observer.tick(now)
            await self._flush_quietly()

    def _wake_timer(self, at: float) -> None:
        """Have the timer loop look at `at`, if that is sooner than it planned."""
        waiting = self._timer_deadline
        if waiting is None or at < waiting:
            self._timer_deadline = at
            self._timer_wakeup.set()

    async def _flush(self) -> None:
        supervisor = self._supervisor
        lock = self._send_lock
        if supervisor.has_data_to_send() or lock.locked():
            async with lock:
                # Drain all three at once, so frames go out in the order they were decided.
                frames = supervisor.data_to_send()
                events = supervisor.events_to_emit()
                commands = supervisor.commands()
                send = self._transport.send
                for frame in frames:
                    await send(frame)
        else:
            # Nothing to send and no flush between its drain and its delivery: the lock
            # orders nothing here, so skip it (most inbound frames, every audio delta).
            events = supervisor.events_to_emit()
            commands = supervisor.commands()
        if events:
            queue = self._queue
            if not self._handlers and len(queue) + len(events) <= self._max_queued:
                # What `EventQueue.deliver` does when no handler listens and nothing
                # overflows: no coroutine and no wake-up per event.
                queue.extend(events)
                self._wakeup.set()
            else:
                deliver = self._events.deliver
                for event in events:
                    await deliver(event)
        if commands:
            for command in commands:
                self._execute(command)
        deadline = supervisor.next_deadline()
        if deadline is not None:
            waiting = self._timer_deadline
            # Wake the timer only for an earlier deadline: a later one it finds when it wakes.
            if waiting is None or deadline < waiting:
                self._timer_deadline = deadline
                self._timer_wakeup.set()

    async def _announce(self, event: SessionEvent) -> None:
        """Deliver an event the session makes itself (the supervisor's own reach the tracer
        from the supervisor)."""
        self._observer.observe(event)
        await self._events.deliver(event)

    def _finish(self) -> None:
        self._finished = True
        self._wakeup.set()
        self._timer_wakeup.set()

    # -- work -------------------------------------------------------------------------------------

    def _execute(self, command: Command) -> None:
        match command:
            case RunTool():
                if self._work is not None and not self._closing:
                    self._tasks.start(self._run_tool(command), name=_TOOL_TASK, key=command.call_id)
            case RunHandoff():
                if self._work is not None and not self._closing:
                    work = self._run_handoff(command)
                    self._tasks.start(work, name=_HANDOFF_TASK, key=command.call_id)
            case RunGuardrails():
                if self._work is not None and not self._closing:
                    self._tasks.start(self._run_guardrails(command), name=_GUARDRAILS_TASK)
            case CancelTool():
                self._tasks.cancel(command.call_id, timed_out_with=command.output)
            case Reconnect():
                if self._work is not None and not self._closing:
                    # Closing the transport ends the read loop, which then reconnects.
                    self._reconnect_reason = command.reason
                    self._work.start_soon(self._close_transport)
            case CloseSession():
                if command.error is not None:
                    self._fatal = command.error
                if self._work is not None:
                    self._work.start_soon(self.close)
            case _:
                assert_never(command)

    async def _close_transport(self, *, shielded: bool = False) -> None:
        with anyio.CancelScope(shield=shielded):
            try:
                await self._transport.close()
            except Exception:
                logger.debug("closing the transport failed", exc_info=True)

    async def _run_tool(self, command: RunTool) -> None:
        call_id = command.call_id
        ctx = self._run_context(command.agent, call_id)
        # Under its `execute_tool` span when traced, so the tool's own spans nest there
        # (worker threads too: anyio runs sync tools in a copy of this context). A timeout
        # or a `CancelTool` cancels this task and ends it here, unanswered: the supervisor
        # already answered the call.
        with self._observer.tool_context(call_id):
            outcome = await self._tools.run(command.name, command.tool, command.arguments, ctx)
        if not self._tasks.finish(call_id):
            return  # cancelled meanwhile (the tool swallowed it): already answered
        self._supervisor.tool_finished(
            call_id, outcome.output, error=outcome.error, now=self._clock()
        )
        await self._flush_quietly()

    async def _run_handoff(self, command: RunHandoff) -> None:
        call_id = command.call_id
        ctx = self._run_context(command.agent, call_id)
        supervisor = self._supervisor
        # `on_handoff` and the target's instructions run under the handoff span.
        with self._observer.handoff(call_id, command.handoff.tool_name) as report:
            try:
                outcome = await self._tools.run_handoff(
                    command.handoff, command.arguments, ctx, self._resolve_agent
                )
            except asyncio.CancelledError:
                refusal = self._tasks.timed_out(call_id)
                if refusal is not None:  # timed out: the model was told so
                    report.finished(None, refusal)
                raise
            if not self._tasks.finish(call_id):
                return
            target = outcome.target
            if target is None:
                supervisor.handoff_failed(call_id, outcome.refusal or "{}", now=self._clock())
                report.finished(None, outcome.refusal)
            else:
                self._agents.setdefault(target.name, target)
                supervisor.handoff_finished(
                    call_id, target, outcome.instructions, now=self._clock()
                )
                # True when the agent changed (the swap may fail to compile).
                if supervisor.agent is target:
                    report.finished(target.name)
                else:
                    report.finished(None, outcome.refusal)
        await self._flush_quietly()

    async def _run_guardrails(self, command: RunGuardrails) -> None:
        ctx = self._run_context(command.agent, None)
        names = [guardrail.name for guardrail in command.guardrails]
        with self._observer.guardrails(command.stage, names) as check:
            verdict = await self._tools.run_guardrails(command.guardrails, ctx, command.text)
            check.finished(verdict, command.text)
        self._supervisor.guardrails_finished(command.check_id, verdict, self._clock())
        await self._flush_quietly()

    async def _flush_quietly(self) -> None:
        """Flush from a background task: a closed connection ends the session (or, with a
        reconnect policy, is left to the read loop, which notices it too)."""
        try:
            await self._flush()
        except ConnectionClosed:
            if self._closing:
                return
            if self.config.reconnect is not None:
                await self._close_transport()
            else:
                await self.close()

    def _resolve_agent(self, target: RealtimeAgent[Any] | str) -> RealtimeAgent[Any] | None:
        if isinstance(target, RealtimeAgent):
            return target
        return self._agents.get(target)

    def _run_context(self, agent: RealtimeAgent[Any], call_id: str | None) -> RunContext[TContext]:
        supervisor = self._supervisor

        def breadcrumb(text: str) -> None:
            supervisor.add_breadcrumb(text, call_id)

        return RunContext(
            context=self.context,
            agent=agent,
            # A view, not a copy: most tools never read the history, and copying it cost
            # O(length) per call.
            history=supervisor.history.view(),
            _breadcrumb_sink=breadcrumb,
        )


async def _reraise(error: BaseException) -> None:
    raise error


def _transport_kind(transport: Transport) -> str:
    """`websocket`, `memory`, ... for `agentkit.transport` (the class name without
    `Transport`)."""
    name = type(transport).__name__
    return name.removesuffix("Transport").lower() or name
