"""The transport contract: four coroutines that move text frames, nothing more.

A transport does no protocol work. It opens a connection, sends the frames the supervisor
produced, hands back the frames that arrived and closes; reconnect policy, timers and
backpressure live in the runtime. Foreign exceptions (from `websockets`, sockets) are mapped
to `TransportError` / `ConnectionClosed` here, at the boundary.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..errors import ConnectionClosed

__all__ = ["ConnectionClosed", "Transport"]


@runtime_checkable
class Transport(Protocol):
    """What a session needs from a connection to a realtime service."""

    async def connect(self) -> None:
        """Open the connection. Raises `TransportError` when it cannot be opened."""
        ...

    async def send(self, frame: str) -> None:
        """Send one text frame. Raises `ConnectionClosed` once the connection is closed."""
        ...

    async def receive(self) -> str | bytes:
        """The next inbound frame. Raises `ConnectionClosed` when no more will come."""
        ...

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        ...
