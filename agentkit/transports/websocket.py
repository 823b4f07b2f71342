"""The WebSocket transport (`websockets` asyncio client), for OpenAI and compatible servers.

GA: `wss://api.openai.com/v1/realtime?model=...` with `Authorization: Bearer <key>`.
Beta adds `OpenAI-Beta: realtime=v1`. `websockets` exceptions are mapped to
`TransportError` / `ConnectionClosed` here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection, connect

from ..dialects import Dialect
from ..errors import TransportError
from .base import ConnectionClosed

__all__ = ["OPENAI_REALTIME_URL", "WebSocketTransport", "realtime_url"]

OPENAI_REALTIME_URL = "wss://api.openai.com/v1/realtime"


def realtime_url(model: str, base: str = OPENAI_REALTIME_URL) -> str:
    """`base?model=<model>`, the OpenAI WebSocket endpoint for a model."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode({'model': model})}"


class WebSocketTransport:
    """One WebSocket connection to a realtime endpoint.

    Args:
        url: The full endpoint URL (see `realtime_url`).
        api_key: Sent as `Authorization: Bearer <key>` unless `headers` sets `Authorization`.
        dialect: `"beta"` adds the `OpenAI-Beta: realtime=v1` header.
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
        self._ws: ClientConnection | None = None

    async def connect(self) -> None:
        try:
            self._ws = await connect(
                self.url,
                additional_headers=self.headers,
                open_timeout=self._open_timeout,
                max_size=self._max_size,
            )
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
        try:
            return await ws.recv()
        except websockets.exceptions.ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    def _require(self) -> ClientConnection:
        if self._ws is None:
            raise ConnectionClosed("not connected", clean=False)
        return self._ws


def _closed(exc: websockets.exceptions.ConnectionClosed) -> ConnectionClosed:
    code = exc.rcvd.code if exc.rcvd is not None else None
    clean = isinstance(exc, websockets.exceptions.ConnectionClosedOK)
    return ConnectionClosed(f"connection closed ({code})", clean=clean, code=code)
