"""Approvals: parked calls, approve, reject, "always", and the approval deadline."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from desk import call, created, done, make
from support import frames

from agentkit import (
    SessionLimits,
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
from agentkit.runtime.supervisor import RunTool


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

