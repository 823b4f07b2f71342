"""Resuming a session in another process: the plan, decided from the stored state alone.

`plan_resume(state, ...)` is a pure function. It returns the history to seed the new session
with, the agent to put back, and whether the agent owes an answer; the session then connects
through the ordinary path (`RealtimeRunner.session(history=..., agent=...)`): the supervisor's
`connected()` replays the history into the new provider session exactly as a reconnect does
(`runtime.reconnect.replay_frames`), so a resumed conversation and a reconnected one are the
same code.

**Pending calls, exactly once.** A function call in the history without an output gets one
output here, and is never run again:

| the store shows the call | its output |
| --- | --- |
| `running` (its start was made durable before it ran) | `worker_lost`: it may or may not have taken effect; check before retrying |
| not started (parked for approval, or the worker died between the call and its start) | `not_run`: it did not run; call it again if still needed |

Why never re-run: a tool is run at most once per call id, whatever happens (the supervisor's
rule), and a re-run after a crash would need every tool to be idempotent. The model reads the
output and decides, like after any failed call; a call it makes again is a new call id.

A call that already has its output (it finished before the crash) is replayed with it, as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..agent import RealtimeAgent
from ..history import HistoryItem
from ..logs import get_logger
from ..protocol.wire_types import CallId, ItemId
from ..runtime.reconnect import replay_items
from .state import SessionState, encode_json

__all__ = ["NOT_RUN", "WORKER_LOST", "ResumePlan", "plan_resume"]

logger = get_logger("agentkit.store")

WORKER_LOST = "worker_lost"
"""The error kind of a call whose worker stopped while it ran."""

NOT_RUN = "not_run"
"""The error kind of a call whose worker stopped before it ran."""


@dataclass(frozen=True)
class ResumePlan:
    """How to carry a stored session on (see the module docs).

    Attributes:
        history: The conversation to seed the new session with (outputs added for the
            calls left pending).
        agent: The agent to put back.
        answered: The pending calls given an output here, in order.
        respond: The agent owes an answer: the caller's turn or a call's output (a handoff's
            too) is the last item replayed, so the response in flight, if any, was cut off
            before it said anything kept; ask for one once connected.
    """

    history: tuple[HistoryItem, ...]
    agent: RealtimeAgent[Any]
    answered: tuple[CallId, ...]
    respond: bool


def plan_resume(
    state: SessionState,
    agents: Mapping[str, RealtimeAgent[Any]],
    starting: RealtimeAgent[Any],
) -> ResumePlan:
    """The plan to resume `state` with these agents (`starting` when the stored agent is
    not among them: the definitions changed since)."""
    items = list(state.items)
    answered_ids = {i.call_id for i in items if i.kind == "function_call_output"}
    taken = {i.item_id for i in items}
    answered: list[CallId] = []
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        call_id = item.call_id
        if item.kind != "function_call" or call_id is None or call_id in answered_ids:
            continue
        record = state.calls.get(call_id)
        if record is not None and record.status == "running":
            kind = WORKER_LOST
            message = (
                "the worker running this call stopped before it finished: it may or may not "
                "have taken effect, and it was not run again; check before retrying"
            )
        else:
            kind = NOT_RUN
            message = (
                "the worker handling this conversation stopped before running this call: it "
                "did not run; call it again if it is still needed"
            )
        number = len(answered) + 1
        item_id = ItemId(f"ak_resumed_{number}")
        while item_id in taken:
            number += 1
            item_id = ItemId(f"ak_resumed_{number}")
        taken.add(item_id)
        output = HistoryItem(
            item_id,
            "function_call_output",
            status="completed",
            call_id=call_id,
            output=encode_json({"error": kind, "message": message}),
            agent_name=item.agent_name,
        )
        items.insert(index, output)
        index += 1
        answered_ids.add(call_id)
        answered.append(call_id)
    agent = starting
    if state.agent is not None:
        found = agents.get(state.agent)
        if found is None:
            logger.warning(
                "session %s was with agent %r, which these definitions do not have; "
                "resuming with %r",
                state.session_id,
                state.agent,
                starting.name,
            )
        else:
            agent = found
    replayed = replay_items(items)
    last = replayed[-1] if replayed else None
    owes = last is not None and (
        last.get("type") == "function_call_output"
        or (last.get("type") == "message" and last.get("role") == "user")
    )
    return ResumePlan(tuple(items), agent, tuple(answered), owes)
