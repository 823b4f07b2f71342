"""The helpdesk queue: tickets for humans, kept in one SQLite file.

A file rather than a service so an agent process and the people working the queue (through
`agentkit-helpdesk list` / `take` / `resolve`, or any SQLite client) share it with no setup.
Each operation opens its own short-lived connection: tools run in worker threads, and several
processes may write at once; SQLite's file locking (with WAL) serializes them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

__all__ = ["HelpdeskQueue", "Priority", "Ticket", "TicketStatus"]

Priority = Literal["low", "normal", "urgent"]
TicketStatus = Literal["open", "in_progress", "resolved"]

_PRIORITY_RANK: dict[str, int] = {"urgent": 0, "normal": 1, "low": 2}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT    NOT NULL,
    priority      TEXT    NOT NULL CHECK (priority IN ('low', 'normal', 'urgent')),
    status        TEXT    NOT NULL DEFAULT 'open'
                          CHECK (status IN ('open', 'in_progress', 'resolved')),
    reason        TEXT    NOT NULL,
    summary       TEXT    NOT NULL,
    customer      TEXT,
    callback      TEXT,
    agent         TEXT,
    assignee      TEXT,
    resolution    TEXT,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_open ON tickets (status, priority, id);
"""


@dataclass(frozen=True)
class Ticket:
    """One request for a human, as filed by an agent."""

    id: int
    created_at: datetime
    priority: Priority
    status: TicketStatus
    reason: str
    summary: str
    customer: str | None
    callback: str | None
    agent: str | None
    assignee: str | None
    resolution: str | None

    @property
    def reference(self) -> str:
        """What the caller is told to quote: `HD-000042`."""
        return f"HD-{self.id:06d}"


class HelpdeskQueue:
    """A queue of tickets in the SQLite file at `path` (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:  # one transaction: commit on success, roll back on error
                yield db
        finally:
            db.close()

    def file(
        self,
        *,
        reason: str,
        summary: str,
        priority: Priority = "normal",
        customer: str | None = None,
        callback: str | None = None,
        agent: str | None = None,
    ) -> Ticket:
        """Add an open ticket and return it."""
        if priority not in _PRIORITY_RANK:
            raise ValueError(f"priority must be one of {', '.join(_PRIORITY_RANK)}, got {priority!r}")
        if not reason.strip() or not summary.strip():
            raise ValueError("a ticket needs a reason and a summary")
        now = _now()
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO tickets (created_at, updated_at, priority, reason, summary,"
                " customer, callback, agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (now, now, priority, reason.strip(), summary.strip(), customer, callback, agent),
            )
            ticket_id = cursor.lastrowid
        assert ticket_id is not None
        ticket = self.get(ticket_id)
        assert ticket is not None
        return ticket

    def get(self, ticket_id: int) -> Ticket | None:
        """The ticket with this id, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return _ticket(row) if row is not None else None

    def waiting(self) -> list[Ticket]:
        """Open tickets in the order people should take them: most urgent, then oldest."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM tickets WHERE status = 'open' ORDER BY"
                " CASE priority WHEN 'urgent' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END, id"
            ).fetchall()
        return [_ticket(row) for row in rows]

    def position(self, ticket_id: int) -> int | None:
        """1 for the next ticket to be taken; None once the ticket is no longer waiting."""
        for index, ticket in enumerate(self.waiting(), start=1):
            if ticket.id == ticket_id:
                return index
        return None

    def take(self, ticket_id: int, assignee: str) -> Ticket:
        """Mark a waiting ticket as being handled by `assignee`."""
        return self._transition(ticket_id, "open", "in_progress", assignee=assignee)

    def resolve(self, ticket_id: int, resolution: str) -> Ticket:
        """Close a ticket (waiting or in progress) with a note of what was done."""
        ticket = self.get(ticket_id)
        if ticket is None:
            raise KeyError(f"no ticket {ticket_id}")
        return self._transition(ticket_id, ticket.status, "resolved", resolution=resolution)

    def _transition(
        self,
        ticket_id: int,
        expected: TicketStatus,
        new: TicketStatus,
        *,
        assignee: str | None = None,
        resolution: str | None = None,
    ) -> Ticket:
        with self._connect() as db:
            changed = db.execute(
                "UPDATE tickets SET status = ?, updated_at = ?,"
                " assignee = COALESCE(?, assignee), resolution = COALESCE(?, resolution)"
                " WHERE id = ? AND status = ?",
                (new, _now(), assignee, resolution, ticket_id, expected),
            ).rowcount
        ticket = self.get(ticket_id)
        if ticket is None:
            raise KeyError(f"no ticket {ticket_id}")
        if not changed:
            raise ValueError(f"ticket {ticket.reference} is {ticket.status}, not {expected}")
        return ticket


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _ticket(row: sqlite3.Row) -> Ticket:
    priority = row["priority"]
    status = row["status"]
    assert priority in get_args(Priority) and status in get_args(TicketStatus)
    return Ticket(
        id=row["id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        priority=priority,
        status=status,
        reason=row["reason"],
        summary=row["summary"],
        customer=row["customer"],
        callback=row["callback"],
        agent=row["agent"],
        assignee=row["assignee"],
        resolution=row["resolution"],
    )
