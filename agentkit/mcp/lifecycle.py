"""When local MCP servers are connected: with the session that uses them.

`RealtimeSession` finds the local servers of every agent it may run (`local_servers`) and
runs `serve_mcp_servers` in its background task group before it connects to the service, so
the first `session.update` already offers their tools. Each server's connection lives in a
task of its own (the `mcp` client's streams belong to the task that opened them, and a
crashed server is reconnected there); closing the session cancels those tasks, which shuts
each connection down (a stdio server's process is stopped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import anyio
from anyio.abc import TaskStatus

from ..agent import RealtimeAgent, walk_agents
from .servers import MCPServer

__all__ = ["local_servers", "serve_mcp_servers"]


def local_servers(agents: Iterable[RealtimeAgent[Any]]) -> list[MCPServer]:
    """The local MCP servers of `agents` and every agent reachable from them, each once."""
    found: dict[int, MCPServer] = {}
    for start in agents:
        for agent in walk_agents(start):
            for server in agent.mcp_servers:
                if isinstance(server, MCPServer):
                    found.setdefault(id(server), server)
    return list(found.values())


async def serve_mcp_servers(
    servers: Sequence[MCPServer], *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    """Connect `servers` (all at once), report started when every one listed its tools, and
    keep them connected until cancelled. A server that cannot connect at first raises
    `MCPServerError` (the session does not start)."""
    async with anyio.create_task_group() as group:
        for server in servers:
            await group.start(server.run)
        task_status.started()
