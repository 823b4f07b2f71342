"""Hosted MCP calls: the service runs them; the session reports them, approves them and
follows them up.

A `HostedMCPTool` is called by the service, not by us (`protocol/mcp.py` has the events), so
this part only watches and answers:

* `mcp_list_tools.*` and the `mcp_list_tools` item: `McpToolsListed` when a server's tools
  arrive, an `ErrorEvent` (`mcp_list_tools_failed`) when listing failed;
* a `mcp_call` item: `ToolStart` when the service starts it (`response.mcp_call.in_progress`),
  `ToolEnd` with its output or error when the item is done, the same events (and so the
  same tracing spans) as a function call, keyed by the item id. The response that made it
  gets a follow-up `response.create` once it is done, so the model speaks the result;
* an `mcp_approval_request` item: parked by `runtime.approvals` exactly like a
  `needs_approval` function call (`ToolApprovalRequired`, `approve()` / `reject()`, the
  deadline, "always"), then answered with one `mcp_approval_response` item and a follow-up
  `response.create` (approved: the model makes the call; rejected: it says so).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from .. import protocol as p
from ..agent import RealtimeAgent
from ..errors import AgentKitError
from ..events import ErrorEvent, McpToolsListed, SessionEvent, ToolEnd, ToolStart
from ..protocol.dialects import Dialect
from ..protocol.mcp import mcp_approval_response_item
from ..protocol.sealed import sealed_constructor
from ..protocol.wire_types import CallId, ItemId, JsonMapping, ResponseId
from ..tools import FunctionTool
from .calls import Call
from .policy import SessionPolicy
from .responses import ResponseState

if TYPE_CHECKING:
    from .approvals import ParkedCall

__all__ = ["HostedMcp", "hosted_tool"]

_new_ToolStart = sealed_constructor(ToolStart)
_new_ToolEnd = sealed_constructor(ToolEnd)

_PARKED_NOTE: Final = "hosted MCP tools run on the service"


def _runs_on_service(**arguments: Any) -> str:
    # Never called: an approved hosted call is answered with `mcp_approval_response`, not
    # run here (see `HostedMcp._answer_hosted_approval`).
    raise AgentKitError(_PARKED_NOTE)


def hosted_tool(name: str, server_label: str) -> FunctionTool:
    """How the approval policy sees a hosted MCP tool: a tool that always asks (the service
    only sends approval requests for tools that need them), so "always" decisions apply to
    it by name like to any tool."""
    return FunctionTool(
        name=name,
        description=f"{server_label}: {_PARKED_NOTE}",
        parameters={"type": "object"},
        func=_runs_on_service,
        needs_approval=True,
    )


class HostedMcp:
    """Supervisor part: hosted MCP calls and approvals (see the module docs)."""

    # From the other parts (see `runtime.core`):
    agent: RealtimeAgent[Any]
    dialect: Dialect
    policy: SessionPolicy
    _responses: dict[ResponseId, ResponseState]
    _done_responses: dict[ResponseId, None]
    _approvals: dict[CallId, ParkedCall]
    _emit: Callable[[SessionEvent], None]
    _send: Callable[[str], None]
    _ask_approval: Callable[[Call, FunctionTool, str, float], None]
    _after_output: Callable[[Call], None]

    def _init_hosted_mcp(self) -> None:
        # item id → (tool name, arguments) of the calls announced and not yet done.
        self._mcp_calls: dict[ItemId, tuple[str, str]] = {}

    def _track_mcp_call(self, event: p.ResponseOutputItemAdded) -> None:
        item = event.item
        if item.get("type") == "mcp_call":
            name, arguments = item.get("name"), item.get("arguments")
            self._mcp_calls[ItemId(str(item.get("id")))] = (
                name if isinstance(name, str) else "",
                arguments if isinstance(arguments, str) else "",
            )

    def _on_mcp_event(self, event: p.McpEvent, now: float) -> None:
        kind = event.type
        if kind == "mcp_list_tools.failed":
            self._emit(
                ErrorEvent(
                    AgentKitError(
                        f"the service could not list the tools of an MCP server (item "
                        f"{event.item_id}); its tools are not offered"
                    ),
                    "mcp_list_tools_failed",
                )
            )
        elif kind == "response.mcp_call_arguments.done":
            name, _ = self._mcp_calls.get(event.item_id, ("", ""))
            self._mcp_calls[event.item_id] = (name, event.text or "")
        elif kind == "response.mcp_call.in_progress":
            name, arguments = self._mcp_calls.get(event.item_id, ("", ""))
            self._emit(_new_ToolStart(CallId(event.item_id), name, arguments, self.agent.name))
        # The other events only narrate: the item says how the call ended.

    def _on_mcp_item(self, item: JsonMapping) -> None:
        """A conversation item of hosted MCP was added or completed."""
        if item.get("type") != "mcp_list_tools" or item.get("status") == "in_progress":
            return
        tools = item.get("tools")
        if not isinstance(tools, list) or not tools:
            return  # announced, still empty: `mcp_list_tools.completed` brings the item again
        names = tuple(str(t.get("name")) for t in tools if isinstance(t, dict))
        self._emit(McpToolsListed(ItemId(str(item.get("id"))), str(item.get("server_label")), names))

    def _on_mcp_output_item(self, event: p.ResponseOutputItemDone, now: float) -> None:
        """An output item of hosted MCP is done: a call that ran, or one awaiting approval."""
        item = event.item
        kind = item.get("type")
        item_id = ItemId(str(item.get("id")))
        name = str(item.get("name"))
        arguments = item.get("arguments")
        args = arguments if isinstance(arguments, str) else ""
        state = self._response_state(event.response_id)
        if kind == "mcp_call":
            self._mcp_calls.pop(item_id, None)
            error = item.get("error")
            output = item.get("output")
            if isinstance(error, dict):
                message = str(error.get("message", ""))
                self._emit(
                    _new_ToolEnd(
                        CallId(item_id), name, message, self.agent.name, "error", message
                    )
                )
            else:
                text = output if isinstance(output, str) else ""
                self._emit(_new_ToolEnd(CallId(item_id), name, text, self.agent.name, None, None))
            # The model speaks the result in a response of its own (the service does not
            # continue this one): follow it up once it is done.
            state.calls.add(CallId(item_id))
        elif kind == "mcp_approval_request":
            call_id = CallId(item_id)
            if call_id in state.calls:
                return  # announced twice (`output_item.done`, then `response.done`)
            state.calls.add(call_id)
            state.pending.add(call_id)
            call = Call(call_id, name, event.response_id, self.agent, False, kind="mcp")
            label = str(item.get("server_label"))
            self._ask_approval(call, hosted_tool(name, label), args, now)

    def _answer_hosted_approval(self, call: Call, approved: bool, reason: str | None) -> None:
        """Send the app's decision on a parked approval request, then follow up."""
        wire = mcp_approval_response_item(call.call_id, approved, reason=reason)
        self._send(p.encode_item_create(wire, previous_item_id=call.call_id, dialect=self.dialect))
        if not approved:
            output = reason or self.policy.rejection_output(None)
            self._emit(_new_ToolEnd(call.call_id, call.name, output, call.agent.name, "rejected", None))
        self._after_output(call)

    def _response_state(self, response_id: ResponseId) -> ResponseState:
        state = self._responses.get(response_id)
        if state is None:
            # Done already when its `response.done` came first: the follow-up is then due
            # as soon as nothing is pending.
            state = self._responses[response_id] = ResponseState(
                response_id, self.agent.name, done=response_id in self._done_responses
            )
        return state
