"""An in-memory transport pair: a session on one end, a test (or fake server) on the other.

Public test double. The server end speaks plain dicts: `await server.send_event({...})` to
play the service, `await server.receive_event()` / `server.received` to see what the client
sent.

```python
client, server = memory_transport_pair()
async with runner.session(client) as session:
    update = await server.receive_event()          # the session.update
    await server.send_event({"type": "response.created", "response": {"id": "resp_1"}})
```
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import orjson
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .base import ConnectionClosed

__all__ = ["MemoryServerEnd", "MemoryTransport", "memory_transport_pair"]


class _Link:
    """State both ends share: how the connection ended."""

    __slots__ = ("clean",)

    def __init__(self) -> None:
        self.clean = True


class MemoryTransport:
    """The client end: what the session is given as its transport."""

    def __init__(
        self,
        outbound: MemoryObjectSendStream[str],
        inbound: MemoryObjectReceiveStream[str | bytes],
        peer_outbound: MemoryObjectSendStream[str | bytes],
        link: _Link,
    ) -> None:
        self._link = link
        self._outbound = outbound
        self._inbound = inbound
        self._peer_outbound = peer_outbound
        self.connected = False
        self.closed = False

    async def connect(self) -> None:
        if self.closed:
            raise ConnectionClosed("the in-memory transport was closed")
        self.connected = True

    async def send(self, frame: str) -> None:
        if self.closed:
            raise ConnectionClosed("send on a closed in-memory transport")
        try:
            self._outbound.send_nowait(frame)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            raise ConnectionClosed("the server end is closed", clean=False) from exc

    async def receive(self) -> str | bytes:
        try:
            return await self._inbound.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            clean = self._link.clean
            message = "the server closed the connection" if clean else "the connection broke"
            raise ConnectionClosed(message, clean=clean) from exc

    async def close(self) -> None:
        if not self.closed:
            # Closing ends the connection for both sides: the server end reads what was
            # already sent, then `ConnectionClosed`; it can no longer send.
            self.closed = True
            self._outbound.close()
            self._inbound.close()
            self._peer_outbound.close()


class MemoryServerEnd:
    """The service's end of the pair, for tests and scripted fakes."""

    def __init__(
        self,
        outbound: MemoryObjectSendStream[str | bytes],
        inbound: MemoryObjectReceiveStream[str],
        link: _Link,
    ) -> None:
        self._link = link
        self._outbound = outbound
        self._inbound = inbound
        self.received: list[dict[str, Any]] = []
        """Every client event read so far, in order."""

    async def send_event(self, event: dict[str, Any]) -> None:
        """Deliver one server event to the client."""
        await self.send_frame(orjson.dumps(event).decode())

    async def send_frame(self, frame: str | bytes) -> None:
        """Deliver one raw frame (for malformed-input tests)."""
        try:
            await self._outbound.send(frame)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            raise ConnectionClosed("the client closed the connection") from exc

    async def receive_event(self) -> dict[str, Any]:
        """The next client event. Raises `ConnectionClosed` once the client closed."""
        try:
            frame = await self._inbound.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError) as exc:
            self._inbound.close()
            raise ConnectionClosed("the client closed the connection") from exc
        event: dict[str, Any] = orjson.loads(frame)
        self.received.append(event)
        return event

    async def receive_until(self, event_type: str) -> list[dict[str, Any]]:
        """Client events up to and including the first of `event_type`."""
        events: list[dict[str, Any]] = []
        while True:
            event = await self.receive_event()
            events.append(event)
            if event.get("type") == event_type:
                return events

    def drain(self) -> list[dict[str, Any]]:
        """Client events already sent and not read yet, without waiting."""
        events: list[dict[str, Any]] = []
        while True:
            try:
                frame = self._inbound.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return events
            event: dict[str, Any] = orjson.loads(frame)
            self.received.append(event)
            events.append(event)

    async def close(self) -> None:
        """Close the connection normally from the server side (like close code 1000)."""
        self._outbound.close()
        self._inbound.close()

    async def abort(self) -> None:
        """Drop the connection (like a network failure): the client's session fails."""
        self._link.clean = False
        await self.close()


def memory_transport_pair() -> tuple[MemoryTransport, MemoryServerEnd]:
    """A connected (client transport, server end) pair with unbounded buffers."""
    to_server_send, to_server_receive = anyio.create_memory_object_stream[str](math.inf)
    to_client_send, to_client_receive = anyio.create_memory_object_stream[str | bytes](math.inf)
    link = _Link()
    return (
        MemoryTransport(to_server_send, to_client_receive, to_client_send, link),
        MemoryServerEnd(to_client_send, to_server_receive, link),
    )
