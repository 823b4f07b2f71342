"""The session's pump: frames from the transport into the supervisor, what it decided out.

`SessionPump` is the I/O half of `RealtimeSession` (the public half is `session.live`): the
read loop, the flush (frames sent in order under one lock, events delivered, work started),
the timer loop that sleeps until the supervisor's next deadline and calls `tick()`, and the
reconnect loop around them (`runtime.reconnect`). It holds no protocol logic: every decision
is the sans-I/O `Supervisor`'s (`agentkit.runtime`), or, for connection quality, the
`QualityWatch`'s (`session.quality`): the timer loop reads the transport's stats when the
watch says, and moves the call to the fallback codec through the reconnect loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, assert_never

import anyio
from anyio.abc import TaskGroup

from ..errors import AgentKitError, TransportError
from ..events import CodecChanged, ErrorEvent, SessionEvent, SessionStatus
from ..logs import get_logger
from ..policy import ReconnectPolicy, TransportFactory
from ..runtime.commands import (
    CancelTool,
    CloseSession,
    Command,
    Reconnect,
    RunGuardrails,
    RunHandoff,
    RunTool,
)
from ..runtime.config import RuntimeConfig
from ..runtime.delivery import EventHandler, EventQueue
from ..runtime.observer import SessionObserver
from ..runtime.reconnect import reconnect
from ..runtime.supervisor import Supervisor
from ..runtime.work import Work
from ..transports.base import ConnectionClosed, Transport
from ..transports.codecs import Codec
from .quality import MeasuredTransport, QualityWatch

__all__ = ["SessionPump"]

logger = get_logger("agentkit.session")

CODEC_FALLBACK = "codec_fallback"
"""The reconnect reason of a move to `QualityPolicy.fallback_codec`."""
# A codec fallback reconnects even without a reconnect policy (the app asked for it).
_FALLBACK_RECONNECT = ReconnectPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=1.0, renew_after_s=None)


class SessionPump(ABC):
    """The I/O half of a `RealtimeSession` (see the module docs); it is a mixin, and the
    session's constructor sets the state below."""

    config: RuntimeConfig
    _supervisor: Supervisor
    _transport: Transport
    _transport_factory: TransportFactory | None
    _reconnect_reason: str | None
    _clock: Callable[[], float]
    _random: Callable[[], float]
    _calls: Work[Any]
    _observer: SessionObserver
    _events: EventQueue
    _queue: Any
    _handlers: dict[str, list[EventHandler]] | Any
    _max_queued: int
    _send_lock: anyio.Lock
    _wakeup: anyio.Event
    _new_event: Callable[[], anyio.Event]
    _timer_wakeup: anyio.Event
    _timer_deadline: float | None
    _waiting_since: float | None
    _work: TaskGroup | None
    _closing: bool
    _finished: bool
    _fatal: AgentKitError | None
    _quality: QualityWatch | None
    _codec: Codec | None
    _codec_change: CodecChanged | None

    # What the pump calls on the public half (`session.live.RealtimeSession` defines them).

    @abstractmethod
    async def close(self) -> None:
        """End the session."""

    @abstractmethod
    def _check_quiet(self, now: float) -> None:
        """Log the quiet warning if the app has waited `quiet_warning_s` for nothing."""

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
            if policy is None and reason == CODEC_FALLBACK:
                policy = _FALLBACK_RECONNECT
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
                attempt=self._reconnect_with,
                new_transport=self._new_transport,
                fallback_transport=policy.text_fallback,
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

    async def _connect(self, transport: Transport, *, text_only: bool = False) -> None:
        """Connect `transport` and configure the session and its conversation in it."""
        await transport.connect()
        self._transport = transport
        agent = self._supervisor.agent
        instructions = await agent.resolve_instructions(self._calls.run_context(agent, None))
        self._supervisor.connected(instructions, now=self._clock(), text_only=text_only)
        await self._flush()
        if self._quality is not None:
            self._quality.connected(self._clock())
        change, self._codec_change = self._codec_change, None
        if change is not None:
            await self._announce(change)

    async def _reconnect_with(self, transport: Transport, text_only: bool) -> Exception | None:
        """One reconnect attempt: why it failed, if it did."""
        try:
            await self._connect(transport, text_only=text_only)
        except (TransportError, OSError) as exc:
            if self._supervisor.status is SessionStatus.CONNECTED:
                self._supervisor.disconnected(reconnecting=True)
                await self._flush()
            return exc
        return None

    def _new_transport(self) -> Transport:
        # Without a factory the same transport reconnects (a WebSocketTransport opens a new
        # socket on `connect()`).
        transport = self._transport_factory() if self._transport_factory is not None else self._transport
        if self._codec is not None and isinstance(transport, MeasuredTransport):
            transport.switch_codec(self._codec)  # a fallback holds for every later connection
        return transport

    async def _timer_loop(self) -> None:
        """Sleep until the supervisor's next deadline (or the observer's, or the quality
        watch's), then `tick()`."""
        supervisor = self._supervisor
        observer = self._observer
        quality = self._quality
        while not self._closing:
            deadline = supervisor.next_deadline()
            due = observer.flush_due  # deferred spans (see `TracingConfig.defer_spans`)
            if due is not None and (deadline is None or due < deadline):
                deadline = due
            if quality is not None:
                due = quality.next_deadline()
                if deadline is None or due < deadline:
                    deadline = due
            since, quiet_s = self._waiting_since, self.config.limits.quiet_warning_s
            if since is not None and quiet_s is not None:
                due = since + quiet_s
                if deadline is None or due < deadline:
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
            self._check_quiet(now)
            if quality is not None and quality.next_deadline() <= now:
                await self._measure(quality, now)
            await self._flush_quietly()

    async def _measure(self, quality: QualityWatch, now: float) -> None:
        """Read the transport's stats into the quality watch; fall back if it decides to."""
        transport = self._transport
        if self._supervisor.status is not SessionStatus.CONNECTED or not isinstance(
            transport, MeasuredTransport
        ):
            quality.skipped(now)
            return
        try:
            stats = await transport.link_stats(now)
        except Exception:  # a call closing under the reading: the next one tells
            logger.debug("reading the connection stats failed", exc_info=True)
            quality.skipped(now)
            return
        for event in quality.measured(stats):
            await self._announce(event)
        codec = quality.take_fallback()
        if codec is None or self._closing or self._work is None:
            return
        # The reconnect path replays the conversation into the new call: no history item
        # or tool output is lost. The app hears of the change once the new call is up.
        self._codec = codec
        self._codec_change = CodecChanged(stats.codec, codec, quality.degraded or "degraded")
        transport.switch_codec(codec)
        self._reconnect_reason = CODEC_FALLBACK
        self._work.start_soon(self._close_transport)

    def _wake_timer(self, at: float) -> None:
        """Have the timer loop look at `at`, if that is sooner than it planned."""
        waiting = self._timer_deadline
        if waiting is None or at < waiting:
            self._timer_deadline = at
            self._timer_wakeup.set()

    async def _flush(self) -> None:
        supervisor = self._supervisor
        lock = self._send_lock
        lost: ConnectionClosed | None = None
        if supervisor.has_data_to_send() or lock.locked():
            async with lock:
                # Drain all three at once, so frames go out in the order they were decided.
                frames = supervisor.data_to_send()
                events = supervisor.events_to_emit()
                commands = supervisor.commands()
                send = self._transport.send
                try:
                    for frame in frames:
                        await send(frame)
                except ConnectionClosed as exc:
                    # The events and commands were drained with these frames: deliver and run
                    # them before reporting the loss (a tool's end, a handoff must reach the
                    # app). What was not sent is in the history, which the reconnect replays.
                    lost = exc
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
        if lost is not None:
            raise lost

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
            case RunTool() | RunHandoff() | RunGuardrails():
                if self._work is not None and not self._closing:
                    self._calls.start(command)
            case CancelTool():
                self._calls.cancel(command)
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
