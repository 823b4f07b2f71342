"""`agentkit server`: run the local realtime server from the command line."""

from __future__ import annotations

import asyncio
import sys

from ..errors import ConfigError
from ..server import LocalRealtimeServer, Pace
from ..server.session_config import ResponseLatency

__all__ = ["run_server_command"]


def run_server_command(
    *,
    host: str,
    port: int,
    script: str | None,
    pace: str,
    api_keys: list[str] | None,
    response_latency: str | None = None,
) -> int:
    """Serve until interrupted; return the process exit code (130 when interrupted, 2 for a bad
    script or option)."""
    if pace not in ("realtime", "fast"):
        print(f"agentkit server: --pace must be realtime or fast, got {pace!r}", file=sys.stderr)
        return 2
    chosen: Pace = "fast" if pace == "fast" else "realtime"
    try:
        latency = ResponseLatency.parse(response_latency) if response_latency is not None else None
    except ValueError as exc:
        print(f"agentkit server: --response-latency: {exc}", file=sys.stderr)
        return 2
    try:
        server = LocalRealtimeServer(
            script=script, host=host, port=port, pace=chosen, api_keys=api_keys,
            response_latency=latency,
        )
    except ConfigError as exc:
        print(f"agentkit server: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        async with server:
            print(f"agentkit local realtime server listening on {server.url}", flush=True)
            print(f"  OpenAI client: websocket_base_url={server.base_url_ws!r}", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 130  # Ctrl-C: the documented exit status, quietly, no traceback
    return 0
