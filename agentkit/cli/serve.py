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
from collections.abc import AsyncIterator, Mapping
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
    phone = parser.add_argument_group(
        "phone calls", "Twilio Media Streams and OpenAI SIP calls (see docs/telephony.md); secrets "
        "are read from the environment, never from the command line"
    )
    phone.add_argument(
        "--public-url", metavar="URL",
        help="this server's public base URL as Twilio and OpenAI reach it (default: http://HOST:PORT)",
    )
    phone.add_argument(
        "--twilio-token-env", default="TWILIO_AUTH_TOKEN", metavar="NAME",
        help="environment variable holding the Twilio auth token; when set, POST /twilio/voice "
        "and /twilio/media are served (default TWILIO_AUTH_TOKEN)",
    )
    phone.add_argument(
        "--webhook-secret-env", default="OPENAI_WEBHOOK_SECRET", metavar="NAME",
        help="environment variable holding the OpenAI webhook secret; when set, POST /sip/webhook "
        "is served (default OPENAI_WEBHOOK_SECRET)",
    )


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
            calls, routes = phone_routes(args, target, provider, os.environ)
            app = create_app(
                runner, provider, context_factory=target.context_factory,
                allow_origins=args.allow_origins, key_expiry_s=args.key_expiry,
                rate_limit=RateLimit(per_minute=args.rate_limit), greet=not args.no_greeting,
                routes=routes,
            )
            try:
                await _serve(app, args.host, args.port, target, provider)
            finally:
                if calls is not None:
                    await calls.aclose()

    try:
        anyio.run(main)
    except KeyboardInterrupt:
        return 130
    return 0


def phone_routes(
    args: argparse.Namespace, target: Target, provider: Any, env: Mapping[str, str]
) -> tuple[Any, list[Any]]:
    """The phone routes (`agentkit.telephony`) `serve` mounts when a Twilio token or a
    webhook secret is in the environment, with the calls they hold; `(None, [])` otherwise.

    Phone audio is G.711 μ-law end to end, so the phone calls get their own runner of the
    same agents with μ-law formats (the browser's runner keeps its own).
    """
    twilio_token = env.get(args.twilio_token_env) or None
    webhook_secret = env.get(args.webhook_secret_env) or None
    if twilio_token is None and webhook_secret is None:
        return None, []
    from ..telephony import PhoneCalls, TelephonyConfig, telephony_routes

    settings = target.settings.model_copy(
        update={"input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw"}
    )
    runner: RealtimeRunner[Any] = RealtimeRunner(target.starting_agent, settings=settings, dialect=provider.dialect)
    runner.agents.update(target.all_agents)
    config = TelephonyConfig(
        public_url=args.public_url or f"http://{args.host}:{args.port}",
        # Without the query: the phone routes add the model themselves.
        realtime_url=provider.realtime_url.split("?", 1)[0],
        rest_url=provider.rest_base,
        api_key=provider.api_key,
        dialect=provider.dialect,
        twilio_auth_token=twilio_token,
        webhook_secret=webhook_secret,
        greet=not args.no_greeting,
    )
    calls = PhoneCalls()
    return calls, telephony_routes(runner, config, calls=calls)


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
