"""`SessionRecorder`: a session's durable state, captured as an observer of the session.

The recorder is one of the session's observers (`runtime.observer`, the hook tracing uses):
the session reports to it exactly as it reports to the tracer, and nothing in the runtime
knows a store exists. What it hears only marks what changed (no I/O, no encoding, no copy
of the history); its `StoreWriter` asks for the changes later (`collect`) and writes them
in the background, batched with other sessions'. Audio and transcript deltas are not
observed at all: they cost nothing.

What it records (see `agentkit.store.state`):

* history items, as each completes: an item still `in_progress` (an answer being spoken)
  waits until it is done, so an item is never written per delta;
* the active agent (at each handoff), the response in flight, the playback position where
  an answer was cut, the provider session's settings (`session.created` / `.updated`);
* each tool call or transfer as it starts running (`tool_started`) and ends (`tool_end`);
* the transcript's events: handoffs, guardrail trips, each response's latency.

**Exactly once across a crash.** `tool_started` is awaited by the session before the tool
runs, and waits (at most `RecordPolicy.start_timeout_s`) until the store holds the call as
`running`: a write-ahead. After a crash, `plan_resume` answers a call the store shows
running with one error output and never runs it again, since it may have had its effect;
a call it does not show running never started. While the store is failing the tool does not
wait (the call goes on, `StoreLagging` was announced).

**Persistence off** (`RecordPolicy(content=False)`): items are written without their text,
images, arguments or outputs, and the log without the checked text, so no transcript
content ever reaches the store; a session resumed from it continues with the right agent
and every call answered, but the model no longer knows what was said.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from .. import protocol as p
from ..events import (
    AgentEnd,
    AgentStart,
    AudioInterrupted,
    AudioOut,
    Breadcrumb,
    GuardrailTripped,
    HandoffEvent,
    HistoryAdded,
    HistoryUpdated,
    SessionEvent,
    StoreCaughtUp,
    StoreLagging,
    ToolEnd,
)
from ..handoffs import Handoff
from ..history import HistoryItem
from ..protocol.wire_types import CallId, ItemId
from ..runtime.observer import GuardrailReport, HandoffReport
from ..runtime.supervisor import Supervisor
from .state import (
    AppendLog,
    CallRecord,
    PlaybackRecord,
    PutCalls,
    PutItems,
    ResponseRecord,
    SessionState,
    SetFields,
    SetOrder,
    Write,
    encode_call,
    encode_item,
    encode_json,
    redact_item,
)
from .writer import Collected, StoreWriter

__all__ = ["RecordPolicy", "SessionRecorder"]


@dataclass(frozen=True)
class RecordPolicy:
    """What a session's recorder stores, and how long.

    Attributes:
        content: Store transcript content (texts, arguments, outputs). `False` keeps it out
            of the store entirely (see the module docs).
        start_timeout_s: How long a tool waits for its start to be durable before it runs
            anyway (the store is slow; see the module docs).
        max_log_entries: Transcript events kept per session; past it the oldest are dropped
            and a `log_truncated` entry says how many (items and calls are never dropped).
    """

    content: bool = True
    start_timeout_s: float = 0.5
    max_log_entries: int = 10_000


_OBSERVED: frozenset[type] = frozenset(
    {
        HistoryAdded,
        HistoryUpdated,
        Breadcrumb,
        ToolEnd,
        HandoffEvent,
        GuardrailTripped,
        AgentStart,
        AgentEnd,
        AudioOut,  # an item's first chunk only (see `Supervisor.observe_with`)
        AudioInterrupted,
        p.SessionCreated,
        p.SessionUpdated,
        p.InputAudioBufferSpeechStopped,
    }
)


@dataclass(frozen=True, slots=True)
class _Token:
    """What one `collect` wrote, to be made the acknowledged state."""

    version: int
    items: dict[ItemId, HistoryItem]
    order: tuple[ItemId, ...] | None
    calls: dict[CallId, CallRecord]
    fields: dict[str, str]
    log: int
    log_epoch: int
    full: bool


class SessionRecorder:
    """Records one session for a store (see the module docs); made by `DurableSessions` as
    the session starts (`recorder_factory`).

    Args:
        session_id: The session's id in the store.
        owner: The worker recording it (its lease owner).
        supervisor: The session's supervisor (read only: its history and agent).
        announce: Delivers `StoreLagging` / `StoreCaughtUp` to the app.
        writer: Writes what this recorder collects.
        policy: What to store.
        restored: The state the session was resumed from, if it was.
        on_lost: Called when another worker took the session over (its lease).
        clock: Wall-clock seconds, for the timestamps stored.
        monotonic: Monotonic seconds, for latencies.
    """

    event_types: AbstractSet[type] = _OBSERVED
    flush_due: float | None = None

    def __init__(
        self,
        session_id: str,
        owner: str,
        supervisor: Supervisor,
        announce: Callable[[SessionEvent], None],
        writer: StoreWriter,
        policy: RecordPolicy = RecordPolicy(),
        *,
        restored: SessionState | None = None,
        on_lost: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_id = session_id
        self._owner = owner
        self._supervisor = supervisor
        self._announce = announce
        self._writer = writer
        self.policy = policy
        self._on_lost = on_lost
        self._clock = clock
        self._monotonic = monotonic
        now = clock()
        self._calls: dict[CallId, CallRecord] = dict(restored.calls) if restored else {}
        self._log: list[str] = [encode_json(entry) for entry in restored.log] if restored else []
        self._dropped_log = 0
        self._log_epoch = 0  # bumped when the log is cut: a write in flight is then stale
        self._fields: dict[str, str] = {
            "created_at": encode_json(
                restored.created_at if restored and restored.created_at else now
            ),
            "content": encode_json(policy.content),
            "agent": encode_json(supervisor.agent.name),
            "response": "null",
            "ended": "false",
        }
        if restored is not None:
            if restored.settings is not None:
                self._fields["settings"] = encode_json(restored.settings)
            if restored.playback is not None:
                self._fields["playback"] = encode_json(_playback_json(restored.playback))
        # What the store acknowledged; `None` order: unknown (write it whole).
        self._acked_items: dict[ItemId, HistoryItem] = {}
        self._acked_order: tuple[ItemId, ...] | None = None
        self._acked_calls: dict[CallId, CallRecord] = {}
        self._acked_fields: dict[str, str] = {}
        # A resumed session's log is in the store already: only what follows is appended.
        self._acked_log: int | None = len(self._log) if restored is not None else None
        self._version = 1
        self._acked_version = 0
        self._lagging_since: float | None = None
        self._lost = False
        # Latency: when the caller finished (or a response was asked for), and the first
        # audio of the response in flight.
        self._asked_at: float | None = None
        self._response_at: float | None = None
        self._first_audio_at: float | None = None
        writer.attach(self)

    # -- the writer's side (`writer.Recorded`) ------------------------------------------------

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self._session_id

    @property
    def owner(self) -> str:
        """The worker recording it."""
        return self._owner

    @property
    def lost(self) -> bool:
        """Another worker took the session over: nothing more is written."""
        return self._lost

    @property
    def lagging(self) -> bool:
        """The store has not taken this session's latest state (it is failing)."""
        return self._lagging_since is not None

    def collect(self) -> Collected:
        """What the store does not have yet (see `writer.Recorded`)."""
        version = self._version
        if self._lost:
            return Collected((), _Token(version, {}, None, {}, {}, 0, -1, False))
        full = self._acked_order is None
        writes: list[Write] = []
        content = self.policy.content
        items = [i for i in self._supervisor.history.items() if i.status != "in_progress"]
        acked_items = self._acked_items
        changed = [i for i in items if acked_items.get(i.item_id) != i]
        if changed:
            stored = changed if content else [redact_item(i) for i in changed]
            writes.append(PutItems(tuple((i.item_id, encode_item(i)) for i in stored)))
        order = tuple(i.item_id for i in items)
        acked_order = self._acked_order
        if order != acked_order:
            if acked_order is not None and order[: len(acked_order)] == acked_order:
                writes.append(SetOrder(order[len(acked_order) :], append=True))
            else:
                writes.append(SetOrder(order, append=False))
        self._close_answered_calls(items)
        calls = {k: v for k, v in self._calls.items() if self._acked_calls.get(k) != v}
        if calls:
            writes.append(PutCalls(tuple((k, encode_call(v)) for k, v in calls.items())))
        fields = {k: v for k, v in self._fields.items() if self._acked_fields.get(k) != v}
        if writes or fields:
            fields["updated_at"] = encode_json(self._clock())
            writes.append(SetFields(tuple(fields.items())))
        log_from = self._acked_log
        if log_from is None:
            writes.append(AppendLog(tuple(self._log), replace=True))
        elif len(self._log) > log_from:
            writes.append(AppendLog(tuple(self._log[log_from:])))
        token = _Token(
            version,
            {i.item_id: i for i in changed},
            order,
            calls,
            fields,
            len(self._log),
            self._log_epoch,
            full,
        )
        return Collected(writes, token)

    def acknowledged(self, token: object) -> None:
        """The store has what was collected with `token`."""
        assert isinstance(token, _Token)
        if token.order is not None:
            self._acked_items.update(token.items)
            self._acked_order = token.order
        self._acked_calls.update(token.calls)
        self._acked_fields.update(token.fields)
        if token.log_epoch == self._log_epoch:
            self._acked_log = token.log
        self._acked_version = max(self._acked_version, token.version)
        since = self._lagging_since
        if since is not None and token.full and self._acked_version >= self._version:
            self._lagging_since = None
            self._announce(StoreCaughtUp(round(self._monotonic() - since, 3)))

    def failed(self, reason: str) -> None:
        """The write failed: announce `StoreLagging` once per outage."""
        if self._lagging_since is None:
            self._lagging_since = self._monotonic()
            self._announce(StoreLagging(reason, self._version - self._acked_version))

    def fenced(self) -> None:
        """Another worker holds the lease: stop, and tell the session's owner."""
        if self._lost:
            return
        self._lost = True
        if self._on_lost is not None:
            self._on_lost()

    def resync(self) -> None:
        """Write everything again (the store may have lost it)."""
        self._acked_items = {}
        self._acked_order = None
        self._acked_calls = {}
        self._acked_fields = {}
        self._acked_log = None
        self._version += 1

    # -- changes ------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._version += 1
        self._writer.changed(self)

    def _set(self, name: str, value: object) -> None:
        self._fields[name] = encode_json(value)
        self._changed()

    def _add_log(self, entry: dict[str, Any]) -> None:
        entry["at"] = self._clock()
        self._log.append(encode_json(entry))
        limit = self.policy.max_log_entries
        if len(self._log) > limit:
            # The oldest go, with a note of how many (the acknowledged count shifts with
            # them, and the store's copy is rewritten whole).
            drop = len(self._log) - limit + 1
            self._dropped_log += drop
            del self._log[:drop]
            self._log.insert(0, encode_json({"type": "log_truncated", "dropped": self._dropped_log}))
            self._acked_log = None
            self._log_epoch += 1
        self._changed()

    def _close_answered_calls(self, items: Sequence[HistoryItem]) -> None:
        """A call recorded running whose output is in the history is done (a transfer that
        was refused reports no event of its own)."""
        running = [r for r in self._calls.values() if r.status == "running"]
        if not running:
            return
        answered = {i.call_id for i in items if i.kind == "function_call_output"}
        now = self._clock()
        for record in running:
            if record.call_id in answered:
                self._calls[record.call_id] = _ended(record, now, None)

    def finish(self) -> None:
        """The conversation is over (not just disconnected): mark it ended."""
        self._set("ended", True)

    async def durable(self, timeout_s: float) -> bool:
        """Wait until the store holds everything recorded so far (at most `timeout_s`);
        False when it did not (or the store is failing, when it does not wait)."""
        if self._lost or self._lagging_since is not None or self._writer.failing:
            return False
        target = self._version
        if self._acked_version >= target:
            return True
        # Written from the caller's task, not handed to the writer's: one round trip, no
        # wait for the writer's task to be scheduled (this is a tool's turnaround).
        with anyio.move_on_after(timeout_s):
            await self._writer.write_now(self)
        return self._acked_version >= target

    # -- the observer (`runtime.observer.SessionObserver`) ------------------------------------

    def observe(self, event: SessionEvent | p.ServerEvent) -> None:
        """Note what changed (see the module docs)."""
        cls = type(event)
        if cls is ToolEnd:
            assert isinstance(event, ToolEnd)
            record = self._calls.get(event.call_id)
            if record is not None:
                self._calls[event.call_id] = _ended(record, self._clock(), event.error)
        elif cls is HandoffEvent:
            assert isinstance(event, HandoffEvent)
            self._fields["agent"] = encode_json(event.to_agent)
            record = self._calls.get(event.call_id) if event.call_id else None
            if record is not None:
                self._calls[record.call_id] = _ended(record, self._clock(), None)
            self._add_log(
                {
                    "type": "handoff",
                    "from": event.from_agent,
                    "to": event.to_agent,
                    "call_id": event.call_id,
                }
            )
            return
        elif cls is GuardrailTripped:
            assert isinstance(event, GuardrailTripped)
            entry: dict[str, Any] = {
                "type": "guardrail_tripped",
                "guardrail": event.guardrail_name,
                "stage": event.stage,
                "item_id": event.item_id,
                "response_id": event.response_id,
            }
            if self.policy.content:
                entry["text"] = event.text
                entry["safe_reply"] = event.safe_reply
            self._add_log(entry)
            return
        elif cls is AgentStart:
            assert isinstance(event, AgentStart)
            self._response_at = self._monotonic()
            self._first_audio_at = None
            response = ResponseRecord(event.response_id, event.agent_name, self._clock())
            self._fields["response"] = encode_json(
                {"response_id": response.response_id, "agent": response.agent, "started_at": response.started_at}
            )
        elif cls is AgentEnd:
            assert isinstance(event, AgentEnd)
            self._fields["response"] = "null"
            self._log_response(event)
            return
        elif cls is AudioOut:
            if self._first_audio_at is None:
                self._first_audio_at = self._monotonic()
            return  # nothing to store
        elif cls is AudioInterrupted:
            assert isinstance(event, AudioInterrupted)
            self._fields["playback"] = encode_json(
                _playback_json(PlaybackRecord(event.item_id, event.played_ms))
            )
        elif cls is p.SessionCreated or cls is p.SessionUpdated:
            assert isinstance(event, p.SessionCreated | p.SessionUpdated)
            self._fields["settings"] = encode_json(dict(event.session))
        elif cls is p.InputAudioBufferSpeechStopped:
            self._asked_at = self._monotonic()
            return
        self._changed()

    def _log_response(self, event: AgentEnd) -> None:
        now = self._monotonic()
        started, first, asked = self._response_at, self._first_audio_at, self._asked_at
        latency = None
        if first is not None and asked is not None and asked <= first:
            latency = round((first - asked) * 1000, 1)
        self._add_log(
            {
                "type": "response",
                "response_id": event.response_id,
                "agent": event.agent_name,
                "status": event.status,
                "latency_ms": latency,
                "duration_ms": round((now - started) * 1000, 1) if started is not None else None,
            }
        )
        self._response_at = self._first_audio_at = None

    def response_requested(self) -> None:
        """A `response.create` went out: the latency of its answer counts from here."""
        self._asked_at = self._monotonic()

    def tick(self, now: float) -> None:
        """Nothing is deferred to the session's timer (the writer has its own task)."""

    def wake_with(self, waker: Callable[[float], None] | None) -> None:
        """Not needed (see `tick`)."""

    def user_text(self, text: str) -> None:
        """A typed turn: a new item (recorded without an event of its own)."""
        self._asked_at = self._monotonic()
        self._changed()

    def turn_started(self) -> None:
        """Push-to-talk pressed."""

    def turn_ended(self) -> None:
        """Push-to-talk released: the latency of the answer counts from here."""
        self._asked_at = self._monotonic()
        self._changed()

    def tool_context(self, call_id: CallId) -> AbstractContextManager[None]:
        """No context of its own."""
        return nullcontext()

    async def tool_started(self, call_id: CallId, tool_name: str) -> None:
        """Record the call as running and wait until the store has it (the write-ahead)."""
        target = self._supervisor.agent.find_tool(tool_name)
        kind: Literal["tool", "handoff"] = "handoff" if isinstance(target, Handoff) else "tool"
        self._calls[call_id] = CallRecord(call_id, tool_name, kind, "running", self._clock())
        self._changed()
        await self.durable(self.policy.start_timeout_s)

    def handoff(self, call_id: CallId, tool_name: str) -> AbstractContextManager[HandoffReport]:
        """The outcome comes as a `handoff` event (or the transfer's output)."""
        return nullcontext(_IGNORED)

    def guardrails(
        self, stage: Literal["input", "output"], names: Sequence[str]
    ) -> AbstractContextManager[GuardrailReport]:
        """Trips come as `guardrail_tripped` events."""
        return nullcontext(_IGNORED)

    def end(self, error: BaseException | None = None) -> None:
        """The session closed: its last changes go in the next write."""
        self._changed()


class _Ignored:
    __slots__ = ()

    def finished(self, *args: object, **kwargs: object) -> None:
        return None


_IGNORED: Any = _Ignored()


def _ended(record: CallRecord, now: float, error: str | None) -> CallRecord:
    return CallRecord(
        record.call_id, record.name, record.kind, "done", record.started_at, now, error
    )


def _playback_json(playback: PlaybackRecord) -> dict[str, Any]:
    return {"item_id": playback.item_id, "played_ms": playback.played_ms}
