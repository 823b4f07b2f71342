"""Sans-I/O checks of guardrails, approvals, reconnect replay, limits and bad input: what the
supervisor sends and tells the app, with the clock and the check results under test control."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import new_supervisor

from agentkit import (
    InputTranscription,
    RealtimeAgent,
    SessionLimits,
    SessionSettings,
    blocked_terms,
    input_guardrail,
    output_guardrail,
    tool,
)
from agentkit import protocol as p
from agentkit.events import (
    AssistantTranscript,
    AudioInterrupted,
    AudioOut,
    ErrorEvent,
    GuardrailTripped,
    InputAudioDropped,
    Reconnected,
    SessionLimitReached,
    SessionStatus,
    ToolApprovalRequired,
    ToolApprovalResolved,
    ToolEnd,
)
from agentkit.history import HistoryItem
from agentkit.policy import ReconnectPolicy
from agentkit.runtime.policy import (
    ApprovalSettings,
    GuardrailSettings,
    GuardrailVerdict,
    SessionPolicy,
)
from agentkit.runtime.reconnect import backoff_delay, replay_items
from agentkit.runtime.supervisor import CloseSession, Reconnect, RunGuardrails, RunTool, Supervisor

PCM_100MS = base64.b64encode(b"\x01\x00" * 2400).decode()

no_insults = input_guardrail(
    blocked_terms(["idiot"]), name="civil", safe_reply="Let's keep it civil."
)
no_secrets = output_guardrail(blocked_terms(["password"]), name="no_secrets")


@tool(needs_approval=True)
def refund(order_id: str) -> str:
    """Refund an order."""
    return f"refunded {order_id}"


agent = RealtimeAgent(
    name="Desk",
    instructions="Help.",
    tools=[refund],
    input_guardrails=[no_insults],
    output_guardrails=[no_secrets],
)
TRANSCRIBED = SessionSettings(input_transcription=InputTranscription(model="whisper-1"))


def make(**kw: Any) -> Supervisor:
    sup = new_supervisor(agent, kw.pop("settings", TRANSCRIBED), **kw)
    sup.connecting()
    sup.connected()
    sup.data_to_send()
    sup.events_to_emit()
    return sup


def feed(sup: Supervisor, event: dict[str, Any], now: float = 0.0) -> None:
    sup.receive_frame(orjson.dumps(event), now)


def frames(sup: Supervisor) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in sup.data_to_send()]


def run_checks(sup: Supervisor, tripped: bool, now: float = 0.0) -> list[RunGuardrails]:
    """Answer every pending guardrail command, as the runtime does after running them."""
    checks = [c for c in sup.commands() if isinstance(c, RunGuardrails)]
    for check in checks:
        guardrail = check.guardrails[0]
        verdict = GuardrailVerdict(guardrail, {"matched": "x"}) if tripped else GuardrailVerdict()
        sup.guardrails_finished(check.check_id, verdict, now)
    return checks


def created(sup: Supervisor, rid: str = "resp_1") -> None:
    feed(sup, {"type": "response.created", "response": {"id": rid}})


def done(sup: Supervisor, rid: str = "resp_1", status: str = "completed") -> None:
    feed(sup, {"type": "response.done", "response": {"id": rid, "status": status, "output": []}})


def stream(sup: Supervisor, kind: str, rid: str, item: str, **kw: Any) -> None:
    feed(
        sup,
        {
            "type": kind,
            "response_id": rid,
            "item_id": item,
            "output_index": 0,
            "content_index": 0,
            **kw,
        },
        kw.pop("now", 0.0),
    )


def assistant_item(sup: Supervisor, item: str = "a1") -> None:
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": item, "type": "message", "role": "assistant", "status": "in_progress"},
        },
    )


# --- input guardrails -----------------------------------------------------------------------------


def test_typed_input_trip_is_never_sent_and_the_safe_reply_is_asked_for() -> None:
    sup = make()
    sup.send_text("you idiot")
    assert frames(sup) == []  # held for the check
    run_checks(sup, tripped=True)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.create"]
    assert "Let's keep it civil." in sent[0]["response"]["instructions"]
    (tripped,) = [e for e in sup.events_to_emit() if isinstance(e, GuardrailTripped)]
    assert (tripped.guardrail_name, tripped.stage, tripped.safe_reply) == (
        "civil",
        "input",
        "Let's keep it civil.",
    )
    (item,) = sup.history.items()
    assert item.text == "you idiot" and item.guardrail == "civil"


def test_typed_input_that_passes_goes_out_in_order() -> None:
    sup = make()
    sup.send_text("first")
    sup.send_text("second")
    checks = [c for c in sup.commands() if isinstance(c, RunGuardrails)]
    sup.guardrails_finished(checks[1].check_id, GuardrailVerdict(), 0.0)
    assert frames(sup) == []  # the second waits for the first
    sup.guardrails_finished(checks[0].check_id, GuardrailVerdict(), 0.0)
    sent = frames(sup)
    texts = [
        f["item"]["content"][0]["text"] for f in sent if f["type"] == "conversation.item.create"
    ]
    assert texts == ["first", "second"]
    assert [f["type"] for f in sent].count("response.create") == 1


def test_audio_input_trip_before_any_audio_reaches_the_app() -> None:
    sup = make()
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"})
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": "u1", "type": "message", "role": "user", "content": []},
        },
    )
    created(sup)  # server VAD answers at once
    assistant_item(sup)
    for _ in range(3):
        stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
    stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta="Sure")
    events = sup.events_to_emit()
    assert not any(isinstance(e, AudioOut) for e in events)  # held
    feed(
        sup,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": "you idiot",
        },
    )
    run_checks(sup, tripped=True)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.cancel", "conversation.item.delete"]
    assert sent[1]["item_id"] == "u1"
    events = sup.events_to_emit()
    assert not any(isinstance(e, AudioOut) for e in events)
    (tripped,) = [e for e in events if isinstance(e, GuardrailTripped)]
    assert tripped.item_id == "u1" and tripped.response_id == "resp_1"
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)  # late audio
    feed(sup, {"type": "conversation.item.deleted", "item_id": "u1"})
    done(sup, status="cancelled")
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.create"]
    assert "civil" in sent[0]["response"]["instructions"]
    assert not any(isinstance(e, AudioOut) for e in sup.events_to_emit())
    assert sup.history.get("u1") is not None and sup.history.get("u1").guardrail == "civil"  # type: ignore[union-attr]


def test_audio_input_that_passes_releases_the_held_response_in_order() -> None:
    sup = make()
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"})
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
    stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta="Hi")
    sup.events_to_emit()
    feed(
        sup,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": "hello",
        },
    )
    run_checks(sup, tripped=False)
    kinds = [e.type for e in sup.events_to_emit()]
    assert kinds[-2:] == ["audio", "assistant_transcript_delta"]


def test_a_missing_transcript_does_not_hold_the_response_forever() -> None:
    sup = make()
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"}, now=10.0)
    created(sup)
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
    assert sup.next_deadline() == 15.0
    sup.tick(15.0)
    events = sup.events_to_emit()
    assert any(isinstance(e, ErrorEvent) and e.code == "input_check_timeout" for e in events)
    assert any(isinstance(e, AudioOut) for e in events)


# --- output guardrails ------------------------------------------------------------------------------


def test_output_trip_mid_sentence_cancels_truncates_and_speaks_the_safe_reply() -> None:
    policy = SessionPolicy(GuardrailSettings(output_debounce_chars=10))
    sup = make(policy=policy)
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS, now=1.0)
    for word in ["Your ", "password ", "is ", "hunter2"]:
        stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta=word)
    checks = run_checks(sup, tripped=True, now=1.05)
    assert checks and checks[0].stage == "output"
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.cancel", "conversation.item.truncate"]
    assert sent[1]["audio_end_ms"] == 50  # 50 ms of the 100 ms received were played
    events = sup.events_to_emit()
    kinds = [e.type for e in events]
    assert kinds.index("audio_interrupted") < kinds.index("guardrail_tripped")
    assert next(e for e in events if isinstance(e, AudioInterrupted)).played_ms == 50
    # Nothing of the tripped text is reported final, late or not.
    stream(
        sup,
        "response.output_audio_transcript.done",
        "resp_1",
        "a1",
        transcript="Your password is hunter2",
    )
    done(sup, status="cancelled")
    assert not any(isinstance(e, AssistantTranscript) for e in sup.events_to_emit())
    item = sup.history.get("a1")
    assert item is not None and item.guardrail == "no_secrets"
    follow = frames(sup)
    assert [f["type"] for f in follow] == ["response.create"]
    assert "I'm sorry, I can't help with that." in follow[0]["response"]["instructions"]


def test_output_over_webrtc_also_clears_the_output_audio_buffer() -> None:
    sup = make(
        policy=SessionPolicy(GuardrailSettings(output_debounce_chars=5)), output_audio_buffer=True
    )
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta="the password")
    run_checks(sup, tripped=True)
    assert [f["type"] for f in frames(sup)][:2] == ["response.cancel", "output_audio_buffer.clear"]


def test_final_transcript_waits_for_the_output_check() -> None:
    sup = make()
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta="All good.")
    stream(sup, "response.output_audio_transcript.done", "resp_1", "a1", transcript="All good.")
    assert not any(isinstance(e, AssistantTranscript) for e in sup.events_to_emit())
    run_checks(sup, tripped=False)
    assert [e for e in sup.events_to_emit() if isinstance(e, AssistantTranscript)] == [
        AssistantTranscript("a1", "All good.")
    ]


# --- approvals ----------------------------------------------------------------------------------------


def call(sup: Supervisor, call_id: str, rid: str = "resp_1", now: float = 0.0) -> None:
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": rid,
            "output_index": 0,
            "item": {
                "id": f"item_{call_id}",
                "type": "function_call",
                "call_id": call_id,
                "name": "refund",
                "arguments": '{"order_id": "7"}',
            },
        },
        now,
    )


def test_approve_runs_the_parked_call() -> None:
    sup = make()
    created(sup)
    call(sup, "c1")
    assert sup.commands() == []
    (asked,) = [e for e in sup.events_to_emit() if isinstance(e, ToolApprovalRequired)]
    assert asked.call_id == "c1" and asked.default == "reject"
    done(sup)
    assert frames(sup) == []  # the follow-up waits for the decision
    assert sup.approve("c1")
    (command,) = sup.commands()
    assert isinstance(command, RunTool) and command.call_id == "c1"
    assert not sup.approve("c1")  # decided once


def test_reject_sends_the_message_as_the_output_and_follows_up() -> None:
    sup = make()
    created(sup)
    call(sup, "c1")
    done(sup)
    sup.reject("c1", "The manager said no.")
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["conversation.item.create", "response.create"]
    assert orjson.loads(sent[0]["item"]["output"]) == {
        "error": "rejected",
        "message": "The manager said no.",
    }
    ends = [e for e in sup.events_to_emit() if isinstance(e, ToolEnd)]
    assert [(e.call_id, e.error) for e in ends] == [("c1", "rejected")]


def test_always_decides_later_calls_without_asking() -> None:
    sup = make()
    created(sup)
    call(sup, "c1")
    call(sup, "c2")
    sup.approve("c1", always=True)  # c2, parked too, is approved with it
    assert sorted(c.call_id for c in sup.commands() if isinstance(c, RunTool)) == ["c1", "c2"]
    call(sup, "c3")
    assert [c.call_id for c in sup.commands() if isinstance(c, RunTool)] == ["c3"]
    resolved = [e for e in sup.events_to_emit() if isinstance(e, ToolApprovalResolved)]
    assert [(e.call_id, e.by) for e in resolved] == [
        ("c1", "app"),
        ("c2", "always"),
        ("c3", "always"),
    ]


@pytest.mark.parametrize(("default", "runs"), [("reject", False), ("approve", True)])
def test_approval_timeout_applies_the_default(default: Any, runs: bool) -> None:
    policy = SessionPolicy(approvals=ApprovalSettings(timeout_s=30, default=default))
    # (the response stays open for 100 s here: no stall watchdog to look in between)
    sup = make(policy=policy, limits=SessionLimits(stall_timeout_s=None))
    created(sup)
    call(sup, "c1", now=100.0)
    assert sup.next_deadline() == 130.0
    sup.tick(129.0)
    assert sup.pending_approvals == ["c1"]
    sup.tick(130.0)
    assert sup.pending_approvals == []
    assert any(isinstance(c, RunTool) for c in sup.commands()) is runs
    (resolved,) = [e for e in sup.events_to_emit() if isinstance(e, ToolApprovalResolved)]
    assert resolved.by == "timeout" and resolved.approved is runs


# --- reconnect --------------------------------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered_by_the_injected_source() -> None:
    policy = ReconnectPolicy(base_delay_s=0.5, max_delay_s=4.0, jitter=0.5)
    assert [backoff_delay(policy, n, lambda: 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [backoff_delay(policy, n, lambda: 0.0) for n in range(1, 4)] == [0.25, 0.5, 1.0]
    assert backoff_delay(policy, 10_000, lambda: 0.5) == 3.0


def test_replay_turns_audio_into_text_and_keeps_call_ids() -> None:
    items = [
        HistoryItem("u1", "message", role="user", text="Where is it?", status="completed"),
        HistoryItem("a1", "message", role="assistant", text="Checking.", status="completed"),
        HistoryItem(
            "f1", "function_call", status="completed", call_id="c1", name="find", arguments="{}"
        ),
        HistoryItem("o1", "function_call_output", call_id="c1", output="here"),
        HistoryItem("local_1", "breadcrumb", text="note"),
        HistoryItem("a2", "message", role="assistant", text="Your pass", guardrail="no_secrets"),
        HistoryItem("a3", "message", role="assistant", text="Cut o", status="incomplete"),
        HistoryItem(
            "f2", "function_call", status="in_progress", call_id="c2", name="find", arguments=""
        ),
    ]
    wire = replay_items(items)
    assert [w["id"] for w in wire] == ["u1", "a1", "f1", "o1"]
    assert wire[0]["content"] == [{"type": "input_text", "text": "Where is it?"}]
    assert wire[1]["content"] == [{"type": "output_text", "text": "Checking."}]
    assert (wire[2]["call_id"], wire[3]["call_id"]) == ("c1", "c1")


def test_tool_output_made_while_down_is_replayed_then_followed_up() -> None:
    sup = make(settings=SessionSettings(), can_reconnect=True)
    sup.policy.remember("refund", True)
    created(sup)
    call(sup, "c1")
    sup.commands()
    sup.disconnected(reconnecting=True)
    assert sup.status is SessionStatus.RECONNECTING
    assert sup.commands() == []  # the tool keeps running
    sup.tool_finished("c1", "refunded 7")
    assert frames(sup) == []  # nothing goes to a dead connection
    sup.connected(now=5.0)
    sent = frames(sup)
    assert [f["type"] for f in sent] == [
        "session.update",
        "conversation.item.create",
        "conversation.item.create",
        "response.create",
    ]
    assert sent[1]["item"]["type"] == "function_call" and sent[1]["item"]["call_id"] == "c1"
    assert sent[2]["item"] == {
        "type": "function_call_output",
        "call_id": "c1",
        "output": "refunded 7",
        "id": sent[2]["item"]["id"],
    }
    assert sent[2]["previous_item_id"] == sent[1]["item"]["id"]
    assert any(isinstance(e, Reconnected) for e in sup.events_to_emit())


def test_audio_sent_while_down_is_reported_not_silently_dropped() -> None:
    sup = make(settings=SessionSettings(), can_reconnect=True)
    sup.disconnected(reconnecting=True)
    sup.send_audio(b"\x00" * 480)
    sup.send_audio(b"\x00" * 480)
    sup.connected()
    dropped = [e for e in sup.events_to_emit() if isinstance(e, InputAudioDropped)]
    assert dropped == [InputAudioDropped(2, 960, "disconnected")]


def test_session_expired_asks_for_a_reconnect_only_when_the_runtime_can() -> None:
    for can, kind in ((True, Reconnect), (False, CloseSession)):
        sup = make(settings=SessionSettings(), can_reconnect=can)
        feed(
            sup,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": "session_expired",
                    "message": "60 min",
                },
            },
        )
        assert [type(c) for c in sup.commands()] == [kind]


def test_renewal_waits_for_the_response_to_end() -> None:
    sup = new_supervisor(
        agent,
        SessionSettings(),
        can_reconnect=True,
        renew_after_s=60,
        limits=SessionLimits(stall_timeout_s=None),  # a minute-long answer, not a stall here
    )
    sup.connected(now=0.0)
    created(sup)
    sup.tick(60.0)
    assert sup.commands() == []  # never mid-answer
    assert sup.next_deadline() is None
    done(sup)
    assert sup.commands() == [Reconnect("renewal")]


# --- the stall watchdog --------------------------------------------------------------------------------


@tool
async def lookup() -> str:
    """Look something up."""
    return "found"


plain = RealtimeAgent(name="Plain", instructions="Help.", tools=[lookup])


@pytest.mark.parametrize(("can_reconnect", "command"), [(True, Reconnect), (False, CloseSession)])
def test_silence_while_a_response_is_owed_is_a_stall(can_reconnect: bool, command: type) -> None:
    sup = new_supervisor(
        plain, SessionSettings(), can_reconnect=can_reconnect, limits=SessionLimits(stall_timeout_s=5)
    )
    sup.connecting()
    sup.connected(now=0.0)
    assert sup.next_deadline() is None  # nothing owed: silence is fine
    sup.send_text("hello", now=100.0)  # response.create out at 100
    assert sup.next_deadline() == 105.0
    sup.tick(104.9)
    assert sup.commands() == []
    sup.tick(105.0)
    (error,) = [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]
    assert error.code == "stalled" and "5.0s" in str(error.error)
    assert [type(c) for c in sup.commands()] == [command]
    sup.tick(200.0)
    assert sup.commands() == []  # once per connection
    assert sup.next_deadline() is None


def test_every_server_event_moves_the_stall_deadline_and_response_done_ends_it() -> None:
    sup = new_supervisor(plain, SessionSettings(), limits=SessionLimits(stall_timeout_s=5))
    sup.connecting()
    sup.connected(now=0.0)
    sup.send_text("hello", now=10.0)
    assert sup.next_deadline() == 15.0  # the first look
    feed(sup, {"type": "response.created", "response": {"id": "resp_1"}}, now=12.0)
    sup.tick(15.0)  # heard at 12: not yet, look again at 17
    assert sup.next_deadline() == 17.0
    feed(sup, {"type": "rate_limits.updated", "rate_limits": []}, now=16.0)
    sup.tick(17.0)
    assert sup.next_deadline() == 21.0
    feed(sup, {"type": "response.done", "response": {"id": "resp_1", "output": []}}, now=18.0)
    sup.tick(21.0)  # nothing owed any more: the watchdog rests
    assert sup.next_deadline() is None
    assert sup.commands() == []
    assert not [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]


def test_a_follow_up_after_a_long_tool_is_dated_by_the_tool_result() -> None:
    sup = new_supervisor(
        plain,
        SessionSettings(),
        limits=SessionLimits(stall_timeout_s=5),
        tool_timeout=None,  # only the stall watchdog's deadlines here
    )
    sup.connecting()
    sup.connected(now=0.0)
    feed(sup, {"type": "response.created", "response": {"id": "resp_1"}}, now=0.5)
    item = {"id": "item_c1", "type": "function_call", "call_id": "c1", "name": "lookup"}
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": "resp_1",
            "output_index": 0,
            "item": item,
        },
        now=1.0,
    )
    feed(sup, {"type": "response.done", "response": {"id": "resp_1", "output": []}}, now=2.0)
    assert [type(c) for c in sup.commands()] == [RunTool]
    sup.tick(5.5)  # the tool runs: the service owes nothing, the watchdog rests
    assert sup.next_deadline() is None
    sup.tool_finished("c1", "ok", now=100.0)  # a 98-second tool; the service owed nothing
    assert sup.next_deadline() == 105.0


# --- limits and bad input ---------------------------------------------------------------------------


def test_idle_timeout_and_max_duration_end_the_session_with_an_event() -> None:
    sup = new_supervisor(
        agent, SessionSettings(), limits=SessionLimits(idle_timeout_s=30, max_duration_s=100)
    )
    sup.connected(now=0.0)
    sup.send_audio(b"\x00" * 480, now=20.0)
    assert sup.next_deadline() == 50.0
    sup.tick(50.0)
    assert sup.commands() == [CloseSession(None)]
    assert [e for e in sup.events_to_emit() if isinstance(e, SessionLimitReached)] == [
        SessionLimitReached("idle_timeout", 30)
    ]
    sup = new_supervisor(agent, SessionSettings(), limits=SessionLimits(max_duration_s=100))
    sup.connected(now=0.0)
    sup.tick(100.0)
    assert sup.commands() == [CloseSession(None)]


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


# --- property tests: arbitrary and malformed frames never crash the decoder or the supervisor ---

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
