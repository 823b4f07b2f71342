"""The agentkit-helpdesk plugin: its queue, its tools, its entry points and its CLI."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import agentkit_helpdesk as helpdesk  # installed with the project (make)
import pytest
from agentkit_helpdesk.__main__ import main as helpdesk_main

from agentkit import FunctionTool, RealtimeAgent, RunContext


@dataclass
class Ctx:
    helpdesk_queue: object
    helpdesk_customer: str | None = None


def test_queue_orders_by_priority_then_age(tmp_path: Path) -> None:
    queue = helpdesk.HelpdeskQueue(tmp_path / "q.sqlite3")
    low = queue.file(reason="other", summary="a", priority="low")
    normal = queue.file(reason="other", summary="b")
    urgent = queue.file(reason="complaint", summary="c", priority="urgent")
    assert [t.id for t in queue.waiting()] == [urgent.id, normal.id, low.id]
    assert queue.position(low.id) == 3
    taken = queue.take(urgent.id, "sam")
    assert (taken.status, taken.assignee) == ("in_progress", "sam")
    assert queue.position(urgent.id) is None
    with pytest.raises(ValueError, match="is in_progress, not open"):
        queue.take(urgent.id, "alex")
    done = queue.resolve(urgent.id, "called back")
    assert (done.status, done.resolution, done.reference) == ("resolved", "called back", "HD-000003")


def test_queue_rejects_bad_tickets(tmp_path: Path) -> None:
    queue = helpdesk.HelpdeskQueue(tmp_path / "q.sqlite3")
    with pytest.raises(ValueError, match="priority"):
        queue.file(reason="x", summary="y", priority="asap")
    with pytest.raises(ValueError, match="reason and a summary"):
        queue.file(reason=" ", summary="y")


def test_escalate_uses_the_context_queue(tmp_path: Path) -> None:
    queue = helpdesk.HelpdeskQueue(tmp_path / "q.sqlite3")
    ctx = RunContext(Ctx(queue, "Ana (+15550100)"), agent=RealtimeAgent("returns"))
    arguments = helpdesk.escalate_to_human.parse_arguments(
        '{"reason": "complaint", "summary": "Parcel lost twice", "priority": "urgent", "callback_number": "+15550100"}'
    )
    result = helpdesk.escalate_to_human.bind(ctx, arguments)()
    assert result == {"ticket": "HD-000001", "position_in_queue": 1, "estimated_wait_minutes": 4}
    ticket = queue.get(1)
    assert (ticket.customer, ticket.agent, ticket.callback) == ("Ana (+15550100)", "returns", "+15550100")
    status = helpdesk.ticket_status.bind(ctx, {"ticket": "hd-1"})()
    assert status == {"found": True, "ticket": "HD-000001", "status": "open", "position_in_queue": 1}
    assert helpdesk.ticket_status.bind(ctx, {"ticket": "HD-000999"})() == {"found": False, "ticket": "HD-000999"}


def test_queue_from_environment_or_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(helpdesk.ENV_VAR, raising=False)
    with pytest.raises(helpdesk.HelpdeskNotConfigured, match=helpdesk.ENV_VAR):
        helpdesk.queue_for(RunContext(object()))
    monkeypatch.setenv(helpdesk.ENV_VAR, str(tmp_path / "env.sqlite3"))
    assert helpdesk.queue_for(RunContext(object())).path == tmp_path / "env.sqlite3"


def test_entry_points_resolve_to_tools() -> None:
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group="agentkit.tools")}
    assert isinstance(found["escalate_to_human"].load(), FunctionTool)
    assert isinstance(found["helpdesk_ticket_status"].load(), FunctionTool)
    assert [t.name for t in found["helpdesk"].load()] == ["escalate_to_human", "ticket_status"]


def test_cli_lists_takes_and_resolves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "q.sqlite3")
    helpdesk.HelpdeskQueue(db).file(reason="complaint", summary="Parcel lost", customer="Ana")
    assert helpdesk_main(["--db", db, "list"]) == 0
    assert "HD-000001  normal  complaint         Ana: Parcel lost" in capsys.readouterr().out
    assert helpdesk_main(["--db", db, "take", "1", "--as", "sam"]) == 0
    assert helpdesk_main(["--db", db, "take", "1", "--as", "sam"]) == 1
    assert "is in_progress, not open" in capsys.readouterr().err
    assert helpdesk_main(["--db", db, "resolve", "1", "refunded"]) == 0
    assert helpdesk_main(["--db", db, "list"]) == 0
    assert capsys.readouterr().out.endswith("resolved\n")
