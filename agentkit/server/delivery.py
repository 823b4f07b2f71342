"""Paced delivery: getting each session's due events onto its sockets.

Two pumps, one per kind of session:

- the shared `Timers` (most sessions): one heap of (deadline, hub) and a single `call_at`
  for the whole server; `Delivery.pump_now` polls a core synchronously and writes each
  connection's events of a tick in one write, framed by `agentkit.transports.frames.text_frames` in its dialect;
- a task per session (`Delivery.pump`) for sessions with faults, which need awaits (delays,
  stalls, close handshakes) between events; `Delivery.deliver` runs the fault plan before
  each event (the actions are in `fault_actions.py`).

A congested socket or a close hands the rest of a tick to a task that can wait
(`send_async`), through the same `deliver`.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Callable
from typing import Any

import orjson
from websockets.protocol import State

from ..logs import get_logger
from ..transports.frames import text_frames
from .fault_actions import apply_fault
from .hub import WRITE_HIGH_WATER, Hub, beta_text
from .session import CloseConnection

__all__ = ["Delivery", "Timers"]

logger = get_logger("agentkit.server")


class Timers:
    """One timer for every session: a heap of (deadline, session) and a single `call_at`.

    With hundreds of sessions each releasing an audio delta every 100 ms, a sleeping task per
    session cost a future, a timer handle and a task switch per delta; here one callback
    releases everything due across all sessions, synchronously.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, run: Callable[[Hub, float], None]) -> None:
        self._loop = loop
        self._run = run
        self._heap: list[tuple[float, int, Hub]] = []
        self._seq = 0
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = math.inf

    def schedule(self, hub: Hub, deadline: float) -> None:
        """Make sure `hub` is pumped at `deadline` (earlier entries win; stale ones are skipped)."""
        if hub.scheduled is not None and hub.scheduled <= deadline:
            return
        hub.scheduled = deadline
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, hub))
        if deadline < self._armed_at:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_at = deadline
        self._timer = self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._armed_at = math.inf
        heap = self._heap
        now = self._loop.time()
        while heap and heap[0][0] <= now:
            deadline, _, hub = heapq.heappop(heap)
            if hub.scheduled != deadline:
                continue  # superseded by an earlier entry, already pumped
            hub.scheduled = None
            self._run(hub, now)
        while heap and heap[0][2].scheduled != heap[0][0]:
            heapq.heappop(heap)
        if heap:
            self._arm(heap[0][0])

    def cancel_all(self) -> None:
        """Forget every session (the server stops)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._armed_at = math.inf
        self._heap.clear()


class Delivery:
    """Pumps the server's hubs: shared timers, or a task per hub with faults. `end(hub)` is
    called when a session is over (the server forgets it and closes what is attached)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, end: Callable[[Hub], None]) -> None:
        self._end = end
        self.timers = Timers(loop, self.pump_now)

    def wake(self, hub: Hub, now: float) -> None:
        """Have `hub`'s due events sent now (its own pump, or the shared timers)."""
        if hub.pump is not None:
            hub.wake()
        else:
            self.timers.schedule(hub, now)

    def pump_now(self, hub: Hub, now: float) -> None:
        """Send what `hub`'s core has due, synchronously, one write per connection; then ask
        the shared timers for the core's next deadline. A congested socket or a close hands
        the rest to a task that can wait."""
        if hub.ended or hub.busy:
            return
        core = hub.core
        outs = core.poll(now)
        if outs:
            events: list[dict[str, Any]] = []
            # Nothing is written until the batch goes out: congestion cannot change mid-loop.
            congested = _congested(hub)
            for index, out in enumerate(outs):
                if congested or isinstance(out, CloseConnection):
                    _write_batch(hub, events)
                    hub.busy = True
                    hub.sending = asyncio.get_running_loop().create_task(
                        self._send_async(hub, outs[index:])
                    )
                    return
                events.append(out)
            _write_batch(hub, events)
        deadline = core.next_deadline()
        if deadline is None:
            self._end(hub)
        elif not hub.ended:
            self.timers.schedule(hub, deadline)

    async def _send_async(self, hub: Hub, outs: list[dict[str, Any] | CloseConnection]) -> None:
        loop = asyncio.get_running_loop()
        try:
            for out in outs:
                if not await self.deliver(hub, out):
                    self._end(hub)
                    return
        finally:
            hub.busy = False
        if not hub.ended:
            self.wake(hub, loop.time())

    async def pump(self, hub: Hub) -> None:
        """The pump task of a session with faults: poll, deliver, sleep until the deadline."""
        loop = asyncio.get_running_loop()
        core = hub.core
        try:
            while not hub.ended:
                for out in core.poll(loop.time()):
                    if not await self.deliver(hub, out):
                        self._end(hub)
                        return
                deadline = core.next_deadline()
                if deadline is None:
                    self._end(hub)
                    return
                if deadline > loop.time():
                    await hub.sleep_until(loop, deadline)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - a bug in the core must not hang clients
            logger.exception("session %s failed", core.id)
            for connection in list(hub.connections):
                await connection.close(1011, "internal error")
            self._end(hub)

    async def deliver(self, hub: Hub, out: dict[str, Any] | CloseConnection) -> bool:
        """Send one core output to every connection, after the faults it triggers; False
        when the session is over."""
        if isinstance(out, CloseConnection):
            await hub.close_all(out.code, out.reason)
            return False
        for fault in hub.faults.on_event(str(out.get("type"))):
            if not await apply_fault(fault, hub):
                return False
        await hub.send_event(out)
        return True


def _congested(hub: Hub) -> bool:
    return any(c.transport.get_write_buffer_size() > WRITE_HIGH_WATER for c in hub.connections)


def _write_batch(hub: Hub, events: list[dict[str, Any]]) -> None:
    if not events:
        return
    ga: list[bytes] | None = None
    beta: list[bytes] | None = None
    for connection, dialect in list(hub.connections.items()):
        if dialect == "ga":
            if ga is None:
                ga = [orjson.dumps(event) for event in events]
            texts = ga
        else:
            if beta is None:
                beta = [text for event in events if (text := beta_text(event)) is not None]
            texts = beta
        if connection.protocol.state is not State.OPEN:
            hub.connections.pop(connection, None)
            continue
        protocol = connection.protocol
        if protocol.extensions or protocol.expect_continuation_frame or protocol.writes or protocol.debug:
            for text in texts:
                protocol.send_text(text)
            chunks = protocol.data_to_send()
            connection.transport.write(b"".join(chunks) if len(chunks) != 1 else chunks[0])
        else:
            # The common case (no extension, nothing queued): frame the texts here, which
            # is what `send_text` + `data_to_send` produce, without a Frame object each.
            connection.transport.write(text_frames(texts))
