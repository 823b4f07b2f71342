"""The watchdog: every deadline of a session (renewal, stalls, limits, call timeouts)."""

from __future__ import annotations

import pytest
from desk import TRANSCRIBED, agent, created, done, no_insults, plain
from support import feed, frames, new_supervisor
from triage import call_done

from agentkit import RealtimeAgent, SessionLimits, SessionSettings, tool
from agentkit.events import ErrorEvent, SessionLimitReached, ToolApprovalResolved, ToolEnd
from agentkit.policy import ApprovalSettings, GuardrailSettings
from agentkit.runtime.policy import SessionPolicy
from agentkit.runtime.supervisor import (
    CancelTool,
    CloseSession,
    Reconnect,
    RunHandoff,
    RunTool,
)


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



# --- one owner of every timeout ------------------------------------------------------------------


@tool(timeout=2.0)
async def slow(q: str) -> str:
    """Has a timeout of its own."""
    return q


@tool(needs_approval=True)
def wire_money(q: str) -> str:
    """Needs the app's approval."""
    return q


billing = RealtimeAgent(name="Billing", instructions="You do billing.")
everything = RealtimeAgent(
    name="Desk",
    instructions="Help.",
    tools=[slow, wire_money],
    handoffs=[billing],
    input_guardrails=[no_insults],
)


def test_a_tool_a_handoff_an_approval_and_an_input_check_time_out_by_tick() -> None:
    sup = new_supervisor(
        everything,
        TRANSCRIBED,
        limits=SessionLimits(stall_timeout_s=None),
        tool_timeout=5.0,
        policy=SessionPolicy(
            GuardrailSettings(input_check_timeout_s=3.0), ApprovalSettings(timeout_s=7.0)
        ),
    )
    sup.connecting()
    sup.connected(now=0.0)
    sup.data_to_send()
    feed(sup, {"type": "response.created", "response": {"id": "resp_1"}}, 0.0)
    call_done(sup, "c_tool", "slow")  # its own timeout: 2 s
    call_done(sup, "c_hand", "transfer_to_billing")  # the runner's tool_timeout: 5 s
    call_done(sup, "c_appr", "wire_money")  # parked: 7 s
    feed(sup, {"type": "response.done", "response": {"id": "resp_1", "output": []}}, 0.5)
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"}, 1.0)  # held: 4 s
    assert [type(c) for c in sup.commands()] == [RunTool, RunHandoff]
    sup.events_to_emit()

    assert sup.next_deadline() == 2.0
    sup.tick(2.0)
    (cancel,) = sup.commands()
    assert isinstance(cancel, CancelTool) and cancel.call_id == "c_tool" and cancel.timed_out
    assert [(e.call_id, e.error) for e in sup.events_to_emit() if isinstance(e, ToolEnd)] == [
        ("c_tool", "timeout")
    ]
    (output,) = frames(sup)
    assert output["item"]["call_id"] == "c_tool" and "within 2s" in output["item"]["output"]

    assert sup.next_deadline() == 4.0
    sup.tick(4.0)
    assert [e.code for e in sup.events_to_emit() if isinstance(e, ErrorEvent)] == [
        "input_check_timeout"
    ]

    assert sup.next_deadline() == 5.0
    sup.tick(5.0)
    (cancel,) = sup.commands()
    assert isinstance(cancel, CancelTool) and cancel.call_id == "c_hand" and cancel.timed_out
    assert cancel.output is not None and "timed out" in cancel.output
    (output,) = frames(sup)
    assert output["item"] == {**output["item"], "call_id": "c_hand", "output": cancel.output}

    assert sup.next_deadline() == 7.0
    sup.tick(7.0)
    resolved = [e for e in sup.events_to_emit() if isinstance(e, ToolApprovalResolved)]
    assert [(e.call_id, e.approved, e.by) for e in resolved] == [
        ("c_appr", False, "timeout")
    ]
    assert sup.next_deadline() is None
    # A late result of a timed-out call is never a second output.
    sup.tool_finished("c_tool", "late")
    sup.handoff_finished("c_hand", billing)
    assert [f["type"] for f in frames(sup)] == ["conversation.item.create", "response.create"]
    assert sup.agent is everything


def test_a_call_answered_in_time_leaves_no_deadline() -> None:
    sup = new_supervisor(
        everything, TRANSCRIBED, limits=SessionLimits(stall_timeout_s=None), tool_timeout=5.0
    )
    sup.connecting()
    sup.connected(now=0.0)
    feed(sup, {"type": "response.created", "response": {"id": "resp_1"}}, 0.0)
    call_done(sup, "c_tool", "slow")
    assert sup.next_deadline() == 2.0
    sup.tool_finished("c_tool", "ok", now=1.0)
    assert sup.next_deadline() is None
    sup.tick(10.0)
    assert not [c for c in sup.commands() if isinstance(c, CancelTool)]


# --- when the runtime is woken next, and what it is told ----------------------------------------


def test_the_next_deadline_is_the_soonest_of_renewal_stall_and_limits() -> None:
    sup = new_supervisor(
        plain,
        SessionSettings(),
        can_reconnect=True,
        renew_after_s=60,
        limits=SessionLimits(stall_timeout_s=10, max_duration_s=100, idle_timeout_s=None),
    )
    sup.connecting()
    sup.connected(now=5.0)
    assert sup.next_deadline() == 65.0  # renewal, 60 s after connecting at 5
    sup.send_text("hello", now=20.0)
    assert sup.next_deadline() == 30.0  # the stall check comes first now
    sup.tick(25.0)
    assert sup.commands() == []  # nothing due yet: no early renewal
    feed(sup, {"type": "response.created", "response": {"id": "resp_1"}}, now=26.0)
    feed(sup, {"type": "response.done", "response": {"id": "resp_1", "output": []}}, now=27.0)
    sup.tick(30.0)
    assert sup.next_deadline() == 65.0
    sup.tick(64.0)
    assert sup.commands() == []
    sup.tick(66.0)  # a late tick still renews
    assert sup.commands() == [Reconnect("renewal")]


def test_a_call_deadline_before_the_session_limit_comes_first() -> None:
    sup = new_supervisor(
        plain,
        SessionSettings(),
        tool_timeout=30.0,
        limits=SessionLimits(stall_timeout_s=None, max_duration_s=100, idle_timeout_s=None),
    )
    sup.connecting()
    sup.connected(now=0.0)
    assert sup.next_deadline() == 100.0
    created(sup)
    call_done(sup, "call_1", "lookup")
    assert sup.next_deadline() == 30.0


def test_a_stall_seen_late_says_how_long_the_service_was_silent() -> None:
    sup = new_supervisor(plain, SessionSettings(), limits=SessionLimits(stall_timeout_s=10))
    sup.connecting()
    sup.connected(now=0.0)
    sup.send_text("hello", now=0.0)
    feed(sup, {"type": "response.created", "response": {"id": "resp_1"}}, now=3.0)
    sup.tick(14.0)  # after the deadline (13), not on it
    (error,) = [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]
    assert error.code == "stalled"
    assert str(error.error).startswith("the service sent nothing for 11.0s while a response")
