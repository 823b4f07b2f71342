"""`RealtimeSession`: one live conversation, pumped between a transport and the supervisor.

The session owns no protocol logic. It reads frames from its transport and feeds them to its
`Supervisor`, then flushes what the supervisor decided: frames to send (in order, under one
lock), events to deliver (to handlers and to the async iterator), tool work to start or
cancel in its task group. App calls (`send_audio`, `interrupt`, ...) go the same way.

Sessions share nothing mutable: each has its own supervisor, history, tool runner (and its
thread limiter), queue and task group, so any number run side by side in one process.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Generic, assert_never

import anyio
from anyio.abc import TaskGroup

from ._supervisor import CancelTool, CloseSession, Command, RunHandoff, RunTool, Supervisor
from ._tool_runner import ToolRunner
from .agent import RealtimeAgent
from .context import RunContext, TContext
from .dialects import Dialect
from .errors import AgentKitError
from .events import SessionEvent, SessionEventName, SessionStatus
from .history import History, HistoryItem
from .settings import SessionSettings
from .transports.base import ConnectionClosed, Transport

__all__ = ["EventHandler", "RealtimeSession"]

logger = logging.getLogger("agentkit.session")

EventHandler = Callable[[Any], Awaitable[None] | None]
"""`handler(event)`, sync or async, registered with `session.on(name, handler)`."""


class RealtimeSession(Generic[TContext]):
    """A live realtime session. Use it as an async context manager; build it with
    `RealtimeRunner.session(...)`.

    ```python
    async with runner.session(transport, context=state) as session:
        async for event in session:
            if event.type == "audio":
                speaker.play(event.audio)
    ```

    Events come by async iteration and by `session.on(name, handler)`; both see every event.
    The iterator's queue keeps the newest `max_queued_events` when nobody drains it. A fatal
    failure (the service ended the session, the connection broke) ends the iteration by
    raising it.
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
        max_queued_events: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._supervisor = Supervisor(
            agent, settings, dialect=dialect, history=history, raw_events=raw_events
        )
        self._transport = transport
        self.context: TContext = context
        self._tools = tool_runner if tool_runner is not None else ToolRunner()
        self._agents = dict(agents or {})
        self._clock = clock
        self._handlers: dict[str, list[EventHandler]] = {}
        self._queue: deque[SessionEvent] = deque(maxlen=max_queued_events)
        self._wakeup = anyio.Event()
        self._send_lock = anyio.Lock()
        self._scopes: dict[str, anyio.CancelScope] = {}
        self._task_group: TaskGroup | None = None
        self._closing = False
        self._finished = False
        self._fatal: AgentKitError | None = None

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

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> RealtimeSession[TContext]:
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        try:
            self._supervisor.connecting()
            await self._flush()
            await self._transport.connect()
            agent = self._supervisor.agent
            instructions = await agent.resolve_instructions(self._run_context(agent, None))
            self._supervisor.connected(instructions)
            await self._flush()
        except BaseException as exc:
            self._supervisor.disconnected()
            with anyio.CancelScope(shield=True):
                for event in self._supervisor.events_to_emit():
                    await self._deliver(event)
            self._finished = True
            self._fatal = exc if isinstance(exc, AgentKitError) else None
            task_group.cancel_scope.cancel()
            self._task_group = None
            await task_group.__aexit__(None, None, None)
            raise
        task_group.start_soon(self._read_loop)
        return self

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
        self._finish()
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()

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
            while self._queue:
                yield self._queue.popleft()
            if self._finished:
                if self._fatal is not None:
                    raise self._fatal
                return
            self._wakeup = anyio.Event()
            await self._wakeup.wait()

    # -- app calls ------------------------------------------------------------------------------

    async def send_audio(self, audio: bytes) -> None:
        """Stream caller audio (in the session's input format)."""
        self._supervisor.send_audio(audio)
        await self._flush()

    async def send_text(self, text: str) -> None:
        """Say something as the user in text; the agent answers."""
        self._supervisor.send_text(text)
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
        self._supervisor.start_turn(self._clock())
        await self._flush()

    async def end_turn(self) -> None:
        """Push-to-talk released: commit the caller's audio and ask for a response."""
        self._supervisor.end_turn()
        await self._flush()

    async def update_agent(self, agent: RealtimeAgent[Any]) -> None:
        """Switch to `agent` now (its configuration is sent; no response is requested)."""
        instructions = await agent.resolve_instructions(self._run_context(agent, None))
        self._agents.setdefault(agent.name, agent)
        self._supervisor.update_agent(agent, instructions)
        await self._flush()

    def playback_position(self, item_id: str, played_ms: float, *, finished: bool = False) -> None:
        """Tell the session how much of an assistant item has really been played.

        Without reports the session estimates from the clock; with them, a barge-in
        truncates exactly where the caller stopped hearing.
        """
        self._supervisor.playback_position(item_id, played_ms, finished=finished)

    # -- the pump -------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        supervisor = self._supervisor
        receive = self._transport.receive
        try:
            while True:
                frame = await receive()
                supervisor.receive_frame(frame, self._clock())
                await self._flush()
        except ConnectionClosed as exc:
            if not self._closing and not exc.clean:
                self._fatal = exc
        except AgentKitError as exc:
            self._fatal = exc
        if not self._closing:
            await self.close()

    async def _flush(self) -> None:
        supervisor = self._supervisor
        async with self._send_lock:
            # Drain all three at once, so frames go out in the order they were decided.
            frames = supervisor.data_to_send()
            events = supervisor.events_to_emit()
            commands = supervisor.commands()
            send = self._transport.send
            for frame in frames:
                await send(frame)
        for event in events:
            await self._deliver(event)
        for command in commands:
            self._execute(command)

    async def _deliver(self, event: SessionEvent) -> None:
        self._queue.append(event)
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

    def _execute(self, command: Command) -> None:
        task_group = self._task_group
        match command:
            case RunTool():
                if task_group is None or self._closing:
                    return
                scope = anyio.CancelScope()
                self._scopes[command.call_id] = scope
                task_group.start_soon(self._run_tool, command, scope)
            case RunHandoff():
                if task_group is None or self._closing:
                    return
                scope = anyio.CancelScope()
                self._scopes[command.call_id] = scope
                task_group.start_soon(self._run_handoff, command, scope)
            case CancelTool():
                cancelled = self._scopes.pop(command.call_id, None)
                if cancelled is not None:
                    cancelled.cancel()
            case CloseSession():
                self._fatal = command.error
                if task_group is not None:
                    task_group.start_soon(self.close)
            case _:
                assert_never(command)

    async def _run_tool(self, command: RunTool, scope: anyio.CancelScope) -> None:
        with scope:
            ctx = self._run_context(command.agent, command.call_id)
            outcome = await self._tools.run(command.name, command.tool, command.arguments, ctx)
            self._scopes.pop(command.call_id, None)
            self._supervisor.tool_finished(command.call_id, outcome.output, error=outcome.error)
            await self._flush_quietly()

    async def _run_handoff(self, command: RunHandoff, scope: anyio.CancelScope) -> None:
        with scope:
            ctx = self._run_context(command.agent, command.call_id)
            outcome = await self._tools.run_handoff(
                command.handoff, command.arguments, ctx, self._resolve_agent
            )
            self._scopes.pop(command.call_id, None)
            if outcome.target is not None:
                self._agents.setdefault(outcome.target.name, outcome.target)
                self._supervisor.handoff_finished(
                    command.call_id, outcome.target, outcome.instructions
                )
            else:
                self._supervisor.handoff_failed(command.call_id, outcome.refusal or "{}")
            await self._flush_quietly()

    async def _flush_quietly(self) -> None:
        """Flush from a background task: a closed connection ends the session, not the task
        group."""
        try:
            await self._flush()
        except ConnectionClosed:
            if not self._closing:
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
            history=supervisor.history.items(),
            _breadcrumb_sink=breadcrumb,
        )
