"""Fixtures of the MCP tests: the weather MCP server (`weather_server.py`) over stdio and over
streamable HTTP (uvicorn on a free loopback port), and sessions against the local server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
import uvicorn
from mcp_helpers import Conversation
from weather_server import build_server

from agentkit import RealtimeAgent
from agentkit.runner import RealtimeRunner
from agentkit.server import LocalRealtimeServer
from agentkit.session import RealtimeSession
from agentkit.transports import WebSocketTransport, realtime_url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def weather_url() -> AsyncIterator[str]:
    """The weather server over streamable HTTP: its `/mcp` URL."""
    port = _free_port()
    config = uvicorn.Config(
        build_server().streamable_http_app(), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    # A plain task, not a task group: the fixture's setup and teardown run in different tasks.
    serving = asyncio.get_running_loop().create_task(server.serve())
    with anyio.fail_after(10):
        while not server.started:
            await anyio.sleep(0.01)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    await serving


@pytest.fixture
def conversation() -> Conversation:
    """`async with conversation(agent, script) as session`: `agent` in a session against a
    local server (fast pace) playing `script`."""

    @asynccontextmanager
    async def open_session(
        agent: RealtimeAgent[Any], script: Any, **runner: Any
    ) -> AsyncIterator[RealtimeSession[Any]]:
        async with LocalRealtimeServer(script=script, pace="fast") as server:
            transport = WebSocketTransport(
                realtime_url("gpt-realtime", server.url), api_key="agentkit-local"
            )
            async with RealtimeRunner(agent, **runner).session(transport) as session:
                yield session

    return open_session


