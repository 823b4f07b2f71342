"""`DurableSessions`: sessions that outlive their process, for workers, `serve` and telephony.

The one entry point a host (the `agentkit worker` command, an HTTP server, a telephony
bridge) needs::

    store = RedisStore.from_url("redis://localhost:6379")
    async with DurableSessions(runner, store) as sessions:
        # per incoming connection, with the app's id for the conversation:
        async with sessions.open(session_id, transport) as durable:
            if durable.resumed:
                ...  # another worker had it; durable.session.history is the conversation
            async for event in durable.session:
                ...

`open` takes the session's lease (waiting, at most `wait_s`, for a crashed owner's lease to
expire), loads what the store has, and starts the session: fresh, or resumed with the plan of
`plan_resume` (the history replayed into the provider, the agent put back, pending calls
answered once, an answer asked for when one is owed). While it runs, a `SessionRecorder`
records it and a heartbeat renews the lease every third of `lease_ttl_s`. When the block
exits, the last state is written and the lease released, so the next connection, on any
worker, resumes at once; `durable.finish()` first marks the conversation ended.

If another worker takes the session over (this one could not renew its lease in time, say
during a network partition), the store refuses this worker's writes from then on (they are
fenced by the lease) and the session is closed here: two workers never both write a session.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ..errors import UserError
from ..events import SessionEvent
from ..logs import get_logger
from ..policy import TransportFactory
from ..runner import RealtimeRunner
from ..runtime.supervisor import Supervisor
from ..session import RealtimeSession
from ..transports.base import Transport
from .base import SessionBusy, SessionStore, StoreError
from .recorder import RecordPolicy, SessionRecorder
from .resume import ResumePlan, plan_resume
from .writer import StoreWriter

__all__ = ["DurableSession", "DurableSessions", "check_session_id", "worker_id"]

logger = get_logger("agentkit.store")

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def check_session_id(session_id: str) -> str:
    """`session_id` if it is a valid id (1-128 letters, digits, `_.:-`), else `UserError`."""
    if not _SESSION_ID.fullmatch(session_id):
        raise UserError(
            f"session id {session_id[:80]!r} is not valid: expected 1 to 128 letters, digits "
            "or `_.:-`, starting with a letter or digit"
        )
    return session_id


def worker_id() -> str:
    """A name for this process that no other worker has: `host:pid:random`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DurableSession:
    """One open durable session (see `DurableSessions.open`).

    Attributes:
        session_id: The app's id for the conversation.
        session: The live `RealtimeSession`.
        plan: How it was resumed (`None`: it started fresh).
    """

    def __init__(self, session_id: str, session: RealtimeSession[Any], plan: ResumePlan | None) -> None:
        self.session_id = session_id
        self.session = session
        self.plan = plan
        self.recorder: SessionRecorder | None = None
        self.lost = False
        """Another worker took the session over; it was closed here."""

    @property
    def resumed(self) -> bool:
        """The session was carried on from the store (another process had it)."""
        return self.plan is not None

    def finish(self) -> None:
        """Mark the conversation ended (written when the session closes); a later `open` of
        the same id is refused."""
        if self.recorder is not None:
            self.recorder.finish()


class DurableSessions:
    """Opens sessions recorded in `store`, one lease each (see the module docs).

    Args:
        runner: Makes the sessions (its agents are the ones a resumed session may name).
        store: Where sessions live (`RedisStore`, or `MemoryStore` in one process).
        owner: This worker's name in leases (default: `worker_id()`).
        lease_ttl_s: A lease not renewed for this long expires, and another worker may
            take the session over: the longest a crashed worker's sessions wait.
        policy: What is recorded (`RecordPolicy`).
        retention_s: How long the store keeps a session after its last write (the
            transcript's retention; `None`: forever).
        writer: Write through this writer (default: one of its own, on `store`).
    """

    def __init__(
        self,
        runner: RealtimeRunner[Any],
        store: SessionStore,
        *,
        owner: str | None = None,
        lease_ttl_s: float = 10.0,
        policy: RecordPolicy | None = None,
        retention_s: float | None = 7 * 24 * 3600.0,
        writer: StoreWriter | None = None,
    ) -> None:
        self.runner = runner
        self.store = store
        self.owner = owner or worker_id()
        self.lease_ttl_s = lease_ttl_s
        self.policy = policy or RecordPolicy()
        self.writer = writer or StoreWriter(
            store, lease_ttl_s=lease_ttl_s, retention_s=retention_s
        )
        self._tasks: TaskGroup | None = None

    async def __aenter__(self) -> DurableSessions:
        tasks = anyio.create_task_group()
        await tasks.__aenter__()
        self._tasks = tasks
        await tasks.start(self.writer.run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tasks, self._tasks = self._tasks, None
        if tasks is not None:
            tasks.cancel_scope.cancel()
            await tasks.__aexit__(None, None, None)

    def _task_group(self) -> TaskGroup:
        if self._tasks is None:
            raise UserError("use DurableSessions as `async with DurableSessions(...) as sessions:`")
        return self._tasks

    async def acquire(self, session_id: str, *, wait_s: float | None = None) -> None:
        """Take the session's lease, waiting for a held one to expire (at most `wait_s`,
        default one and a half lease lives: a crashed worker's lease is gone by then).

        Raises:
            SessionBusy: It is still held (its worker is alive and renewing it).
            StoreError: The store cannot be reached.
        """
        wait = self.lease_ttl_s * 1.5 if wait_s is None else wait_s
        deadline = anyio.current_time() + wait
        while True:
            holder = await self.store.acquire(session_id, self.owner, self.lease_ttl_s)
            if holder == self.owner:
                return
            left = deadline - anyio.current_time()
            if left <= 0:
                raise SessionBusy(session_id, holder)
            await anyio.sleep(min(left, self.lease_ttl_s / 4))

    @asynccontextmanager
    async def open(
        self,
        session_id: str,
        transport: Transport,
        *,
        context: Any = None,
        wait_s: float | None = None,
        transport_factory: TransportFactory | None = None,
    ) -> AsyncIterator[DurableSession]:
        """The session `session_id` over `transport`: resumed if the store has it, new
        otherwise (see the module docs).

        Raises:
            UserError: `session_id` is not a valid id, or that conversation was finished.
            SessionBusy: Another worker holds the session (see `acquire`).
            StoreError: The store cannot be reached (a session cannot be opened without it;
                once open, it runs on through store outages).
        """
        check_session_id(session_id)
        tasks = self._task_group()
        await self.acquire(session_id, wait_s=wait_s)
        try:
            state = await self.store.load(session_id)
            if state is not None and state.ended:
                raise UserError(
                    f"session {session_id!r} was finished; start a new conversation with a new id"
                )
            runner = self.runner
            plan = (
                plan_resume(state, runner.agents, runner.starting_agent)
                if state is not None
                else None
            )
            made: list[SessionRecorder] = []
            durable: DurableSession | None = None

            def lost() -> None:
                if durable is not None and not durable.lost:
                    durable.lost = True
                    logger.warning(
                        "session %s was taken over by another worker; closing it here",
                        session_id,
                    )
                    tasks.start_soon(durable.session.close)

            def recorder(
                supervisor: Supervisor, announce: Callable[[SessionEvent], None]
            ) -> SessionRecorder:
                made.append(
                    SessionRecorder(
                        session_id,
                        self.owner,
                        supervisor,
                        announce,
                        self.writer,
                        self.policy,
                        restored=state,
                        on_lost=lost,
                    )
                )
                return made[-1]

            session = runner.session(
                transport,
                context=context,
                history=plan.history if plan is not None else (),
                agent=plan.agent if plan is not None else None,
                observers=[recorder],
                transport_factory=transport_factory,
            )
            durable = DurableSession(session_id, session, plan)
            heartbeat = anyio.CancelScope()
            try:
                async with session:
                    durable.recorder = made[0]
                    tasks.start_soon(self._heartbeat, durable, heartbeat)
                    if plan is not None:
                        logger.info(
                            "session %s resumed on %s: %d items, agent %s, %d pending calls answered",
                            session_id,
                            self.owner,
                            len(plan.history),
                            plan.agent.name,
                            len(plan.answered),
                        )
                        if plan.respond:
                            await session.respond()
                    yield durable
            finally:
                heartbeat.cancel()
                if made:
                    with anyio.CancelScope(shield=True):
                        if not await self.writer.write_now(made[0]):
                            logger.warning(
                                "the last state of session %s could not be written", session_id
                            )
                    self.writer.detach(made[0])
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self.store.release(session_id, self.owner)
                except StoreError as exc:  # it expires by itself
                    logger.warning("could not release the lease of %s: %s", session_id, exc)

    async def _heartbeat(self, durable: DurableSession, scope: anyio.CancelScope) -> None:
        """Renew the lease every third of its life until cancelled or lost."""
        with scope:
            while not durable.lost:
                await anyio.sleep(self.lease_ttl_s / 3)
                try:
                    if await self.store.renew(durable.session_id, self.owner, self.lease_ttl_s):
                        continue
                    # Expired (a store that restarted empty, a long outage): take it back if
                    # it is free, else another worker has the session.
                    holder = await self.store.acquire(
                        durable.session_id, self.owner, self.lease_ttl_s
                    )
                except StoreError as exc:
                    # The writes are fenced: if another worker takes the session meanwhile,
                    # they are refused and the recorder reports the loss.
                    logger.debug("renewing the lease of %s failed: %s", durable.session_id, exc)
                    continue
                if holder != self.owner:
                    if durable.recorder is not None:
                        durable.recorder.fenced()
                    return
