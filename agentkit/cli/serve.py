"""`agentkit serve TARGET`: the agents behind a web page, over WebRTC (see `agentkit.serve`).

It connects where `agentkit run` would (the same options: `--local`, `--url`, Azure, OpenAI,
else the embedded local server, started in-process and playing the definition file's
script), derives the provider's REST endpoints from that URL, and serves the page and its
API with uvicorn until interrupted. Starlette and uvicorn are imported here, not by
`agentkit` itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from ..errors import UserError
from ..protocol.dialects import Dialect
from ..runner import RealtimeRunner
from ..server import LocalRealtimeServer
from ..server.script import Script, load_script
from ..transports.websocket import realtime_url
from .commands import print_warnings
from .connection import LOCAL_KEY, Connection, add_connection_arguments, choose_connection, redact
from .target import Target, file_not_found, load_target

__all__ = ["configure_serve", "serve_command"]


def configure_serve(parser: argparse.ArgumentParser) -> None:
    """The arguments of `agentkit serve`."""
    parser.add_argument("target", help="a definition file (agents.yaml) or module:agent, as `agentkit run` takes")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    add_connection_arguments(parser, verb="serve against")
    parser.add_argument(
        "--allow-origin", dest="allow_origins", action="append", default=[], metavar="ORIGIN",
        help="another origin whose pages may call the API, e.g. https://shop.example.com "
        "(repeatable; the page's own origin always may)",
    )
    parser.add_argument(
        "--key-expiry", type=int, default=600, metavar="SECONDS",
        help="lifetime of the ephemeral keys given to browsers, 10 to 7200 (default 600)",
    )
    parser.add_argument(
        "--rate-limit", type=float, default=20.0, metavar="PER_MINUTE",
        help="keys minted and calls opened per client and minute (default 20, bursts of 10)",
    )
    parser.add_argument(
        "--script", metavar="FILE", type=Path,
        help="the conversation script the local server plays (default: the definition file's script:)",
    )
    parser.add_argument(
        "--pace", choices=("realtime", "fast"), default="realtime",
        help="the local server's pace (fast: no response latency; audio is real time over RTP anyway)",
    )
    parser.add_argument("--no-greeting", action="store_true", help="wait for the caller to speak first")


def serve_command(args: argparse.Namespace) -> int:
    """Run `agentkit serve` with parsed arguments until interrupted."""
    from ..serve import RateLimit, create_app  # Starlette: only for this command

    target = load_target(args.target)
    dialect: Dialect = args.dialect
    connection = choose_connection(
        model=target.settings.model, dialect=dialect, env=os.environ, url=args.url,
        azure_deployment=args.azure_deployment, local=args.local,
    )
    if not 10 <= args.key_expiry <= 7200:
        raise UserError(f"--key-expiry {args.key_expiry}: expected 10 to 7200 seconds (the service's limits)")
    if args.rate_limit <= 0:
        raise UserError("--rate-limit must be positive")
    script = _script(target, args.script) if not connection.remote else None
    print_warnings(target.warnings)
    runner = _runner(target, dialect)

    async def main() -> None:
        async with _provider(connection, target, script, args.pace, dialect) as provider:
            app = create_app(
                runner, provider, context_factory=target.context_factory,
                allow_origins=args.allow_origins, key_expiry_s=args.key_expiry,
                rate_limit=RateLimit(per_minute=args.rate_limit), greet=not args.no_greeting,
            )
            await _serve(app, args.host, args.port, target, provider)

    try:
        anyio.run(main)
    except KeyboardInterrupt:
        return 130
    return 0


def _runner(target: Target, dialect: Dialect) -> RealtimeRunner[Any]:
    # No reconnect policy: a sideband reconnecting to a call that ended would only fail.
    runner: RealtimeRunner[Any] = RealtimeRunner(target.starting_agent, settings=target.settings, dialect=dialect)
    runner.agents.update(target.all_agents)
    return runner


def _script(target: Target, given: Path | None) -> Script:
    path = given or target.script
    if path is None:
        return Script(turns=())
    if not Path(path).is_file():
        raise file_not_found(path, option="--script" if given else "")
    return load_script(path)


@asynccontextmanager
async def _provider(
    connection: Connection, target: Target, script: Script | None, pace: str, dialect: Dialect
) -> AsyncIterator[Any]:
    from ..serve import Provider

    model = target.settings.model
    if connection.remote:
        assert connection.url is not None
        yield Provider(connection.url, connection.api_key, model, dialect, connection.headers, connection.kind)
        return
    server = LocalRealtimeServer(script=script or Script(turns=()), pace="fast" if pace == "fast" else "realtime")
    async with server:
        yield Provider(realtime_url(model, server.url), LOCAL_KEY, model, dialect, {}, "local")


async def _serve(app: Any, host: str, port: int, target: Target, provider: Any) -> None:
    import uvicorn

    where = "local realtime server (no API key needed)" if provider.kind == "local" else redact(provider.realtime_url)
    print(f"agentkit serve {target.name}: open http://{host}:{port}/ ; calls go to {where}", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, host=host, port=port, lifespan="on", log_level="info", server_header=False)
    await uvicorn.Server(config).serve()
