"""The reconnect planner: pure functions for when to retry and what to send after.

* `backoff_delay(policy, attempt, random)`: exponential backoff with jitter, the random
  source injected so tests (and the fault matrix) are deterministic.
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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import protocol as p
from .agent import RealtimeAgent
from .compiler import compile_session_update
from .dialects import Dialect
from .errors import DefinitionError
from .history import HistoryItem
from .settings import SessionSettings

if TYPE_CHECKING:
    from .transports.base import Transport

__all__ = ["ReconnectPolicy", "backoff_delay", "replay_frames", "replay_items"]

TransportFactory = Callable[[], "Transport"]
"""Makes a fresh, unconnected transport (a new WebSocket to the same URL, another region...)."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """When and how a session reconnects after the connection drops or the service ends it.

    Attributes:
        max_attempts: Connection attempts per outage before giving up (0: never reconnect).
        base_delay_s: Delay before the first attempt; doubled per attempt.
        max_delay_s: Cap on the delay.
        jitter: Fraction of each delay that is random (0: none, 1: anywhere from 0 to the
            delay), so many sessions cut by one outage do not reconnect in lockstep.
        renew_after_s: Reconnect proactively this long after a connection opened, at the
            first moment no response is active, before the service's maximum session
            duration ends it mid-sentence (OpenAI: 60 minutes). `None`: never.
        text_fallback: When attempts run out, continue text-only over a transport from this
            factory (the conversation is replayed; the app gets `TextFallback`). `None`: the
            session ends with an error.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    jitter: float = 0.5
    renew_after_s: float | None = 55 * 60.0
    text_fallback: TransportFactory | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise DefinitionError(f"max_attempts must be 0 or more, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise DefinitionError(
                "need 0 <= base_delay_s <= max_delay_s, got "
                f"{self.base_delay_s} and {self.max_delay_s}"
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise DefinitionError(f"jitter must be within [0, 1], got {self.jitter}")
        if self.renew_after_s is not None and self.renew_after_s <= 0:
            raise DefinitionError(f"renew_after_s must be positive, got {self.renew_after_s}")


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
        return bool(item.text)
    if item.kind == "function_call":
        # A call whose arguments never arrived was never dispatched: the model will ask again.
        return bool(item.call_id and item.name and item.arguments)
    return bool(item.call_id)


def replay_items(history: Iterable[HistoryItem]) -> list[dict[str, Any]]:
    """The history as GA wire items, in order, with their ids (see the module docs)."""
    items: list[dict[str, Any]] = []
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
) -> tuple[list[str], int]:
    """The frames that restore `agent` and the conversation in a fresh service session, and
    how many of them re-create items."""
    frames = [
        p.encode_client_event(
            compile_session_update(agent, settings, dialect=dialect, instructions=instructions)
        )
    ]
    previous: str | None = None
    items = replay_items(history)
    for wire in items:
        frames.append(p.encode_item_create(wire, previous_item_id=previous, dialect=dialect))
        previous = wire["id"]
    return frames, len(items)
