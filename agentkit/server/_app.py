"""The local realtime server's transport: a `websockets` asyncio server pumping `ServerSession`s.

Everything protocol-shaped lives in `_session.py`; this module only:

- routes HTTP (`process_request`): the WebSocket endpoints (GA `/v1/realtime`, Azure-style
  `/openai/v1/realtime` (GA) and `/openai/realtime` (beta)), `POST /v1/realtime/client_secrets`,
  `GET /healthz`; authenticates (Bearer, `api-key`, `openai-insecure-api-key.<key>` subprotocol,
  ephemeral `ek_` keys with their expiry); picks the dialect;
- pumps each session: client messages go from `data_received` straight into the core (no
  reader task per connection); one shared timer (`_Timers`) releases what every core has due
  and writes each connection's events of a tick in one write, rendered in its dialect. A
  session with faults gets its own pump task instead, since faults wait between events.

`websockets`' HTTP parser only accepts GET, so `_HttpConnection` lets a POST through by
reading its body itself and handing websockets the same request as a GET (the body kept on
the connection) — `process_request` then answers it like any other HTTP route.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from ..audio import SpeechEngine
from ..errors import CompileError
from ..logs import get_logger
from ..protocol.dialects import Dialect, server_event_ga_to_beta
from ..transports.frames import DirectFrames, parser_idle
from ._session import CloseConnection, Pace, ServerSession, SessionOptions, _ClientError
from .faults import Fault, FaultPlan
from .model import ResponseModel, ScriptedModel
from .script import Script, load_script

__all__ = ["LocalRealtimeServer"]

logger = logging.getLogger("agentkit.server")

_GA_PATHS = ("/v1/realtime", "/openai/v1/realtime")
_BETA_PATHS = ("/openai/realtime",)
_SECRET_PATHS = ("/v1/realtime/client_secrets", "/openai/v1/realtime/client_secrets")
_KEY_PROTOCOL = "openai-insecure-api-key."
_BETA_PROTOCOL = "openai-beta.realtime-v1"
_MAX_HTTP_BODY = 1 << 20

ModelFactory = Callable[[], ResponseModel]
_DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


class _HttpConnection(ServerConnection):
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
            if len(self._head) > _MAX_HTTP_BODY:
                self.transport.abort()
            return
        lines = bytes(self._head[:end]).split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or b"0")
        if length > _MAX_HTTP_BODY:
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


def _json_response(status: int, payload: Any) -> Response:
    body = orjson.dumps(payload)
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status, HTTPStatus(status).phrase, headers, body)


def _error_body(message: str, code: str | None, kind: str = "invalid_request_error", param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "param": param}}


@dataclass
class _Attach:
    """What `process_request` learned about a WebSocket request, for the handler."""

    dialect: Dialect
    model: str | None
    call_id: str | None
    session: Mapping[str, Any] | None
    session_id: str | None


@dataclass
class _Secret:
    expires_at: float
    session: dict[str, Any] | None
    session_id: str
    used: bool = False


@dataclass
class _Hub:
    """One live session with its connections and its pump."""

    core: ServerSession
    faults: FaultPlan
    connections: dict[ServerConnection, Dialect] = field(default_factory=dict)
    pump: asyncio.Task[None] | None = None
    ended: bool = False
    # The pump sleeps on one future per cycle, resolved by a timer at the core's deadline or
    # early by `wake()` (cheaper than `asyncio.wait_for` at thousands of cycles a second).
    waiter: asyncio.Future[None] | None = None
    scheduled: float | None = None  # the deadline the shared timer holds for this session
    busy: bool = False  # an async send (backpressure, close) is under way: no timer pumping

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def sleep_until(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        waiter = self.waiter = loop.create_future()
        timer = loop.call_at(deadline, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Timers:
    """One timer for every session: a heap of (deadline, session) and a single `call_at`.

    With hundreds of sessions each releasing an audio delta every 100 ms, a sleeping task per
    session cost a future, a timer handle and a task switch per delta; here one callback
    releases everything due across all sessions, synchronously.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, run: Callable[[_Hub, float], None]) -> None:
        self._loop = loop
        self._run = run
        self._heap: list[tuple[float, int, _Hub]] = []
        self._seq = 0
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = math.inf

    def schedule(self, hub: _Hub, deadline: float) -> None:
        """Make sure `hub` is pumped at `deadline` (earlier entries win; stale ones are skipped)."""
        if hub.scheduled is not None and hub.scheduled <= deadline:
            return
        hub.scheduled = deadline
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, hub))
        if deadline < self._armed_at:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_at = deadline
        self._timer = self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._armed_at = math.inf
        heap = self._heap
        now = self._loop.time()
        while heap and heap[0][0] <= now:
            deadline, _, hub = heapq.heappop(heap)
            if hub.scheduled != deadline:
                continue  # superseded by an earlier entry, already pumped
            hub.scheduled = None
            self._run(hub, now)
        while heap and heap[0][2].scheduled != heap[0][0]:
            heapq.heappop(heap)
        if heap:
            self._arm(heap[0][0])

    def cancel_all(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._armed_at = math.inf
        self._heap.clear()


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
        host, port: where to listen; port 0 picks a free port (see `port`, `url`).
        pace: `"realtime"` streams audio deltas as fast as they would play; `"fast"` sends
            everything at once (tests).
        api_keys: accepted API keys; `None` accepts any key (a key is still required).
        faults: faults injected into the sessions (see `agentkit.server.faults`): every
            session, or the ones a fault's `sessions` lists (1 = the first session opened).
        max_session_duration_s: when sessions end with `session_expired` (default 60 min).
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
    ) -> None:
        if script is not None and model is not None:
            raise ValueError("pass either script= or model=, not both")
        self.script = load_script(script) if script is not None else Script(turns=())
        loaded = self.script
        self._model_factory: ModelFactory = model or (lambda: ScriptedModel(loaded))
        self.host = host
        self._requested_port = port
        self.pace: Pace = pace
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.faults = tuple(faults) + self.script.faults
        self.max_session_duration_s = max_session_duration_s
        self.audio_chunk_ms = audio_chunk_ms
        self.words_per_minute = words_per_minute
        self.speech_engine: SpeechEngine = speech_engine
        self._server: Server | None = None
        self._hubs: dict[str, _Hub] = {}
        self._attach: dict[ServerConnection, _Attach] = {}
        self._early: dict[ServerConnection, list[bytes]] = {}
        self._secrets: dict[str, _Secret] = {}
        self._opened = 0  # sessions opened so far: the ordinal `Fault.sessions` refers to
        self._timers: _Timers | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening."""
        self._timers = _Timers(asyncio.get_running_loop(), self._pump_now)
        self._server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            create_connection=_HttpConnection,
            max_size=16 * 1024 * 1024,
            # Base64 audio barely compresses; permessage-deflate cost 70 % of the server's CPU
            # under load (bench/server_load.py) for ~25 % fewer bytes on loopback.
            compression=None,
            ping_interval=None,
            logger=get_logger("agentkit.server.websockets"),  # redacts keys in headers
        )

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is None:
            return
        for hub in list(self._hubs.values()):
            if hub.pump is not None:
                hub.pump.cancel()
        self._server.close()
        await self._server.wait_closed()
        for hub in list(self._hubs.values()):
            if hub.pump is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await hub.pump
        if self._timers is not None:
            self._timers.cancel_all()
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

    # --- HTTP --------------------------------------------------------------------------------

    def _select_subprotocol(
        self, connection: ServerConnection, subprotocols: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        # Browser clients offer `realtime` plus `openai-insecure-api-key.<key>`; pick the former.
        return Subprotocol("realtime") if "realtime" in subprotocols else None

    def _key_of(self, request: Request, query: Mapping[str, list[str]]) -> str | None:
        auth = request.headers.get("Authorization")
        if auth and auth.lower().startswith("bearer "):
            return auth[7:].strip()
        for name in ("api-key",):
            if request.headers.get(name):
                return str(request.headers[name])
            if query.get(name):
                return query[name][0]
        for value in request.headers.get_all("Sec-WebSocket-Protocol"):
            for proto in value.split(","):
                proto = proto.strip()
                if proto.startswith(_KEY_PROTOCOL):
                    return proto[len(_KEY_PROTOCOL) :]
        return None

    def _auth_error(self, key: str | None) -> str | None:
        if not key:
            return "You didn't provide an API key."
        if key.startswith("ek_"):
            secret = self._secrets.get(key)
            if secret is None:
                return "Invalid ephemeral key."
            if time.time() >= secret.expires_at:
                return "Ephemeral key has expired."
            return None
        if self.api_keys is not None and key not in self.api_keys:
            return "Incorrect API key provided."
        return None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path.rstrip("/")
        query = parse_qs(parts.query)
        method = getattr(connection, "http_method", "GET")
        if path == "/healthz":
            return _json_response(200, {"status": "ok", "sessions": len(self._hubs)})
        if path in _SECRET_PATHS:
            if method != "POST":
                return _json_response(405, _error_body("Use POST.", "method_not_allowed"))
            key = self._key_of(request, query)
            problem = self._auth_error(key)
            if problem is not None or (key or "").startswith("ek_"):
                return _json_response(401, _error_body(problem or "Ephemeral keys cannot mint keys.", "invalid_api_key"))
            return self._mint(getattr(connection, "http_body", b""))
        if path not in _GA_PATHS + _BETA_PATHS:
            return _json_response(404, _error_body(f"No route for {path}.", "not_found"))
        if method != "GET":
            return _json_response(405, _error_body("Open a WebSocket with GET.", "method_not_allowed"))
        key = self._key_of(request, query)
        problem = self._auth_error(key)
        if problem is not None:
            return _json_response(401, _error_body(problem, "invalid_api_key"))
        protocols = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        beta = (
            path in _BETA_PATHS
            or request.headers.get("OpenAI-Beta", "").replace(" ", "") == "realtime=v1"
            or _BETA_PROTOCOL in protocols
        )
        call_id = query["call_id"][0] if query.get("call_id") else None
        if call_id is not None and call_id not in self._hubs:
            return _json_response(404, _error_body(f"No live session with call_id '{call_id}'.", "call_not_found"))
        models = query.get("model") or query.get("deployment")
        model = models[0] if models else None
        minted = self._secrets.get(key or "")
        session = None
        session_id = None
        if minted is not None:
            session = minted.session
            if not minted.used:
                session_id = minted.session_id
                minted.used = True
        self._attach[connection] = _Attach("beta" if beta else "ga", model, call_id, session, session_id)
        if isinstance(connection, _HttpConnection):
            # Messages that arrive before the handler attaches the session wait here, in order.
            early: list[bytes] = []
            connection.on_message = early.append
            self._early[connection] = early
        return None

    def _mint(self, body: bytes) -> Response:
        try:
            payload = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            return _json_response(400, _error_body("We could not parse the JSON body of your request.", "invalid_json"))
        if not isinstance(payload, dict):
            return _json_response(400, _error_body("Expected a JSON object.", "invalid_type"))
        expires = payload.get("expires_after") or {}
        seconds = expires.get("seconds", 600) if isinstance(expires, dict) else None
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 10 <= seconds <= 7200:
            return _json_response(400, _error_body("expires_after.seconds must be between 10 and 7200.", "invalid_value", param="expires_after.seconds"))
        if isinstance(expires, dict) and expires.get("anchor", "created_at") != "created_at":
            return _json_response(400, _error_body("expires_after.anchor must be 'created_at'.", "invalid_value", param="expires_after.anchor"))
        session = payload.get("session")
        if session is not None and not isinstance(session, dict):
            return _json_response(400, _error_body("session must be an object.", "invalid_type", param="session"))
        try:
            preview = ServerSession(model=self._model_factory(), now=0.0, options=self._options(session), session=_without_type(session), wall_clock=time.time())
        except _ClientError as exc:
            return _json_response(400, _error_body(exc.message, exc.code, param=exc.param))
        value = "ek_" + secrets.token_urlsafe(24)
        expires_at = int(time.time() + seconds)
        self._secrets[value] = _Secret(expires_at=expires_at, session=_without_type(session), session_id=preview.id)
        return _json_response(200, {"value": value, "expires_at": expires_at, "session": preview.effective_session()})

    def _options(self, session: Mapping[str, Any] | None, model: str | None = None) -> SessionOptions:
        chosen = model or (session or {}).get("model") or "gpt-realtime"
        return SessionOptions(
            pace=self.pace,
            max_duration_s=self.max_session_duration_s,
            audio_chunk_ms=self.audio_chunk_ms,
            words_per_minute=self.words_per_minute,
            speech_engine=self.speech_engine,
            model=str(chosen),
        )

    def mint_client_secret(self, *, seconds: float = 600, session: Mapping[str, Any] | None = None) -> str:
        """Mint an ephemeral key directly (the same as `POST /v1/realtime/client_secrets`)."""
        preview = ServerSession(model=self._model_factory(), now=0.0, options=self._options(session), session=_without_type(session))
        value = "ek_" + secrets.token_urlsafe(24)
        self._secrets[value] = _Secret(time.time() + seconds, _without_type(session), preview.id)
        return value

    # --- WebSocket -------------------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        attach = self._attach.pop(connection, None)
        early = self._early.pop(connection, [])
        if attach is None:  # pragma: no cover - process_request always records one
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
                    session=_without_type(attach.session),
                    session_id=attach.session_id,
                    wall_clock=time.time(),
                )
            except _ClientError as exc:  # a minted session that no longer applies
                await connection.close(1008, exc.message[:120])
                return
            self._opened += 1
            hub = _Hub(core=core, faults=FaultPlan.of(self.faults, session_ordinal=self._opened))
            self._hubs[core.id] = hub
            core.start(loop.time())
            if hub.faults.faults:
                # Faults need awaits (delays, stalls, close handshakes) between events: such a
                # session gets its own pump task. Every other session shares the timers.
                hub.pump = asyncio.create_task(self._pump(hub))
        hub.connections[connection] = attach.dialect
        core = hub.core
        dialect = attach.dialect

        def on_message(message: bytes) -> None:
            if hub.ended:
                return
            now = loop.time()
            core.receive(message, now, dialect)
            # Most messages (audio appends) produce nothing to send: no wake-up.
            deadline = core.next_deadline()
            if deadline is None or deadline <= now:
                self._wake(hub, now)

        try:
            if isinstance(connection, _HttpConnection):
                connection.on_message = on_message
                for message in early:
                    on_message(message)
                self._wake(hub, loop.time())
                await connection.wait_closed()
            else:  # pragma: no cover - the server always creates _HttpConnection
                self._wake(hub, loop.time())
                async for text in connection:
                    on_message(text.encode() if isinstance(text, str) else text)
        except ConnectionClosed:
            pass
        finally:
            hub.connections.pop(connection, None)
            # The session lives while any connection (primary or sideband) is attached.
            if not hub.connections:
                self._end(hub)

    def _wake(self, hub: _Hub, now: float) -> None:
        """Have `hub`'s due events sent now (its own pump, or the shared timers)."""
        if hub.pump is not None:
            hub.wake()
        elif self._timers is not None:
            self._timers.schedule(hub, now)

    def _pump_now(self, hub: _Hub, now: float) -> None:
        """Send what `hub`'s core has due, synchronously, one write per connection; then ask
        the shared timers for the core's next deadline. A congested socket or a close hands
        the rest to a task that can wait."""
        if hub.ended or hub.busy:
            return
        core = hub.core
        outs = core.poll(now)
        if outs:
            events: list[dict[str, Any]] = []
            # Nothing is written until the batch goes out: congestion cannot change mid-loop.
            congested = self._congested(hub)
            for index, out in enumerate(outs):
                if congested or isinstance(out, CloseConnection):
                    self._write_batch(hub, events)
                    hub.busy = True
                    asyncio.get_running_loop().create_task(self._send_async(hub, outs[index:]))
                    return
                events.append(out)
            self._write_batch(hub, events)
        deadline = core.next_deadline()
        if deadline is None:
            self._end(hub)
        elif self._timers is not None and not hub.ended:
            self._timers.schedule(hub, deadline)

    @staticmethod
    def _congested(hub: _Hub) -> bool:
        return any(c.transport.get_write_buffer_size() > _WRITE_HIGH_WATER for c in hub.connections)

    def _write_batch(self, hub: _Hub, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        ga: list[bytes] | None = None
        beta: list[bytes] | None = None
        for connection, dialect in list(hub.connections.items()):
            if dialect == "ga":
                if ga is None:
                    ga = [orjson.dumps(event) for event in events]
                texts = ga
            else:
                if beta is None:
                    beta = [text for event in events if (text := _beta_text(event)) is not None]
                texts = beta
            if connection.protocol.state is not State.OPEN:
                hub.connections.pop(connection, None)
                continue
            protocol = connection.protocol
            if protocol.extensions or protocol.expect_continuation_frame or protocol.writes or protocol.debug:
                for text in texts:
                    protocol.send_text(text)
                chunks = protocol.data_to_send()
                connection.transport.write(b"".join(chunks) if len(chunks) != 1 else chunks[0])
            else:
                # The common case (no extension, nothing queued): frame the texts here, which
                # is what `send_text` + `data_to_send` produce, without a Frame object each.
                connection.transport.write(_text_frames(texts))

    async def _send_async(self, hub: _Hub, outs: list[dict[str, Any] | CloseConnection]) -> None:
        loop = asyncio.get_running_loop()
        try:
            for out in outs:
                if not await self._deliver(hub, out):
                    self._end(hub)
                    return
        finally:
            hub.busy = False
        if not hub.ended:
            self._wake(hub, loop.time())

    def _end(self, hub: _Hub) -> None:
        hub.ended = True
        self._hubs.pop(hub.core.id, None)
        hub.wake()
        if hub.pump is None and hub.connections:
            # A session that ended on its own (expired, max duration): close what is attached.
            for connection in list(hub.connections):
                connection.transport.abort() if connection.protocol.state is not State.OPEN else None

    async def _pump(self, hub: _Hub) -> None:
        loop = asyncio.get_running_loop()
        core = hub.core
        try:
            while not hub.ended:
                for out in core.poll(loop.time()):
                    if not await self._deliver(hub, out):
                        self._end(hub)
                        return
                deadline = core.next_deadline()
                if deadline is None:
                    self._end(hub)
                    return
                if deadline > loop.time():
                    await hub.sleep_until(loop, deadline)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - a bug in the core must not hang clients
            logger.exception("session %s failed", core.id)
            for connection in list(hub.connections):
                await connection.close(1011, "internal error")
            self._end(hub)

    async def _deliver(self, hub: _Hub, out: dict[str, Any] | CloseConnection) -> bool:
        """Send one core output to every connection; False when the session is over."""
        if isinstance(out, CloseConnection):
            await self._close_all(hub, out.code, out.reason)
            return False
        loop = asyncio.get_running_loop()
        for fault in hub.faults.on_event(str(out.get("type"))):
            action = fault.action
            if action == "drop":
                for connection in list(hub.connections):
                    connection.transport.abort()
                return False
            if action == "close":
                await self._close_all(hub, fault.close_code, fault.message[:120])
                return False
            if action == "delay":
                await asyncio.sleep((fault.delay_ms or 0) / 1000)
            elif action == "stall":
                if fault.delay_ms is None:
                    while not hub.ended:
                        await hub.sleep_until(loop, loop.time() + 3600)
                    return False
                await asyncio.sleep(fault.delay_ms / 1000)
            elif action == "error":
                await self._send_raw(hub, {"type": "error", "event_id": _event_id(), "error": {"type": "server_error" if fault.code == "server_error" else "invalid_request_error", "code": fault.code, "message": fault.message, "param": None, "event_id": None}})
            elif action == "malformed":
                await self._send_text(hub, "{\"type\": \"response.output_audio.delta\", this is not JSON")
            elif action == "unknown_event":
                await self._send_raw(hub, {"type": "response.agentkit_unknown_event", "event_id": _event_id(), "detail": "injected by the local server's fault plan"})
            elif action == "expire":
                hub.core.expire(loop.time(), "Your session hit the maximum duration of 60 minutes.")
                for pending in hub.core.poll(loop.time()):
                    if isinstance(pending, CloseConnection):
                        await self._close_all(hub, pending.code, pending.reason)
                        return False
                    await self._send_raw(hub, pending)
                return False
            elif action == "rate_limit":
                hub.core.rate_limited(loop.time())
                for pending in hub.core.poll(loop.time()):
                    if isinstance(pending, dict):
                        await self._send_raw(hub, pending)
        await self._send_raw(hub, out)
        return True

    async def _send_raw(self, hub: _Hub, event: dict[str, Any]) -> None:
        ga_text: bytes | None = None
        beta_text: bytes | None = None
        for connection, dialect in list(hub.connections.items()):
            if dialect == "ga":
                if ga_text is None:
                    ga_text = orjson.dumps(event)
                text = ga_text
            else:
                if beta_text is None:
                    beta_text = _beta_text(event)
                    if beta_text is None:
                        continue
                text = beta_text
            try:
                await _send_text_frame(connection, text)
            except ConnectionClosed:
                hub.connections.pop(connection, None)

    async def _send_text(self, hub: _Hub, text: str) -> None:
        for connection in list(hub.connections):
            with contextlib.suppress(ConnectionClosed):
                await connection.send(text)

    async def _close_all(self, hub: _Hub, code: int, reason: str) -> None:
        for connection in list(hub.connections):
            with contextlib.suppress(ConnectionClosed):
                await connection.close(code, reason)


_WRITE_HIGH_WATER = 1 << 16


async def _send_text_frame(connection: ServerConnection, utf8: bytes) -> None:
    """Send one text frame through websockets' sans-I/O protocol (its public `send_text` /
    `data_to_send`), skipping the per-message async machinery of `Connection.send`, which
    dominated the server's CPU under load. A full write buffer takes the regular path, which
    waits for the socket to drain (backpressure)."""
    if connection.protocol.state is not State.OPEN:
        raise ConnectionClosed(None, None)
    transport = connection.transport
    if transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
        await connection.send(utf8.decode())
        return
    connection.protocol.send_text(utf8)
    for data in connection.protocol.data_to_send():
        if data:
            transport.write(data)


def _text_frames(texts: list[bytes]) -> bytes:
    """Unmasked, unfragmented server text frames of `texts`, back to back (RFC 6455 5.2)."""
    parts: list[bytes] = []
    append = parts.append
    for text in texts:
        n = len(text)
        if n < 126:
            append(bytes((0x81, n)))
        elif n < 65536:
            append(b"\x81\x7e" + n.to_bytes(2, "big"))
        else:
            append(b"\x81\x7f" + n.to_bytes(8, "big"))
        append(text)
    return b"".join(parts)


def _beta_text(event: dict[str, Any]) -> bytes | None:
    """`event` rendered in the beta dialect (`None`: beta has no such event)."""
    try:
        rendered = server_event_ga_to_beta(event)
    except CompileError as exc:
        rendered = {"type": "error", "event_id": event.get("event_id"), "error": {"type": "invalid_request_error", "code": "unsupported_in_beta", "message": str(exc), "param": exc.field, "event_id": None}}
    return None if rendered is None else orjson.dumps(rendered)


_event_counter = iter(range(1, 1 << 62))


def _event_id() -> str:
    return f"event_fault{next(_event_counter):06d}"


def _without_type(session: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if session is None:
        return None
    return {k: v for k, v in session.items() if k not in ("type", "object", "id", "expires_at")}
