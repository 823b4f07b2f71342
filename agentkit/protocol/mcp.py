"""Hosted MCP on the wire (GA only): the `type: "mcp"` tool, the MCP server events, the
approval answer.

The service connects to a session's remote MCP servers itself. What it says about them:

| event | when |
| --- | --- |
| `mcp_list_tools.in_progress` / `.completed` / `.failed` | listing a server's tools after `session.update` (the tools arrive in the `mcp_list_tools` item) |
| `response.mcp_call_arguments.delta` / `.done` | the model writes a call's arguments |
| `response.mcp_call.in_progress` / `.completed` / `.failed` | the service runs the call (its output or error arrives in the `mcp_call` item) |

A call that needs approval is an `mcp_approval_request` output item instead; the client
answers with an `mcp_approval_response` item (`mcp_approval_response_item`) and asks for a
response. Shapes follow `openai.types.realtime` (`realtime_tools_config_union_param.Mcp`,
`realtime_mcp_approval_response_param`, the `response_mcp_call_*` and `mcp_list_tools_*`
events). Pure data and functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from .wire_types import ItemId, JsonObject, ResponseId

__all__ = [
    "MCP_EVENT_TYPES",
    "MCP_ITEM_TYPES",
    "McpEvent",
    "McpEventType",
    "mcp_approval_response_item",
    "render_mcp_tool",
]

McpEventType = Literal[
    "mcp_list_tools.in_progress",
    "mcp_list_tools.completed",
    "mcp_list_tools.failed",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_call.in_progress",
    "response.mcp_call.completed",
    "response.mcp_call.failed",
]

MCP_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
    }
)
"""The server events about hosted MCP, all decoded as `McpEvent`."""

MCP_ITEM_TYPES: Final[frozenset[str]] = frozenset(
    {"mcp_list_tools", "mcp_call", "mcp_approval_request", "mcp_approval_response"}
)
"""The conversation item types of hosted MCP."""


@dataclass(frozen=True, slots=True)
class McpEvent:
    """One hosted-MCP server event (the table in the module docs).

    Attributes:
        type: Which one.
        item_id: The `mcp_list_tools` or `mcp_call` item it is about.
        response_id: The response of a call's events (`None` for the listing events and the
            call's `in_progress` / `completed` / `failed`, which carry none).
        output_index: The call's place in its response (`None` for the listing events).
        text: The arguments delta (`.delta`) or the whole arguments (`.done`), else `None`.
        event_id: The service's event id.
    """

    type: McpEventType
    item_id: ItemId
    response_id: ResponseId | None
    output_index: int | None
    text: str | None
    event_id: str


def render_mcp_tool(
    *,
    server_label: str,
    server_url: str,
    allowed_tools: Sequence[str] | None,
    require_approval: str | Sequence[str],
    headers: Mapping[str, str],
    authorization: str | None,
    server_description: str | None,
) -> JsonObject:
    """The GA session tool of a remote MCP server.

    `require_approval` is `"always"`, `"never"`, or the names of the tools that need it
    (rendered as the filter object: those always, the others never).
    """
    tool: JsonObject = {"type": "mcp", "server_label": server_label, "server_url": server_url}
    if server_description is not None:
        tool["server_description"] = server_description
    if allowed_tools is not None:
        tool["allowed_tools"] = list(allowed_tools)
    if isinstance(require_approval, str):
        tool["require_approval"] = require_approval
    else:
        names = list(require_approval)
        tool["require_approval"] = {"always": {"tool_names": names}}
    if headers:
        tool["headers"] = dict(headers)
    if authorization is not None:
        tool["authorization"] = authorization
    return tool


def mcp_approval_response_item(
    approval_request_id: str, approve: bool, *, reason: str | None = None
) -> JsonObject:
    """The `mcp_approval_response` item answering approval request `approval_request_id`."""
    item: JsonObject = {
        "type": "mcp_approval_response",
        "approval_request_id": approval_request_id,
        "approve": approve,
    }
    if reason is not None:
        item["reason"] = reason
    return item
