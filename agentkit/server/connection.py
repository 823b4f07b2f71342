"""The server's WebSocket connection: HTTP methods other than GET, and the fast receive path.

`websockets`' HTTP parser only accepts GET, so `HttpConnection` lets a POST through by
reading its body itself and handing websockets the same request as a GET (the body kept on
the connection as `http_body`, the method as `http_method`): the HTTP routes (`http.py`)
then answer it like any other request. Once the WebSocket is open, whole client text frames
go straight to `on_message` (see `agentkit.transports.frames`), skipping websockets' message
assembler and a reader task per connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode

from ..transports.frames import DirectFrames, parser_idle

__all__ = ["MAX_HTTP_BODY", "HttpConnection"]

MAX_HTTP_BODY: Final = 1 << 20
"""The largest HTTP request (head and body) the server reads; larger ones are aborted."""

_DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


class HttpConnection(ServerConnection):
    """A `ServerConnection` that also accepts non-GET HTTP requests (see module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = bytearray()
        self._passthrough = False
        self.http_method = "GET"
        self.http_body = b""
        # Set by the server before the handshake completes: whole text messages go straight
        # to it from `data_received`, skipping websockets' message assembler and the wake-up
        # of a reader task per message (most of the receive cost at 10 appends/s/session).
        self.on_message: Callable[[bytes], None] | None = None
        self._fragments: list[bytes] = []
        # Whole, unfragmented, masked client data frames are parsed directly (see
        # `DirectFrames`) while websockets' parser is idle.
        self._direct = DirectFrames(masked=True)

    def _deliver(self, message: bytes, is_text: bool) -> bool:
        handler = self.on_message
        if handler is None:
            return False
        handler(message)
        return True

    def process_event(self, event: Any) -> None:
        handler = self.on_message
        if handler is None or not isinstance(event, Frame) or event.opcode not in _DATA_OPCODES:
            super().process_event(event)
            return
        if event.opcode is not Opcode.CONT:
            self._fragments = []
        self._fragments.append(bytes(event.data))
        if event.fin:
            message = self._fragments[0] if len(self._fragments) == 1 else b"".join(self._fragments)
            self._fragments = []
            handler(message)

    def data_received(self, data: bytes) -> None:
        if self._passthrough:
            direct = self._direct
            if direct.active or (self.on_message is not None and parser_idle(self.protocol)):
                direct.active = True  # until websockets' parser is left busy (see DirectFrames)
                direct.feed(data, self.protocol, self._deliver, super().data_received)
            else:
                super().data_received(data)
            return
        self._head += data
        if len(self._head) >= 4 and bytes(self._head[:4]) == b"GET ":
            self._passthrough = True
            buffered, self._head = bytes(self._head), bytearray()
            super().data_received(buffered)
            return
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HTTP_BODY:
                self.transport.abort()
            return
        lines = bytes(self._head[:end]).split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or b"0")
        if length > MAX_HTTP_BODY:
            self.transport.abort()
            return
        if len(self._head) < end + 4 + length:
            return
        method, _, rest = lines[0].partition(b" ")
        self.http_method = method.decode("ascii", "replace")
        self.http_body = bytes(self._head[end + 4 : end + 4 + length])
        kept = [line for line in lines[1:] if not line.lower().startswith((b"content-length:", b"transfer-encoding:"))]
        self._passthrough = True
        self._head = bytearray()
        super().data_received(b"\r\n".join([b"GET " + rest, *kept]) + b"\r\n\r\n")
