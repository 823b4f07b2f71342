"""`MemoryStore`: a session store in this process's memory.

The same semantics as `RedisStore` (atomic leases, fenced writes, retention), for tests and
for a single process that wants the recorder and transcripts without Redis. It stores the
very strings the Redis store would, so what a test reads back is what Redis would return.
Nothing survives the process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .base import WriteBatch
from .state import (
    AppendLog,
    PutCalls,
    PutItems,
    SessionParts,
    SessionState,
    SetFields,
    SetOrder,
    decode_state,
)

__all__ = ["MemoryStore"]


@dataclass
class _Stored:
    fields: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    calls: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    expires_at: float | None = None


class MemoryStore:
    """A `SessionStore` in memory (see the module docs).

    Args:
        clock: Monotonic seconds, for lease and retention expiry (tests pass a fake).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sessions: dict[str, _Stored] = {}
        self._leases: dict[str, tuple[str, float]] = {}  # -> (owner, expires_at)
        self.writes = 0
        """Batches applied (for tests)."""

    def _lease(self, session_id: str) -> str | None:
        held = self._leases.get(session_id)
        if held is None:
            return None
        if held[1] <= self._clock():
            del self._leases[session_id]
            return None
        return held[0]

    def _session(self, session_id: str) -> _Stored | None:
        stored = self._sessions.get(session_id)
        if stored is not None and stored.expires_at is not None and stored.expires_at <= self._clock():
            del self._sessions[session_id]
            return None
        return stored

    async def write(self, batches: Sequence[WriteBatch]) -> list[bool]:
        """See `SessionStore.write`."""
        return [self._apply(batch) for batch in batches]

    def _apply(self, batch: WriteBatch) -> bool:
        holder = self._lease(batch.session_id)
        if holder is not None and holder != batch.owner:
            return False
        if holder is None:
            self._leases[batch.session_id] = (batch.owner, self._clock() + batch.lease_ttl_s)
        stored = self._session(batch.session_id)
        if stored is None:
            stored = self._sessions[batch.session_id] = _Stored()
        for write in batch.writes:
            match write:
                case PutItems():
                    stored.items.update(write.items)
                case SetOrder():
                    if not write.append:
                        stored.order.clear()
                    stored.order.extend(write.item_ids)
                case PutCalls():
                    stored.calls.update(write.calls)
                case SetFields():
                    stored.fields.update(write.fields)
                case AppendLog():
                    if write.replace:
                        stored.log.clear()
                    stored.log.extend(write.entries)
        if batch.retention_s is not None:
            stored.expires_at = self._clock() + batch.retention_s
        self.writes += 1
        return True

    async def load(self, session_id: str) -> SessionState | None:
        """See `SessionStore.load`."""
        stored = self._session(session_id)
        if stored is None:
            return None
        parts = SessionParts(stored.fields, stored.items, stored.order, stored.calls, stored.log)
        return decode_state(session_id, parts)

    async def acquire(self, session_id: str, owner: str, ttl_s: float) -> str | None:
        """See `SessionStore.acquire`."""
        holder = self._lease(session_id)
        if holder is None or holder == owner:
            self._leases[session_id] = (owner, self._clock() + ttl_s)
            return owner
        return holder

    async def renew(self, session_id: str, owner: str, ttl_s: float) -> bool:
        """See `SessionStore.renew`."""
        if self._lease(session_id) != owner:
            return False
        self._leases[session_id] = (owner, self._clock() + ttl_s)
        return True

    async def release(self, session_id: str, owner: str) -> bool:
        """See `SessionStore.release`."""
        if self._lease(session_id) != owner:
            return False
        del self._leases[session_id]
        return True

    async def close(self) -> None:
        """Nothing to close."""
