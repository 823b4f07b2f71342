"""The local server's GPT-Live endpoint: `/v1/live/sessions` over WebSocket, and sideband
`attach`.

Routes (the Azure-style `/openai` prefix works for each):

- `GET /v1/live/sessions` (WebSocket): a new Live session; the client sends `session.start`
  first. The model is in `session.start`, never in the URL: a `model` query is refused, as the
  service does.
- `GET /v1/live/sessions/{session_id}/attach` (WebSocket): a sideband connection to a started
  session (`client.live.sideband.connect(session_id=...)`); it gets the session's events,
  reflected caller audio and dated output audio, and may send every client event but
  `session.start`.

The session logic is the sans-I/O `LiveServerSession`; this module only pumps it: client
messages go into `receive`, and one task per session sends what `poll` has due, sleeping until
`next_deadline` or a message. A session ends when its primary connection closes, or with
`session.closed` (`session.close`, its maximum duration, or `close_session(reason)`), after
which every connection is closed.

WebRTC creation (`POST /v1/live/sessions` with an SDP offer) is not emulated: it answers 405.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..logs import get_logger
from .connection import HttpConnection
from .http import http_error, json_response
from .live_session import LiveServerSession, Outgoing
from .session import CloseConnection

if TYPE_CHECKING:
    from .app import LocalRealtimeServer

__all__ = ["LIVE_PATHS", "LiveEndpoint", "LiveHub"]

LIVE_PATHS: Final = ("/v1/live/sessions", "/openai/v1/live/sessions")
"""Where a Live WebSocket opens."""
_ATTACH: Final = re.compile(r"^(?:/openai)?/v1/live/sessions/([A-Za-z0-9_\-]+)/attach$")
_CLOSE_TIMEOUT_S: Final = 2.0
logger = get_logger("agentkit.server")


@dataclass
class LiveHub:
    """One Live session with its connections and its pump."""

    core: LiveServerSession
    primary: ServerConnection | None = None
    sidebands: set[ServerConnection] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass
class _Pending:
    session_id: str | None  # attach to this session; None: a new one
    early: list[bytes]


class LiveEndpoint:
    """The Live routes of a `LocalRealtimeServer` (see the module docs)."""

    def __init__(self, server: LocalRealtimeServer) -> None:
        self._server = server
        self.hubs: dict[str, LiveHub] = {}
        """Live sessions by id."""
        self._pending: dict[ServerConnection, _Pending] = {}

    @property
    def sessions(self) -> Mapping[str, LiveServerSession]:
        """The live sessions' cores by id."""
        return {sid: hub.core for sid, hub in self.hubs.items()}

    # --- routing ---------------------------------------------------------------------------------

    def route(self, path: str) -> bool:
        """Whether `path` is one of the Live routes."""
        return path in LIVE_PATHS or _ATTACH.match(path) is not None

    def owns(self, connection: ServerConnection) -> bool:
        """Whether `connection` was accepted by `process_request` here."""
        return connection in self._pending

    def process_request(
        self, connection: ServerConnection, request: Request, path: str, query: Mapping[str, list[str]], method: str
    ) -> Response | None:
        """Check a Live request: authentication, method, the session to attach to."""
        if method != "GET":
            return json_response(405, http_error("WebRTC creation of Live sessions is not emulated by the local server; open a WebSocket with GET.", "method_not_allowed"))
        keys = self._server.keys
        problem = keys.auth_error(keys.key_of(request, query))
        if problem is not None:
            return json_response(401, http_error(problem, "invalid_api_key"))
        if "model" in query:
            return json_response(400, http_error("Do not pass the model as a query parameter: send it in session.start.", "unknown_parameter", param="model"))
        attach = _ATTACH.match(path)
        session_id = attach.group(1) if attach else None
        if session_id is not None:
            hub = self.hubs.get(session_id)
            if hub is None or not hub.core.started or hub.core.closed:
                return json_response(404, http_error(f"No started Live session with id '{session_id}'.", "session_not_found", param="session_id"))
        early: list[bytes] = []
        if isinstance(connection, HttpConnection):
            # Messages that arrive before the handler runs wait here, in order.
            connection.on_message = early.append
        self._pending[connection] = _Pending(session_id, early)
        return None

    # --- sessions --------------------------------------------------------------------------------

    async def handle(self, connection: ServerConnection) -> None:
        """Run one accepted Live connection until it closes."""
        pending = self._pending.pop(connection)
        loop = asyncio.get_running_loop()
        sideband = pending.session_id is not None
        if sideband:
            found = self.hubs.get(pending.session_id or "")
            if found is None or found.core.closed:
                await connection.close(1008, "session ended")
                return
            hub = found
            hub.sidebands.add(connection)
            hub.core.sidebands += 1
        else:
            server = self._server
            core = LiveServerSession(
                model=server._model_factory(),
                now=loop.time(),
                options=server._options(None, "gpt-live-1"),
                wall_clock=time.time(),
            )
            hub = LiveHub(core, primary=connection)
            self.hubs[core.id] = hub
            hub.task = asyncio.create_task(self._pump(hub))
        core = hub.core

        def on_message(message: bytes) -> None:
            core.receive(message, loop.time(), sideband=sideband)
            hub.wake.set()

        try:
            if isinstance(connection, HttpConnection):
                connection.on_message = on_message
                for message in pending.early:
                    on_message(message)
                await connection.wait_closed()
            else:  # pragma: no cover - the server always creates HttpConnection
                async for text in connection:
                    on_message(text.encode() if isinstance(text, str) else text)
        except ConnectionClosed:
            pass
        finally:
            if sideband:
                hub.sidebands.discard(connection)
                core.sidebands -= 1
            else:
                # The primary connection is the session: without it, it ends.
                hub.primary = None
                await self._end(hub)

    def close_session(self, session_id: str, reason: str = "connection_lost") -> None:
        """End a session as the service would, with `session.closed` and `reason`
        (`expired`, `content`, `remote_hangup`, `connection_lost`): a fault to test with."""
        hub = self.hubs[session_id]
        hub.core.close(asyncio.get_running_loop().time(), reason)
        hub.wake.set()

    async def _pump(self, hub: LiveHub) -> None:
        loop = asyncio.get_running_loop()
        core = hub.core
        try:
            while True:
                hub.wake.clear()
                for out in core.poll(loop.time()):
                    if isinstance(out, CloseConnection):
                        await self._close_all(hub, out.code, out.reason)
                        return
                    await self._send(hub, out)
                deadline = core.next_deadline()
                if deadline is None:
                    return
                timeout = max(0.0, deadline - loop.time()) if deadline != float("inf") else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hub.wake.wait(), timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # pragma: no cover - a bug: end the session, keep the server
            logger.warning("live session %s failed: %s", core.id, exc)
            await self._close_all(hub, 1011, "server error")

    async def _send(self, hub: LiveHub, out: Outgoing) -> None:
        text = orjson.dumps(out.event).decode()
        targets: list[ServerConnection] = []
        if out.audience != "sideband" and hub.primary is not None:
            targets.append(hub.primary)
        if out.audience != "primary":
            targets.extend(hub.sidebands)
        for connection in targets:
            with contextlib.suppress(ConnectionClosed):
                await connection.send(text)

    async def _close_all(self, hub: LiveHub, code: int, reason: str) -> None:
        self.hubs.pop(hub.core.id, None)
        for connection in [c for c in (hub.primary, *hub.sidebands) if c is not None]:
            with contextlib.suppress(ConnectionClosed):
                await connection.close(code, reason)

    async def _end(self, hub: LiveHub) -> None:
        self.hubs.pop(hub.core.id, None)
        task = hub.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for connection in list(hub.sidebands):
            with contextlib.suppress(ConnectionClosed):
                await connection.close(1000, "session ended")

    async def stop(self) -> None:
        """End every Live session (the server is stopping)."""
        for hub in list(self.hubs.values()):
            for connection in [c for c in (hub.primary, *hub.sidebands) if c is not None]:
                connection.transport.abort()
            await self._end(hub)

