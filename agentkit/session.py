"""`RealtimeSession`: one live conversation, pumped between a transport and the supervisor.

The session owns no protocol logic. It reads frames from its transport and feeds them to its
`Supervisor`, then flushes what the supervisor decided: frames to send (in order, under one
lock), events to deliver (to handlers and to the async iterator), work to start or cancel in
its task group (tools, handoffs, guardrail checks). App calls (`send_audio`, `interrupt`,
`approve`, ...) go the same way. Besides the pump it does only what needs a clock or a
socket: it sleeps until the supervisor's next deadline and calls `tick()`, and it runs the
reconnect loop (sleep the planner's backoff, open a new transport, let the supervisor
replay the conversation into it).

Sessions share nothing mutable: each has its own supervisor, history, policy, tool runner
(and its thread limiter), queue and task group, so any number run side by side in one
process.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, assert_never

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup, TaskStatus

from .agent import RealtimeAgent
from .context import RunContext, TContext
from .errors import AgentKitError, ReconnectFailed, TransportError
from .events import (
    AudioOut,
    ErrorEvent,
    EventsDropped,
    Reconnecting,
    SessionEvent,
    SessionEventName,
    SessionStatus,
)
from .history import History, HistoryItem
from .policy import ReconnectPolicy, SessionLimits, TransportFactory
from .protocol.dialects import Dialect
from .runtime.policy import GuardrailVerdict, SessionPolicy, run_guardrails
from .runtime.reconnect import backoff_delay
from .runtime.slots import SessionSlots
from .runtime.supervisor import (
    CancelTool,
    CloseSession,
    Command,
    Reconnect,
    RunGuardrails,
    RunHandoff,
    RunTool,
    Supervisor,
)
from .runtime.tool_runner import ToolRunner
from .settings import SessionSettings
from .transports.base import ConnectionClosed, Transport

if TYPE_CHECKING:
    from .runtime.tool_runner import HandoffOutcome
    from .tracing import Instrumentation, SessionTracer

__all__ = ["EventHandler", "RealtimeSession"]

logger = logging.getLogger("agentkit.session")

EventHandler = Callable[[Any], Awaitable[None] | None]
"""`handler(event)`, sync or async, registered with `session.on(name, handler)`."""

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
    ) -> None:
        self._limits = limits if limits is not None else SessionLimits()
        self._reconnect_policy = (
            reconnect if reconnect is not None and reconnect.max_attempts else None
        )
        self._supervisor = Supervisor(
            agent,
            settings,
            dialect=dialect,
            history=history,
            raw_events=raw_events,
            policy=policy,
            limits=self._limits,
            can_reconnect=self._reconnect_policy is not None,
            output_audio_buffer=bool(getattr(transport, "has_output_audio_buffer", False)),
            renew_after_s=self._reconnect_policy.renew_after_s if self._reconnect_policy else None,
        )
        self._transport = transport
        self._transport_factory = transport_factory
        self.context: TContext = context
        self._tools = tool_runner if tool_runner is not None else ToolRunner()
        self._agents = dict(agents or {})
        self._clock = clock
        self._random = random_source
        self._slots = slots
        self._holds_slot = False
        self._handlers: dict[str, list[EventHandler]] = {}
        self._max_queued = max_queued_events or self._limits.max_queued_events
        self._queue: deque[SessionEvent] = deque()
        self._dropped = (0, 0, 0)  # events, audio chunks, audio bytes
        self._wakeup = anyio.Event()
        # The running backend's own `Event` class: `anyio.Event()` looks the backend up on
        # every call, and the iterator makes one each time it waits (once per event when
        # the app keeps up).
        self._new_event: Callable[[], anyio.Event] = type(self._wakeup)
        self._timer_wakeup = anyio.Event()
        self._timer_deadline: float | None = None
        # fast_acquire: the default acquire adds two checkpoints (one a shielded `sleep(0)`)
        # to every flush that sends something.
        self._send_lock = anyio.Lock(fast_acquire=True)
        # Running tool calls by call id (a `CancelTool` or `close()` cancels them), and every
        # tool task still alive, cancelled or not, so that none outlives the session.
        self._tool_tasks: dict[str, asyncio.Task[None]] = {}
        self._tool_alive: set[asyncio.Task[None]] = set()
        self._scopes: dict[str, anyio.CancelScope] = {}  # running handoff callbacks
        self._task_group: TaskGroup | None = None
        # Background work (pump, timers, tools) runs in its own task group under its own
        # cancel scope, so `close()` called from the body of `async with` stops that work
        # without cancelling the caller's task (which hosts the outer task group).
        self._work: TaskGroup | None = None
        self._work_scope = anyio.CancelScope()
        self._closing = False
        self._finished = False
        self._fatal: AgentKitError | None = None
        self._reconnect_reason: str | None = None
        self._instrumentation = instrumentation
        # Set when the session starts, if tracing is on; every hook checks it for `None`.
        self._tracer: SessionTracer | None = None

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
                    await self._deliver(event)
            self._finished = True
            self._fatal = exc if isinstance(exc, AgentKitError) else None
            if self._tracer is not None:
                self._tracer.end(exc)
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
        await self._stop_tools()

    async def _stop_tools(self) -> None:
        """Cancel the tool tasks still alive and wait for them (see `_execute`).

        Cancelled again on every round, as a cancel scope would: a tool that swallows one
        cancellation does not keep the session open.
        """
        alive = self._tool_alive
        with anyio.CancelScope(shield=True):
            while alive:
                for task in alive:
                    task.cancel()
                await asyncio.wait(alive, timeout=0.1)

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
        for task in self._tool_tasks.values():
            task.cancel()
        self._tool_tasks.clear()
        for scope in self._scopes.values():
            scope.cancel()
        self._scopes.clear()
        with anyio.CancelScope(shield=True):
            try:
                await self._transport.close()
            except Exception:
                logger.debug("closing the transport failed", exc_info=True)
            self._supervisor.disconnected()
            self._supervisor.commands()  # the cancellations were done above
            for event in self._supervisor.events_to_emit():
                await self._deliver(event)
        if self._tracer is not None:
            self._tracer.end(self._fatal)
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
        handlers = self._handlers.setdefault(name, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def __aiter__(self) -> AsyncIterator[SessionEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[SessionEvent]:
        while True:
            while self._queue or self._dropped[0]:
                if self._dropped[0]:
                    # Tell the app what it missed before what comes next.
                    count, chunks, size = self._dropped
                    self._dropped = (0, 0, 0)
                    yield EventsDropped(count, chunks, size)
                    continue
                yield self._queue.popleft()
            if self._finished:
                if self._fatal is not None:
                    raise self._fatal
                return
            self._wakeup = wakeup = self._new_event()
            await wakeup.wait()

    # -- app calls ------------------------------------------------------------------------------

    async def send_audio(self, audio: bytes) -> None:
        """Stream caller audio (in the session's input format)."""
        self._supervisor.send_audio(audio, self._clock())
        await self._flush()

    async def send_text(self, text: str) -> None:
        """Say something as the user in text; the agent answers (after input guardrails)."""
        if self._tracer is not None:
            self._tracer.user_text(text)
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
        if self._tracer is not None:
            self._tracer.turn_started()
        self._supervisor.start_turn(self._clock())
        await self._flush()

    async def end_turn(self) -> None:
        """Push-to-talk released: commit the caller's audio and ask for a response."""
        if self._tracer is not None:
            self._tracer.turn_ended()
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
            if self._reconnect_policy is None:
                if not (isinstance(error, ConnectionClosed) and error.clean) or (
                    reason is not None and self._fatal is None
                ):
                    self._fatal = error
                await self.close()
                return
            if reason is None:
                clean = isinstance(error, ConnectionClosed) and error.clean
                reason = "server closed the connection" if clean else "connection lost"
            if not await self._reconnect(reason, error):
                return

    async def _reconnect(self, reason: str, cause: AgentKitError) -> bool:
        """Reconnect with backoff and replay; False when the session ended instead."""
        policy = self._reconnect_policy
        assert policy is not None
        supervisor = self._supervisor
        supervisor.disconnected(reconnecting=True)
        await self._flush()
        with anyio.CancelScope(shield=True):
            try:
                await self._transport.close()
            except Exception:
                logger.debug("closing the dropped transport failed", exc_info=True)
        last: BaseException = cause
        for attempt in range(1, policy.max_attempts + 1):
            # A renewal is planned, not a failure: its first attempt does not wait.
            delay = (
                0.0
                if reason == "renewal" and attempt == 1
                else backoff_delay(policy, attempt, self._random)
            )
            await self._announce(Reconnecting(attempt, delay, reason))
            if delay:
                await anyio.sleep(delay)
            if self._closing:
                return False
            if await self._open(self._new_transport(), text_only=False):
                return True
            last = self._last_connect_error or last
        if policy.text_fallback is not None and not self._closing:
            if await self._open(policy.text_fallback(), text_only=True):
                return True
            last = self._last_connect_error or last
        error = ReconnectFailed(
            f"could not reconnect after {policy.max_attempts} attempts ({reason}): {last}",
            attempts=policy.max_attempts,
        )
        error.__cause__ = last
        await self._announce(ErrorEvent(error, "reconnect_failed"))
        self._fatal = error
        await self.close()
        return False

    _last_connect_error: BaseException | None = None

    async def _open(self, transport: Transport, *, text_only: bool) -> bool:
        """Connect `transport` and replay the conversation into it."""
        supervisor = self._supervisor
        try:
            await transport.connect()
            self._transport = transport
            agent = supervisor.agent
            instructions = await agent.resolve_instructions(self._run_context(agent, None))
            supervisor.connected(instructions, now=self._clock(), text_only=text_only)
            await self._flush()
        except (TransportError, OSError) as exc:
            self._last_connect_error = exc
            if supervisor.status is SessionStatus.CONNECTED:
                supervisor.disconnected(reconnecting=True)
                await self._flush()
            return False
        return True

    def _new_transport(self) -> Transport:
        # Without a factory the same transport reconnects (a WebSocketTransport opens a new
        # socket on `connect()`).
        return self._transport_factory() if self._transport_factory is not None else self._transport

    async def _timer_loop(self) -> None:
        """Sleep until the supervisor's next deadline (or the tracer's), then `tick()` them."""
        supervisor = self._supervisor
        tracer = self._tracer
        while not self._closing:
            deadline = supervisor.next_deadline()
            if tracer is not None:
                due = tracer.flush_due  # deferred spans (see `TracingConfig.defer_spans`)
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
            if tracer is not None:
                tracer.tick(now)
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
                # What `_deliver` does when no handler listens and nothing overflows: no
                # coroutine and no wake-up per event.
                queue.extend(events)
                self._wakeup.set()
            else:
                for event in events:
                    await self._deliver(event)
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
        if self._tracer is not None:
            self._tracer.observe(event)
        await self._deliver(event)

    async def _deliver(self, event: SessionEvent) -> None:
        queue = self._queue
        if len(queue) >= self._max_queued:
            dropped = queue.popleft()
            count, chunks, size = self._dropped
            if isinstance(dropped, EventsDropped):
                count, chunks, size = (
                    count + dropped.count,
                    chunks + dropped.audio_chunks,
                    size + dropped.audio_bytes,
                )
            elif isinstance(dropped, AudioOut):
                count, chunks, size = count + 1, chunks + 1, size + len(dropped.audio)
            else:
                count += 1
            self._dropped = (count, chunks, size)
        queue.append(event)
        self._wakeup.set()
        handlers = self._handlers.get(event.type)
        if handlers:
            for handler in list(handlers):
                try:
                    result = handler(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception("handler for %r raised", event.type)

    def _finish(self) -> None:
        self._finished = True
        self._wakeup.set()
        self._timer_wakeup.set()

    def _execute(self, command: Command) -> None:
        task_group = self._work
        match command:
            case RunTool():
                if task_group is None or self._closing:
                    return
                # A plain asyncio task, not one of the task group's: starting it costs a
                # tenth (≈6 µs against ≈60 µs with its cancel scope), on every call's
                # critical path. Structure is kept by hand: the task is cancelled by
                # `CancelTool` and `close()`, awaited before the session ends
                # (`_stop_tools`), and its failure is raised in the task group.
                task = asyncio.get_running_loop().create_task(
                    self._run_tool_task(command), name=_TOOL_TASK
                )
                self._tool_tasks[command.call_id] = task
                self._tool_alive.add(task)
                task.add_done_callback(self._tool_alive.discard)
            case RunHandoff():
                if task_group is None or self._closing:
                    return
                scope = anyio.CancelScope()
                self._scopes[command.call_id] = scope
                task_group.start_soon(self._run_handoff, command, scope, name=_HANDOFF_TASK)
            case RunGuardrails():
                if task_group is None or self._closing:
                    return
                task_group.start_soon(self._run_guardrails, command, name=_GUARDRAILS_TASK)
            case CancelTool():
                running = self._tool_tasks.pop(command.call_id, None)
                if running is not None:
                    running.cancel()
                callback = self._scopes.pop(command.call_id, None)
                if callback is not None:
                    callback.cancel()
            case Reconnect():
                if task_group is None or self._closing:
                    return
                # Closing the transport ends the read loop, which then reconnects.
                self._reconnect_reason = command.reason
                task_group.start_soon(self._close_transport)
            case CloseSession():
                if command.error is not None:
                    self._fatal = command.error
                if task_group is not None:
                    task_group.start_soon(self.close)
            case _:
                assert_never(command)

    async def _close_transport(self) -> None:
        try:
            await self._transport.close()
        except Exception:
            logger.debug("closing the transport failed", exc_info=True)

    async def _run_tool(self, command: RunTool) -> None:
        call_id = command.call_id
        tools = self._tools
        timeout = tools.timeout_for(command.tool)
        ctx = self._run_context(command.agent, call_id)
        # The runner leaves the deadline to us: `asyncio.timeout` tells its own expiry from
        # a `CancelTool` (which cancels this task and ends it here, unanswered: the
        # supervisor already answered the call).
        try:
            async with asyncio.timeout(timeout):
                if self._tracer is None:
                    outcome = await tools.run(
                        command.name, command.tool, command.arguments, ctx, timed=False
                    )
                else:
                    # Under its `execute_tool` span, so the tool's own spans nest there (worker
                    # threads too: anyio runs sync tools in a copy of this context).
                    with self._tracer.tool_context(call_id):
                        outcome = await tools.run(
                            command.name, command.tool, command.arguments, ctx, timed=False
                        )
        except TimeoutError:
            outcome = tools.timed_out(command.name, timeout or 0.0)
        if self._tool_tasks.pop(call_id, None) is None:
            return  # cancelled meanwhile (the tool swallowed it): already answered
        self._supervisor.tool_finished(
            call_id, outcome.output, error=outcome.error, now=self._clock()
        )
        await self._flush_quietly()

    async def _run_tool_task(self, command: RunTool) -> None:
        try:
            await self._run_tool(command)
        except Exception as error:
            # What a task group does with a failing child: the session fails with it.
            work = self._work
            if work is None:
                logger.error("tool task failed after the session ended", exc_info=error)
            else:
                work.start_soon(_reraise, error)

    async def _run_handoff(self, command: RunHandoff, scope: anyio.CancelScope) -> None:
        with scope:
            ctx = self._run_context(command.agent, command.call_id)
            tracer = self._tracer
            if tracer is None:
                outcome = await self._tools.run_handoff(
                    command.handoff, command.arguments, ctx, self._resolve_agent
                )
                self._handoff_done(command, outcome)
            else:
                # `on_handoff` and the target's instructions run under the handoff span.
                with tracer.handoff(command.call_id, command.handoff.tool_name) as traced:
                    outcome = await self._tools.run_handoff(
                        command.handoff, command.arguments, ctx, self._resolve_agent
                    )
                    if self._handoff_done(command, outcome):
                        assert outcome.target is not None
                        traced.finished(outcome.target.name)
                    else:
                        traced.finished(None, outcome.refusal)
            await self._flush_quietly()

    def _handoff_done(self, command: RunHandoff, outcome: HandoffOutcome) -> bool:
        """Report a transfer's outcome to the supervisor; True when the agent changed."""
        self._scopes.pop(command.call_id, None)
        supervisor = self._supervisor
        target = outcome.target
        if target is None:
            supervisor.handoff_failed(command.call_id, outcome.refusal or "{}", now=self._clock())
            return False
        self._agents.setdefault(target.name, target)
        supervisor.handoff_finished(
            command.call_id, target, outcome.instructions, now=self._clock()
        )
        return supervisor.agent is target

    async def _run_guardrails(self, command: RunGuardrails) -> None:
        ctx = self._run_context(command.agent, None)
        verdict: GuardrailVerdict
        if self._tracer is None:
            verdict = await run_guardrails(
                command.guardrails, ctx, command.text, run_sync=anyio.to_thread.run_sync
            )
        else:
            names = [guardrail.name for guardrail in command.guardrails]
            with self._tracer.guardrails(command.stage, names) as check:
                verdict = await run_guardrails(
                    command.guardrails, ctx, command.text, run_sync=anyio.to_thread.run_sync
                )
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
            if self._reconnect_policy is not None:
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
