"""The local server's MCP client: makes the requests of hosted MCP (`server/mcp_hosted.py`).

The pump calls `start_mcp_requests(core, wake)` after handing a client frame to a session:
each request the session made (list a server's tools, run a call) runs in a task of its own
against the MCP server over streamable HTTP (the official `mcp` package), its answer goes
back to the session, and `wake()` has the pump send what it produced. A server that cannot
be reached, or answers with an error, is reported as the service reports it
(`mcp_list_tools.failed`, an `mcp_call` with an `error`), never as a server failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..logs import get_logger
from ..protocol.wire_types import JsonObject
from .mcp_hosted import CallTool, ListTools, McpRequest, tool_listing

if TYPE_CHECKING:
    from .session import ServerSession

__all__ = ["start_mcp_requests"]

logger = get_logger("agentkit.server")

# The tasks running, kept referenced until they end (asyncio holds tasks weakly).
_running: set[asyncio.Task[None]] = set()


def start_mcp_requests(core: ServerSession, wake: Callable[[], None]) -> None:
    """Start a task for each MCP request `core` has made (none: nothing to do)."""
    if not core.mcp.requests:
        return
    loop = asyncio.get_running_loop()
    for request in core.mcp.take_requests():
        task = loop.create_task(_answer(core, request, wake, loop))
        _running.add(task)
        task.add_done_callback(_running.discard)


async def _answer(
    core: ServerSession, request: McpRequest, wake: Callable[[], None], loop: asyncio.AbstractEventLoop
) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    output: str | None = None
    error: JsonObject | None = None
    listing: list[JsonObject] | None = None
    try:
        async with (
            create_mcp_http_client(headers=dict(request.headers)) as client,
            streamable_http_client(request.url, http_client=client) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            if isinstance(request, ListTools):
                listing = tool_listing((await session.list_tools()).tools)
            else:
                result = await session.call_tool(request.name, _arguments(request))
                text = "\n".join(getattr(block, "text", "") or "" for block in result.content)
                if result.is_error:
                    error = {"type": "tool_execution_error", "message": text}
                else:
                    output = text
    except Exception as exc:
        logger.info("MCP server %r: %s failed: %s", request.label, type(request).__name__, type(exc).__name__)
        error = {"type": "http_error", "code": 502, "message": f"could not reach the MCP server: {type(exc).__name__}"}
    if core.closed:
        return
    if isinstance(request, ListTools):
        core.mcp.listed(request, listing, loop.time())
    else:
        core.mcp.called(request, output, error, loop.time())
    wake()


def _arguments(request: CallTool) -> dict[str, object]:
    import orjson

    try:
        parsed = orjson.loads(request.arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
