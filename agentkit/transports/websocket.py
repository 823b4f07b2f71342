"""The WebSocket transport (`websockets` asyncio client), for OpenAI and compatible servers.

GA: `wss://api.openai.com/v1/realtime?model=...` with `Authorization: Bearer <key>`.
Beta adds `OpenAI-Beta: realtime=v1`. `websockets` exceptions are mapped to
`TransportError` / `ConnectionClosed` here and nowhere else.

Inbound messages do not go through `websockets`' `recv()`: whole frames are parsed as they
arrive (`DirectFrames`, with `websockets`' own parser for everything else) into a queue
that `receive()` pops without a wake-up while it is not empty. A burst of a response's
twenty events then costs the client a fraction of what the parser generator, the message
assembler and a future per message did.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State

from ..errors import TransportError
from ..logs import get_logger
from ..protocol.dialects import Dialect
from .base import ConnectionClosed
from .frames import DirectFrames, parser_idle

__all__ = ["OPENAI_LIVE_URL", "OPENAI_REALTIME_URL", "WebSocketTransport", "realtime_url"]

OPENAI_REALTIME_URL = "wss://api.openai.com/v1/realtime"
OPENAI_LIVE_URL = "wss://api.openai.com/v1/live/sessions"
"""GPT-Live's WebSocket endpoint: no query (the model goes in `session.start`)."""
_WIRE_LOGGER = get_logger("agentkit.transports.websocket")


def realtime_url(model: str, base: str = OPENAI_REALTIME_URL) -> str:
    """`base?model=<model>`, the OpenAI WebSocket endpoint for a model."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode({'model': model})}"


class WebSocketTransport:
    """One WebSocket connection to a realtime endpoint.

    Args:
        url: The full endpoint URL (see `realtime_url`).
        api_key: Sent as `Authorization: Bearer <key>` unless `headers` sets `Authorization`.
        dialect: `"beta"` adds the `OpenAI-Beta: realtime=v1` header; `"live"` is recorded
            (the runner checks it) and needs a Live URL (`OPENAI_LIVE_URL`).
        headers: Extra headers (e.g. Azure's `api-key`).
        open_timeout: Seconds for the handshake.
        max_size: Largest inbound frame in bytes (audio deltas are far smaller).
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        dialect: Dialect = "ga",
        headers: Mapping[str, str] | None = None,
        open_timeout: float = 10.0,
        max_size: int = 16 * 1024 * 1024,
    ) -> None:
        self.url = url
        self.dialect = dialect
        merged: dict[str, str] = {}
        if api_key is not None:
            merged["Authorization"] = f"Bearer {api_key}"
        if dialect == "beta":
            merged["OpenAI-Beta"] = "realtime=v1"
        merged.update(headers or {})
        self.headers = merged
        self._open_timeout = open_timeout
        self._max_size = max_size
        self._ws: _Connection | None = None

    async def connect(self) -> None:
        try:
            ws = await connect(
                self.url,
                additional_headers=self.headers,
                open_timeout=self._open_timeout,
                max_size=self._max_size,
                create_connection=_Connection,
                # Its DEBUG records show every header: this logger redacts the key.
                logger=_WIRE_LOGGER,
            )
            assert isinstance(ws, _Connection)
            self._ws = ws
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            raise TransportError(f"cannot connect to {self.url}: {exc}") from exc

    async def send(self, frame: str) -> None:
        ws = self._require()
        try:
            await ws.send(frame)
        except websockets.exceptions.ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def receive(self) -> str | bytes:
        ws = self._require()
        inbox = ws.inbox
        if not inbox:
            try:
                await ws.wait_message()
            except websockets.exceptions.ConnectionClosed as exc:
                raise _closed(exc) from exc
        message = inbox.popleft()
        if ws.reading_paused and len(inbox) <= _LOW_WATER:
            ws.resume()
        return message

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    def _require(self) -> _Connection:
        if self._ws is None:
            raise ConnectionClosed("not connected", clean=False)
        return self._ws


# Messages queued before the socket stops being read (the app fell behind), and the level at
# which reading resumes: about 1.5 MB of audio deltas, far more than a burst.
_HIGH_WATER = 256
_LOW_WATER = 64
_DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


class _Connection(ClientConnection):
    """`websockets`' client connection, its inbound messages queued in `inbox`.

    Frames reach the queue two ways, in stream order: parsed directly (`DirectFrames`) while
    `websockets`' parser is idle, or parsed by `websockets` (control frames, fragments, a
    compressed stream), whose data frames `process_event` assembles here instead of in its
    message assembler.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox: deque[str | bytes] = deque()
        self.reading_paused = False
        self._direct = DirectFrames(masked=False)
        self._fragments: list[bytes] = []
        self._fragmented_text = False
        self._failed = False
        self._waiter: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        direct = self._direct
        if direct.active or parser_idle(self.protocol):
            direct.active = True  # until websockets' parser is left busy (see DirectFrames)
            direct.feed(data, self.protocol, self._deliver, super().data_received)
        else:
            super().data_received(data)

    def _deliver(self, payload: bytes, is_text: bool) -> bool:
        if is_text:
            try:
                message: str | bytes = payload.decode()
            except UnicodeDecodeError:
                return False  # websockets fails the connection with 1007
        else:
            message = payload
        self._push(message)
        return True

    def process_event(self, event: Any) -> None:
        if not isinstance(event, Frame) or event.opcode not in _DATA_OPCODES:
            super().process_event(event)  # the handshake, pings, pongs, close
            return
        if self._failed:
            return  # we failed the connection (invalid UTF-8): nothing after it is read
        if event.opcode is not Opcode.CONT:
            self._fragments = []
            self._fragmented_text = event.opcode is Opcode.TEXT
        self._fragments.append(bytes(event.data))
        if not event.fin:
            return
        payload = b"".join(self._fragments)
        self._fragments = []
        if not self._fragmented_text:
            self._push(payload)
            return
        try:
            self._push(payload.decode())
        except UnicodeDecodeError as exc:
            self._failed = True
            self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            self.send_data()

    def _push(self, message: str | bytes) -> None:
        inbox = self.inbox
        inbox.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(inbox) >= _HIGH_WATER and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        self.reading_paused = False
        if self.protocol.state is not State.CLOSED:
            self.transport.resume_reading()

    async def wait_message(self) -> None:
        """Until `inbox` has a message; raises `websockets`' `ConnectionClosed` once the
        connection is closed and every message before the close was taken."""
        if self._waiter is not None:
            raise TransportError("receive() is already waiting on this connection")
        while not self.inbox:
            if self.protocol.state is State.CLOSED:
                await asyncio.shield(self.connection_lost_waiter)
                raise self.protocol.close_exc from getattr(self, "recv_exc", None)
            waiter = self._waiter = self.loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _closed(exc: websockets.exceptions.ConnectionClosed) -> ConnectionClosed:
    # The peer's code; when we closed first (a protocol error on our side: 1007, 1009...)
    # and heard nothing back, ours.
    frame = exc.rcvd if exc.rcvd is not None else exc.sent
    code = frame.code if frame is not None else None
    clean = isinstance(exc, websockets.exceptions.ConnectionClosedOK)
    return ConnectionClosed(f"connection closed ({code})", clean=clean, code=code)
