"""The example shop's data: a fresh SQLite database per session, and the context tools get.

Each session gets its own in-memory database built from `schema.sql` and `fixture.json`, so
calls never see each other's returns or carts and the demo starts clean every time. Fixture
dates are stored relative to "today" for the same reason: a return window that was open when
the example was written stays open.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from agentkit_helpdesk import ENV_VAR, HelpdeskQueue

__all__ = ["HERE", "SupportContext", "create_database", "new_context"]

HERE = Path(__file__).resolve().parent


def create_database(today: date, *, fixture: Path = HERE / "fixture.json") -> sqlite3.Connection:
    """A new in-memory database holding the fixture, with its dates anchored at `today`.

    The connection may be used from any thread (sync tools run in worker threads); the
    `SupportContext` lock serializes access.
    """
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys = ON")
    db.executescript((HERE / "schema.sql").read_text(encoding="utf-8"))
    data: dict[str, Any] = json.loads(fixture.read_text(encoding="utf-8"))

    def ago(days: int | None) -> str | None:
        return None if days is None else (today - timedelta(days=days)).isoformat()

    with db:
        db.executemany(
            "INSERT INTO customers (id, name, phone, email, tier) VALUES (?, ?, ?, ?, ?)",
            [(c["id"], c["name"], c["phone"], c["email"], c["tier"]) for c in data["customers"]],
        )
        db.executemany(
            "INSERT INTO products (sku, name, category, price_cents, stock, final_sale)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (p["sku"], p["name"], p["category"], p["price_cents"], p["stock"], int(p.get("final_sale", False)))
                for p in data["products"]
            ],
        )
        for order in data["orders"]:
            db.execute(
                "INSERT INTO orders (number, customer_id, placed_on, delivered_on, status)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    order["number"],
                    order["customer_id"],
                    ago(order["placed_days_ago"]),
                    ago(order["delivered_days_ago"]),
                    order["status"],
                ),
            )
            db.executemany(
                "INSERT INTO order_items (order_number, sku, quantity, unit_price_cents)"
                " VALUES (?, ?, ?, ?)",
                [(order["number"], i["sku"], i["quantity"], i["unit_price_cents"]) for i in order["items"]],
            )
        db.executemany(
            "INSERT INTO offers (code, description, category, percent_off, gold_only, valid_until)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    o["code"],
                    o["description"],
                    o["category"],
                    o["percent_off"],
                    int(o.get("gold_only", False)),
                    (today + timedelta(days=o["valid_for_days"])).isoformat(),
                )
                for o in data["offers"]
            ],
        )
    return db


@dataclass
class SupportContext:
    """What the support tools share during one call (`RunContext.context`).

    Attributes:
        db: This session's database.
        today: The date the policy is evaluated on (fixed per session, injectable in tests).
        helpdesk_queue: Where `escalate_to_human` files tickets (read by the helpdesk plugin).
        customer_id: The caller, once `verify_customer` has matched them; None before.
        failed_verifications: Failed attempts so far; the caller is locked out after three.
    """

    db: sqlite3.Connection
    today: date
    helpdesk_queue: HelpdeskQueue | None = None
    customer_id: int | None = None
    failed_verifications: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cleanup: Path | None = field(default=None, repr=False)

    @property
    def helpdesk_customer(self) -> str | None:
        """Who the caller is, for helpdesk tickets (read by the helpdesk plugin)."""
        if self.customer_id is None:
            return None
        with self.lock:
            row = self.db.execute(
                "SELECT name, phone FROM customers WHERE id = ?", (self.customer_id,)
            ).fetchone()
        return f"{row['name']} ({row['phone']})" if row is not None else None

    def close(self) -> None:
        """Close the database and remove the temporary helpdesk queue, if one was made."""
        self.db.close()
        if self._cleanup is not None:
            shutil.rmtree(self._cleanup, ignore_errors=True)
            self._cleanup = None

    def __enter__(self) -> SupportContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def new_context() -> SupportContext:
    """The context factory `agents.yaml` names: a fresh shop for one call.

    Tickets go to `$AGENTKIT_HELPDESK_DB` when set (so people can work the queue with
    `agentkit-helpdesk list`), else to a queue in a temporary folder removed on `close()`.
    """
    today = date.today()
    shared = os.environ.get(ENV_VAR)
    if shared:
        return SupportContext(create_database(today), today, HelpdeskQueue(shared))
    folder = Path(tempfile.mkdtemp(prefix="agentkit-helpdesk-"))
    queue = HelpdeskQueue(folder / "queue.sqlite3")
    return SupportContext(create_database(today), today, queue, _cleanup=folder)
