"""`WebSocketTransport` against a server that writes its frames by hand.

The transport parses whole frames itself while `websockets`' parser is idle and hands
everything else back to it (see `agentkit/transports/frames.py`, tested on its own in `test_frames.py`). These tests split,
fragment and interleave frames the way a real network and server can, and check that every
message arrives whole, once and in order, that control frames are still answered, and that
protocol errors still close the connection with the right code.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection, serve

from agentkit.errors import TransportError
from agentkit.transports import ConnectionClosed, WebSocketTransport

Handler = Callable[[ServerConnection], Awaitable[None]]


def frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """An unmasked server frame."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + n.to_bytes(2, "big")
    else:
        head += bytes([127]) + n.to_bytes(8, "big")
    return head + payload


def text(message: str) -> bytes:
    return frame(0x1, message.encode())


async def write_in_chunks(ws: ServerConnection, data: bytes, sizes: list[int]) -> None:
    """Write `data` as separate socket writes of the given sizes (the rest at the end)."""
    pos = 0
    for size in sizes:
        ws.transport.write(data[pos : pos + size])
        pos += size
        await asyncio.sleep(0.001)  # a separate read on the client side
    if pos < len(data):
        ws.transport.write(data[pos:])


async def open_pair(handler: Handler, **options: int) -> tuple[WebSocketTransport, object]:
    server = await serve(handler, "127.0.0.1", 0, compression=None)
    port = server.sockets[0].getsockname()[1]
    transport = WebSocketTransport(f"ws://127.0.0.1:{port}/", **options)  # type: ignore[arg-type]
    await transport.connect()
    return transport, server


async def receive_all(transport: WebSocketTransport, count: int) -> list[str | bytes]:
    return [await asyncio.wait_for(transport.receive(), 5) for _ in range(count)]


MESSAGES: list[str | bytes] = [
    '{"type":"response.created"}',
    "é" * 200,  # multi-byte UTF-8, a 16-bit length
    "x" * 70_000,  # a 64-bit length
    b"\x00\x01binary\xff",
    "",  # an empty text frame
    '{"type":"response.done"}',
]


def encoded(message: str | bytes) -> bytes:
    if isinstance(message, bytes):
        return frame(0x2, message)
    return text(message)


@pytest.mark.parametrize("seed", range(6))
async def test_messages_arrive_whole_and_in_order_however_the_stream_is_split(seed: int) -> None:
    stream = b"".join(encoded(m) for m in MESSAGES * 3)
    rng = random.Random(seed)
    # 1-byte reads, header-splitting reads, and reads spanning several frames.
    sizes = [rng.choice([1, 2, 3, 7, 100, 5000, 40_000]) for _ in range(40)]
    greeted = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        ws.transport.write(text("session.created"))  # as a service greets, in one write
        await greeted.wait()
        await write_in_chunks(ws, stream, sizes)
        await ws.wait_closed()

    transport, server = await open_pair(handler)
    try:
        assert await receive_all(transport, 1) == ["session.created"]
        greeted.set()
        assert await receive_all(transport, len(MESSAGES) * 3) == MESSAGES * 3
        # Plain frames only: all parsed directly (fails if a websockets release changed the
        # parser state that `parser_idle` checks, which would make every read slower).
        assert transport._require()._direct.active
    finally:
        await transport.close()
        server.close()  # type: ignore[attr-defined]


async def test_fragments_and_pings_between_whole_frames_keep_the_order() -> None:
    pong_seen = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        ws.transport.write(text("one") + frame(0x1, b"tw", fin=False))
        pong = await ws.ping(b"probe")  # a control frame in the middle of a fragmented message
        ws.transport.write(frame(0x0, b"o", fin=True) + text("three"))
        await asyncio.wait_for(pong, 5)  # the client answered while parsing directly
        pong_seen.set()
        ws.transport.write(text("four") + frame(0x9, b"again") + text("five"))
        await ws.wait_closed()

    transport, server = await open_pair(handler)
    try:
        assert await receive_all(transport, 5) == ["one", "two", "three", "four", "five"]
        await asyncio.wait_for(pong_seen.wait(), 5)
        # Each control frame and fragment went to websockets alone: parsing is direct again.
        assert transport._require()._direct.active
    finally:
        await transport.close()
        server.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("bad_frame", "max_size", "code"),
    [
        pytest.param(frame(0x1, b"\xff\xfe"), 1 << 20, 1007, id="invalid UTF-8"),
        pytest.param(text("y" * 2000), 1000, 1009, id="over max_size"),
    ],
)
async def test_a_bad_frame_closes_with_its_code_after_the_messages_before_it(
    bad_frame: bytes, max_size: int, code: int
) -> None:
    async def handler(ws: ServerConnection) -> None:
        ws.transport.write(text("fine") + bad_frame + text("never"))
        await ws.wait_closed()

    transport, server = await open_pair(handler, max_size=max_size)
    try:
        assert await receive_all(transport, 1) == ["fine"]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(transport.receive(), 5)
        assert closed.value.code == code
    finally:
        await transport.close()
        server.close()  # type: ignore[attr-defined]


async def test_a_server_close_comes_after_every_message_sent_before_it() -> None:
    async def handler(ws: ServerConnection) -> None:
        ws.transport.write(b"".join(text(f"m{i}") for i in range(50)))
        await ws.close(1000, "bye")

    transport, server = await open_pair(handler)
    try:
        assert await receive_all(transport, 50) == [f"m{i}" for i in range(50)]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(transport.receive(), 5)
        assert closed.value.clean and closed.value.code == 1000
    finally:
        await transport.close()
        server.close()  # type: ignore[attr-defined]


async def test_reading_pauses_while_the_app_falls_behind_and_nothing_is_lost() -> None:
    count = 2000

    async def handler(ws: ServerConnection) -> None:
        for start in range(0, count, 100):
            ws.transport.write(b"".join(text(f"event {i}") for i in range(start, start + 100)))
            await asyncio.sleep(0.002)
        await ws.wait_closed()

    transport, server = await open_pair(handler)
    try:
        connection = transport._require()
        for _ in range(100):
            if connection.reading_paused:
                break
            await asyncio.sleep(0.01)
        assert connection.reading_paused, "a flood the app does not read must pause the socket"
        queued = len(connection.inbox)
        assert queued < count
        assert await receive_all(transport, count) == [f"event {i}" for i in range(count)]
        assert not connection.reading_paused
    finally:
        await transport.close()
        server.close()  # type: ignore[attr-defined]


async def test_two_readers_at_once_is_an_error() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    transport, server = await open_pair(handler)
    try:
        first = asyncio.create_task(transport.receive())
        await asyncio.sleep(0.01)
        with pytest.raises(TransportError, match="already waiting"):
            await transport.receive()
        first.cancel()
    finally:
        await transport.close()
        server.close()  # type: ignore[attr-defined]
