"""Durable sessions: state in a store, resumed in another process; stateless workers.

A live session is recorded as it runs (`SessionRecorder`, an observer of the session, like
the tracer), written in the background in batches (`StoreWriter`), owned through a lease
with heartbeats, and resumed by any process from its id (`plan_resume`), through the same
replay path a reconnect uses. `DurableSessions` puts it together for a host: the `agentkit
worker` command, `serve`, telephony. Transcripts of finished conversations come out of the
same state (`transcript`, `agentkit transcript SESSION_ID`).

Stores: `RedisStore` (redis-py's asyncio client; the `redis` extra) and `MemoryStore` (one
process; the test double). See `docs/scale.md` for running N workers behind a load
balancer, what is stored, and sizing.
"""

from .base import SessionBusy, SessionStore, StoreError, WriteBatch
from .memory import MemoryStore
from .recorder import RecordPolicy, SessionRecorder
from .redis_store import RedisStore, session_keys
from .resume import NOT_RUN, WORKER_LOST, ResumePlan, plan_resume
from .sessions import DurableSession, DurableSessions, check_session_id, worker_id
from .state import CallRecord, PlaybackRecord, ResponseRecord, SessionState
from .transcript import transcript, transcript_json
from .writer import StoreWriter

__all__ = [
    "NOT_RUN",
    "WORKER_LOST",
    "CallRecord",
    "DurableSession",
    "DurableSessions",
    "MemoryStore",
    "PlaybackRecord",
    "RecordPolicy",
    "RedisStore",
    "ResponseRecord",
    "ResumePlan",
    "SessionBusy",
    "SessionRecorder",
    "SessionState",
    "SessionStore",
    "StoreError",
    "StoreWriter",
    "WriteBatch",
    "check_session_id",
    "plan_resume",
    "session_keys",
    "transcript",
    "transcript_json",
    "worker_id",
]
