"""Local MCP servers: agentkit connects to them and offers their tools as function tools.

`MCPServerStdio` starts a server as a subprocess and speaks MCP over its stdin/stdout;
`MCPServerHTTP` connects to a streamable-HTTP URL. Both go through the official `mcp`
package (imported when the connection opens, so agentkit imports without it: `pip install
'agentkit[mcp]'`). Put one in an agent's `mcp_servers`; a session opens it when it starts
and closes it when it ends (see `serve_mcp_servers`).

To the runtime an MCP tool is a `FunctionTool` like any other: its JSON Schema is the
server's `inputSchema`, the arguments are validated against it before the call, the call has
the server's `timeout`, waits for approval when `needs_approval` says so, and ends in exactly
one output. What can go wrong, and the output the model reads:

| what happened | output |
| --- | --- |
| the tool answered | its text content (other content as JSON) |
| the tool reported an error (`isError`) | `error`, with its text |
| the connection died during the call (a crashed stdio server) | `error`, saying so; the server is restarted |
| the server is down and does not come back within `connect_timeout` | `error`, saying so |

The tool list is cached: listed when the connection opens and again when the server sends
`notifications/tools/list_changed`.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from anyio.abc import TaskStatus

from ..errors import AgentKitError, DefinitionError
from ..logs import get_logger
from ..tools import FunctionTool

if TYPE_CHECKING:
    from mcp.client.session import ClientSession, IncomingMessage
    from mcp.shared.exceptions import MCPError
    from mcp.types import CallToolResult, Tool

    Streams = tuple[Any, Any]

__all__ = ["MCPServer", "MCPServerError", "MCPServerHTTP", "MCPServerStdio"]

logger = get_logger("agentkit.mcp")


class MCPServerError(AgentKitError):
    """A local MCP server could not be reached, or a call to it failed (the message says
    which server and what happened)."""


def _require_mcp() -> None:
    try:
        import mcp  # noqa: F401
    except ModuleNotFoundError as exc:
        raise MCPServerError(
            "local MCP servers need the `mcp` package: pip install 'agentkit[mcp]'"
        ) from exc


class MCPServer(ABC):
    """A local MCP server an agent's tools come from (see the module docs).

    Args:
        name: Names the server in errors, logs and traces.
        allowed_tools: Offer only these of its tools (`None`: all).
        needs_approval: Whether its calls wait for the app's approval: `True` for all,
            or the names of the tools that do.
        timeout: Seconds a call may take (`None`: the runner's default tool timeout).
        connect_timeout: Seconds to wait for the server to (re)connect before a call fails.
    """

    def __init__(
        self,
        name: str,
        *,
        allowed_tools: Collection[str] | None = None,
        needs_approval: bool | Collection[str] = False,
        timeout: float | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        if not name:
            raise DefinitionError("an MCP server needs a name")
        self._name = name
        self.allowed_tools = None if allowed_tools is None else frozenset(allowed_tools)
        self.needs_approval = (
            needs_approval if isinstance(needs_approval, bool) else frozenset(needs_approval)
        )
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._tools: tuple[FunctionTool, ...] = ()
        self._session: ClientSession | None = None
        self._connected = anyio.Event()
        self._lost = anyio.Event()
        self._changed = anyio.Event()
        self.restarts = 0
        """How many times the connection was opened again after it was lost."""

    @property
    def name(self) -> str:
        """The server's name."""
        return self._name

    def tools(self) -> Sequence[FunctionTool]:
        """Its tools as listed last (empty until the connection opens)."""
        return self._tools

    @abstractmethod
    def _transport(self) -> AbstractAsyncContextManager[Streams]:
        """The `mcp` client transport (read and write streams) to this server."""

    # -- the connection, owned by one task --------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Keep the connection open until cancelled: connect, list the tools, refresh them
        on the server's notification, and connect again when the connection is lost (a
        stdio server is started again). `task_status.started()` once the first listing is
        in; a first connection that fails raises `MCPServerError`."""
        _require_mcp()
        started = False
        while True:
            try:
                await self._serve_once(task_status if not started else None)
                started = True
            except Exception as exc:
                if not started:
                    raise MCPServerError(f"MCP server {self.name!r}: {_describe(exc)}") from exc
                logger.warning("MCP server %r: connection lost: %s", self.name, _describe(exc))
            self.restarts += 1
            logger.info("MCP server %r: reconnecting (restart %d)", self.name, self.restarts)
            # Paced so a server that dies at once does not spin.
            await anyio.sleep(min(0.05 * self.restarts, 2.0))

    async def _serve_once(self, task_status: TaskStatus[None] | None) -> None:
        from mcp.client.session import ClientSession

        self._lost = anyio.Event()
        try:
            async with (
                self._transport() as (read, write),
                ClientSession(read, write, message_handler=self._on_message) as session,
            ):
                await session.initialize()
                await self._list(session)
                self._session = session
                self._connected.set()
                if task_status is not None:
                    task_status.started()
                async with anyio.create_task_group() as group:
                    group.start_soon(self._refresh_on_change, session)
                    await self._lost.wait()
                    group.cancel_scope.cancel()
        finally:
            self._disconnected()

    def _disconnected(self) -> None:
        # Calls from now on wait for the next connection (a fresh `_connected`), once.
        self._session = None
        if self._connected.is_set():
            self._connected = anyio.Event()

    async def _on_message(self, message: IncomingMessage) -> None:
        from mcp.types import ToolListChangedNotification

        if isinstance(message, ToolListChangedNotification):
            self._changed.set()
        elif isinstance(message, Exception):
            logger.warning("MCP server %r: %s", self.name, _describe(message))

    async def _refresh_on_change(self, session: ClientSession) -> None:
        # Listed here, not in the message handler: a request made from inside the session's
        # receive loop would wait for its own answer.
        while True:
            await self._changed.wait()
            self._changed = anyio.Event()
            await self._list(session)

    async def _list(self, session: ClientSession) -> None:
        result = await session.list_tools()
        tools: list[FunctionTool] = []
        for listed in result.tools:
            if self.allowed_tools is not None and listed.name not in self.allowed_tools:
                continue
            made = self._function_tool(listed)
            if made is not None:
                tools.append(made)
        self._tools = tuple(tools)
        logger.info("MCP server %r offers %s", self.name, [t.name for t in tools])

    def _function_tool(self, listed: Tool) -> FunctionTool | None:
        name = listed.name
        approval = self.needs_approval
        ask = approval if isinstance(approval, bool) else name in approval

        async def call(**arguments: Any) -> str:
            return await self.call_tool(name, arguments)

        try:
            return FunctionTool(
                name=name,
                description=listed.description or "",
                parameters=dict(listed.input_schema),
                func=call,
                timeout=self.timeout,
                needs_approval=ask,
            )
        except DefinitionError as exc:
            logger.warning("MCP server %r: tool %r skipped: %s", self.name, name, exc)
            return None

    # -- calls --------------------------------------------------------------------------------

    async def call_tool(self, name: str, arguments: Mapping[str, Any]) -> str:
        """Call tool `name`; its text output, or `MCPServerError` (see the module docs)."""
        session = self._session
        if session is None:
            with anyio.move_on_after(self.connect_timeout):
                await self._connected.wait()
            session = self._session
            if session is None:
                raise MCPServerError(
                    f"MCP server {self.name!r} is not connected (waited {self.connect_timeout:g}s)"
                )
        from mcp.shared.exceptions import MCPError

        try:
            result = await session.call_tool(name, dict(arguments))
        except MCPError as exc:
            if _connection_closed(exc):
                if self._session is session:
                    self._disconnected()
                    self._lost.set()  # the owner task connects again (a stdio server restarts)
                raise MCPServerError(
                    f"MCP server {self.name!r} stopped during the call to {name!r}; "
                    "it is being restarted"
                ) from exc
            raise MCPServerError(f"MCP server {self.name!r}: {name!r} failed: {exc}") from exc
        text = _result_text(result)
        if result.is_error:
            raise MCPServerError(f"{name!r} reported an error: {text}")
        return text


class MCPServerStdio(MCPServer):
    """An MCP server run as a subprocess, spoken to over its stdin and stdout.

    Args:
        name: See `MCPServer`.
        command: The program (`sys.executable` for a Python server).
        args: Its arguments.
        env: Extra environment variables for it.
        cwd: Its working directory.
        **options: `allowed_tools`, `needs_approval`, `timeout`, `connect_timeout`.
    """

    def __init__(
        self,
        name: str,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        **options: Any,
    ) -> None:
        super().__init__(name, **options)
        self.command = command
        self.args = list(args)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd

    @asynccontextmanager
    async def _transport(self) -> AsyncIterator[Streams]:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=self.command, args=self.args, env=self.env, cwd=self.cwd
        )
        async with stdio_client(params, errlog=sys.stderr) as streams:
            yield streams


class MCPServerHTTP(MCPServer):
    """An MCP server at a streamable-HTTP URL.

    Args:
        name: See `MCPServer`.
        url: The server's endpoint (`http://host:port/mcp`).
        headers: HTTP headers sent with every request (an `Authorization`, say; they are
            never logged).
        **options: `allowed_tools`, `needs_approval`, `timeout`, `connect_timeout`.
    """

    def __init__(
        self, name: str, url: str, *, headers: Mapping[str, str] | None = None, **options: Any
    ) -> None:
        super().__init__(name, **options)
        if not url.startswith(("http://", "https://")):
            raise DefinitionError(f"MCP server {name!r}: url must be http(s), got {url!r}")
        self.url = url
        self.headers = dict(headers or {})

    def _transport(self) -> AbstractAsyncContextManager[Streams]:
        return http_streams(self.url, self.headers)


@asynccontextmanager
async def http_streams(url: str, headers: Mapping[str, str]) -> AsyncIterator[Streams]:
    """The `mcp` streamable-HTTP client transport to `url`, sending `headers`."""
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with (
        create_mcp_http_client(headers=dict(headers)) as client,
        streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams


def _connection_closed(exc: MCPError) -> bool:
    from mcp.types import CONNECTION_CLOSED

    return exc.code == CONNECTION_CLOSED


def _result_text(result: CallToolResult) -> str:
    parts: list[str] = []
    for block in result.content:
        text = getattr(block, "text", None)
        parts.append(text if isinstance(text, str) else orjson.dumps(block.model_dump(mode="json")).decode())
    return "\n".join(parts)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

