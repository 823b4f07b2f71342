"""Decoding: every typed server event decodes, in both dialects; nothing crashes the decoder;
a function call arrives typed as well."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai_conformance import validate_server_event

from agentkit import protocol as p
from agentkit.errors import ProtocolError
from agentkit.protocol.dialects import server_event_ga_to_beta

AUDIO = bytes(range(256)) * 18 + b"\x00" * 192  # 4800 bytes, every byte value
AUDIO_B64 = base64.b64encode(AUDIO).decode()

POS = {"response_id": "resp_1", "item_id": "item_2", "output_index": 0, "content_index": 0}
SESSION = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_1",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "Be terse.",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0},
    },
    "expires_at": 1760000000,
}
ASSISTANT_ITEM = {
    "id": "item_2",
    "object": "realtime.item",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_audio", "transcript": "Hello there."}],
}
CALL_ITEM = {
    "id": "item_3",
    "object": "realtime.item",
    "type": "function_call",
    "status": "completed",
    "name": "lookup",
    "call_id": "call_1",
    "arguments": '{"q":"x"}',
}
RESPONSE = {
    "id": "resp_1",
    "object": "realtime.response",
    "status": "completed",
    "output": [ASSISTANT_ITEM],
    "conversation_id": "conv_1",
    "output_modalities": ["audio"],
    "max_output_tokens": "inf",
    "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
}


def ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": "event_1", **fields}


# (wire event, expected class, expected fields)
CASES: list[tuple[dict[str, Any], type[Any], dict[str, Any]]] = [
    (ev("session.created", session=SESSION), p.SessionCreated, {"session": SESSION}),
    (ev("session.updated", session=SESSION), p.SessionUpdated, {"session": SESSION}),
    (
        ev(
            "error",
            error={
                "type": "invalid_request_error",
                "code": "conversation_already_has_active_response",
                "message": "busy",
                "param": None,
                "event_id": "c_7",
            },
        ),
        p.ServerError,
        {
            "error_type": "invalid_request_error",
            "code": "conversation_already_has_active_response",
            "message": "busy",
            "client_event_id": "c_7",
        },
    ),
    (
        ev("input_audio_buffer.speech_started", item_id="item_9", audio_start_ms=1200),
        p.InputAudioBufferSpeechStarted,
        {"item_id": "item_9", "audio_start_ms": 1200},
    ),
    (
        ev("input_audio_buffer.speech_stopped", item_id="item_9", audio_end_ms=2400),
        p.InputAudioBufferSpeechStopped,
        {"item_id": "item_9", "audio_end_ms": 2400},
    ),
    (
        ev("input_audio_buffer.committed", item_id="item_9", previous_item_id="item_8"),
        p.InputAudioBufferCommitted,
        {"item_id": "item_9", "previous_item_id": "item_8"},
    ),
    (ev("input_audio_buffer.cleared"), p.InputAudioBufferCleared, {}),
    (
        ev(
            "input_audio_buffer.timeout_triggered",
            item_id="item_9",
            audio_start_ms=0,
            audio_end_ms=6000,
        ),
        p.InputAudioBufferTimeoutTriggered,
        {"audio_end_ms": 6000},
    ),
    (
        # SIP only, and with no event_id (as the SDK models it).
        {"type": "input_audio_buffer.dtmf_event_received", "event": "0", "received_at": 1767225600},
        p.InputAudioBufferDtmfEventReceived,
        {"key": "0", "received_at": 1767225600, "event_id": ""},
    ),
    (
        ev("conversation.item.added", item=ASSISTANT_ITEM, previous_item_id=None),
        p.ConversationItemAdded,
        {"item": ASSISTANT_ITEM, "previous_item_id": None},
    ),
    (
        ev("conversation.item.done", item=CALL_ITEM, previous_item_id="item_2"),
        p.ConversationItemDone,
        {"item": CALL_ITEM, "previous_item_id": "item_2"},
    ),
    (
        ev("conversation.item.created", item=ASSISTANT_ITEM, previous_item_id="item_1"),
        p.ConversationItemCreated,
        {"item": ASSISTANT_ITEM},
    ),
    (
        ev("conversation.item.retrieved", item=ASSISTANT_ITEM),
        p.ConversationItemRetrieved,
        {"item": ASSISTANT_ITEM},
    ),
    (
        ev("conversation.item.truncated", item_id="item_2", content_index=0, audio_end_ms=1500),
        p.ConversationItemTruncated,
        {"item_id": "item_2", "audio_end_ms": 1500},
    ),
    (
        ev("conversation.item.deleted", item_id="item_2"),
        p.ConversationItemDeleted,
        {"item_id": "item_2"},
    ),
    (
        ev(
            "conversation.item.input_audio_transcription.delta",
            item_id="item_9",
            content_index=0,
            delta="Hel",
        ),
        p.InputAudioTranscriptionDelta,
        {"item_id": "item_9", "delta": "Hel"},
    ),
    (
        ev(
            "conversation.item.input_audio_transcription.completed",
            item_id="item_9",
            content_index=0,
            transcript="Hello.",
            usage={"type": "duration", "seconds": 1.5},
        ),
        p.InputAudioTranscriptionCompleted,
        {"transcript": "Hello."},
    ),
    (
        ev(
            "conversation.item.input_audio_transcription.failed",
            item_id="item_9",
            content_index=0,
            error={"type": "transcription_error", "code": "audio_unintelligible", "message": "?"},
        ),
        p.InputAudioTranscriptionFailed,
        {"item_id": "item_9"},
    ),
    (
        ev("response.created", response={**RESPONSE, "status": "in_progress", "output": []}),
        p.ResponseCreated,
        {"response_id": "resp_1"},
    ),
    (
        ev("response.done", response=RESPONSE),
        p.ResponseDone,
        {"response_id": "resp_1", "status": "completed"},
    ),
    (
        ev("response.output_item.added", response_id="resp_1", output_index=0, item=CALL_ITEM),
        p.ResponseOutputItemAdded,
        {"response_id": "resp_1", "item": CALL_ITEM},
    ),
    (
        ev("response.output_item.done", response_id="resp_1", output_index=1, item=CALL_ITEM),
        p.ResponseOutputItemDone,
        {"output_index": 1},
    ),
    (
        ev("response.content_part.added", **POS, part={"type": "audio", "transcript": ""}),
        p.ResponseContentPartAdded,
        {"part": {"type": "audio", "transcript": ""}},
    ),
    (
        ev("response.content_part.done", **POS, part={"type": "audio", "transcript": "Hi."}),
        p.ResponseContentPartDone,
        {"item_id": "item_2"},
    ),
    (
        ev("response.output_audio.delta", **POS, delta=AUDIO_B64),
        p.ResponseOutputAudioDelta,
        {"audio": AUDIO, "item_id": "item_2", "response_id": "resp_1", "content_index": 0},
    ),
    (ev("response.output_audio.done", **POS), p.ResponseOutputAudioDone, {"item_id": "item_2"}),
    (
        ev("response.output_audio_transcript.delta", **POS, delta="Hel"),
        p.ResponseOutputAudioTranscriptDelta,
        {"delta": "Hel", "item_id": "item_2"},
    ),
    (
        ev("response.output_audio_transcript.done", **POS, transcript="Hello."),
        p.ResponseOutputAudioTranscriptDone,
        {"transcript": "Hello."},
    ),
    (
        ev("response.output_text.delta", **POS, delta="Hi"),
        p.ResponseOutputTextDelta,
        {"delta": "Hi"},
    ),
    (
        ev("response.output_text.done", **POS, text="Hi."),
        p.ResponseOutputTextDone,
        {"text": "Hi."},
    ),
    (
        ev(
            "response.function_call_arguments.delta",
            response_id="resp_1",
            item_id="item_3",
            output_index=1,
            call_id="call_1",
            delta='{"q":',
        ),
        p.ResponseFunctionCallArgumentsDelta,
        {"call_id": "call_1", "delta": '{"q":'},
    ),
    (
        ev(
            "response.function_call_arguments.done",
            response_id="resp_1",
            item_id="item_3",
            output_index=1,
            call_id="call_1",
            name="lookup",
            arguments='{"q":"x"}',
        ),
        p.ResponseFunctionCallArgumentsDone,
        {"call_id": "call_1", "name": "lookup", "arguments": '{"q":"x"}'},
    ),
    (
        ev(
            "rate_limits.updated",
            rate_limits=[{"name": "tokens", "limit": 100, "remaining": 50, "reset_seconds": 1.5}],
        ),
        p.RateLimitsUpdated,
        {"rate_limits": ({"name": "tokens", "limit": 100, "remaining": 50, "reset_seconds": 1.5},)},
    ),
    (
        ev("output_audio_buffer.started", response_id="resp_1"),
        p.OutputAudioBufferStarted,
        {"response_id": "resp_1"},
    ),
    (
        ev("output_audio_buffer.stopped", response_id="resp_1"),
        p.OutputAudioBufferStopped,
        {"response_id": "resp_1"},
    ),
    (
        ev("output_audio_buffer.cleared", response_id="resp_1"),
        p.OutputAudioBufferCleared,
        {"response_id": "resp_1"},
    ),
    (
        ev(
            "response.mcp_call_arguments.done",
            response_id="resp_1",
            item_id="item_9",
            output_index=0,
            arguments='{"city": "Paris"}',
        ),
        p.McpEvent,
        {"item_id": "item_9", "response_id": "resp_1", "output_index": 0, "text": '{"city": "Paris"}'},
    ),
]

def _ids(cases: list[tuple[dict[str, Any], type[Any], dict[str, Any]]]) -> list[str]:
    return [c[0]["type"] for c in cases]


def test_cases_cover_every_typed_event() -> None:
    typed = {
        t for t in p.ServerEvent.__args__ if t not in (p.UnknownServerEvent, p.MalformedServerEvent)
    }
    assert {c[1] for c in CASES} == typed


@pytest.mark.parametrize(("wire", "cls", "fields"), CASES, ids=_ids(CASES))
def test_fixture_frames_are_valid_ga_server_events(
    wire: dict[str, Any], cls: type[Any], fields: dict[str, Any]
) -> None:
    validate_server_event(wire, "ga")


@pytest.mark.parametrize(("wire", "cls", "fields"), CASES, ids=_ids(CASES))
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_ga_frames_decode_to_typed_events(
    wire: dict[str, Any], cls: type[Any], fields: dict[str, Any], as_bytes: bool
) -> None:
    frame = orjson.dumps(wire)
    event = p.decode_server_event(frame if as_bytes else frame.decode())
    assert type(event) is cls
    assert event.type == wire["type"]
    for name, value in fields.items():
        assert getattr(event, name) == value
    assert dataclasses.is_dataclass(event)
    first = dataclasses.fields(event)[0].name if dataclasses.fields(event) else None
    if first is not None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, first, None)


@pytest.mark.parametrize(("wire", "cls", "fields"), CASES, ids=_ids(CASES))
def test_beta_frames_decode_to_the_same_ga_events(
    wire: dict[str, Any], cls: type[Any], fields: dict[str, Any]
) -> None:
    beta = server_event_ga_to_beta(wire)
    if beta is None:  # a GA-only event: a beta server never sends it
        return
    if beta["type"] in {"session.created", "session.updated"}:
        beta["session"].pop("tracing", None)
    event = p.decode_server_event(orjson.dumps(beta), dialect="beta")
    expected_cls = p.ConversationItemAdded if cls is p.ConversationItemCreated else cls
    assert type(event) is expected_cls
    for name, value in fields.items():
        if name in {"session", "item", "response"}:
            continue  # reshaped; covered by test_beta_shapes_are_normalised_to_ga
        if name in wire and name not in beta:
            assert getattr(event, name) is None  # a field beta does not send
        else:
            assert getattr(event, name) == value


def test_beta_names_are_renamed_to_ga() -> None:
    frame = orjson.dumps(ev("response.audio.delta", **POS, delta=AUDIO_B64))
    assert isinstance(p.decode_server_event(frame, "beta"), p.ResponseOutputAudioDelta)
    frame = orjson.dumps(ev("response.audio_transcript.done", **POS, transcript="x"))
    assert isinstance(p.decode_server_event(frame, "beta"), p.ResponseOutputAudioTranscriptDone)
    frame = orjson.dumps(ev("response.text.delta", **POS, delta="x"))
    assert isinstance(p.decode_server_event(frame, "beta"), p.ResponseOutputTextDelta)


def test_beta_shapes_are_normalised_to_ga() -> None:
    beta_session = {
        "id": "sess_1",
        "object": "realtime.session",
        "model": "gpt-4o-realtime-preview",
        "modalities": ["text", "audio"],
        "voice": "alloy",
        "input_audio_format": "g711_ulaw",
        "output_audio_format": "g711_ulaw",
        "turn_detection": {"type": "server_vad", "interrupt_response": False},
        "temperature": 0.8,
    }
    event = p.decode_server_event(orjson.dumps(ev("session.created", session=beta_session)), "beta")
    assert isinstance(event, p.SessionCreated)
    assert event.session["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert event.session["audio"]["input"]["turn_detection"]["interrupt_response"] is False
    item = {
        "id": "i",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "x"}],
    }
    event = p.decode_server_event(orjson.dumps(ev("conversation.item.created", item=item)), "beta")
    assert isinstance(event, p.ConversationItemAdded)
    assert event.item["content"][0]["type"] == "output_text"


def test_unconvertible_beta_payload_is_kept_not_dropped() -> None:
    # A session field the translator does not know: the event still arrives, beta-shaped.
    session = {"id": "s", "voice": "alloy", "brand_new_field": 1}
    event = p.decode_server_event(orjson.dumps(ev("session.updated", session=session)), "beta")
    assert isinstance(event, p.SessionUpdated)
    assert event.session["brand_new_field"] == 1


def test_ga_name_in_ga_dialect_is_not_renamed() -> None:
    # conversation.item.created is still a GA event and stays itself on a GA connection.
    frame = orjson.dumps(ev("conversation.item.created", item=ASSISTANT_ITEM))
    assert isinstance(p.decode_server_event(frame), p.ConversationItemCreated)


def test_unknown_event_is_kept_whole() -> None:
    wire = ev("response.web_search.completed", item_id="item_5")
    event = p.decode_server_event(orjson.dumps(wire))
    assert event == p.UnknownServerEvent("response.web_search.completed", wire)
    assert event.type == "response.web_search.completed"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"{not json", "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "not a JSON object but list"),
        ('"hello"', "not a JSON object but str"),
        ("{}", "no string 'type'"),
        ('{"type": 5}', "no string 'type'"),
        ('{"type": "conversation.item.deleted"}', "field 'item_id': expected a string"),
        (
            '{"type": "conversation.item.truncated", "item_id": "i", "content_index": "0", "audio_end_ms": 1}',
            "field 'content_index': expected an integer",
        ),
        (
            '{"type": "conversation.item.truncated", "item_id": "i", "content_index": true, "audio_end_ms": 1}',
            "field 'content_index': expected an integer",
        ),
        ('{"type": "response.done", "response": []}', "field 'response': expected an object"),
        ('{"type": "response.done", "response": {}}', "field 'id': expected a string"),
        (
            '{"type": "response.output_audio.delta", "response_id": "r", "item_id": "i", "content_index": 0, "delta": "@@@@"}',
            "audio is not valid base64",
        ),
        (
            '{"type": "response.output_audio.delta", "response_id": "r", "item_id": "i", "content_index": 0, "delta": 12}',
            "field 'delta': expected a string",
        ),
        (
            '{"type": "response.output_audio.delta", "response_id": "r", "content_index": 0, "delta": ""}',
            "field 'item_id': expected a string",
        ),
        (
            '{"type": "response.output_audio_transcript.delta", "response_id": "r", "item_id": "i", "content_index": 0}',
            "field 'delta': expected a string",
        ),
        ('{"type": "rate_limits.updated", "rate_limits": [1]}', "a list of objects"),
    ],
)
def test_malformed_frames_become_malformed_events(frame: str | bytes, reason: str) -> None:
    event = p.decode_server_event(frame)
    assert isinstance(event, p.MalformedServerEvent)
    assert reason in event.reason
    prefix = frame.decode() if isinstance(frame, bytes) else frame
    assert event.frame_prefix == prefix[:200]
    assert isinstance(event.to_exception(), ProtocolError)


def test_malformed_prefix_is_bounded() -> None:
    frame = '{"type": "response.output_audio.delta", "delta": "' + "A" * 10_000
    event = p.decode_server_event(frame)
    assert isinstance(event, p.MalformedServerEvent)
    assert len(event.frame_prefix) == 200


def test_non_text_frame_is_malformed() -> None:
    event = p.decode_server_event(12345)  # type: ignore[arg-type]
    assert isinstance(event, p.MalformedServerEvent)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
known_types = st.sampled_from([c[0]["type"] for c in CASES] + ["response.audio.delta", "x.y"])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_frames_never_raise(frame: bytes | str) -> None:
    event = p.decode_server_event(frame)
    assert isinstance(event, p.ServerEvent.__args__)


@settings(max_examples=150, deadline=None)
@given(
    kind=known_types,
    fields=st.dictionaries(
        st.sampled_from(
            [
                "item_id",
                "response_id",
                "content_index",
                "output_index",
                "delta",
                "item",
                "response",
                "session",
                "error",
                "part",
                "call_id",
                "name",
                "arguments",
                "transcript",
                "text",
                "audio_start_ms",
                "audio_end_ms",
                "rate_limits",
                "previous_item_id",
                "event_id",
            ]
        ),
        json_values,
    ),
    dialect=st.sampled_from(["ga", "beta"]),
)
def test_arbitrary_events_of_known_types_never_raise(
    kind: str, fields: dict[str, Any], dialect: str
) -> None:
    # stdlib json: it writes integers beyond 64 bits, which the decoder must also survive.
    frame = json.dumps({**fields, "type": kind})
    event = p.decode_server_event(frame, dialect)  # type: ignore[arg-type]
    assert isinstance(event, p.ServerEvent.__args__)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=2000))
def test_audio_round_trips_exactly(audio: bytes) -> None:
    append = orjson.loads(p.encode_input_audio_append(audio))
    frame = orjson.dumps({"type": "response.output_audio.delta", **POS, "delta": append["audio"]})
    event = p.decode_server_event(frame)
    assert isinstance(event, p.ResponseOutputAudioDelta)
    assert event.audio == audio


# --- function calls, typed -----------------------------------------------------------------------

TYPED_CALL = p.FunctionCallItem(
    p.ItemId("item_3"), p.CallId("call_1"), "lookup", '{"q":"x"}', "completed"
)


@pytest.mark.parametrize("dialect", ["ga", "beta"])
@pytest.mark.parametrize("kind", ["response.output_item.added", "response.output_item.done"])
def test_an_output_function_call_also_arrives_typed(kind: str, dialect: Any) -> None:
    frame = orjson.dumps(ev(kind, response_id="resp_1", output_index=1, item=CALL_ITEM))
    event = p.decode_server_event(frame, dialect)
    assert isinstance(event, p.ResponseOutputItemAdded | p.ResponseOutputItemDone)
    assert event.function_call == TYPED_CALL
    assert event.item == CALL_ITEM  # the untyped item is still there, unchanged
    frame = orjson.dumps(ev(kind, response_id="resp_1", output_index=0, item=ASSISTANT_ITEM))
    message = p.decode_server_event(frame, dialect)
    assert isinstance(message, p.ResponseOutputItemAdded | p.ResponseOutputItemDone)
    assert message.function_call is None


def test_a_response_lists_its_function_calls_typed() -> None:
    output = [ASSISTANT_ITEM, CALL_ITEM, {**CALL_ITEM, "name": 5}, "junk"]
    event = p.decode_server_event(orjson.dumps(ev("response.done", response={**RESPONSE, "output": output})))
    assert isinstance(event, p.ResponseDone)
    assert event.function_calls == (TYPED_CALL,)
    assert event.response["output"] == output
    event = p.decode_server_event(orjson.dumps(ev("response.done", response=RESPONSE)))
    assert isinstance(event, p.ResponseDone)
    assert event.function_calls == ()


# -- what the session acts on: how a response ended, and deltas that are not deltas -----------


@pytest.mark.parametrize(("status", "seen"), [("cancelled", "cancelled"), (None, "completed")])
def test_a_response_done_says_how_the_response_ended(status: str | None, seen: str) -> None:
    response: dict[str, Any] = {"id": "resp_1", "output": []}
    if status is not None:
        response["status"] = status
    event = p.decode_server_event(orjson.dumps({"type": "response.done", "response": response}))
    assert isinstance(event, p.ResponseDone) and event.status == seen


@pytest.mark.parametrize(
    "kind", ["response.output_text.delta", "response.output_audio_transcript.delta"]
)
@pytest.mark.parametrize("field", ["response_id", "item_id", "content_index", "delta"])
def test_a_text_delta_with_a_field_of_the_wrong_type_is_malformed(kind: str, field: str) -> None:
    good = {"type": kind, **POS, "delta": "Hel"}
    assert not isinstance(p.decode_server_event(orjson.dumps(good)), p.MalformedServerEvent)
    wrong = [1] if field != "content_index" else "0"
    event = p.decode_server_event(orjson.dumps({**good, field: wrong}))
    assert isinstance(event, p.MalformedServerEvent) and field in event.reason


def test_a_non_text_frame_is_reported_as_such() -> None:
    event = p.decode_server_event(12345)  # type: ignore[arg-type]
    assert isinstance(event, p.MalformedServerEvent)
    assert event.reason == "a frame must be str or bytes, got int"


def test_an_event_keeps_its_event_id_and_a_missing_audio_end_reads_as_zero() -> None:
    frame = {"type": "input_audio_buffer.speech_stopped", "event_id": "evt_7", "item_id": "i"}
    event = p.decode_server_event(orjson.dumps(frame))
    assert isinstance(event, p.InputAudioBufferSpeechStopped)
    assert (event.event_id, event.audio_end_ms) == ("evt_7", 0)
    odd = p.decode_server_event(orjson.dumps({**frame, "event_id": 7, "audio_end_ms": 640}))
    assert isinstance(odd, p.InputAudioBufferSpeechStopped)
    assert (odd.event_id, odd.audio_end_ms) == ("", 640)


def test_an_unknown_event_shaped_like_an_audio_delta_is_kept_whole_not_played() -> None:
    # Its type sorts before the audio delta's; only `response.output_audio.delta` is audio.
    frame = {"type": "response.custom.delta", **POS, "delta": AUDIO_B64}
    event = p.decode_server_event(orjson.dumps(frame))
    assert isinstance(event, p.UnknownServerEvent) and event.type == "response.custom.delta"
