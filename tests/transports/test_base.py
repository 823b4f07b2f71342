"""`agentkit.transports.base`: the four-coroutine transport contract."""

from __future__ import annotations

from agentkit import errors
from agentkit.transports import (
    MemoryTransport,
    Transport,
    WebSocketTransport,
    memory_transport_pair,
)
from agentkit.transports.base import ConnectionClosed


class Minimal:
    """The least a transport needs: connect, send, receive, close."""

    async def connect(self) -> None: ...

    async def send(self, frame: str) -> None: ...

    async def receive(self) -> str | bytes:
        return ""

    async def close(self) -> None: ...


class NoClose:
    async def connect(self) -> None: ...

    async def send(self, frame: str) -> None: ...

    async def receive(self) -> str | bytes:
        return ""


async def test_anything_with_the_four_coroutines_is_a_transport() -> None:
    client, server = memory_transport_pair()
    assert isinstance(client, MemoryTransport) and isinstance(client, Transport)
    assert isinstance(WebSocketTransport("ws://127.0.0.1:9"), Transport)
    assert isinstance(Minimal(), Transport)
    assert not isinstance(NoClose(), Transport)
    await client.close()
    await server.close()


def test_the_contracts_connection_closed_is_the_one_exception() -> None:
    assert ConnectionClosed is errors.ConnectionClosed
    assert issubclass(ConnectionClosed, errors.TransportError)
