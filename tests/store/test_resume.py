"""`plan_resume`: what a fresh process does with a stored session (pure, no I/O)."""

from __future__ import annotations

import logging

import orjson
import pytest
from store_agents import billing, support

from agentkit import HistoryItem
from agentkit.protocol.wire_types import CallId, ItemId
from agentkit.store import NOT_RUN, WORKER_LOST, CallRecord, SessionState, plan_resume

AGENTS = {"Support": support, "Billing": billing}


def call(call_id: str, name: str = "charge_card") -> HistoryItem:
    return HistoryItem(
        ItemId(f"item_{call_id}"), "function_call", status="completed",
        call_id=CallId(call_id), name=name, arguments='{"order_id": "42"}',
    )


def output(call_id: str) -> HistoryItem:
    return HistoryItem(
        ItemId(f"out_{call_id}"), "function_call_output", status="completed",
        call_id=CallId(call_id), output='{"ok": true}',
    )


USER = HistoryItem.user("Charge my card", item_id="item_user")


def running(call_id: str) -> CallRecord:
    return CallRecord(CallId(call_id), "charge_card", "tool", "running", 1.0)


def test_a_call_that_was_running_gets_one_worker_lost_output_right_after_it() -> None:
    state = SessionState("s", items=(USER, call("c1"), call("c2")), calls={CallId("c1"): running("c1")})
    plan = plan_resume(state, AGENTS, support)
    kinds = [(i.kind, i.call_id) for i in plan.history]
    assert kinds == [
        ("message", None),
        ("function_call", "c1"),
        ("function_call_output", "c1"),
        ("function_call", "c2"),
        ("function_call_output", "c2"),
    ]
    first, second = plan.history[2], plan.history[4]
    assert orjson.loads(first.output or "")["error"] == WORKER_LOST
    assert orjson.loads(second.output or "")["error"] == NOT_RUN  # never started: never ran
    assert plan.answered == ("c1", "c2")
    assert plan.respond  # the model owes an answer to the outputs


def test_answered_calls_are_left_alone_and_nothing_is_owed_after_an_answer() -> None:
    answer = HistoryItem.assistant("Done.", item_id="item_answer")
    state = SessionState("s", items=(USER, call("c1"), output("c1"), answer), agent="Billing")
    plan = plan_resume(state, AGENTS, support)
    assert plan.history == state.items
    assert plan.answered == ()
    assert not plan.respond
    assert plan.agent is billing


def test_the_resumed_output_ids_never_collide_with_stored_ones() -> None:
    taken = HistoryItem.assistant("x", item_id="ak_resumed_1")
    state = SessionState("s", items=(taken, USER, call("c1")))
    plan = plan_resume(state, AGENTS, support)
    ids = [i.item_id for i in plan.history]
    assert len(ids) == len(set(ids)) and "ak_resumed_2" in ids


def test_an_agent_the_definitions_lost_falls_back_to_the_starting_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = SessionState("s", items=(USER,), agent="Refunds")
    with caplog.at_level(logging.WARNING, logger="agentkit.store"):
        plan = plan_resume(state, AGENTS, support)
    assert plan.agent is support and plan.respond
    assert "'Refunds'" in caplog.text
