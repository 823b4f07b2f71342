"""The server's WebSocket connection: HTTP methods other than GET, and the fast receive path.

`websockets`' HTTP parser only accepts GET, so `HttpConnection` lets a POST through by
reading its body itself and handing websockets the same request as a GET (the body kept on
the connection as `http_body`, the method as `http_method`): the HTTP routes (`http.py`)
then answer it like any other request. Once the WebSocket is open, whole client text frames
go straight to `on_message` (see `agentkit.transports.frames`), skipping websockets' message
assembler and a reader task per connection.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode

from ..transports.frames import DirectFrames, parser_idle
from .errors import describe

__all__ = ["MAX_HTTP_BODY", "HttpConnection", "OneLineLogger", "parse_head"]

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
        self.rejected = False  # answered with an HTTP error before websockets saw the request
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
                self._refuse(431, "The request head is too large.", "request_header_too_large")
            return
        head = parse_head(bytes(self._head[:end]))
        if isinstance(head, str):
            self._refuse(400, head, "invalid_request")
            return
        method, target, kept, length = head
        if length > MAX_HTTP_BODY:
            self._refuse(413, f"The request body is larger than {MAX_HTTP_BODY} bytes.", "request_too_large")
            return
        if len(self._head) < end + 4 + length:
            return
        self.http_method = method
        self.http_body = bytes(self._head[end + 4 : end + 4 + length])
        self._passthrough = True
        self._head = bytearray()
        super().data_received(b"\r\n".join([b"GET " + target, *kept]) + b"\r\n\r\n")

    def _refuse(self, status: int, message: str, code: str) -> None:
        """Answer a request that cannot be parsed with a JSON error, log one line, close."""
        self.rejected = True
        self._head = bytearray()
        self._passthrough = True
        self.logger.info("bad HTTP request: %s (%d)", message, status)
        body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}})
        self.transport.write(
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )
        self.transport.close()


def parse_head(head: bytes) -> tuple[str, bytes, list[bytes], int] | str:
    """A non-GET request head as (method, the request line after it, the header lines to
    keep, body length), or
    why it is not a request the server reads."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[2].startswith(b"HTTP/1."):
        return "Malformed HTTP request line."
    length = 0
    kept: list[bytes] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        name = name.strip().lower()
        if not colon or not name:
            return "Malformed HTTP header line."
        if name == b"content-length":
            if not value.strip().isdigit():
                return "Content-Length must be a whole number of bytes."
            length = int(value.strip())
        elif name == b"transfer-encoding":
            return "Chunked request bodies are not supported; send a Content-Length."
        else:
            kept.append(line)
    return parts[0].decode("ascii"), parts[1] + b" " + parts[2], kept, length


class OneLineLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The logger handed to `websockets` for the server's connections: one line per record,
    never a traceback (an exception becomes `: Type: message` on the line), and a failed
    opening handshake (a client's bad request, a connect-and-close) at INFO, once: not at
    all when the connection already answered it (`HttpConnection._refuse`)."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        exc_info = kwargs.pop("exc_info", None)
        kwargs.pop("stack_info", None)
        handshake = msg == "opening handshake failed"
        if handshake:
            connection = (kwargs.get("extra") or {}).get("websocket")
            if getattr(connection, "rejected", False):
                return
            level = min(level, logging.INFO)
        if exc_info:
            exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info is True else exc_info[1]
            if exc is not None:
                msg = f"{msg}: " + describe(exc).replace("%", "%%")
        super().log(level, msg, *args, **kwargs)
