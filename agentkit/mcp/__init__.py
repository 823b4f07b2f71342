"""Local MCP servers: their tools offered to the model as function tools.

```python
from agentkit import RealtimeAgent
from agentkit.mcp import MCPServerStdio

files = MCPServerStdio("files", "python", ["files_server.py"], needs_approval={"delete"})
agent = RealtimeAgent(name="Assistant", instructions="...", mcp_servers=[files])
```

Hosted MCP servers, which the service calls itself, are `agentkit.tools.HostedMCPTool`s in
the same `mcp_servers` list. See `docs/mcp.md`.
"""

from __future__ import annotations

from .lifecycle import local_servers, serve_mcp_servers
from .servers import MCPServer, MCPServerError, MCPServerHTTP, MCPServerStdio

__all__ = [
    "MCPServer",
    "MCPServerError",
    "MCPServerHTTP",
    "MCPServerStdio",
    "local_servers",
    "serve_mcp_servers",
]
