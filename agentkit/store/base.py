"""The `SessionStore` contract: what a store must do, and its errors.

A store keeps each session's state (`agentkit.store.state`) and the lease that says which
worker owns the live session. It is small on purpose, like a transport: the batching, the
retries and the recording live above it (`StoreWriter`, `SessionRecorder`), once for every
store. Two implementations: `RedisStore` (production) and `MemoryStore` (one process; a
test double with the same semantics).

Leases: `acquire` takes a free (or expired) lease, `renew` extends it only for its owner,
`release` deletes it only for its owner; each is one atomic step in the store, so two workers
never both hold a session. Writes are fenced by the same lease: `write` applies a session's
batch only if the lease is free or held by `owner` (it takes a free one), so a worker that
lost its lease can no longer change the session.

Exceptions::

    AgentKitError
    └── StoreError            the store cannot be reached or refused the command
        └── SessionBusy       the session is live on another worker (its lease is held)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import AgentKitError
from .state import SessionState, Write

__all__ = ["SessionBusy", "SessionStore", "StoreError", "WriteBatch"]


class StoreError(AgentKitError):
    """The session store failed (unreachable, timed out, refused a command)."""


class SessionBusy(StoreError):
    """The session is live on another worker: its lease is held by `owner`."""

    def __init__(self, session_id: str, owner: str | None) -> None:
        super().__init__(
            f"session {session_id!r} is live on another worker ({owner or 'unknown'}); "
            "it can be taken over once that worker stops renewing its lease"
        )
        self.session_id = session_id
        self.owner = owner


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """One session's writes, applied together if `owner` may write (see the module docs).

    Attributes:
        session_id: The session.
        owner: The worker writing.
        writes: The changes, in order.
        lease_ttl_s: The lease's life if the write takes a free lease.
        retention_s: Keep the session this long after this write (`None`: forever).
    """

    session_id: str
    owner: str
    writes: Sequence[Write]
    lease_ttl_s: float
    retention_s: float | None


class SessionStore(Protocol):
    """Where sessions' state and leases live (see the module docs)."""

    async def write(self, batches: Sequence[WriteBatch]) -> list[bool]:
        """Apply each batch (one round trip for all of them); for each, False when another
        owner holds its session's lease (nothing was written for it).

        Raises:
            StoreError: The store could not be reached; none, some or all batches may have
                been applied (each is idempotent: send them again).
        """
        ...

    async def load(self, session_id: str) -> SessionState | None:
        """The session's state, or None if the store has none (never written, or expired)."""
        ...

    async def acquire(self, session_id: str, owner: str, ttl_s: float) -> str | None:
        """Take the session's lease for `ttl_s` if it is free or already `owner`'s; returns
        the owner holding it afterwards (`owner` when taken)."""
        ...

    async def renew(self, session_id: str, owner: str, ttl_s: float) -> bool:
        """Extend `owner`'s lease to `ttl_s` from now; False if `owner` does not hold it."""
        ...

    async def release(self, session_id: str, owner: str) -> bool:
        """Give the lease up; False if `owner` did not hold it (nothing changed)."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...
