"""The server's connection: raw client frames through the direct receive path and websockets'."""

from __future__ import annotations

import asyncio

import orjson

from agentkit.server import LocalRealtimeServer


def _client_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A masked client frame, framed by hand (the server's fast receive path parses these)."""
    mask = b"\x01\x02\x03\x04"
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def _read_frames(reader: asyncio.StreamReader, until: bytes) -> list[tuple[int, bytes]]:
    frames: list[tuple[int, bytes]] = []
    while True:
        head = await asyncio.wait_for(reader.readexactly(2), 5)
        n = head[1] & 0x7F
        if n == 126:
            n = int.from_bytes(await reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await reader.readexactly(8), "big")
        frames.append((head[0] & 0x0F, await reader.readexactly(n)))
        if frames[-1][0] == 0x8 or until in frames[-1][1]:
            return frames


async def test_raw_frames_split_fragmented_and_interleaved_with_control_frames() -> None:
    """Client frames cut at every byte boundary, a fragmented message, a ping between data
    frames and a close all behave as websockets would have them."""
    async with LocalRealtimeServer(pace="fast") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"GET /v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer sk-test\r\n\r\n"
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        await _read_frames(reader, b"conversation.created")
        append = orjson.dumps({"type": "input_audio_buffer.append", "audio": "AAAA" * 1200})  # 126..64K
        commit = orjson.dumps({"type": "input_audio_buffer.commit"})
        stream = _client_frame(0x1, append) * 3 + _client_frame(0x9, b"hi") + _client_frame(0x1, append)
        for i in range(len(stream)):  # one byte at a time
            writer.write(stream[i : i + 1])
            if i % 97 == 0:
                await writer.drain()
                await asyncio.sleep(0)
        frames = await _read_frames(reader, b"hi")
        assert (0xA, b"hi") in frames  # the pong
        big = _client_frame(0x1, orjson.dumps({"type": "input_audio_buffer.append", "audio": "AAAA" * 20000}))  # > 64K
        for i in range(0, len(big), 1000):
            writer.write(big[i : i + 1000])
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(_client_frame(0x9, b"again"))
        frames = await _read_frames(reader, b"again")
        assert not any(b'"error"' in payload for _, payload in frames)
        # A fragmented commit (websockets' path), then a whole one (the fast path).
        writer.write(_client_frame(0x1, commit[:10], fin=False) + _client_frame(0x0, commit[10:]))
        frames = await _read_frames(reader, b"conversation.item.done")
        committed = [orjson.loads(p) for op, p in frames if op == 0x1 and b"input_audio_buffer.committed" in p]
        assert len(committed) == 1
        writer.write(_client_frame(0x1, b'{"type": "nope"}'))
        frames = await _read_frames(reader, b'"error"')
        assert orjson.loads(frames[-1][1])["error"]["param"] == "type"
        writer.write(_client_frame(0x8, (1000).to_bytes(2, "big")))
        frames = await _read_frames(reader, b"\x00never")
        assert frames[-1] == (0x8, (1000).to_bytes(2, "big"))
        writer.close()
