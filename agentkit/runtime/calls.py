"""Function calls: start each call once, run it, send exactly one output for it.

Owns the calls in flight (`_calls`) and the ids already answered (`_answered_calls`).

* A call starts on `response.output_item.done` (or, if that was missed, on `response.done`,
  which lists every output item): a transfer becomes `RunHandoff`, a tool that needs
  approval is parked (`runtime.approvals`), anything else becomes `RunTool`.
* **Exactly one `function_call_output` per call id**, whatever happens: a result, an error,
  a timeout, a rejection, or an interruption that cancels the call; late or duplicate
  results are ignored.
* **Handoffs**: `session.update` for the new agent, then the call's output, then the
  follow-up `response.create`, so the new agent speaks first with its own configuration.
* Each running call has a deadline, armed here and kept by `runtime.watchdog`; at expiry the
  call is answered with the `timeout` output and its task cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from ..protocol.sealed import sealed_constructor
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

    call_id: str
    name: str
    response_id: str
    agent: RealtimeAgent[Any]
    cancellable: bool
    kind: Literal["tool", "handoff"] = "tool"
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
    _responses: dict[str, ResponseState]
    _call_deadlines: dict[str, float]
    _emit: Callable[[SessionEvent], None]
    _send: Callable[[str], None]
    _clock: Callable[[float | None], None]
    _next_item_id: Callable[[], str]
    _maybe_create_response: Callable[[], None]
    _check_follow_up: Callable[[ResponseState], None]
    _swap_agent: Callable[..., None]
    _ask_approval: Callable[[Call, FunctionTool, str, float], None]
    _forget_approval: Callable[[str], None]
    _approvals: dict[str, ParkedCall]
    _arm_call: Callable[[str, float | None], None]
    _blocked_responses: set[str]

    def _init_calls(self) -> None:
        self._calls: dict[str, Call] = {}
        self._answered_calls: set[str] = set()

    # -- results ------------------------------------------------------------------------------

    def tool_finished(
        self, call_id: str, output: str, *, error: str | None = None, now: float | None = None
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
        self._emit(_new_ToolEnd(call_id, call.name, output, call.agent.name, error))
        self._after_output(call)

    def handoff_finished(
        self,
        call_id: str,
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

    def handoff_failed(self, call_id: str, output: str, *, now: float | None = None) -> None:
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

    def _time_out_call(self, call_id: str, now: float) -> None:
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
            self.tool_finished(call_id, output, error="timeout", now=now)

    # -- starting calls -----------------------------------------------------------------------

    def _on_output_item_done(self, event: p.ResponseOutputItemDone, now: float) -> None:
        if event.response_id not in self._blocked_responses:
            self._maybe_start_call(event.item, event.response_id, now)

    def _maybe_start_call(self, item: Mapping[str, Any], response_id: str, now: float) -> None:
        if item.get("type") != "function_call":
            return
        call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
        if not isinstance(call_id, str) or not isinstance(name, str):
            self._emit(ErrorEvent(ProtocolError(f"function call without call_id/name: {item!r}")))
            return
        if call_id in self._calls or call_id in self._answered_calls:
            return  # one dispatch per call id
        if not isinstance(arguments, str):
            arguments = "{}"
        if isinstance(item.get("id"), str):
            # The whole call, arguments included, so a replay re-creates it exactly.
            self.history.upsert(item, None, agent_name=self.agent.name)
        agent = self.agent  # the call belongs to the agent active now, even across a handoff
        target = agent.find_tool(name)
        state = self._responses.setdefault(response_id, ResponseState(response_id, agent.name))
        state.calls.add(call_id)
        state.pending.add(call_id)
        call = self._calls[call_id] = Call(
            call_id,
            name,
            response_id,
            agent,
            cancellable=isinstance(target, FunctionTool) and target.cancellable,
        )
        if isinstance(target, Handoff):
            call.kind = "handoff"
            call.timeout = self.config.tool_timeout
            self._arm_call(call_id, call.timeout)
            self._commands.append(RunHandoff(call_id, target, arguments, agent))
            return
        if target is not None and target.needs_approval:
            self._ask_approval(call, target, arguments, now)
            return
        self._dispatch(call, target, arguments)

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
        self._answered_calls.add(call.call_id)
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
