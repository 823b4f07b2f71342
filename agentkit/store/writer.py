"""`StoreWriter`: one background task per process that writes sessions' state, batched.

Recorders (`SessionRecorder`, one per live session) never write themselves: when their
session changes they tell the writer (`changed`, a set insertion), and the writer's task,
`interval_s` later, asks each changed recorder for what it has not yet written (`collect`)
and sends the batches of up to `max_sessions` sessions in one round trip. So a session's
audio path never waits on the store, and a burst of changes costs one write.

What is kept while the store cannot be reached, and the policy when it cannot take more:
nothing is queued here. A recorder's pending writes are the difference between its
session's state, which the live session holds in memory anyway, and what the store last
acknowledged; so an outage costs no memory beyond the session itself, however long it lasts,
and nothing is dropped. The writer retries with backoff (`backoff_s`), each recorder
announces `StoreLagging` once, and when the store answers again every session is written in
full (a restarted Redis may have lost everything), after which each lagging session announces
`StoreCaughtUp`. The one bounded part is each session's transcript log, see
`RecordPolicy.max_log_entries`.

`sync(recorder)` is the write-ahead: it asks for an immediate write of that session and waits
(at most a timeout) until the store has it. A tool's start is made durable this way before
the tool runs (see `agentkit.store.recorder`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio
from anyio.abc import TaskStatus

from ..logs import get_logger
from .base import SessionStore, StoreError, WriteBatch
from .state import Write

__all__ = ["Collected", "Recorded", "StoreWriter"]

logger = get_logger("agentkit.store")


@dataclass(frozen=True, slots=True)
class Collected:
    """What a recorder has to write: the writes, and a token it is acknowledged with."""

    writes: Sequence[Write]
    token: object


class Recorded(Protocol):
    """What the writer needs from a recorder (`SessionRecorder` is one)."""

    @property
    def session_id(self) -> str:
        """The session's id."""
        ...

    @property
    def owner(self) -> str:
        """The worker writing it."""
        ...

    def collect(self) -> Collected:
        """What the store does not have yet (no writes: nothing)."""
        ...

    def acknowledged(self, token: object) -> None:
        """The store has what `collect` returned with `token`."""
        ...

    def failed(self, reason: str) -> None:
        """The write of what was collected failed; it will be collected again."""
        ...

    def fenced(self) -> None:
        """Another worker holds the session's lease: nothing was written, and nothing will be."""
        ...

    def resync(self) -> None:
        """Write everything again at the next flush (the store may have lost it)."""
        ...


class StoreWriter:
    """Writes the state of this process's sessions to `store` (see the module docs).

    Run it in a task for as long as sessions record (`run`); `DurableSessions` does.

    Args:
        store: Where to write.
        interval_s: How long a change waits for others to join its write.
        timeout_s: A write that takes longer failed (the store is slow).
        max_sessions: Sessions per round trip.
        lease_ttl_s: The life of a lease a write takes when the session's is free.
        retention_s: How long the store keeps a session after its last write (`None`:
            forever).
        backoff_s: The first and the longest wait between retries while the store fails.
    """

    def __init__(
        self,
        store: SessionStore,
        *,
        interval_s: float = 0.01,
        timeout_s: float = 1.0,
        max_sessions: int = 256,
        lease_ttl_s: float = 10.0,
        retention_s: float | None = 7 * 24 * 3600.0,
        backoff_s: tuple[float, float] = (0.05, 2.0),
    ) -> None:
        self.store = store
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.max_sessions = max_sessions
        self.lease_ttl_s = lease_ttl_s
        self.retention_s = retention_s
        self.backoff_s = backoff_s
        self._recorders: dict[Recorded, None] = {}
        self._dirty: dict[Recorded, None] = {}
        self._wake = anyio.Event()
        self._urgent = False
        # Set by `flush_soon`: cuts the wait for more changes short (a tool waiting on its
        # start must not wait `interval_s` as well).
        self._hurry = anyio.Event()
        # Set by any failed write (the task's or `write_now`'s), cleared by the task's next
        # success, which then has every session written in full.
        self._failing = False
        self._logged = False
        # One write at a time: the task's rounds and `write_now` never interleave, so a
        # recorder's acknowledgements come in the order its collects were made.
        self._lock = anyio.Lock()
        self.round_trips = 0
        """Writes sent (each one round trip), for benchmarks."""

    # -- what recorders call ------------------------------------------------------------------

    def attach(self, recorder: Recorded) -> None:
        """Start writing `recorder`'s session."""
        self._recorders[recorder] = None
        self.changed(recorder)

    def detach(self, recorder: Recorded) -> None:
        """Stop writing it (its session ended and its last state was synced, or given up)."""
        self._recorders.pop(recorder, None)
        self._dirty.pop(recorder, None)

    def changed(self, recorder: Recorded) -> None:
        """`recorder` has something new to write."""
        self._dirty[recorder] = None
        self._wake.set()

    def flush_soon(self) -> None:
        """Write now, without waiting `interval_s` for more changes."""
        self._urgent = True
        self._wake.set()
        self._hurry.set()

    @property
    def failing(self) -> bool:
        """The last write failed and the writer is retrying."""
        return self._failing

    # -- the task -------------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Write until cancelled."""
        task_status.started()
        delay = self.backoff_s[0]
        while True:
            if not self._dirty:
                await self._wake.wait()
            self._wake = anyio.Event()
            if not self._urgent and not self._failing:
                with anyio.move_on_after(self.interval_s):
                    await self._hurry.wait()
            self._hurry = anyio.Event()
            self._urgent = False
            try:
                await self.write_round()
            except StoreError as exc:
                if not self._logged:
                    self._logged = True
                    logger.warning("the session store failed, retrying: %s", exc)
                await anyio.sleep(delay)
                delay = min(delay * 2, self.backoff_s[1])
                continue
            if self._failing:
                logger.info("the session store answers again; writing every session in full")
                self._failing = self._logged = False
                delay = self.backoff_s[0]
                for recorder in list(self._recorders):
                    recorder.resync()
                    self._dirty[recorder] = None

    async def write_now(self, recorder: Recorded) -> bool:
        """Write `recorder`'s changes now, from the caller's task (a session's last state as
        it closes, whether or not the writer's task still runs); False if that failed."""
        try:
            await self.write_round([recorder])
        except StoreError:
            return False
        return True

    async def write_round(self, only: Sequence[Recorded] | None = None) -> None:
        """Write up to `max_sessions` changed sessions (or just `only`) in one round trip.

        Raises:
            StoreError: The store failed or timed out (each recorder was told; each will
                be written again).
        """
        async with self._lock:
            await self._write_round(only)

    async def _write_round(self, only: Sequence[Recorded] | None) -> None:
        round_: list[tuple[Recorded, object]] = []
        batches: list[WriteBatch] = []
        dirty = self._dirty
        chosen = list(only) if only is not None else None
        while (chosen if chosen is not None else dirty) and len(batches) < self.max_sessions:
            recorder = chosen.pop() if chosen is not None else next(iter(dirty))
            dirty.pop(recorder, None)
            collected = recorder.collect()
            if not collected.writes:
                recorder.acknowledged(collected.token)
                continue
            round_.append((recorder, collected.token))
            batches.append(
                WriteBatch(
                    recorder.session_id,
                    recorder.owner,
                    collected.writes,
                    self.lease_ttl_s,
                    self.retention_s,
                )
            )
        if not batches:
            return
        self.round_trips += 1
        try:
            with anyio.fail_after(self.timeout_s):
                results = await self.store.write(batches)
        except (StoreError, TimeoutError) as exc:
            reason = str(exc) if isinstance(exc, StoreError) else f"timed out after {self.timeout_s:g}s"
            self._failing = True
            for recorder, _ in round_:
                recorder.failed(reason)
                self._dirty[recorder] = None
            self._wake.set()
            raise StoreError(reason) from exc
        except BaseException:
            # Cancelled (a caller's deadline): nothing was acknowledged, collect again.
            for recorder, _ in round_:
                self._dirty[recorder] = None
            self._wake.set()
            raise
        for (recorder, token), written in zip(round_, results, strict=True):
            if written:
                recorder.acknowledged(token)
            else:
                recorder.fenced()
                self.detach(recorder)
        if self._dirty:
            self._wake.set()
