"""The local realtime server: a `websockets` asyncio server pumping `ServerSession`s.

Everything protocol-shaped lives in the sans-I/O `ServerSession` (`session.py`); this
module only wires the I/O parts together:

- `process_request` routes every request: the plain HTTP routes (`http.py`), or a realtime
  WebSocket (`http.WEBSOCKET_PATHS`), authenticated by the `KeyStore` (`keys.py`), in the
  dialect its path, header or subprotocol asks for;
- `_handle` opens a session (or attaches a sideband connection to a live one by `call_id`)
  and feeds it: client messages go from `data_received` (`connection.py`) straight into the
  core, and `Delivery` (`delivery.py`) sends what the core has due.

Where the next endpoints plug in: an HTTP endpoint (WebRTC's SDP exchange, a SIP or Twilio
webhook) is an entry of `_http_routes`; a transport that is not this WebSocket (a WebRTC
data channel, a media stream) opens or joins a `Hub` (`hub.py`) as `_handle` does and feeds
its core the same way; a store shared across processes (Redis) replaces `_hubs`' lookups
and the `KeyStore`'s minted keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from ..audio import SpeechEngine
from ..logs import get_logger
from ..protocol.dialects import Dialect
from .connection import HttpConnection, OneLineLogger
from .delivery import Delivery
from .errors import ClientError
from .faults import Fault, FaultPlan
from .http import (
    BETA_PROTOCOL,
    SECRET_PATHS,
    WEBSOCKET_PATHS,
    HttpRequest,
    HttpRoute,
    client_secrets,
    healthz,
    http_error,
    json_response,
)
from .hub import Hub
from .keys import KeyStore
from .live_app import LiveEndpoint
from .mcp_client import start_mcp_requests
from .model import ResponseModel, ScriptedModel
from .script import Script, load_script
from .session import ServerSession
from .session_config import Pace, ResponseLatency, SessionOptions, without_type
from .sip import SipEndpoint, SipHub
from .webrtc import CallHub, WebRTCEndpoint

__all__ = ["LocalRealtimeServer", "ModelFactory"]

ModelFactory = Callable[[], ResponseModel]
"""Makes the `ResponseModel` of each new session."""


@dataclass
class _Attach:
    """What `process_request` learned about a WebSocket request, for the handler."""

    dialect: Dialect
    model: str | None
    call_id: str | None
    session: Mapping[str, Any] | None
    session_id: str | None


_CLOSE_TIMEOUT_S = 2.0  # how long `stop()` waits for connections to close cleanly

class LocalRealtimeServer:
    """A local server speaking the OpenAI Realtime protocol (GA and beta) over WebSocket.

    ```python
    async with LocalRealtimeServer(script="conversation.yaml", pace="fast") as server:
        client = AsyncOpenAI(api_key="x", websocket_base_url=server.base_url_ws)
        async with client.realtime.connect(model="gpt-realtime") as conn: ...
    ```

    Args:
        script: a conversation script (path, YAML text, dict or `Script`) for the default
            `ScriptedModel`; its `faults:` are added to `faults`.
        model: a factory of `ResponseModel`s (one per session), instead of `script`.
        host: where to listen.
        port: where to listen; 0 picks a free port (see `port`, `url`).
        pace: `"realtime"` streams audio deltas as fast as they would play; `"fast"` sends
            everything at once (tests).
        api_keys: accepted API keys; `None` accepts any key (a key is still required).
        faults: faults injected into the sessions (see `agentkit.server.faults`): every
            session, or the ones a fault's `sessions` lists (1 = the first session opened).
        max_session_duration_s: when sessions end with `session_expired` (default 60 min).
        response_latency: the model's delay before each response's first output (a
            `ResponseLatency`, or milliseconds); `None`: the script's `response_latency_ms`,
            else 300-700 ms at real-time pace and none at fast pace.
    """

    def __init__(
        self,
        *,
        script: str | Path | Mapping[str, Any] | Script | None = None,
        model: ModelFactory | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        pace: Pace = "realtime",
        api_keys: Iterable[str] | None = None,
        faults: Sequence[Fault] = (),
        max_session_duration_s: float = 3600.0,
        audio_chunk_ms: int = 100,
        words_per_minute: int = 165,
        speech_engine: SpeechEngine = "auto",
        response_latency: ResponseLatency | float | None = None,
    ) -> None:
        if script is not None and model is not None:
            raise ValueError("pass either script= or model=, not both")
        self.script = load_script(script) if script is not None else Script(turns=())
        loaded = self.script
        self._model_factory: ModelFactory = model or (lambda: ScriptedModel(loaded))
        self.host = host
        self._requested_port = port
        self.pace: Pace = pace
        self.keys = KeyStore(api_keys)
        """API keys and the ephemeral keys minted so far."""
        self.faults = tuple(faults) + self.script.faults
        self.max_session_duration_s = max_session_duration_s
        self.audio_chunk_ms = audio_chunk_ms
        self.words_per_minute = words_per_minute
        self.speech_engine: SpeechEngine = speech_engine
        if isinstance(response_latency, (int, float)):
            response_latency = ResponseLatency.fixed(float(response_latency))
        self.response_latency = response_latency or self.script.response_latency
        self._server: Server | None = None
        self._hubs: dict[str, Hub] = {}
        self._attach: dict[ServerConnection, _Attach] = {}
        self._early: dict[ServerConnection, list[bytes]] = {}
        self._opened = 0  # sessions opened so far: the ordinal `Fault.sessions` refers to
        self._delivery: Delivery | None = None
        secrets: HttpRoute = lambda request: client_secrets(request, self.keys, self._preview)  # noqa: E731
        self._http_routes: dict[str, HttpRoute] = {
            "/healthz": lambda request: healthz(len(self._hubs)),
            **{path: secrets for path in SECRET_PATHS},
        }
        self.webrtc = WebRTCEndpoint(self)
        """The WebRTC endpoint (`POST /v1/realtime/calls`): its live calls and media faults."""
        self.sip = SipEndpoint(self)
        """The phone network: `sip.place_call(...)` rings an app; `/calls/{id}/accept|...`."""
        self.live = LiveEndpoint(self)
        """The GPT-Live endpoint (`/v1/live/sessions`): its sessions, `close_session`."""

    @property
    def api_keys(self) -> frozenset[str] | None:
        """The accepted API keys (`None`: any key)."""
        return self.keys.api_keys

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening."""
        self._delivery = Delivery(asyncio.get_running_loop(), self._end)
        self._server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            create_connection=HttpConnection,
            max_size=16 * 1024 * 1024,
            # Base64 audio barely compresses; permessage-deflate cost 70 % of the server's CPU
            # under load (bench/server_load.py) for ~25 % fewer bytes on loopback.
            compression=None,
            ping_interval=None,
            # Redacts keys in headers; one line per record, a bad request's at INFO.
            logger=OneLineLogger(get_logger("agentkit.server.websockets"), {}),
        )

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is None:
            return
        await self.webrtc.close()
        await self.sip.close()
        await self.live.stop()
        for hub in list(self._hubs.values()):
            if hub.pump is not None:
                hub.pump.cancel()
            if hub.sending is not None:
                # A send waiting for a peer that stopped reading would hold its connection's
                # close (and `wait_closed`) forever.
                hub.sending.cancel()
        self._server.close()
        try:
            # A closing handshake waits for the socket to drain, which a client that stopped
            # reading never lets happen: past a bound, abort such connections.
            async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                await self._server.wait_closed()
        except TimeoutError:
            # (`Server.connections` no longer lists a connection that began closing.)
            for hub in list(self._hubs.values()):
                for connection in list(hub.connections):
                    connection.transport.abort()
            for connection in list(self._server.connections):
                connection.transport.abort()
            await self._server.wait_closed()
        for hub in list(self._hubs.values()):
            if hub.pump is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await hub.pump
        if self._delivery is not None:
            self._delivery.timers.cancel_all()
        self._server = None

    async def __aenter__(self) -> LocalRealtimeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Run until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked)."""
        if self._server is None:
            raise RuntimeError("server not started")
        for sock in self._server.sockets:
            return int(sock.getsockname()[1])
        raise RuntimeError("server has no socket")

    @property
    def url(self) -> str:
        """`ws://HOST:PORT/v1/realtime` (add `?model=...`)."""
        return f"{self.base_url_ws}/realtime"

    @property
    def live_url(self) -> str:
        """`ws://HOST:PORT/v1/live/sessions`, the GPT-Live WebSocket endpoint."""
        return f"{self.base_url_ws}/live/sessions"

    @property
    def base_url_ws(self) -> str:
        """`ws://HOST:PORT/v1`, the `websocket_base_url` of the `openai` client."""
        return f"ws://{self.host}:{self.port}/v1"

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT/v1`, the `base_url` of the `openai` client."""
        return f"http://{self.host}:{self.port}/v1"

    http_url = base_url

    @property
    def sessions(self) -> Mapping[str, ServerSession]:
        """Live sessions by id (the id is also the `call_id` for sideband attach)."""
        return {sid: hub.core for sid, hub in self._hubs.items()}

    # --- routing ---------------------------------------------------------------------------------

    def _select_subprotocol(
        self, connection: ServerConnection, subprotocols: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        # Browser clients offer `realtime` plus `openai-insecure-api-key.<key>`; pick the former.
        return Subprotocol("realtime") if "realtime" in subprotocols else None

    def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | Awaitable[Response] | None:
        parts = urlsplit(request.path)
        path = parts.path.rstrip("/")
        query = parse_qs(parts.query)
        method = getattr(connection, "http_method", "GET")
        if self.sip.route(method, path):
            return self.sip.handle(method, path, query, request, getattr(connection, "http_body", b""))
        if self.webrtc.route(method, path, request):
            body = getattr(connection, "http_body", b"")
            return self.webrtc.handle(method, path, query, request, body)
        if self.live.route(path):
            return self.live.process_request(connection, request, path, query, method)
        route = self._http_routes.get(path)
        if route is not None:
            body = getattr(connection, "http_body", b"")
            return route(HttpRequest(method, path, query, self.keys.key_of(request, query), body))
        dialect = WEBSOCKET_PATHS.get(path)
        if dialect is None:
            return json_response(404, http_error(f"No route for {path}.", "not_found"))
        if method != "GET":
            return json_response(405, http_error("Open a WebSocket with GET.", "method_not_allowed"))
        key = self.keys.key_of(request, query)
        problem = self.keys.auth_error(key)
        if problem is not None:
            return json_response(401, http_error(problem, "invalid_api_key"))
        protocols = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        beta = (
            dialect == "beta"
            or request.headers.get("OpenAI-Beta", "").replace(" ", "") == "realtime=v1"
            or BETA_PROTOCOL in protocols
        )
        call_id = query["call_id"][0] if query.get("call_id") else None
        if call_id is not None and call_id not in self._hubs:
            return json_response(404, http_error(f"No live session with call_id '{call_id}'.", "call_not_found"))
        models = query.get("model") or query.get("deployment")
        model = models[0] if models else None
        session, session_id = self.keys.redeem(key)
        self._attach[connection] = _Attach("beta" if beta else "ga", model, call_id, session, session_id)
        if isinstance(connection, HttpConnection):
            # Messages that arrive before the handler attaches the session wait here, in order.
            early: list[bytes] = []
            connection.on_message = early.append
            self._early[connection] = early
        return None

    # --- sessions --------------------------------------------------------------------------------

    def _options(self, session: Mapping[str, Any] | None, model: str | None = None) -> SessionOptions:
        chosen = model or (session or {}).get("model") or "gpt-realtime"
        return SessionOptions(
            pace=self.pace,
            max_duration_s=self.max_session_duration_s,
            audio_chunk_ms=self.audio_chunk_ms,
            words_per_minute=self.words_per_minute,
            speech_engine=self.speech_engine,
            model=str(chosen),
            response_latency=self.response_latency,
        )

    def _preview(self, session: dict[str, Any] | None) -> ServerSession:
        """The session an ephemeral key minted for `session` will open (`ClientError` when
        `session` is invalid)."""
        return ServerSession(model=self._model_factory(), now=0.0, options=self._options(session), session=without_type(session), wall_clock=time.time())

    def mint_client_secret(self, *, seconds: float = 600, session: Mapping[str, Any] | None = None) -> str:
        """Mint an ephemeral key directly (the same as `POST /v1/realtime/client_secrets`)."""
        preview = ServerSession(model=self._model_factory(), now=0.0, options=self._options(session), session=without_type(session))
        return self.keys.mint(self.keys.clock() + seconds, without_type(session), preview.id)

    async def _handle(self, connection: ServerConnection) -> None:
        if self.live.owns(connection):
            await self.live.handle(connection)
            return
        attach = self._attach.pop(connection, None)
        early = self._early.pop(connection, [])
        delivery = self._delivery
        if attach is None or delivery is None:  # pragma: no cover - process_request always records one
            return
        loop = asyncio.get_running_loop()
        if attach.call_id is not None:
            hub = self._hubs.get(attach.call_id)
            if hub is None or hub.ended:
                await connection.close(1008, "session ended")
                return
        else:
            try:
                core = ServerSession(
                    model=self._model_factory(),
                    now=loop.time(),
                    options=self._options(None, attach.model),
                    session=without_type(attach.session),
                    session_id=attach.session_id,
                    wall_clock=time.time(),
                )
            except ClientError as exc:  # a minted session that no longer applies
                await connection.close(1008, exc.message[:120])
                return
            self._opened += 1
            hub = Hub(core=core, faults=FaultPlan.of(self.faults, session_ordinal=self._opened))
            self._hubs[core.id] = hub
            core.start(loop.time())
            if hub.faults.faults:
                # Faults need awaits (delays, stalls, close handshakes) between events: such a
                # session gets its own pump task. Every other session shares the timers.
                hub.pump = asyncio.create_task(delivery.pump(hub))
        hub.connections[connection] = attach.dialect
        core = hub.core
        dialect = attach.dialect
        wake = delivery.wake
        # A SIP call's line takes `output_audio_buffer.clear` itself (see `server.sip`).
        receive = hub.receive_client if isinstance(hub, SipHub) else core.receive

        def on_message(message: bytes) -> None:
            if hub.ended:
                return
            now = loop.time()
            receive(message, now, dialect)
            # Hosted MCP: the session's requests to MCP servers (most frames make none).
            start_mcp_requests(core, lambda: wake(hub, loop.time()))
            # Most messages (audio appends) produce nothing to send: no wake-up.
            deadline = core.next_deadline()
            if deadline is None or deadline <= now:
                wake(hub, now)

        try:
            if isinstance(connection, HttpConnection):
                connection.on_message = on_message
                for message in early:
                    on_message(message)
                wake(hub, loop.time())
                await connection.wait_closed()
            else:  # pragma: no cover - the server always creates HttpConnection
                wake(hub, loop.time())
                async for text in connection:
                    on_message(text.encode() if isinstance(text, str) else text)
        except ConnectionClosed:
            pass
        finally:
            hub.connections.pop(connection, None)
            # The session lives while any connection (primary or sideband) is attached; a
            # WebRTC call, while its peer connection is up.
            if not hub.connections and not isinstance(hub, CallHub):
                self._end(hub)

    def _end(self, hub: Hub) -> None:
        hub.ended = True
        self._hubs.pop(hub.core.id, None)
        hub.wake()
        if hub.pump is None and hub.connections:
            # A session that ended on its own (expired, max duration): close what is attached.
            for connection in list(hub.connections):
                connection.transport.abort() if connection.protocol.state is not State.OPEN else None
