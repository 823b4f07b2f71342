"""The wire-event dispatch: which `Supervisor` method handles each `ServerEvent` class.

`Supervisor.receive_event` makes one dict lookup on the event's exact class instead of a
`match` that tries up to 37 class patterns in turn (a rate-limit update used to pay for all
of them). The table is exhaustive over `ServerEvent`: checked at import and by a test,
since a dict dispatch cannot end in `assert_never`. Handlers live in the part that owns
what they change; the ones that only mirror the conversation into the history are here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Final, get_args

from .. import protocol as p
from ..agent import RealtimeAgent
from ..events import (
    ErrorEvent,
    HistoryAdded,
    HistoryUpdated,
    RawServerEvent,
    SessionEvent,
    UserTranscriptDelta,
)
from ..history import History
from ..protocol.sealed import sealed_constructor
from ..protocol.wire_types import ItemId, JsonMapping
from .core import Handler

__all__ = ["HANDLER_NAMES", "WireHandlers", "build_handlers", "observed_handlers"]

_new_HistoryAdded = sealed_constructor(HistoryAdded)
_new_HistoryUpdated = sealed_constructor(HistoryUpdated)
_new_UserTranscriptDelta = sealed_constructor(UserTranscriptDelta)


class WireHandlers:
    """Supervisor part: the handlers that mirror the service's conversation and report what
    the supervisor does not act on."""

    # From the other parts (see `runtime.core`):
    agent: RealtimeAgent[Any]
    history: History
    raw_events: bool
    _events: list[SessionEvent]
    _emit: Callable[[SessionEvent], None]
    _on_session: Callable[[JsonMapping], None]
    _on_mcp_item: Callable[[JsonMapping], None]

    def _on_user_transcript_delta(self, event: p.InputAudioTranscriptionDelta, now: float) -> None:
        self.history.append_text(event.item_id, event.delta)
        self._events.append(_new_UserTranscriptDelta(event.item_id, event.delta))

    def _on_item(
        self,
        event: p.ConversationItemAdded | p.ConversationItemCreated | p.ConversationItemDone,
        now: float,
    ) -> None:
        self._upsert_item(event.item, event.previous_item_id)
        if event.item.get("type") == "mcp_list_tools":
            self._on_mcp_item(event.item)

    def _on_item_retrieved(self, event: p.ConversationItemRetrieved, now: float) -> None:
        self._upsert_item(event.item, None)

    def _upsert_item(self, wire: JsonMapping, previous_item_id: ItemId | None) -> None:
        result = self.history.upsert(wire, previous_item_id, agent_name=self.agent.name)
        if result is not None:
            item, is_new = result
            self._emit(_new_HistoryAdded(item) if is_new else _new_HistoryUpdated(item))

    def _on_item_truncated(self, event: p.ConversationItemTruncated, now: float) -> None:
        truncated = self.history.mark_truncated(event.item_id, event.audio_end_ms)
        if truncated is not None:
            self._emit(_new_HistoryUpdated(truncated))

    def _on_session_event(self, event: p.SessionCreated | p.SessionUpdated, now: float) -> None:
        self._on_session(event.session)

    def _on_malformed(self, event: p.MalformedServerEvent, now: float) -> None:
        self._emit(ErrorEvent(event.to_exception(), "malformed_event"))

    def _on_unknown(self, event: p.UnknownServerEvent, now: float) -> None:
        if not self.raw_events:  # kept, never dropped
            self._events.append(RawServerEvent(event))

    def _on_nothing(self, event: p.ServerEvent, now: float) -> None:
        # Nothing to decide: the app sees these with raw_events=True. Function calls start
        # on `output_item.done`, which carries the whole call.
        return


# Exactly one handler per member of `ServerEvent`, keyed on the event's class (decoded
# events are never subclassed), named by the `Supervisor` method that handles it.
HANDLER_NAMES: Final[Mapping[type, str]] = {
    p.ResponseOutputAudioDelta: "_on_audio",
    p.ResponseOutputAudioTranscriptDelta: "_on_transcript_delta",
    p.ResponseOutputTextDelta: "_on_transcript_delta",
    p.ResponseOutputAudioTranscriptDone: "_on_transcript_done",
    p.ResponseOutputTextDone: "_on_text_done",
    p.ResponseOutputAudioDone: "_on_audio_done",
    p.InputAudioTranscriptionDelta: "_on_user_transcript_delta",
    p.InputAudioTranscriptionCompleted: "_on_user_transcript",
    p.InputAudioTranscriptionFailed: "_on_user_transcript_failed",
    p.InputAudioBufferCommitted: "_on_committed",
    p.InputAudioBufferSpeechStarted: "_on_speech_started",
    p.InputAudioBufferDtmfEventReceived: "_on_dtmf_event",
    p.ResponseCreated: "_on_response_created_event",
    p.ResponseDone: "_on_response_done_event",
    p.ResponseOutputItemDone: "_on_output_item_done",
    p.ConversationItemAdded: "_on_item",
    p.ConversationItemCreated: "_on_item",
    p.ConversationItemDone: "_on_item",
    p.ConversationItemRetrieved: "_on_item_retrieved",
    p.ConversationItemTruncated: "_on_item_truncated",
    p.ConversationItemDeleted: "_on_item_deleted",
    p.SessionCreated: "_on_session_event",
    p.SessionUpdated: "_on_session_event",
    p.ServerError: "_on_error_event",
    p.MalformedServerEvent: "_on_malformed",
    p.UnknownServerEvent: "_on_unknown",
    p.InputAudioBufferSpeechStopped: "_on_nothing",
    p.InputAudioBufferCleared: "_on_nothing",
    p.InputAudioBufferTimeoutTriggered: "_on_nothing",
    p.ResponseOutputItemAdded: "_on_output_item_added",
    p.ResponseContentPartAdded: "_on_nothing",
    p.ResponseContentPartDone: "_on_nothing",
    p.ResponseFunctionCallArgumentsDelta: "_on_arguments_delta",
    p.ResponseFunctionCallArgumentsDone: "_on_arguments_done",
    p.RateLimitsUpdated: "_on_nothing",
    # WebRTC/SIP: the service plays the audio and its audio arrives as it is played, so
    # `started` adds nothing; `cleared` follows an interruption already handled; `stopped`
    # ends the playback (the transport delivers it after the response's last audio).
    p.OutputAudioBufferStarted: "_on_nothing",
    p.OutputAudioBufferStopped: "_on_output_audio_stopped",
    p.OutputAudioBufferCleared: "_on_nothing",
    p.McpEvent: "_on_mcp_event",
}


def build_handlers(cls: type) -> dict[type, Handler]:
    """The dispatch table of supervisor class `cls`: the plain functions, looked up once,
    so a frame costs one dict lookup and one call. Raises `TypeError` when the table does
    not cover `ServerEvent` exactly (what `assert_never` would check)."""
    members = set(get_args(p.ServerEvent))
    missing, extra = members - HANDLER_NAMES.keys(), HANDLER_NAMES.keys() - members
    if missing or extra:
        raise TypeError(
            f"Supervisor event table out of date: missing {sorted(c.__name__ for c in missing)}, "
            f"extra {sorted(c.__name__ for c in extra)}"
        )
    handlers: dict[type, Handler] = {}
    for event_class, name in HANDLER_NAMES.items():
        handler = getattr(cls, name)
        if not callable(handler):
            raise TypeError(f"{cls.__name__}.{name} is not a handler")
        handlers[event_class] = handler
    return handlers


def observed_handlers(
    handlers: Mapping[type, Handler],
    observed: AbstractSet[type],
    observe: Callable[[SessionEvent | p.ServerEvent], None],
) -> dict[type, Handler]:
    """`handlers` with each class in `observed` reported to `observe` before it is handled
    (only those pay for the observer)."""
    table = dict(handlers)
    for cls in observed & handlers.keys():
        table[cls] = _observed_handler(handlers[cls], observe)
    return table


def _observed_handler(
    handler: Handler, observe: Callable[[SessionEvent | p.ServerEvent], None]
) -> Handler:
    def observed(supervisor: object, event: p.ServerEvent, now: float) -> None:
        observe(event)
        handler(supervisor, event, now)

    return observed
