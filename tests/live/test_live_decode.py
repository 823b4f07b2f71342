"""`LiveDecoder`: Live's events as the supervisor's, timeline fragments grouped into turns."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from agentkit import protocol as p
from agentkit.protocol.live_decode import LiveDecoder
from agentkit.protocol.live_events import LiveDelegationCreated, LiveSessionClosed, LiveVoiceTurn


def frame(event: dict[str, Any]) -> str:
    return orjson.dumps({"event_id": "e", **event}).decode()


def kinds(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_fragments_are_grouped_into_user_and_assistant_turns() -> None:
    d = LiveDecoder()
    first = d.decode(frame({"type": "session.input_transcript.delta", "delta": "Where is", "start_ms": 0, "end_ms": 500}))
    assert kinds(first) == ["ConversationItemAdded", "InputAudioBufferCommitted", "InputAudioTranscriptionDelta"]
    user_id = first[0].item["id"]
    assert d.decode(frame({"type": "session.input_transcript.delta", "delta": " my order?", "start_ms": 500, "end_ms": 900}))[0].item_id == user_id
    audio = d.decode(frame({"type": "session.output_audio.delta", "delta": base64.b64encode(b"\0\0" * 10).decode()}))
    # The caller's turn ends where the voice layer starts.
    assert kinds(audio) == ["InputAudioTranscriptionCompleted", "ConversationItemAdded", "LiveVoiceTurn", "ResponseOutputAudioDelta"]
    assert audio[0].transcript == "Where is my order?" and audio[3].audio == b"\0\0" * 10 and d.voice_fragment
    voice = audio[3]
    text = d.decode(frame({"type": "session.output_transcript.delta", "delta": "Let me check.", "start_ms": 950, "end_ms": 1500}))
    assert (text[0].item_id, text[0].response_id) == (voice.item_id, voice.response_id)
    closed = d.close_voice_turn()
    assert kinds(closed) == ["ResponseOutputAudioTranscriptDone", "ResponseOutputAudioDone", "ConversationItemDone", "LiveVoiceTurn"]
    assert closed[0].transcript == "Let me check." and closed[3] == LiveVoiceTurn(voice.response_id, voice.item_id, done=True)
    assert d.close_voice_turn() == []


def test_delegated_work_maps_onto_backend_responses_and_calls() -> None:
    d = LiveDecoder()
    d.decode(frame({"type": "session.input_transcript.delta", "delta": "Refund me", "start_ms": 0, "end_ms": 400}))
    created = d.decode(frame({"type": "session.delegation.created", "offset_ms": 420, "delegation": {"id": "dlg_1", "target": "responses", "type": "delegation", "response_id": "resp_1"}}))
    assert kinds(created) == ["InputAudioTranscriptionCompleted", "LiveDelegationCreated"]
    assert created[1] == LiveDelegationCreated("dlg_1", "responses", "resp_1", 420, "e")

    def nested(event: dict[str, Any]) -> list[Any]:
        return d.decode(frame({"type": "response.event", "delegation_id": "dlg_1", "event": event}))

    (start,) = nested({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}})
    assert isinstance(start, p.ResponseCreated) and start.response_id == "resp_1"
    call = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "refund", "arguments": '{"a":1}', "status": "completed"}
    (done,) = nested({"type": "response.output_item.done", "output_index": 0, "item": call})
    assert isinstance(done, p.ResponseOutputItemDone) and done.response_id == "resp_1"
    assert done.function_call is not None and (done.function_call.call_id, done.function_call.name) == ("call_1", "refund")
    (text,) = nested({"type": "response.output_text.delta", "delta": "x"})
    assert type(text).__name__ == "LiveBackendEvent"
    (end,) = nested({"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "output": []}})
    # Live clears the snapshot's output; the decoder lists what the stream said, as Realtime does.
    assert isinstance(end, p.ResponseDone) and end.status == "completed"
    assert end.response["output"] == [call] and [c.call_id for c in end.function_calls] == ["call_1"]


def test_errors_and_the_end_of_the_session() -> None:
    d = LiveDecoder()
    (error,) = d.decode(frame({"type": "error", "error": {"type": "invalid_request_error", "code": "unknown_parameter", "message": "no", "param": "session.x", "client_event_id": "c1"}}))
    assert isinstance(error, p.ServerError)
    assert (error.code, error.param, error.client_event_id) == ("unknown_parameter", "session.x", "c1")
    d.decode(frame({"type": "session.output_transcript.delta", "delta": "Bye", "start_ms": 0, "end_ms": 100}))
    closed = d.decode(frame({"type": "session.closed", "reason": "expired", "session": {}, "usage": {"seconds": 3.0}}))
    assert isinstance(closed[-1], LiveSessionClosed) and closed[-1].reason == "expired"
    assert "ResponseOutputAudioTranscriptDone" in kinds(closed)


def test_bad_frames_are_malformed_and_unknown_types_are_kept() -> None:
    d = LiveDecoder()
    assert kinds(d.decode("not json")) == ["MalformedServerEvent"]
    assert kinds(d.decode("[1]")) == ["MalformedServerEvent"]
    assert kinds(d.decode(frame({"type": "session.output_audio.delta", "delta": "%%%"}))) == ["MalformedServerEvent"]
    assert kinds(d.decode(frame({"type": "session.input_transcript.delta", "delta": 3}))) == ["MalformedServerEvent"]
    (unknown,) = d.decode(frame({"type": "session.something_new", "x": 1}))
    assert isinstance(unknown, p.UnknownServerEvent) and unknown.raw["x"] == 1


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_types = st.sampled_from([
    "session.started", "session.output_audio.delta", "session.output_transcript.delta",
    "session.input_transcript.delta", "response.event", "session.delegation.created", "error",
    "session.closed", "session.usage.updated", "session.instructions.appended", "info",
])


@given(_types, st.dictionaries(st.sampled_from(["delta", "event", "delegation", "error", "session", "usage", "start_ms", "end_ms", "offset_ms", "reason"]), _json, max_size=5))
def test_decoding_never_raises(kind: str, fields: dict[str, Any]) -> None:
    events = LiveDecoder().decode(orjson.dumps({**fields, "type": kind}))
    assert events  # something is always kept: typed, malformed or unknown
