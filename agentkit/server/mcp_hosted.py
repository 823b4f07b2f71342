"""Hosted MCP, emulated: the local server calls the session's remote MCP servers itself.

A GA session may list `{"type": "mcp", ...}` tools. The real service connects to those
servers, lists their tools and, when the model calls one, runs the call. So does the local
server, against whatever MCP server the URL names (a test's own, on loopback), so a
conversation with hosted MCP runs offline. This module is the sans-I/O part: it decides
what to ask the MCP servers (`requests`, drained by the pump, `server/mcp_client.py`) and
what the client sees; the pump hands the answers back (`listed`, `called`).

What the client sees, as the service sends it (`openai.types.realtime`):

- after `session.update` with a new MCP server: `conversation.item.added` (an
  `mcp_list_tools` item, `tools: []`), `mcp_list_tools.in_progress`, then
  `mcp_list_tools.completed` (or `.failed`) and `conversation.item.done` with the tools;
- a scripted `call:` of one of its tools: an `mcp_call` output item (`output_item.added`,
  `response.mcp_call_arguments.delta` / `.done`, `response.mcp_call.in_progress`), then,
  once the MCP server answered, `response.mcp_call.completed` (or `.failed`), the item done
  with its `output` (or `error`) and `response.done`;
- a call that needs approval (`require_approval`: `always`, the default, or a filter naming
  it): an `mcp_approval_request` output item and `response.done`. The client answers with an
  `mcp_approval_response` item and `response.create`; when approved, the model calls again
  and the call runs (its `approval_request_id` set).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ..protocol.wire_types import JsonObject
from .items import Conversation, Item
from .model import FunctionCall
from .outbox import Outbox, copy_json

if TYPE_CHECKING:
    from .responses import Response

__all__ = ["CallTool", "HostedMcp", "ListTools", "McpRequest"]


@dataclass(frozen=True)
class ListTools:
    """List the tools of the server `label` (its list item is `item_id`)."""

    label: str
    item_id: str
    url: str
    headers: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class CallTool:
    """Run `name` with `arguments` (JSON text) on the server `label` for call item `item_id`."""

    label: str
    item_id: str
    url: str
    headers: Mapping[str, str] = field(repr=False)
    name: str = ""
    arguments: str = "{}"


McpRequest = ListTools | CallTool
"""Work for the pump: an MCP request whose answer goes back through `HostedMcp`."""


@dataclass
class _Server:
    config: JsonObject
    item: Item
    tools: list[JsonObject] | None = None  # None: not listed (yet, or it failed)


def _headers(config: Mapping[str, Any]) -> dict[str, str]:
    headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
    token = config.get("authorization")
    if isinstance(token, str) and token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _allowed(config: Mapping[str, Any], name: str, annotations: Any) -> bool:
    allowed = config.get("allowed_tools")
    if allowed is None:
        return True
    if isinstance(allowed, list):
        return name in allowed
    names = allowed.get("tool_names")
    read_only = allowed.get("read_only")
    if names is not None and name not in names:
        return False
    return not read_only or bool((annotations or {}).get("readOnlyHint"))


def needs_approval(config: Mapping[str, Any], name: str) -> bool:
    """Whether a call of `name` waits for the client's approval under `require_approval`
    (absent: always, as the service does)."""
    rule = config.get("require_approval", "always")
    if rule is None or rule == "always":
        return True
    if rule == "never":
        return False
    never = (rule.get("never") or {}).get("tool_names") or []
    always = (rule.get("always") or {}).get("tool_names")
    if name in never:
        return False
    return True if always is None else name in always


class HostedMcp:
    """The session's remote MCP servers and the calls waiting for them (see module docs)."""

    def __init__(self, outbox: Outbox, conversation: Conversation) -> None:
        self._outbox = outbox
        self._conversation = conversation
        self._servers: dict[str, _Server] = {}
        self._waiting: dict[str, tuple[Response, JsonObject]] = {}
        self.requests: list[McpRequest] = []
        """MCP requests for the pump to make, oldest first (it takes them)."""
        self.on_response_ready: Callable[[Response, float], None] = lambda response, now: None
        """Set by the responses: a waiting response can finish (its call is answered)."""

    def take_requests(self) -> list[McpRequest]:
        """The requests to make now; drains the list."""
        requests, self.requests = self.requests, []
        return requests

    # --- servers -----------------------------------------------------------------------------

    def configure(self, tools: Sequence[JsonObject], now: float) -> None:
        """The session's tools changed: list the tools of each new (or changed) MCP server."""
        emit = self._outbox.emit
        for tool in tools:
            if tool.get("type") != "mcp" or not isinstance(tool.get("server_url"), str):
                continue
            label = str(tool["server_label"])
            known = self._servers.get(label)
            if known is not None and known.config == tool:
                continue
            item_id = self._outbox.new_id("item")
            data: JsonObject = {"id": item_id, "type": "mcp_list_tools", "server_label": label, "tools": []}
            previous = self._conversation.last_id()
            item = Item(data)
            self._conversation.insert(item, None)
            self._servers[label] = _Server(copy_json(tool), item)
            emit({"type": "conversation.item.added", "item": copy_json(data), "previous_item_id": previous}, now)
            emit({"type": "mcp_list_tools.in_progress", "item_id": item_id}, now)
            self.requests.append(ListTools(label, item_id, tool["server_url"], _headers(tool)))

    def listed(self, request: ListTools, tools: Sequence[JsonObject] | None, now: float) -> None:
        """The answer to `request`: the server's tools (`name`, `input_schema`,
        `description`, `annotations`), or `None` when listing failed."""
        server = self._servers.get(request.label)
        if server is None or server.item.data["id"] != request.item_id:
            return  # replaced by a later session.update
        emit = self._outbox.emit
        if tools is None:
            emit({"type": "mcp_list_tools.failed", "item_id": request.item_id}, now)
        else:
            server.tools = [t for t in tools if _allowed(server.config, str(t["name"]), t.get("annotations"))]
            server.item.data["tools"] = [copy_json(t) for t in server.tools]
            emit({"type": "mcp_list_tools.completed", "item_id": request.item_id}, now)
        emit({"type": "conversation.item.done", "item": copy_json(server.item.data), "previous_item_id": None}, now)

    def _active(self, session_tools: Sequence[JsonObject]) -> list[_Server]:
        labels = {t.get("server_label") for t in session_tools if t.get("type") == "mcp"}
        return [s for label, s in self._servers.items() if label in labels and s.tools]

    def tool_names(self, session_tools: Sequence[JsonObject]) -> tuple[str, ...]:
        """The names of the MCP tools the model may call under `session_tools`."""
        return tuple(str(t["name"]) for s in self._active(session_tools) for t in s.tools or ())

    def server_for(self, name: str, session_tools: Sequence[JsonObject]) -> JsonObject | None:
        """The config of the MCP server offering tool `name`, if one does."""
        for server in self._active(session_tools):
            if any(t["name"] == name for t in server.tools or ()):
                return server.config
        return None

    # --- calls ----------------------------------------------------------------------------------

    def plan(self, response: Response, index: int, call: FunctionCall, config: JsonObject, previous: str | None) -> tuple[JsonObject, bool]:
        """Schedule the output item of `call` on server `config` (a call or an approval
        request) at the response's start; returns the item and whether the response waits
        for the MCP server's answer (then `called` finishes it)."""
        new_id, schedule = self._outbox.new_id, self._outbox.schedule
        rid, at, label = response.id, response.base, str(config["server_label"])
        item_id = new_id("item")
        approval = self._approval_for(label, call) if needs_approval(config, call.name) else None
        if needs_approval(config, call.name) and approval is None:
            item: JsonObject = {"id": item_id, "type": "mcp_approval_request", "server_label": label, "name": call.name, "arguments": call.arguments}
        else:
            item = {"id": item_id, "type": "mcp_call", "server_label": label, "name": call.name, "arguments": "", "approval_request_id": approval, "output": None, "error": None}
        base = {"response_id": rid, "output_index": index}
        schedule(at, {"type": "response.output_item.added", **base, "item": copy_json(item)}, rid, ("announce", index))
        if not response.out_of_band:
            schedule(at, {"type": "conversation.item.added", "item": copy_json(item), "previous_item_id": previous}, rid)
        waiting = item["type"] == "mcp_call"
        if waiting:
            schedule(at, {"type": "response.mcp_call_arguments.delta", **base, "item_id": item_id, "delta": call.arguments}, rid)
            schedule(at, {"type": "response.mcp_call_arguments.done", **base, "item_id": item_id, "arguments": call.arguments}, rid)
            schedule(at, {"type": "response.mcp_call.in_progress", "item_id": item_id, "output_index": index}, rid)
            item["arguments"] = call.arguments
            self._waiting[item_id] = (response, item)
            self.requests.append(CallTool(label, item_id, str(config["server_url"]), _headers(config), call.name, call.arguments))
        else:
            self._item_done(response, index, item, at)
        if not response.out_of_band:
            self._conversation.insert(Item(copy_json(item)), previous)
        return item, waiting

    def _approval_for(self, label: str, call: FunctionCall) -> str | None:
        """The id of an approved request for this call not yet used by a call, if any."""
        items = self._conversation.in_order()
        used = {i.data.get("approval_request_id") for i in items if i.data.get("type") == "mcp_call"}
        approved = {i.data.get("approval_request_id") for i in items if i.data.get("type") == "mcp_approval_response" and i.data.get("approve") is True}
        for item in items:
            data = item.data
            if (
                data.get("type") == "mcp_approval_request"
                and data.get("server_label") == label
                and data.get("name") == call.name
                and data["id"] in approved
                and data["id"] not in used
            ):
                return str(data["id"])
        return None

    def _item_done(self, response: Response, index: int, item: JsonObject, at: float) -> None:
        rid = response.id
        self._outbox.schedule(at, {"type": "response.output_item.done", "response_id": rid, "output_index": index, "item": copy_json(item)}, rid)
        if not response.out_of_band:
            self._outbox.schedule(at, {"type": "conversation.item.done", "item": copy_json(item), "previous_item_id": None}, rid)

    def called(self, request: CallTool, output: str | None, error: JsonObject | None, now: float) -> None:
        """The MCP server's answer to `request`: its text `output`, or an `error` object
        (`protocol_error`, `tool_execution_error` or `http_error`). Finishes the response."""
        waiting = self._waiting.pop(request.item_id, None)
        if waiting is None:
            return
        response, item = waiting
        if response.done:
            return  # cancelled meanwhile: the call's item was closed with the response
        item.update(output=output, error=error)
        index = next(i for i, plan in enumerate(response.outputs) if plan.item is item)
        at = max(now, response.base)
        kind = "response.mcp_call.failed" if error is not None else "response.mcp_call.completed"
        self._outbox.schedule(at, {"type": kind, "item_id": item["id"], "output_index": index}, response.id)
        self._item_done(response, index, item, at)
        stored = self._conversation.items.get(item["id"])
        if stored is not None:
            stored.data = copy_json(item)
        self.on_response_ready(response, at)


def tool_listing(tools: Sequence[Any]) -> list[JsonObject]:
    """`mcp` `Tool`s as the `tools` of an `mcp_list_tools` item."""
    return [
        {
            "name": t.name,
            "input_schema": orjson.loads(orjson.dumps(t.input_schema)),
            "description": t.description,
            "annotations": t.annotations.model_dump(mode="json", by_alias=True, exclude_none=True) if t.annotations else None,
        }
        for t in tools
    ]
