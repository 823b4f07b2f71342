"""The reconnect planner: when to retry, what to send after, and the retry loop itself.

* `backoff_delay(policy, attempt, random)`: exponential backoff with jitter, the random
  source injected so tests (and the fault matrix) are deterministic.
* `reconnect(...)`: the attempts of one outage (announce, wait the backoff, try), then the
  text fallback; its effects (sleeping, opening a transport, announcing) are the runtime's,
  passed in, so the loop has no I/O of its own.
* `replay_items(history)` / `replay_frames(...)`: what re-creates a conversation in a fresh
  service session: the agent's compiled `session.update`, then every item in order with
  `conversation.item.create` (chained by `previous_item_id`). Audio cannot be re-sent as the
  assistant's (the service refuses client-made assistant audio), so past audio turns go back
  as text: a caller's turn as `input_text` with its transcript, the assistant's as
  `output_text`. Function calls and outputs keep their call ids, so a tool still running when
  the connection dropped can deliver its output afterwards. Left out (they stay in the local
  history): breadcrumbs, items a guardrail stopped, assistant answers that were cut off, empty
  messages, and calls whose arguments never arrived.

The configuration goes first, as on the first connect: one code path for seeding and replay,
and nothing in the items depends on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from .. import protocol as p
from ..agent import RealtimeAgent
from ..compiler import compile_live_start, compile_session_update
from ..errors import ReconnectFailed
from ..events import Reconnecting, SessionEvent
from ..history import HistoryItem
from ..policy import ReconnectPolicy
from ..protocol.dialects import Dialect
from ..protocol.live_config import LiveOptions
from ..protocol.wire_types import ItemId, JsonObject
from ..settings import SessionSettings
from .live import live_history

__all__ = ["backoff_delay", "reconnect", "replay_frames", "replay_items"]

T = TypeVar("T")
"""A transport (the loop only hands them from `new_transport` to `attempt`)."""


def backoff_delay(policy: ReconnectPolicy, attempt: int, random: Callable[[], float]) -> float:
    """Seconds to wait before attempt `attempt` (1-based).

    `min(max_delay, base * 2**(attempt-1))`, of which the `jitter` fraction is scaled by
    `random()` (a float in [0, 1)).
    """
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    # 2**60 already dwarfs any cap; bounding the exponent keeps huge attempts finite.
    ceiling = min(policy.max_delay_s, policy.base_delay_s * 2.0 ** min(attempt - 1, 60))
    return ceiling * (1.0 - policy.jitter) + ceiling * policy.jitter * random()


def _replayable(item: HistoryItem) -> bool:
    if item.kind in ("breadcrumb", "other") or item.guardrail is not None:
        # Local notes never went to the model; tripped items must not reach it again.
        return False
    if item.kind == "message":
        if item.role == "assistant" and item.status in ("in_progress", "incomplete"):
            # An answer cut off (by a drop or a barge-in): its text runs past what the caller
            # heard, and a model continuing a half sentence does worse than answering again.
            return False
        # An empty message (an audio turn whose transcript never came) re-creates nothing.
        return bool(item.text or item.images)
    if item.kind == "function_call":
        # A call whose arguments never arrived was never dispatched: the model will ask again.
        return bool(item.call_id and item.name and item.arguments)
    return bool(item.call_id)


def replay_items(history: Iterable[HistoryItem]) -> list[JsonObject]:
    """The history as GA wire items, in order, with their ids (see the module docs)."""
    items: list[JsonObject] = []
    for item in history:
        if not _replayable(item):
            continue
        wire = item.to_wire()
        wire["id"] = item.item_id
        items.append(wire)
    return items


def replay_frames(
    agent: RealtimeAgent[Any],
    settings: SessionSettings,
    history: Iterable[HistoryItem],
    *,
    dialect: Dialect,
    instructions: str | None,
    live: LiveOptions | None = None,
) -> tuple[list[str], int]:
    """The frames that restore `agent` and the conversation in a fresh service session, and
    how many of them re-create items (on Live: one `session.start` with the conversation as
    its startup history, see `runtime.live.live_history`)."""
    if dialect == "live":
        history_items = live_history(replay_items(history))
        start = compile_live_start(
            agent, settings, live=live, history=history_items, instructions=instructions
        )
        return [p.encode_client_event(start)], len(start["session"].get("input", ()))
    frames = [
        p.encode_client_event(
            compile_session_update(agent, settings, dialect=dialect, instructions=instructions)
        )
    ]
    previous: ItemId | None = None
    items = replay_items(history)
    for wire in items:
        frames.append(p.encode_item_create(wire, previous_item_id=previous, dialect=dialect))
        previous = wire["id"]
    return frames, len(items)


async def reconnect(
    policy: ReconnectPolicy,
    reason: str,
    cause: BaseException,
    *,
    attempt: Callable[[T, bool], Awaitable[BaseException | None]],
    new_transport: Callable[[], T],
    fallback_transport: Callable[[], T] | None,
    announce: Callable[[SessionEvent], Awaitable[None]],
    sleep: Callable[[float], Awaitable[None]],
    random: Callable[[], float],
    closing: Callable[[], bool],
) -> ReconnectFailed | None:
    """Try to reconnect after an outage; None once connected (or when the session closed
    meanwhile: `closing()`), else the `ReconnectFailed` to end the session with.

    Args:
        attempt: Connects a transport and replays into it (`attempt(transport, text_only)`);
            returns None on success, else why it failed.
        new_transport: The transport of each attempt.
        fallback_transport: The transport of the text fallback, if any
            (`policy.text_fallback`).
        announce: Delivers a `Reconnecting` event before each attempt.
        sleep: Waits the backoff (the runtime's sleep).
        random: The backoff's jitter source.
        closing: Whether the session is closing (then the loop stops quietly).
    """
    last: BaseException = cause
    for number in range(1, policy.max_attempts + 1):
        # A renewal is planned, not a failure: its first attempt does not wait.
        delay = (
            0.0
            if reason == "renewal" and number == 1
            else backoff_delay(policy, number, random)
        )
        await announce(Reconnecting(number, delay, reason))
        if delay:
            await sleep(delay)
        if closing():
            return None
        failed = await attempt(new_transport(), False)
        if failed is None:
            return None
        last = failed
    if fallback_transport is not None and not closing():
        failed = await attempt(fallback_transport(), True)
        if failed is None:
            return None
        last = failed
    error = ReconnectFailed(
        f"could not reconnect after {policy.max_attempts} attempts ({reason}): {last}",
        attempts=policy.max_attempts,
    )
    error.__cause__ = last
    return error
