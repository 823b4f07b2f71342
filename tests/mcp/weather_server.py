"""A real MCP server for the tests, written with the `mcp` package (`MCPServer`, once FastMCP).

Run over stdio (`python tests/mcp/weather_server.py`) or served over streamable HTTP
(`build_server().streamable_http_app()` under uvicorn). Its tools:

- `get_weather(city)`: a fixed forecast, as JSON text;
- `slow_echo(text, seconds)`: answers after `seconds` (a call to kill the server under);
- `whoami()`: this process's id (a restarted server answers with another);
- `add_tool()`: adds `get_tide` and tells the client its tool list changed.
"""

from __future__ import annotations

import json
import os

import anyio
from mcp.server.mcpserver import Context, MCPServer

FORECASTS = {"paris": ("sunny", 21), "oslo": ("snow", -3)}


def build_server() -> MCPServer:
    """The weather server, with its tools registered."""
    server = MCPServer("weather")

    @server.tool()
    def get_weather(city: str) -> str:
        """Today's weather in a city."""
        sky, celsius = FORECASTS.get(city.lower(), ("cloudy", 12))
        return json.dumps({"city": city, "sky": sky, "celsius": celsius})

    @server.tool()
    async def slow_echo(text: str, seconds: float) -> str:
        """Echo `text` after `seconds`."""
        await anyio.sleep(seconds)
        return text

    @server.tool()
    def whoami() -> str:
        """The server's process id."""
        return str(os.getpid())

    @server.tool()
    async def add_tool(ctx: Context) -> str:
        """Add the get_tide tool and announce the change."""

        def get_tide(port: str) -> str:
            """High tide time at a port."""
            return json.dumps({"port": port, "high_tide": "14:05"})

        server.add_tool(get_tide)
        await ctx.session.send_tool_list_changed()
        return "added get_tide"

    return server


if __name__ == "__main__":
    build_server().run("stdio")
