"""`agentkit.transports.memory`: the in-memory pair's frames, its close semantics on both
ends, and `ConnectionClosed` as the transport contract says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from agentkit.errors import ConnectionClosed
from agentkit.transports import MemoryServerEnd, MemoryTransport, Transport, memory_transport_pair

_open: list[tuple[MemoryTransport, MemoryServerEnd]] = []


async def connected() -> tuple[MemoryTransport, MemoryServerEnd]:
    client, server = memory_transport_pair()
    _open.append((client, server))
    await client.connect()
    return client, server


@pytest.fixture(autouse=True)
async def _close_both_ends() -> AsyncIterator[None]:
    yield
    while _open:
        client, server = _open.pop()
        await client.close()
        await server.close()


async def test_events_go_both_ways_in_order() -> None:
    client, server = await connected()
    assert isinstance(client, Transport) and client.connected
    await client.send('{"type": "session.update"}')
    await client.send('{"type": "response.create"}')
    assert (await server.receive_event())["type"] == "session.update"
    assert [e["type"] for e in server.drain()] == ["response.create"]
    assert server.drain() == []
    assert [e["type"] for e in server.received] == ["session.update", "response.create"]
    await server.send_event({"type": "response.created"})
    await server.send_frame(b"\x00raw")
    assert await client.receive() == '{"type":"response.created"}'
    assert await client.receive() == b"\x00raw"


async def test_receive_until_collects_up_to_the_type() -> None:
    client, server = await connected()
    for kind in ("a", "b", "c"):
        await client.send(f'{{"type": "{kind}"}}')
    assert [e["type"] for e in await server.receive_until("b")] == ["a", "b"]


async def test_a_server_close_is_clean_and_comes_after_what_was_sent() -> None:
    client, server = await connected()
    await server.send_event({"type": "last"})
    await server.close()
    assert await client.receive() == '{"type":"last"}'
    with pytest.raises(ConnectionClosed) as info:
        await client.receive()
    assert info.value.clean is True


async def test_an_abort_is_unclean_and_sending_to_it_fails() -> None:
    client, server = await connected()
    await server.abort()
    with pytest.raises(ConnectionClosed) as info:
        await client.receive()
    assert info.value.clean is False
    with pytest.raises(ConnectionClosed) as sent:
        await client.send("{}")
    assert sent.value.clean is False


async def test_a_client_close_ends_both_directions_and_is_safe_twice() -> None:
    client, server = await connected()
    await client.send('{"type": "before"}')
    await client.close()
    await client.close()
    assert client.closed
    # The server end reads what was already sent, then `ConnectionClosed`; it cannot send.
    assert (await server.receive_event())["type"] == "before"
    with pytest.raises(ConnectionClosed):
        await server.receive_event()
    with pytest.raises(ConnectionClosed):
        await server.send_event({"type": "late"})
    with pytest.raises(ConnectionClosed):
        await client.send("{}")
    with pytest.raises(ConnectionClosed):
        await client.connect()  # a closed transport does not open again


async def test_a_waiting_receive_wakes_on_close() -> None:
    client, server = await connected()
    errors: list[ConnectionClosed] = []

    async def wait() -> None:
        try:
            await client.receive()
        except ConnectionClosed as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.lowlevel.checkpoint()
        await server.close()
    assert [e.clean for e in errors] == [True]
