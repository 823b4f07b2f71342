"""The runtime on GPT-Live: the few places where Live's semantics differ from Realtime's.

Everything else runs the Realtime code path: `protocol/live_decode.py` turns Live's events into
the ones the supervisor already handles, and `protocol/live_encode.py` renders its frames.
What is left is here, as handlers of the Live-only events (`protocol/live_events.py`, added to
the supervisor's dispatch table on a Live session) and the helpers the parts call where they
branch on the dialect:

* **Session lifetime.** `session.closed` says why the session ended: `expired` (its duration
  limit) and `connection_lost` go to the reconnect machinery when the policy allows it (a new
  session seeded with the history, `compile_live_start(history=...)`), as the Realtime
  `session_expired` error does; any other reason ends the session.
* **Replay.** A fresh Live session takes its history as startup `input` (text messages only):
  the caller's and the agent's turns as they are, a tool call and its output as one developer
  note (`live_history`).
* **Refused calls.** Input guardrails on Live react after the voice layer heard the turn: a
  delegated response held for the check and blocked by a trip still waits for its calls'
  outputs, so each gets a refusal (`refused_outputs`), never a silence that would leave the
  delegation hanging.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..errors import SessionError
from ..events import AgentEnd, AgentStart, ErrorEvent
from ..protocol.items import function_call_output_item
from ..protocol.live_events import (
    LiveBackendEvent,
    LiveDelegationCreated,
    LiveInstructionsAppended,
    LiveNotice,
    LiveSessionClosed,
    LiveSessionStarted,
    LiveUsageUpdated,
    LiveVoiceTurn,
)
from ..protocol.server_events import ResponseOutputItemDone, ServerEvent
from ..protocol.wire_types import CallId, JsonObject
from .commands import CloseSession, Reconnect
from .core import Handler, to_json

__all__ = ["LIVE_HANDLERS", "REFUSED_OUTPUT", "live_history", "refused_outputs"]

REFUSED_OUTPUT: Final = to_json(
    {"error": "refused: an input guardrail stopped the request this call was made for"}
)
"""The output a delegated call gets when a guardrail trip blocked its request."""

_RECONNECT_REASONS: Final = frozenset({"expired", "connection_lost"})


def _on_closed(supervisor: Any, event: LiveSessionClosed, now: float) -> None:
    if event.reason == "close_requested":
        return  # ours: the session is closing already
    if event.reason in _RECONNECT_REASONS and supervisor.config.can_reconnect:
        code = "session_expired" if event.reason == "expired" else event.reason
        supervisor._commands.append(Reconnect(code))
        return
    error = SessionError(f"the Live session closed: {event.reason}")
    supervisor._emit(ErrorEvent(error, event.reason))
    supervisor._commands.append(CloseSession(error))


def _on_started(supervisor: Any, event: LiveSessionStarted, now: float) -> None:
    supervisor._activity(now)


def _on_voice_turn(supervisor: Any, event: LiveVoiceTurn, now: float) -> None:
    # The voice layer speaking is the agent speaking: the app (and the caller's settle logic,
    # and tracing) sees it start and end as it sees a response's.
    name = supervisor.agent.name
    if event.done:
        supervisor._emit(AgentEnd(name, event.response_id, "completed"))
    else:
        supervisor._activity(now)
        supervisor._emit(AgentStart(name, event.response_id))


def _kept(supervisor: Any, event: object, now: float) -> None:
    # Nothing to decide: the app sees these with raw_events=True.
    return


LIVE_HANDLERS: Final[Mapping[type, Handler]] = {
    LiveSessionStarted: _on_started,
    LiveSessionClosed: _on_closed,
    LiveDelegationCreated: _kept,
    LiveBackendEvent: _kept,
    LiveInstructionsAppended: _kept,
    LiveUsageUpdated: _kept,
    LiveNotice: _kept,
    LiveVoiceTurn: _on_voice_turn,
}
"""The Live-only events' handlers, added to the supervisor's table on a Live session."""


def live_history(items: Iterable[JsonObject]) -> list[tuple[str, str]]:
    """Replayable Realtime wire items (`runtime.reconnect.replay_items`) as Live startup
    history: `(role, text)` messages, a call and its output folded into a developer note."""
    out: list[tuple[str, str]] = []
    calls: dict[str, str] = {}
    for item in items:
        kind = item.get("type")
        if kind == "message":
            text = " ".join(
                str(part.get("text") or part.get("transcript") or "")
                for part in item.get("content") or ()
                if isinstance(part, dict)
            ).strip()
            role = item.get("role")
            if text and role in ("user", "assistant"):
                out.append((str(role), text))
            elif text and role == "system":
                out.append(("developer", text))
        elif kind == "function_call":
            calls[str(item.get("call_id"))] = f"{item.get('name')}({item.get('arguments')})"
        elif kind == "function_call_output":
            call = calls.get(str(item.get("call_id")), "a tool")
            out.append(("developer", f"Tool call {call} returned: {item.get('output')}"))
    return out


def refused_outputs(held: Iterable[ServerEvent]) -> list[JsonObject]:
    """The output items refusing every function call among `held` (see the module docs)."""
    items: list[JsonObject] = []
    for event in held:
        if isinstance(event, ResponseOutputItemDone) and event.function_call is not None:
            call_id: CallId = event.function_call.call_id
            items.append(function_call_output_item(call_id, REFUSED_OUTPUT))
    return items

