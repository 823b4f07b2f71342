"""What a session store holds for one session, and the writes that change it.

A session's durable state (`SessionState`) is what another process needs to carry the
conversation on, and what a transcript is made of:

| part | what | written |
| --- | --- | --- |
| `items` | the history, in order (`HistoryItem`s) | as each item completes, never per delta |
| `agent` | the agent speaking now | at each handoff |
| `calls` | each tool call or transfer that started running (`CallRecord`) | before it runs, when it ends |
| `response` | the response in flight (`ResponseRecord`) | when it starts and ends |
| `playback` | where the caller's playback of the last answer stood (`PlaybackRecord`) | at an interruption |
| `settings` | the provider session's settings, as it last reported them | at `session.created` / `session.updated` |
| `log` | the transcript's events: handoffs, guardrail trips, response latencies | as they happen |

Writes are the five `Write` classes, each an idempotent "set" (or an append to the log), so a
batch that failed can be sent again whole. Values are stored as JSON text, encoded and
decoded here only, so the Redis store and the in-memory one hold the very same strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson

from ..history import HistoryItem, ItemKind
from ..protocol.wire_types import CallId, ItemId, JsonObject

__all__ = [
    "AppendLog",
    "CallRecord",
    "PlaybackRecord",
    "PutCalls",
    "PutItems",
    "ResponseRecord",
    "SessionParts",
    "SessionState",
    "SetFields",
    "SetOrder",
    "Write",
    "decode_state",
    "encode_call",
    "encode_item",
    "encode_json",
    "redact_item",
]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A tool call or transfer that started running.

    Attributes:
        call_id: The model's call id.
        name: The tool (or `transfer_to_...`) called.
        kind: `tool` or `handoff`.
        status: `running` until its output was decided, then `done`.
        started_at: Wall-clock seconds when it started running.
        ended_at: Wall-clock seconds when its output was decided.
        error: The kind of failure (`error`, `timeout`, `worker_lost`, ...), if it failed.
    """

    call_id: CallId
    name: str
    kind: Literal["tool", "handoff"]
    status: Literal["running", "done"]
    started_at: float
    ended_at: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """The response in flight: its id, the agent giving it, when it started (wall clock)."""

    response_id: str
    agent: str
    started_at: float


@dataclass(frozen=True, slots=True)
class PlaybackRecord:
    """How much of an assistant item the caller heard: `played_ms` where it was cut."""

    item_id: ItemId
    played_ms: int


@dataclass(frozen=True)
class SessionState:
    """One session as a store holds it (see the module docs).

    Attributes:
        session_id: The app's id for the conversation.
        items: The history, oldest first.
        agent: The agent speaking now (`None`: the starting agent).
        calls: Calls that started running, by call id.
        response: The response in flight, if one was.
        playback: Where the last interrupted answer was cut, if one was.
        settings: The provider session's settings as it last reported them.
        log: The transcript's events (handoffs, guardrail trips, responses), in order.
        content: False when the session was recorded without its content (see
            `RecordPolicy.content`): items carry no text, arguments or outputs.
        ended: The conversation was finished (not just disconnected).
        created_at: Wall-clock seconds of the first write.
        updated_at: Wall-clock seconds of the last write.
    """

    session_id: str
    items: tuple[HistoryItem, ...] = ()
    agent: str | None = None
    calls: Mapping[CallId, CallRecord] = field(default_factory=dict)
    response: ResponseRecord | None = None
    playback: PlaybackRecord | None = None
    settings: JsonObject | None = None
    log: tuple[JsonObject, ...] = ()
    content: bool = True
    ended: bool = False
    created_at: float | None = None
    updated_at: float | None = None


# -- writes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PutItems:
    """Set these history items (by id), encoded with `encode_item`."""

    items: tuple[tuple[ItemId, str], ...]


@dataclass(frozen=True, slots=True)
class SetOrder:
    """The history's order: `item_ids` follow those written so far (`append`), or replace
    them."""

    item_ids: tuple[ItemId, ...]
    append: bool


@dataclass(frozen=True, slots=True)
class PutCalls:
    """Set these call records (by call id), encoded with `encode_call`."""

    calls: tuple[tuple[CallId, str], ...]


@dataclass(frozen=True, slots=True)
class SetFields:
    """Set these fields of the session (`agent`, `response`, ...), each JSON text."""

    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class AppendLog:
    """Add these transcript events (JSON text) to the log; `replace`: they are all of it."""

    entries: tuple[str, ...]
    replace: bool = False


Write = PutItems | SetOrder | PutCalls | SetFields | AppendLog
"""One change to a session's stored state."""


# -- encoding -------------------------------------------------------------------------------


def encode_json(value: object) -> str:
    """`value` as compact JSON text."""
    return orjson.dumps(value).decode()


def encode_item(item: HistoryItem) -> str:
    """A history item as stored (its fields by name; empty ones left out)."""
    data: dict[str, Any] = {"id": item.item_id, "kind": item.kind}
    for name in ("role", "status", "call_id", "name", "arguments", "output", "audio_end_ms"):
        value = getattr(item, name)
        if value is not None:
            data[name] = value
    if item.text:
        data["text"] = item.text
    if item.agent_name is not None:
        data["agent"] = item.agent_name
    if item.guardrail is not None:
        data["guardrail"] = item.guardrail
    if item.images:
        data["images"] = list(item.images)
    return encode_json(data)


_KINDS: frozenset[str] = frozenset(
    {"message", "function_call", "function_call_output", "breadcrumb", "other"}
)


def _decode_item(text: str) -> HistoryItem:
    data = orjson.loads(text)
    kind: ItemKind = data["kind"] if data.get("kind") in _KINDS else "other"
    return HistoryItem(
        ItemId(data["id"]),
        kind,
        role=data.get("role"),
        text=data.get("text", ""),
        status=data.get("status"),
        call_id=data.get("call_id"),
        name=data.get("name"),
        arguments=data.get("arguments"),
        output=data.get("output"),
        audio_end_ms=data.get("audio_end_ms"),
        agent_name=data.get("agent"),
        guardrail=data.get("guardrail"),
        images=tuple(data.get("images", ())),
    )


def redact_item(item: HistoryItem) -> HistoryItem:
    """`item` without its content (text, images, arguments, output): what is stored when
    the session is recorded with `RecordPolicy(content=False)`."""
    return replace(item, text="", images=(), arguments=None, output=None)


def encode_call(record: CallRecord) -> str:
    """A call record as stored."""
    data: dict[str, Any] = {
        "call_id": record.call_id,
        "name": record.name,
        "kind": record.kind,
        "status": record.status,
        "started_at": record.started_at,
    }
    if record.ended_at is not None:
        data["ended_at"] = record.ended_at
    if record.error is not None:
        data["error"] = record.error
    return encode_json(data)


def _decode_call(text: str) -> CallRecord:
    data = orjson.loads(text)
    return CallRecord(
        CallId(data["call_id"]),
        data["name"],
        "handoff" if data.get("kind") == "handoff" else "tool",
        "done" if data.get("status") == "done" else "running",
        float(data["started_at"]),
        data.get("ended_at"),
        data.get("error"),
    )


@dataclass(frozen=True)
class SessionParts:
    """A session as a store reads it back: the stored strings, not yet decoded."""

    fields: Mapping[str, str]
    items: Mapping[str, str]
    order: Sequence[str]
    calls: Mapping[str, str]
    log: Sequence[str]


def decode_state(session_id: str, parts: SessionParts) -> SessionState:
    """The `SessionState` a store's `parts` encode. Items missing from the order (written,
    then the process died before the order was) are kept, after the ordered ones."""
    fields = {name: orjson.loads(value) for name, value in parts.fields.items()}
    ordered = [item_id for item_id in parts.order if item_id in parts.items]
    seen = set(ordered)
    ordered += [item_id for item_id in parts.items if item_id not in seen]
    response = fields.get("response")
    playback = fields.get("playback")
    return SessionState(
        session_id=session_id,
        items=tuple(_decode_item(parts.items[item_id]) for item_id in ordered),
        agent=fields.get("agent"),
        calls={CallId(k): _decode_call(v) for k, v in parts.calls.items()},
        response=ResponseRecord(**response) if isinstance(response, dict) else None,
        playback=PlaybackRecord(**playback) if isinstance(playback, dict) else None,
        settings=fields.get("settings"),
        log=tuple(orjson.loads(entry) for entry in parts.log),
        content=bool(fields.get("content", True)),
        ended=bool(fields.get("ended", False)),
        created_at=fields.get("created_at"),
        updated_at=fields.get("updated_at"),
    )
