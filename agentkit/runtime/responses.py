"""Responses: one `response.create` at a time, and the follow-up after tool calls.

Owns which response is active, the `response.create` on its way, what is queued (and a safe
reply's instructions), and per response which calls it made and which still owe an output.

* **One `response.create`, never while a response is active.** Requests are queued and sent
  when no response is active and none is on its way; a response the server starts itself
  (server VAD) satisfies a queued request (but not a queued safe reply).
* **Follow-up after tools**: when a response is done and every call it made has its output,
  one `response.create` follows (not after an interrupted response: the caller's new turn
  gets the answer).
* **One `response.cancel` per response**: a second would draw `response_cancel_not_active`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .. import protocol as p
from ..agent import RealtimeAgent
from ..events import AgentEnd, AgentStart, ErrorEvent, SessionEvent, SessionStatus
from ..protocol.dialects import Dialect
from ..protocol.sealed import sealed_constructor
from ..protocol.wire_types import CallId, ItemId, JsonObject, ResponseId
from .commands import CloseSession, Command, Reconnect
from .config import RuntimeConfig
from .observer import SupervisorObserver

if TYPE_CHECKING:
    from .guardrail_gate import OutputTrack

__all__ = ["FATAL_CODES", "ResponseState", "Responses"]

# Error codes after which the service closes the session: reconnect (or end) instead of
# limping on.
FATAL_CODES: Final[frozenset[str]] = frozenset({"session_expired"})

_new_AgentStart = sealed_constructor(AgentStart)
_new_AgentEnd = sealed_constructor(AgentEnd)


_DONE_REMEMBERED = 32  # ended responses a late call can still find


@dataclass(slots=True)
class ResponseState:
    """One response: the calls it made, those still owing an output, how it ended."""

    response_id: ResponseId
    agent_name: str
    calls: set[CallId] = field(default_factory=set)
    pending: set[CallId] = field(default_factory=set)
    done: bool = False
    interrupted: bool = False


class Responses:
    """Supervisor part: response scheduling and follow-ups (see the module docs)."""

    # From the other parts (see `runtime.core`):
    agent: RealtimeAgent[Any]
    config: RuntimeConfig
    dialect: Dialect
    status: SessionStatus
    _now: float
    _commands: list[Command]
    _observer: SupervisorObserver | None
    _interrupted_responses: set[ResponseId]
    _blocked_responses: set[ResponseId]
    _gate: dict[ItemId, float]
    _gated_responses: set[ResponseId]
    _out: dict[ItemId, OutputTrack]
    _emit: Callable[[SessionEvent], None]
    _send: Callable[[str], None]
    _activity: Callable[[float], None]
    _arm_stall: Callable[[float], None]
    _maybe_renew: Callable[[], None]
    _start_listed_calls: Callable[[p.ResponseDone, float], None]
    _end_voice_turn: Callable[[float], None]
    _create_sent_at: float

    def _init_responses(self) -> None:
        self._active_response: ResponseId | None = None
        self._create_in_flight: str | None = None  # event_id of our unanswered response.create
        self._want_response = False
        self._response_params: JsonObject | None = None  # a safe reply's instructions
        self._inflight_params: JsonObject | None = None
        self._responses: dict[ResponseId, ResponseState] = {}
        self._cancel_sent: ResponseId | None = None  # the response we already sent response.cancel for
        self._client_event_ids = 0
        # The last responses that ended, oldest first (a bounded, ordered set): a call that
        # arrives after its own `response.done` finds it here.
        self._done_responses: dict[ResponseId, None] = {}

    @property
    def active_response_id(self) -> ResponseId | None:
        """The response the model is producing now, if any."""
        return self._active_response

    # -- asking for responses ---------------------------------------------------------------

    def _request_response(self, params: JsonObject | None = None) -> None:
        if self.dialect == "live" and params is not None and params.get("instructions"):
            # Live: directions to the voice layer (a safe reply, `respond(instructions)`) are
            # appended context, not a backend response to schedule (`protocol/live_encode.py`);
            # what the voice says after them is a turn of its own.
            self._end_voice_turn(self._now)
            self._send(p.encode_response_create(params))
            return
        self._want_response = True
        if params is not None:
            self._response_params = params
        self._maybe_create_response()

    def _maybe_create_response(self) -> None:
        # Only one response may write to the conversation at a time
        # (`conversation_already_has_active_response`): wait for `response.done`.
        if (
            not self._want_response
            or self._active_response is not None
            or self._create_in_flight is not None
            or self.status is not SessionStatus.CONNECTED
        ):
            return
        self._want_response = False
        params, self._response_params = self._response_params, None
        self._inflight_params = params
        self._client_event_ids += 1
        event_id = f"agentkit_rc_{self._client_event_ids}"
        self._create_in_flight = event_id
        # The service owes us a response from now on (the watchdog's stall clock; inlined
        # `_mark_created`: every response.create goes this way).
        self._create_sent_at = self._now
        self._arm_stall(self._now)
        self._send(p.encode_response_create(params, dialect=self.dialect, event_id=event_id))
        if self._observer is not None:
            self._observer.response_requested()

    def _check_follow_up(self, state: ResponseState) -> None:
        if not state.done or state.pending:
            return
        del self._responses[state.response_id]
        done = self._done_responses
        done[state.response_id] = None
        if len(done) > _DONE_REMEMBERED:
            del done[next(iter(done))]
        if state.calls and not state.interrupted:
            self._want_response = True

    def _cancel(self, rid: ResponseId) -> None:
        # One cancel per response: a second would draw `response_cancel_not_active`.
        if self._cancel_sent != rid:
            self._cancel_sent = rid
            self._send(p.encode_response_cancel(rid))

    def _responses_cut_by_drop(self) -> None:
        """The connection dropped (a reconnect follows): end the responses under way, and
        ask again for what the drop cut off."""
        for state in list(self._responses.values()):
            if state.done:
                continue
            # The drop ended this response: the new service session knows nothing of it.
            state.done = True
            self._emit(_new_AgentEnd(state.agent_name, state.response_id, "disconnected"))
            if state.pending or state.calls:
                self._check_follow_up(state)
            else:
                del self._responses[state.response_id]
                if not state.interrupted:
                    self._want_response = True  # finish the answer the caller lost
        if self._create_in_flight is not None:
            # Asked for, never answered: ask again on the new connection.
            self._want_response = True
            if self._inflight_params is not None and self._response_params is None:
                self._response_params = self._inflight_params

    def _no_response_under_way(self) -> None:
        self._active_response = None
        self._create_in_flight = None
        self._cancel_sent = None

    # -- wire events ------------------------------------------------------------------------

    def _on_response_created_event(self, event: p.ResponseCreated, now: float) -> None:
        self._activity(now)
        if self._gate:
            self._gated_responses.add(event.response_id)
        self._on_response_created(event.response_id)

    def _on_response_created(self, response_id: ResponseId) -> None:
        self._active_response = response_id
        self._arm_stall(self._now)
        if self._create_in_flight is not None:
            self._create_in_flight = None
        elif self._response_params is None:
            # The server started this one (VAD): it answers whatever we had queued, since
            # everything queued so far is already in the conversation (a safe reply is not
            # answered by it and stays queued).
            self._want_response = False
        self._responses.setdefault(response_id, ResponseState(response_id, self.agent.name))
        self._emit(_new_AgentStart(self.agent.name, response_id))

    def _on_response_done_event(self, event: p.ResponseDone, now: float) -> None:
        self._activity(now)
        self._on_response_done(event, now)

    def _on_response_done(self, event: p.ResponseDone, now: float) -> None:
        response_id = event.response_id
        blocked = response_id in self._blocked_responses
        if not blocked:
            # Calls we missed as output_item.done (the response lists every output item).
            self._start_listed_calls(event, now)
        self._blocked_responses.discard(response_id)
        for item_id in [
            i for i, t in self._out.items() if t.response_id == response_id and t.final_text is None
        ]:
            del self._out[item_id]
        state = self._responses.setdefault(
            response_id, ResponseState(response_id, self.agent.name)
        )
        state.done = True
        if self._active_response == response_id:
            self._active_response = None
        self._emit(_new_AgentEnd(state.agent_name, response_id, event.status))
        self._interrupted_responses.discard(response_id)
        self._check_follow_up(state)
        self._maybe_create_response()
        self._maybe_renew()

    def _on_error_event(self, event: p.ServerError, now: float) -> None:
        if event.client_event_id is not None and event.client_event_id == self._create_in_flight:
            # Our response.create was refused (typically `conversation_already_has_active_
            # response`: a server-started response covers what we wanted; or a rate limit).
            self._create_in_flight = None
            self._maybe_create_response()
        if event.code == "response_cancel_not_active" and self._cancel_sent is not None:
            # Our cancel crossed the response's end on the wire: the response is over, which
            # is what the cancel wanted. Not an error the app should see.
            return
        error = event.to_exception()
        self._emit(ErrorEvent(error, event.code))
        if event.code in FATAL_CODES:
            # The service is about to close the connection.
            if self.config.can_reconnect:
                self._commands.append(Reconnect(event.code or "session_expired"))
            else:
                self._commands.append(CloseSession(error))
