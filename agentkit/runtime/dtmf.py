"""Keypad digits: each key the caller presses becomes a `DtmfReceived` event, and a declared
sequence runs its action.

Keys come from the wire (`input_audio_buffer.dtmf_event_received`, SIP) or from the app
(`press_key()`: the Twilio bridge hands over Twilio's `dtmf` messages). Which keys form which
sequence is decided by `agentkit.telephony.dtmf.DtmfKeypad`, the one matching policy; this
part only applies the action of a completed sequence, through the paths the model's own
actions take, so nothing about a handoff or a tool is decided twice:

- a key press is a barge-in: the agent stops (truncated where the caller stopped hearing it);
- `DtmfHandoff` / `DtmfToolCall`: a `function_call` item is created on the service (the model
  sees what happened), then started as if the model had made it (`runtime.calls`): a handoff
  runs `on_handoff` and swaps the session, a tool runs under its timeout and approval policy;
  its one output follows, then the response that answers it;
- `DtmfReply`: a response whose instructions are to say the sentence word for word (the
  guardrails' safe-reply wording: the service has no "say this" event).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import protocol as p
from ..agent import RealtimeAgent
from ..errors import UserError
from ..events import DtmfReceived, ErrorEvent, SessionEvent
from ..protocol.dialects import Dialect
from ..protocol.items import FunctionCallItem
from ..protocol.wire_types import CallId, ItemId, JsonMapping, JsonObject, ResponseId
from ..telephony.dtmf import DtmfHandoff, DtmfKeypad, DtmfReply
from .core import to_json
from .policy import SAFE_REPLY_INSTRUCTIONS
from .responses import ResponseState

__all__ = ["Keypad"]


class Keypad:
    """Supervisor part: keypad digits and their declared actions (see the module docs)."""

    # From the other parts (see `runtime.core`):
    agent: RealtimeAgent[Any]
    dialect: Dialect
    _now: float
    _responses: dict[ResponseId, ResponseState]
    _emit: Callable[[SessionEvent], None]
    _send: Callable[[str], None]
    _next_item_id: Callable[[], ItemId]
    _interrupt: Callable[..., None]
    _request_response: Callable[[JsonObject | None], None]
    _start_call: Callable[[FunctionCallItem, JsonMapping, ResponseId, float], None]

    def _init_keypad(self) -> None:
        self._keypad = DtmfKeypad()
        self._keypad_agent: RealtimeAgent[Any] | None = None
        self._keypad_calls = 0

    def press_key(self, key: str, now: float) -> None:
        """The caller pressed keypad key `key` (a Twilio `dtmf` message, say)."""
        self._now = now
        self._key_pressed(key, now, None)

    def _on_dtmf_event(self, event: p.InputAudioBufferDtmfEventReceived, now: float) -> None:
        self._key_pressed(event.key, now, event.received_at)

    def _key_pressed(self, key: str, now: float, received_at: int | None) -> None:
        agent = self.agent
        if self._keypad_agent is not agent:
            # Another agent, another map: keys collected for the previous one mean nothing.
            self._keypad.reset()
            self._keypad_agent = agent
        match = self._keypad.press(key, agent.dtmf, now)
        self._emit(DtmfReceived(key, match.sequence if match else None, received_at))
        if match is None:
            return
        action = match.action
        if isinstance(action, DtmfReply):
            self._interrupt(now, manual=True)
            self._request_response(
                {"instructions": SAFE_REPLY_INSTRUCTIONS.format(reply=action.text)}
            )
            return
        if isinstance(action, DtmfHandoff):
            offered = {_target_name(h.target): h.tool_name for h in agent.handoff_list()}
            name = offered.get(action.agent)
            arguments = "{}"
            if name is None:
                self._refuse(match.sequence, f"a handoff to {action.agent!r}", sorted(offered))
                return
        else:
            name = action.tool
            arguments = to_json(dict(action.arguments))
            if all(t.name != name for t in agent.tools):
                self._refuse(match.sequence, f"the tool {name!r}", [t.name for t in agent.tools])
                return
        self._interrupt(now, manual=True)
        self._keypad_calls += 1
        call_id = CallId(f"call_dtmf_{self._keypad_calls}")
        item_id = self._next_item_id()
        item: JsonObject = {
            "type": "function_call",
            "id": item_id,
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
            "status": "completed",
        }
        self._send(p.encode_item_create(item, dialect=self.dialect))
        # The call belongs to no response of the service's: a response of our own, already
        # done, so the call's output is followed by one `response.create` (`runtime.calls`).
        response_id = ResponseId(f"resp_{call_id}")
        self._responses[response_id] = ResponseState(response_id, agent.name, done=True)
        self._start_call(
            FunctionCallItem(item_id, call_id, name, arguments, "completed"), item, response_id, now
        )

    def _refuse(self, sequence: str, what: str, offered: list[str]) -> None:
        self._emit(
            ErrorEvent(
                UserError(
                    f"agent {self.agent.name!r}: dtmf {sequence!r} asks for {what}, which the "
                    f"agent does not offer (it offers {', '.join(offered) or 'none'}); nothing ran"
                ),
                "dtmf_action_unavailable",
            )
        )


def _target_name(target: RealtimeAgent[Any] | str) -> str:
    return target if isinstance(target, str) else target.name
