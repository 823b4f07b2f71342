"""Input guardrails racing the end of the response they hold back (fast servers, short
answers): no pointless `response.cancel`, no error shown to the app for a cancel that crossed
the response's end on the wire, and the safe reply still follows."""

from __future__ import annotations

from desk import PCM_100MS, assistant_item, created, done, make, run_checks, stream
from support import feed, frames

from agentkit.events import AudioOut, ErrorEvent, GuardrailTripped
from agentkit.runtime.supervisor import Supervisor


def _spoken_turn_answered(sup: Supervisor, *, finish_first: bool) -> None:
    """A committed audio turn, the server's answer starting (and, with `finish_first`, done),
    then the turn's transcript, which the input guardrail checks."""
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"})
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": "u1", "type": "message", "role": "user", "content": []},
        },
    )
    created(sup)
    assistant_item(sup)
    if finish_first:
        stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
        done(sup)  # the whole answer arrived before the transcript
    feed(
        sup,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": "you idiot",
        },
    )


def test_trip_after_the_held_response_finished_sends_no_cancel() -> None:
    sup = make()
    _spoken_turn_answered(sup, finish_first=True)
    run_checks(sup, tripped=True)
    sent = frames(sup)
    # The response is over on the server: only the user item goes, then the safe reply.
    assert [f["type"] for f in sent] == ["conversation.item.delete", "response.create"]
    assert "civil" in sent[1]["response"]["instructions"]
    events = sup.events_to_emit()
    (tripped,) = [e for e in events if isinstance(e, GuardrailTripped)]
    assert tripped.response_id is None  # nothing needed cancelling
    assert not any(isinstance(e, AudioOut) for e in events)  # the held answer never plays


def test_a_cancel_that_crossed_the_response_end_is_not_an_error() -> None:
    sup = make()
    _spoken_turn_answered(sup, finish_first=False)
    run_checks(sup, tripped=True)
    assert [f["type"] for f in frames(sup)] == ["response.cancel", "conversation.item.delete"]
    sup.events_to_emit()
    # The server finished the response just before our cancel reached it.
    feed(
        sup,
        {
            "type": "error",
            "event_id": "evt_9",
            "error": {
                "type": "invalid_request_error",
                "code": "response_cancel_not_active",
                "message": "Cancellation failed: no active response found",
            },
        },
    )
    done(sup)
    assert not any(isinstance(e, ErrorEvent) for e in sup.events_to_emit())
    assert [f["type"] for f in frames(sup)] == ["response.create"]


def test_other_errors_still_reach_the_app() -> None:
    sup = make()
    feed(
        sup,
        {
            "type": "error",
            "event_id": "evt_9",
            "error": {
                "type": "invalid_request_error",
                "code": "response_cancel_not_active",
                "message": "Cancellation failed: no active response found",
            },
        },
    )
    # No cancel of ours was in flight: the app hears about it.
    (error,) = [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]
    assert error.code == "response_cancel_not_active"
