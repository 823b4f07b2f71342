"""The raw floor: a realtime client on bare asyncio sockets, the least any client can do.

`bench/runtime.py`'s *floor* client uses the `websockets` library's receive path (its frame
parser, its queue, its `async for`); agentkit parses frames itself and can measure at or below
it. This one has no library between the socket and the JSON: an `asyncio.Protocol`, the
WebSocket handshake written once, frames cut out of the read buffer by hand (the server's are
unmasked; ours carry the all-zero mask, which RFC 6455 allows and which makes masking a
no-op), orjson for JSON. It answers each tool call at once and asks for the next response on
`response.done`, like the floor, and stamps its own socket: *in* when `data_received` gets the
bytes holding `arguments.done`, *out* right after `transport.write` of the frame.

Only what the benchmark needs: no fragmentation, no ping handling beyond answering pongs,
no TLS (loopback).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

__all__ = ["tool_raw_session"]

_ZERO_MASK = b"\x00\x00\x00\x00"


def _frame(payload: bytes) -> bytes:
    """One masked (all-zero key) text frame, FIN set."""
    size = len(payload)
    if size < 126:
        head = bytes((0x81, 0x80 | size))
    elif size < 65536:
        head = bytes((0x81, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0x80 | 127)) + size.to_bytes(8, "big")
    return head + _ZERO_MASK + payload


class _RawClient(asyncio.Protocol):
    def __init__(self, done: asyncio.Future[int]) -> None:
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handshaken = False
        self.answered = 0
        self.pending = False
        self.samples: list[tuple[float, float, float]] = []
        self._args_done = self._response_done = self._output = 0.0
        self._waiting = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, payload: bytes, kind: str = "") -> None:
        assert self.transport is not None
        self.transport.write(_frame(payload))
        if kind and self._waiting:
            now = time.perf_counter()
            if kind == "output":
                self._output = now
            else:
                self._waiting = False
                self.samples.append(
                    (self._output - self._args_done, now - self._args_done, now - self._response_done)
                )

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if b'"response.function_call_arguments.done"' in data:
            self._args_done, self._output, self._waiting = now, 0.0, True
        if b'"response.done"' in data:
            self._response_done = now
        buffer = self.buffer
        buffer += data
        if not self.handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.done.set_exception(RuntimeError(bytes(buffer[:200]).decode(errors="replace")))
                return
            del buffer[: end + 4]
            self.handshaken = True
            self.start()
        while len(buffer) >= 2:
            opcode, size = buffer[0] & 0x0F, buffer[1] & 0x7F
            at = 2
            if size == 126:
                if len(buffer) < 4:
                    return
                size, at = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                if len(buffer) < 10:
                    return
                size, at = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < at + size:
                return
            payload = bytes(buffer[at : at + size])
            del buffer[: at + size]
            if opcode == 0x1:
                self.on_text(payload)
            elif opcode == 0x9:  # ping: answer with a pong of the same payload
                assert self.transport is not None
                self.transport.write(bytes((0x8A, 0x80 | len(payload))) + _ZERO_MASK + payload)
            elif opcode == 0x8 and not self.done.done():
                self.done.set_result(self.answered)

    def start(self) -> None:
        user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}
        self.send(orjson.dumps({"type": "conversation.item.create", "item": user}))
        self.send(b'{"type":"response.create"}')

    def on_text(self, frame: bytes) -> None:
        if frame.startswith(b'{"type":"response.output_audio'):
            return
        event = orjson.loads(frame)
        kind = event["type"]
        if kind == "response.output_item.done" and event["item"]["type"] == "function_call":
            output = {"type": "function_call_output", "call_id": event["item"]["call_id"], "output": "ok"}
            self.send(orjson.dumps({"type": "conversation.item.create", "item": output}), "output")
            self.pending = True
        elif kind == "response.done":
            if not self.pending:
                if not self.done.done():
                    self.done.set_result(self.answered)
                return
            self.pending = False
            self.answered += 1
            self.send(b'{"type":"response.create"}', "create")

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.answered)


async def tool_raw_session(url: str) -> tuple[int, list[tuple[float, float, float]]]:
    """One session of the tool workload; (calls answered, socket-stamped samples)."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    transport, client = await loop.create_connection(
        lambda: _RawClient(done), parts.hostname, parts.port
    )
    key = base64.b64encode(os.urandom(16)).decode()
    target = (parts.path or "/") + "?" + (parts.query or "model=gpt-realtime")
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Authorization: Bearer x\r\n\r\n"
    )
    transport.write(request.encode())
    try:
        answered = await asyncio.wait_for(done, 120)
    finally:
        transport.close()
    return answered, client.samples


def _main(argv: list[str] | None = None) -> Any:  # a smoke run against a local server
    import argparse
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agentkit.server import LocalRealtimeServer

    parser = argparse.ArgumentParser(description="raw-floor smoke run")
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)

    async def run() -> None:
        steps = [{"call": "ping", "arguments": {}}] * args.calls
        script = {"turns": [{"user": "go", "mode": "text", "steps": [*steps, {"say": "Done."}]}]}
        async with LocalRealtimeServer(script=script, pace="fast") as server:
            answered, samples = await tool_raw_session(server.url)
        print(f"{answered} calls, {len(samples)} samples")

    asyncio.run(run())


if __name__ == "__main__":
    _main()
