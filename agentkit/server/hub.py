"""A live session on the server: its `ServerSession` core, its connections, how to reach them.

A `Hub` is what the server keeps per session id: the sans-I/O core, the fault plan, every
WebSocket attached (the primary connection and sideband `?call_id=` attaches, each in its
own dialect) and the pump's state. Its async `send_event` / `send_text` / `close_all` /
`abort_all` are the slow, awaitable way out (fault injection, backpressure, closing); the
fast path writes whole batches in `delivery.py`.

Another transport (WebRTC's data channel, a SIP or Twilio media stream) joins here: it is
one more kind of connection a hub fans its events out to.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from ..errors import CompileError
from ..protocol.dialects import Dialect, server_event_ga_to_beta
from .errors import error_body
from .faults import FaultPlan
from .session import ServerSession

__all__ = ["WRITE_HIGH_WATER", "Hub", "beta_text"]

WRITE_HIGH_WATER: Final = 1 << 16
"""Bytes queued on a socket past which the server waits for it to drain (backpressure)."""


@dataclass
class Hub:
    """One live session with its connections and its pump."""

    core: ServerSession
    faults: FaultPlan
    connections: dict[ServerConnection, Dialect] = field(default_factory=dict)
    pump: asyncio.Task[None] | None = None
    ended: bool = False
    # The pump sleeps on one future per cycle, resolved by a timer at the core's deadline or
    # early by `wake()` (cheaper than `asyncio.wait_for` at thousands of cycles a second).
    waiter: asyncio.Future[None] | None = None
    scheduled: float | None = None  # the deadline the shared timer holds for this session
    busy: bool = False  # an async send (backpressure, close) is under way: no timer pumping
    sending: asyncio.Task[None] | None = None  # that send, for `stop()` to cancel

    def wake(self) -> None:
        """End the pump's current `sleep_until` now."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def sleep_until(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Sleep until `deadline` on `loop`'s clock, or until `wake()`."""
        waiter = self.waiter = loop.create_future()
        timer = loop.call_at(deadline, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    # --- the awaitable way out (what the fault actions use) --------------------------------

    def now(self) -> float:
        """The event loop's clock, the one the core runs on."""
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        """Hold everything for `seconds` (a `wake()` does not cut it short)."""
        await asyncio.sleep(seconds)

    async def stall(self) -> None:
        """Send nothing more, with the connections left open, until the session ends."""
        loop = asyncio.get_running_loop()
        while not self.ended:
            await self.sleep_until(loop, loop.time() + 3600)

    def abort_all(self) -> None:
        """Drop every connection's TCP stream (no close frame)."""
        for connection in list(self.connections):
            connection.transport.abort()

    async def send_event(self, event: dict[str, Any]) -> None:
        """Send one GA event to every connection, rendered in its dialect."""
        ga_text: bytes | None = None
        beta: bytes | None = None
        for connection, dialect in list(self.connections.items()):
            if dialect == "ga":
                if ga_text is None:
                    ga_text = orjson.dumps(event)
                text = ga_text
            else:
                if beta is None:
                    beta = beta_text(event)
                    if beta is None:
                        continue
                text = beta
            try:
                await _send_text_frame(connection, text)
            except ConnectionClosed:
                self.connections.pop(connection, None)

    async def send_text(self, text: str) -> None:
        """Send one raw text frame to every connection (even one that is not JSON)."""
        for connection in list(self.connections):
            with contextlib.suppress(ConnectionClosed):
                await connection.send(text)

    async def close_all(self, code: int, reason: str) -> None:
        """Close every connection with `code` and `reason`."""
        for connection in list(self.connections):
            with contextlib.suppress(ConnectionClosed):
                await connection.close(code, reason)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _send_text_frame(connection: ServerConnection, utf8: bytes) -> None:
    """Send one text frame through websockets' sans-I/O protocol (its public `send_text` /
    `data_to_send`), skipping the per-message async machinery of `Connection.send`, which
    dominated the server's CPU under load. A full write buffer takes the regular path, which
    waits for the socket to drain, reading nothing from it meanwhile (backpressure)."""
    if connection.protocol.state is not State.OPEN:
        raise ConnectionClosed(None, None)
    transport = connection.transport
    if transport.get_write_buffer_size() > WRITE_HIGH_WATER:
        # A peer that does not read must not make the server queue without bound: every
        # client event can produce events to send (an `error` at least), so stop reading
        # from it until what is queued for it has drained.
        transport.pause_reading()
        try:
            await connection.send(utf8.decode())
        finally:
            transport.resume_reading()
        return
    connection.protocol.send_text(utf8)
    for data in connection.protocol.data_to_send():
        if data:
            transport.write(data)


def beta_text(event: dict[str, Any]) -> bytes | None:
    """`event` rendered in the beta dialect (`None`: beta has no such event)."""
    try:
        rendered = server_event_ga_to_beta(event)
    except CompileError as exc:
        rendered = {"type": "error", "event_id": event.get("event_id"), "error": error_body(str(exc), "unsupported_in_beta", param=exc.field)}
    return None if rendered is None else orjson.dumps(rendered)
