"""Function calls: start each call once, run it, send exactly one output for it.

Owns the calls in flight (`_calls`) and the ids already answered (`_answered_calls`, with the
tool each one called).

* A call starts on `response.output_item.done` (or, if that was missed, on `response.done`,
  which lists every output item), from the typed `FunctionCallItem` the decoder made of it:
  a transfer becomes `RunHandoff`, a tool that needs approval is parked
  (`runtime.approvals`), anything else becomes `RunTool`. A `function_call` item the
  decoder could not type (no string `call_id` or `name`) is reported as a `ProtocolError`.
* **Exactly one `function_call_output` per call id**, whatever happens: a result, an error,
  a timeout, a rejection, or an interruption that cancels the call; late or duplicate
  results are ignored. The same call announced twice (`output_item.done`, then
  `response.done`) runs once; a call id reused for a *different* tool is reported as a
  `ProtocolError` event (the second call cannot get an output of its own).
* **A call that arrives after its own `response.done`** (a service out of order) still gets
  its follow-up `response.create` once its output is sent.
* **Handoffs**: `session.update` for the new agent, then the call's output, then the
  follow-up `response.create`, so the new agent speaks first with its own configuration.
* Each running call has a deadline, armed here and kept by `runtime.watchdog`; at expiry the
  call is answered with the `timeout` output and its task cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .. import protocol as p
from ..agent import RealtimeAgent
from ..errors import AgentKitError, ProtocolError
from ..events import ErrorEvent, SessionEvent, ToolEnd, ToolStart
from ..handoffs import Handoff
from ..history import History, HistoryItem
from ..policy import SessionLimits, ToolFailure
from ..protocol.dialects import Dialect
from ..protocol.items import FunctionCallItem
from ..protocol.mcp import MCP_ITEM_TYPES
from ..protocol.sealed import sealed_constructor
from ..protocol.wire_types import CallId, ItemId, JsonMapping, ResponseId
from ..tools import FunctionTool
from .commands import CancelTool, Command, RunHandoff, RunTool
from .config import RuntimeConfig
from .core import to_json
from .responses import ResponseState

if TYPE_CHECKING:
    from .approvals import ParkedCall

__all__ = ["Call", "Calls"]

_new_ToolStart = sealed_constructor(ToolStart)
_new_ToolEnd = sealed_constructor(ToolEnd)
_new_RunTool = sealed_constructor(RunTool)
_new_HistoryItem = sealed_constructor(HistoryItem)


@dataclass(slots=True)
class Call:
    """A function call in flight."""

    call_id: CallId
    name: str
    response_id: ResponseId
    agent: RealtimeAgent[Any]
    cancellable: bool
    kind: Literal["tool", "handoff", "mcp"] = "tool"
    timeout: float | None = None


class Calls:
    """Supervisor part: function calls and their one output each (see the module docs)."""

    # From the other parts (see `runtime.core`):
    agent: RealtimeAgent[Any]
    config: RuntimeConfig
    dialect: Dialect
    history: History
    limits: SessionLimits
    _now: float
    _commands: list[Command]
    _responses: dict[ResponseId, ResponseState]
    _call_deadlines: dict[CallId, float]
    _emit: Callable[[SessionEvent], None]
    _send: Callable[[str], None]
    _clock: Callable[[float | None], None]
    _next_item_id: Callable[[], ItemId]
    _maybe_create_response: Callable[[], None]
    _check_follow_up: Callable[[ResponseState], None]
    _swap_agent: Callable[..., None]
    _ask_approval: Callable[[Call, FunctionTool, str, float], None]
    _forget_approval: Callable[[CallId], None]
    _approvals: dict[CallId, ParkedCall]
    _arm_call: Callable[[CallId, float | None], None]
    _blocked_responses: set[ResponseId]
    _done_responses: dict[ResponseId, None]
    _on_mcp_output_item: Callable[[p.ResponseOutputItemDone, float], None]

    def _init_calls(self) -> None:
        self._calls: dict[CallId, Call] = {}
        self._answered_calls: dict[CallId, str] = {}  # -> the tool it called

    # -- results ------------------------------------------------------------------------------

    def tool_finished(
        self,
        call_id: CallId,
        output: str,
        *,
        error: str | None = None,
        message: str | None = None,
        now: float | None = None,
    ) -> None:
        """A tool call ended: send its output (once) and follow up when its response is done.

        While the connection is down the output is recorded in the history and replayed on
        reconnect, so it is never lost. `now` (here and in the other calls that may ask for a
        response) dates the `response.create` for the stall watchdog; without it the last
        time given is used.
        """
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None:
            return  # already answered (cancelled, timed out) or unknown: never a second output
        limit = self.limits.max_tool_output_chars
        if len(output) > limit:
            self._emit(
                ErrorEvent(
                    AgentKitError(
                        f"tool {call.name!r} returned {len(output)} characters; cut to {limit}"
                    ),
                    "tool_output_truncated",
                )
            )
            output = output[:limit] + "\n[output truncated: it was too long]"
        self._send_output(call, output)
        self._emit(_new_ToolEnd(call_id, call.name, output, call.agent.name, error, message))
        self._after_output(call)

    def handoff_finished(
        self,
        call_id: CallId,
        target: RealtimeAgent[Any],
        instructions: str | None = None,
        *,
        now: float | None = None,
    ) -> None:
        """A transfer was accepted: `session.update` to `target`, then the output, then (once
        the response is done) one `response.create`, so the new agent speaks first."""
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None:
            return
        try:
            self._swap_agent(target, instructions, call_id=call_id)
        except AgentKitError as exc:
            self._emit(ErrorEvent(exc))
            self.handoff_failed(call_id, to_json({"error": f"transfer failed: {exc}"}))
            return
        self._send_output(call, to_json({"assistant": target.name}))
        self._after_output(call)

    def handoff_failed(self, call_id: CallId, output: str, *, now: float | None = None) -> None:
        """A transfer was refused (bad arguments, `on_handoff` raised): tell the model why."""
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None:
            return
        self._send_output(call, output)
        self._after_output(call)

    def _cancel_calls(self) -> None:
        """The connection is gone for good: cancel every running call (nothing can be sent)."""
        for call_id in list(self._calls):
            self._commands.append(CancelTool(call_id))
            self._call_deadlines.pop(call_id, None)
        self._calls.clear()

    def _time_out_call(self, call_id: CallId, now: float) -> None:
        """The call ran past its deadline: answer it with the `timeout` output, cancel it."""
        call = self._calls.get(call_id)
        if call is None:
            return
        if call.kind == "handoff":
            failure = ToolFailure(
                "timeout", call.name, "the transfer callback timed out", TimeoutError()
            )
        else:
            failure = ToolFailure(
                "timeout",
                call.name,
                f"the tool did not finish within {call.timeout or 0.0:g}s",
                TimeoutError(),
            )
        output = self.config.tool_error_formatter(failure)
        self._commands.append(CancelTool(call_id, timed_out=True, output=output))
        if call.kind == "handoff":
            self.handoff_failed(call_id, output, now=now)
        else:
            self.tool_finished(call_id, output, error="timeout", message=failure.message, now=now)

    # -- starting calls -----------------------------------------------------------------------

    def _on_output_item_done(self, event: p.ResponseOutputItemDone, now: float) -> None:
        if event.response_id in self._blocked_responses:
            return
        call = event.function_call
        if call is not None:
            self._start_call(call, event.item, event.response_id, now)
        elif event.item.get("type") == "function_call":
            self._malformed_call(event.item)
        elif event.item.get("type") in MCP_ITEM_TYPES:
            self._on_mcp_output_item(event, now)

    def _start_listed_calls(self, event: p.ResponseDone, now: float) -> None:
        """Start the calls `response.done` lists that no `output_item.done` started (it was
        missed), and report the malformed ones, in output order."""
        output = event.response.get("output")
        if not isinstance(output, list):
            return
        calls = iter(event.function_calls)
        call = next(calls, None)
        for item in output:
            if not isinstance(item, dict) or item.get("type") != "function_call":
                continue
            # `function_calls` holds exactly the well-formed calls of `output`, in order: the
            # next one is this item unless the decoder could not type it (then its `call_id`
            # or `name` is not a string, so it cannot match).
            if call is not None and item.get("call_id") == call.call_id and (
                item.get("name") == call.name
            ):
                self._start_call(call, item, event.response_id, now)
                call = next(calls, None)
            else:
                self._malformed_call(item)

    def _malformed_call(self, item: JsonMapping) -> None:
        self._emit(ErrorEvent(ProtocolError(f"function call without call_id/name: {item!r}")))

    def _start_call(
        self, call: FunctionCallItem, item: JsonMapping, response_id: ResponseId, now: float
    ) -> None:
        """Start function call `call` (`item` as it came, for the history) of `response_id`."""
        call_id = call.call_id
        name, arguments = call.name, call.arguments
        running_call = self._calls.get(call_id)
        first = running_call.name if running_call is not None else self._answered_calls.get(call_id)
        if first is not None:  # one dispatch per call id
            if first != name:
                self._emit(
                    ErrorEvent(
                        ProtocolError(
                            f"call id {call_id!r} was used for {first!r} and again for "
                            f"{name!r}: the second call was not run (one output per call id)"
                        )
                    )
                )
            return
        if call.id is not None:
            # The whole call as it came, arguments included, so a replay re-creates it exactly.
            self.history.upsert(item, None, agent_name=self.agent.name)
        agent = self.agent  # the call belongs to the agent active now, even across a handoff
        target = agent.find_tool(name)
        state = self._responses.get(response_id)
        if state is None:
            # Done already if its `response.done` came first: the follow-up is then due as
            # soon as this call has its output.
            state = self._responses[response_id] = ResponseState(
                response_id, agent.name, done=response_id in self._done_responses
            )
        state.calls.add(call_id)
        state.pending.add(call_id)
        running = self._calls[call_id] = Call(
            call_id,
            name,
            response_id,
            agent,
            cancellable=isinstance(target, FunctionTool) and target.cancellable,
        )
        raw = item.get("arguments")
        if raw is not None and type(raw) is not str:
            # The protocol sends arguments as a string of JSON; the decoder could only stand
            # `{}` in for anything else, which would fail as a missing field. Say what it was.
            self._refuse_arguments(running, raw, now)
            return
        if isinstance(target, Handoff):
            running.kind = "handoff"
            running.timeout = self.config.tool_timeout
            self._arm_call(call_id, running.timeout)
            self._commands.append(RunHandoff(call_id, target, arguments, agent))
            return
        if target is not None and target.needs_approval:
            self._ask_approval(running, target, arguments, now)
            return
        self._dispatch(running, target, arguments)

    def _refuse_arguments(self, call: Call, raw: object, now: float) -> None:
        shown = to_json(raw)
        kind = "object" if isinstance(raw, dict) else "array" if isinstance(raw, list) else "value"
        failure = ToolFailure(
            "invalid_arguments",
            call.name,
            f"the arguments arrived as a JSON {kind} ({shown[:200]}), not as a string of JSON "
            "as the protocol sends them",
        )
        self._emit(_new_ToolStart(call.call_id, call.name, shown, call.agent.name))
        self.tool_finished(
            call.call_id,
            self.config.tool_error_formatter(failure),
            error="invalid_arguments",
            message=failure.message,
            now=now,
        )

    def _dispatch(self, call: Call, tool: FunctionTool | None, arguments: str) -> None:
        timeout = call.timeout = self.config.timeout_for(tool)
        if timeout is not None:  # `_arm_call`, inlined: this is every call's path
            self._call_deadlines[call.call_id] = self._now + timeout
        self._emit(_new_ToolStart(call.call_id, call.name, arguments, call.agent.name))
        self._commands.append(_new_RunTool(call.call_id, call.name, arguments, tool, call.agent))

    # -- answering calls ----------------------------------------------------------------------

    def _send_output(self, call: Call, output: str) -> None:
        del self._calls[call.call_id]
        if self._approvals:  # rarely: no call to make for the others
            self._forget_approval(call.call_id)
        self._call_deadlines.pop(call.call_id, None)
        self._answered_calls[call.call_id] = call.name
        item_id = self._next_item_id()
        wire = p.function_call_output_item(call.call_id, output, item_id=item_id)
        # Recorded before it is sent: an output made while the connection is down is
        # replayed after the reconnect.
        self.history.add_local(
            _new_HistoryItem(
                item_id,
                "function_call_output",
                None,  # role
                "",  # text
                "completed",
                call.call_id,
                None,  # name
                None,  # arguments
                output,
                None,  # audio_end_ms
                None,  # agent_name: add_local sets it
                None,  # guardrail
            ),
            agent_name=call.agent.name,
        )
        self._send(p.encode_item_create(wire, dialect=self.dialect))

    def _tool_ended(self, call: Call, output: str, error: str | None) -> None:
        self._emit(_new_ToolEnd(call.call_id, call.name, output, call.agent.name, error))

    def _after_output(self, call: Call) -> None:
        state = self._responses.get(call.response_id)
        if state is not None:
            state.pending.discard(call.call_id)
            self._check_follow_up(state)
        self._maybe_create_response()
