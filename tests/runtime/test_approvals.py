"""Approvals: parked calls, approve, reject, "always", and the approval deadline."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from desk import call, created, done, make, refund
from support import feed, frames

from agentkit import (
    RealtimeAgent,
    SessionLimits,
    tool,
)
from agentkit.events import (
    ToolApprovalRequired,
    ToolApprovalResolved,
    ToolEnd,
)
from agentkit.runtime.policy import (
    ApprovalSettings,
    SessionPolicy,
)
from agentkit.runtime.supervisor import RunTool, Supervisor


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



@tool(needs_approval=True)
def void(order_id: str) -> str:
    """Void an order."""
    return f"voided {order_id}"


two_tools = RealtimeAgent(name="Desk", instructions="Help.", tools=[refund, void])


def call_of(sup: Supervisor, call_id: str, name: str) -> None:
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": "resp_1",
            "output_index": 0,
            "item": {
                "id": f"item_{call_id}",
                "type": "function_call",
                "call_id": call_id,
                "name": name,
                "arguments": '{"order_id": "7"}',
            },
        },
    )


def test_reject_always_refuses_later_calls_of_that_tool_without_asking() -> None:
    sup = make()
    created(sup)
    call(sup, "c1")
    sup.reject("c1", always=True)
    sup.events_to_emit()
    frames(sup)
    call(sup, "c2")
    assert sup.pending_approvals == [] and sup.commands() == []
    events = sup.events_to_emit()
    assert not [e for e in events if isinstance(e, ToolApprovalRequired)]
    (resolved,) = [e for e in events if isinstance(e, ToolApprovalResolved)]
    assert (resolved.call_id, resolved.approved, resolved.by) == ("c2", False, "always")
    (sent,) = frames(sup)
    assert orjson.loads(sent["item"]["output"])["error"] == "rejected"


def test_always_decides_only_the_calls_of_the_same_tool() -> None:
    sup = make(two_tools)
    created(sup)
    call_of(sup, "c1", "refund")
    call_of(sup, "c2", "void")
    sup.approve("c1", always=True)
    assert sup.pending_approvals == ["c2"]
    assert [c.call_id for c in sup.commands() if isinstance(c, RunTool)] == ["c1"]


def test_a_timed_out_decision_holds_for_that_call_only() -> None:
    policy = SessionPolicy(approvals=ApprovalSettings(timeout_s=30, default="approve"))
    sup = make(policy=policy, limits=SessionLimits(stall_timeout_s=None))
    created(sup)
    call(sup, "c1", now=100.0)
    call(sup, "c2", now=110.0)
    sup.tick(131.0)  # past c1's deadline (not exactly on it)
    assert sup.pending_approvals == ["c2"]
    assert [c.call_id for c in sup.commands() if isinstance(c, RunTool)] == ["c1"]
    call(sup, "c3", now=132.0)  # asked, not decided "always"
    assert sup.pending_approvals == ["c2", "c3"]
