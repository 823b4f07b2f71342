"""`agentkit worker`: one stateless worker of many, serving apps' WebSocket sessions from a
shared Redis.

```
agentkit worker agents.yaml --redis redis://redis:6379 --port 8780
```

Run as many as needed behind any load balancer (no stickiness): an app connects to
`ws://WORKER/v1/sessions/SESSION_ID` (see `worker_protocol` for what it sends and gets), and
the worker opens that session with `agentkit.store.DurableSessions`: new, or resumed from
Redis, wherever it ran before. A worker keeps nothing a session needs once its connection
ends: the state is in Redis, the lease is released, and the app's next connection may land
on any worker. If a worker dies (`kill -9`, a lost machine), its sessions' leases expire after
`--lease-ttl` seconds and the apps' reconnections resume them elsewhere.

The provider is chosen as `agentkit run` chooses it (`--url`, Azure, `OPENAI_API_KEY`, or
the embedded local server playing the definitions' script).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import orjson

from ..errors import UserError
from ..logs import get_logger
from ..server import LocalRealtimeServer
from ..server.script import Script
from ..store import (
    DurableSession,
    DurableSessions,
    RecordPolicy,
    RedisStore,
    SessionBusy,
    StoreError,
    check_session_id,
    worker_id,
)
from ..transports.websocket import WebSocketTransport, realtime_url
from .connection import LOCAL_KEY, add_connection_arguments, choose_connection, redact
from .target import Target, enter_context, load_target
from .worker_protocol import (
    ApproveMessage,
    AudioMessage,
    EndMessage,
    InterruptMessage,
    RejectMessage,
    RespondMessage,
    TextMessage,
    event_json,
    item_json,
    parse_client_message,
)

__all__ = ["configure_worker", "run_worker_command", "serve_worker"]

logger = get_logger("agentkit.worker")

_PATH = re.compile(r"/v1/sessions/([^/?#]+)/?")

CLOSE_BAD_REQUEST = 4400
CLOSE_BUSY = 4409
CLOSE_STORE_DOWN = 4503


def configure_worker(parser: argparse.ArgumentParser) -> None:
    """The worker's arguments."""
    parser.add_argument("target", metavar="TARGET", help="a definition file (agents.yaml) or module:agent")
    parser.add_argument(
        "--redis", metavar="URL", default=os.environ.get("AGENTKIT_REDIS_URL"),
        help="the Redis every worker shares (default: $AGENTKIT_REDIS_URL), e.g. redis://localhost:6379/0",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8780, help="port to listen on (default 8780; 0: any free port)")
    parser.add_argument(
        "--lease-ttl", type=float, default=10.0, metavar="SECONDS",
        help="a dead worker's sessions are taken over after this long (default 10)",
    )
    parser.add_argument(
        "--retention", type=float, default=7 * 24 * 3600.0, metavar="SECONDS",
        help="keep a session's state and transcript this long after its last change (default 7 days)",
    )
    parser.add_argument(
        "--no-content", action="store_true",
        help="keep transcript content (texts, tool arguments and outputs) out of Redis",
    )
    add_connection_arguments(parser, verb="connect sessions to")


def run_worker_command(args: argparse.Namespace) -> int:
    """`agentkit worker`: serve until interrupted."""
    if not args.redis:
        raise UserError("agentkit worker needs --redis URL (or AGENTKIT_REDIS_URL)")
    if args.lease_ttl <= 0:
        raise UserError(f"--lease-ttl must be positive, got {args.lease_ttl:g}")
    target = load_target(args.target)
    try:
        asyncio.run(serve_worker(target, args))
    except KeyboardInterrupt:
        return 130
    return 0


@asynccontextmanager
async def _provider(target: Target, args: argparse.Namespace) -> AsyncIterator[tuple[str, str | None, Mapping[str, str]]]:
    connection = choose_connection(
        model=target.settings.model,
        dialect=args.dialect,
        env=os.environ,
        url=args.url,
        azure_deployment=args.azure_deployment,
        local=args.local,
    )
    if connection.remote:
        assert connection.url is not None
        yield connection.url, connection.api_key, connection.headers
        return
    async with LocalRealtimeServer(script=target.script or Script(turns=())) as server:
        yield realtime_url(target.settings.model, server.url), LOCAL_KEY, {}


async def serve_worker(target: Target, args: argparse.Namespace) -> None:
    """Serve the apps' sessions of `target` (see the module docs)."""
    from websockets.asyncio.server import ServerConnection, serve

    store = RedisStore.from_url(args.redis)
    runner = target.runner(args.dialect)
    policy = RecordPolicy(content=not args.no_content)
    owner = worker_id()
    async with AsyncExitStack() as stack:

        async def close_store() -> None:
            with anyio.CancelScope(shield=True):
                await store.close()

        stack.push_async_callback(close_store)
        url, api_key, headers = await stack.enter_async_context(_provider(target, args))
        sessions = await stack.enter_async_context(
            DurableSessions(
                runner, store, owner=owner, lease_ttl_s=args.lease_ttl, policy=policy,
                retention_s=args.retention,
            )
        )

        async def handle(connection: ServerConnection) -> None:
            path = connection.request.path if connection.request is not None else ""
            match = _PATH.fullmatch(path.split("?", 1)[0])
            if match is None:
                await connection.close(CLOSE_BAD_REQUEST, "expected /v1/sessions/SESSION_ID")
                return
            try:
                session_id = check_session_id(match.group(1))
                transport = WebSocketTransport(url, api_key=api_key, dialect=args.dialect, headers=dict(headers))
                async with AsyncExitStack() as per_session:
                    context = await enter_context(per_session, target.context_factory)
                    durable = await per_session.enter_async_context(
                        sessions.open(session_id, transport, context=context)
                    )
                    await _serve_session(connection, durable, owner)
            except SessionBusy as exc:
                await connection.close(CLOSE_BUSY, str(exc)[:120])
            except UserError as exc:
                await connection.close(CLOSE_BAD_REQUEST, str(exc)[:120])
            except StoreError as exc:
                logger.warning("session store unavailable: %s", exc)
                await connection.close(CLOSE_STORE_DOWN, "the session store is unavailable")

        server = await stack.enter_async_context(serve(handle, args.host, args.port))
        host, port = next(iter(server.sockets)).getsockname()[:2]
        print(
            f"agentkit worker {owner} listening on ws://{host}:{port}/v1/sessions/SESSION_ID "
            f"(store {redact(args.redis)}, provider {redact(url)})",
            flush=True,
        )
        await anyio.sleep_forever()


async def _serve_session(connection: Any, durable: DurableSession, owner: str) -> None:
    """Pump one app connection: its messages into the session, the session's events out."""
    from websockets.exceptions import ConnectionClosed

    session = durable.session
    hello = {
        "type": "session",
        "session_id": durable.session_id,
        "worker": owner,
        "resumed": durable.resumed,
        "agent": session.current_agent.name,
        "history": [item_json(item) for item in session.history.items()],
        "answered": list(durable.plan.answered) if durable.plan is not None else [],
    }
    await connection.send(orjson.dumps(hello).decode())

    async def forward() -> None:
        try:
            async for event in session:
                data = event_json(event)
                if data is not None:
                    await connection.send(orjson.dumps(data).decode())
        except ConnectionClosed:
            return
        except Exception as exc:  # the session failed: tell the app, then close
            await connection.send(
                orjson.dumps({"type": "error", "code": "session_failed", "message": str(exc)}).decode()
            )
        if durable.lost:
            await connection.close(CLOSE_BUSY, "the session was taken over by another worker")
        else:
            await connection.close()

    async with anyio.create_task_group() as group:
        group.start_soon(forward)
        try:
            async for frame in connection:
                try:
                    message = parse_client_message(frame)
                except UserError as exc:
                    await connection.send(
                        orjson.dumps({"type": "error", "code": "invalid_message", "message": str(exc)}).decode()
                    )
                    continue
                if isinstance(message, EndMessage):
                    durable.finish()
                    break
                await _apply(durable, message)
        except ConnectionClosed:
            pass
        group.cancel_scope.cancel()


async def _apply(durable: DurableSession, message: Any) -> None:
    session = durable.session
    match message:
        case TextMessage():
            await session.send_text(message.text)
        case AudioMessage():
            await session.send_audio(message.pcm())
        case RespondMessage():
            await session.respond(message.instructions)
        case InterruptMessage():
            await session.interrupt()
        case ApproveMessage():
            await session.approve(message.call_id, always=message.always)
        case RejectMessage():
            await session.reject(message.call_id, message.message, always=message.always)
