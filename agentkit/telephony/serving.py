"""Serving the phone app on this machine: uvicorn in the running event loop, for tests, the
benchmark and a quick try (`agentkit serve` does it for real deployments)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

__all__ = ["bind", "serve"]


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on `host:port` (0: a free port), bound before the app is built
    so the app can know its own public URL (TwiML and Twilio's signatures need it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


@asynccontextmanager
async def serve(app: Any, sock: socket.socket) -> AsyncIterator[str]:
    """Serve the ASGI `app` on `sock` until the block ends; yields `http://host:port`."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    # `log_config=None`: uvicorn would otherwise reconfigure the process's logging.
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on", ws_max_size=1 << 20)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
            await asyncio.sleep(0.005)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
