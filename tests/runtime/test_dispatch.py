"""The wire-event dispatch table: exhaustive, and every event handled without error."""

from __future__ import annotations

import dataclasses
from typing import Any

from support import feed, new_supervisor
from triage import make

from agentkit import RealtimeAgent
from agentkit.events import (
    ErrorEvent,
    HistoryUpdated,
    RawServerEvent,
)


def test_unknown_events_are_kept_and_malformed_frames_become_errors() -> None:
    sup = make()
    feed(sup, {"type": "response.web_search.in_progress", "item_id": "x"})
    sup.receive_frame("{oops", 0.0)
    raw, error = sup.events_to_emit()
    assert isinstance(raw, RawServerEvent) and raw.event.type == "response.web_search.in_progress"
    assert isinstance(error, ErrorEvent) and "not JSON" in str(error.error)


def test_every_server_event_has_exactly_one_handler() -> None:
    # `receive_event` dispatches on the event's class through a table, which cannot end in
    # `assert_never`: this is the exhaustiveness check instead (also run at import).
    from typing import get_args

    from agentkit import protocol as p
    from agentkit.runtime.supervisor import _HANDLERS

    members = set(get_args(p.ServerEvent))
    assert set(_HANDLERS) == members
    for cls, handler in _HANDLERS.items():
        assert callable(handler), cls


def test_every_server_event_is_dispatched_without_error() -> None:
    from typing import get_args

    from agentkit import protocol as p

    sup = new_supervisor(RealtimeAgent(name="a", instructions="x"))
    sup.connecting()
    sup.connected("x", now=0.0)
    samples: dict[type, Any] = {
        cls: cls(*[_sample(f.type) for f in dataclasses.fields(cls)])
        for cls in get_args(p.ServerEvent)
    }
    for event in samples.values():
        sup.receive_event(event, 1.0)
    sup.events_to_emit()


def _sample(annotation: Any) -> Any:
    text = str(annotation)
    if "FunctionCallItem | None" in text:
        return None  # a typed call is the decoder's, for a well-formed item only
    if "int" in text and "str" not in text:
        return 0
    if "JSONObject" in text or "Mapping" in text or "dict" in text:
        return {}
    if "tuple" in text:
        return ()
    if "bytes" in text:
        return b""
    return "x"



def test_the_services_truncate_updates_the_history_the_app_sees() -> None:
    sup = make()
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": "a1", "type": "message", "role": "assistant", "status": "completed"},
        },
    )
    sup.events_to_emit()
    feed(
        sup,
        {"type": "conversation.item.truncated", "item_id": "a1", "content_index": 0, "audio_end_ms": 1500},
    )
    (updated,) = sup.events_to_emit()
    assert isinstance(updated, HistoryUpdated) and updated.item.audio_end_ms == 1500
    feed(
        sup,
        {"type": "conversation.item.truncated", "item_id": "gone", "content_index": 0, "audio_end_ms": 9},
    )
    assert sup.events_to_emit() == []  # an item we never had: nothing to report
