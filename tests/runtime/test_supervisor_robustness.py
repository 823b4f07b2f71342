"""Payload limits and property tests: arbitrary and malformed frames never crash the
decoder or the supervisor."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from desk import PCM_100MS, call, created, make, run_checks
from hypothesis import given, settings
from hypothesis import strategies as st
from support import frames

from agentkit import (
    SessionLimits,
    SessionSettings,
)
from agentkit import protocol as p
from agentkit.events import (
    ErrorEvent,
)
from agentkit.runtime.policy import (
    GuardrailSettings,
    SessionPolicy,
)
from agentkit.runtime.supervisor import RunTool


def test_oversized_payloads() -> None:
    sup = make(
        settings=SessionSettings(),
        limits=SessionLimits(
            max_text_chars=10, max_audio_append_bytes=1000, max_tool_output_chars=5
        ),
    )
    sup.send_text("x" * 11)
    assert frames(sup) == []
    assert [e.code for e in sup.events_to_emit() if isinstance(e, ErrorEvent)] == [
        "payload_too_large"
    ]
    sup.send_audio(b"\x00" * 2500)
    sizes = [len(base64.b64decode(f["audio"])) for f in frames(sup)]
    assert sizes == [1000, 1000, 500]  # split, never refused
    sup.policy.remember("refund", True)
    created(sup)
    call(sup, "c1")
    sup.tool_finished("c1", "0123456789")
    (out,) = [f for f in frames(sup) if f["type"] == "conversation.item.create"]
    assert out["item"]["output"].startswith("01234\n[output truncated")
    assert any(
        isinstance(e, ErrorEvent) and e.code == "tool_output_truncated"
        for e in sup.events_to_emit()
    )


_TYPES = [
    "response.created",
    "response.done",
    "response.output_audio.delta",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.output_item.done",
    "conversation.item.added",
    "conversation.item.deleted",
    "conversation.item.truncated",
    "input_audio_buffer.committed",
    "input_audio_buffer.speech_started",
    "conversation.item.input_audio_transcription.completed",
    "error",
    "session.updated",
    "rate_limits.updated",
    "no.such.event",
]


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


_fields = st.fixed_dictionaries(
    {},
    optional={
        "response_id": st.sampled_from(["resp_1", "resp_2"]) | _json,
        "item_id": st.sampled_from(["a1", "u1"]) | _json,
        "content_index": st.integers(-1, 2) | _json,
        "output_index": st.integers(0, 2),
        "delta": st.sampled_from([PCM_100MS, "password", "!!"]) | _json,
        "transcript": st.text(max_size=30) | _json,
        "response": st.fixed_dictionaries(
            {"id": st.sampled_from(["resp_1", "resp_2"])},
            optional={"status": st.text(max_size=8), "output": _json},
        )
        | _json,
        "item": st.fixed_dictionaries(
            {
                "id": st.sampled_from(["a1", "u1", "f1"]),
                "type": st.sampled_from(["message", "function_call", "x"]),
            },
            optional={
                "call_id": st.text(max_size=5),
                "name": st.sampled_from(["refund", "nope"]),
                "arguments": st.text(max_size=10),
                "role": st.sampled_from(["user", "assistant"]),
            },
        )
        | _json,
        "error": _json,
        "session": _json,
    },
)


_event_frames = st.builds(
    lambda t, f: orjson.dumps({"type": t, **f}), st.sampled_from(_TYPES), _fields
)


_frames = (
    _event_frames
    | st.binary(max_size=60)
    | st.text(max_size=60)
    | _json.map(lambda v: orjson.dumps(v))
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_frames, max_size=25))
def test_decoder_never_raises(batch: list[Any]) -> None:
    for frame in batch:
        event = p.decode_server_event(frame)
        assert event.type  # typed, unknown or malformed: always an event


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.one_of(
            _frames.map(lambda f: ("frame", f)),
            st.sampled_from(
                [
                    "text",
                    "audio",
                    "interrupt",
                    "tick",
                    "approve",
                    "checks_pass",
                    "checks_trip",
                    "drop",
                    "reconnect",
                    "tool",
                ]
            ).map(lambda a: (a, None)),
        ),
        max_size=40,
    )
)
def test_supervisor_survives_any_sequence(steps: list[tuple[str, Any]]) -> None:
    sup = make(can_reconnect=True, policy=SessionPolicy(GuardrailSettings(output_debounce_chars=3)))
    now = 0.0
    for action, frame in steps:
        now += 0.1
        if action == "frame":
            sup.receive_frame(frame, now)
        elif action == "text":
            sup.send_text("hello idiot", now)
        elif action == "audio":
            sup.send_audio(b"\x00" * 480, now)
        elif action == "interrupt":
            sup.interrupt(now)
        elif action == "tick":
            sup.tick(now + 100)
        elif action == "approve":
            for call_id in sup.pending_approvals:
                sup.approve(call_id)
        elif action in ("checks_pass", "checks_trip"):
            run_checks(sup, tripped=action == "checks_trip", now=now)
        elif action == "drop":
            sup.disconnected(reconnecting=True)
        elif action == "reconnect":
            sup.connected(now=now)
        elif action == "tool":
            for command in sup.commands():
                if isinstance(command, RunTool):
                    sup.tool_finished(command.call_id, "ok")
        # Every output stays well-formed: frames are JSON client events.
        for out in sup.data_to_send():
            assert isinstance(orjson.loads(out)["type"], str)
        sup.events_to_emit()
    # Whatever happened: at most one output per call id went out.
    outputs = [i.call_id for i in sup.history.items() if i.kind == "function_call_output"]
    assert len(outputs) == len(set(outputs))

