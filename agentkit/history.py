"""The local mirror of a session's conversation.

The service owns the conversation; the session mirrors it from the wire so the app and the
tools can read it at any time without a round trip (`conversation.item.retrieve`).

Costs, because a transcript delta arrives several times a second: items live in a dict by id
plus an ordered list of ids; a delta appends to a list of string chunks in O(1) and nothing
is rebuilt. Reading (`items()`, `get()`) joins the chunks and returns frozen snapshots, so
the app can hold them without seeing later changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

from .protocol.sealed import sealed_constructor
from .protocol.wire_types import CallId, ItemId, JsonMapping, JsonObject

__all__ = ["History", "HistoryItem", "HistoryView", "ItemKind"]

ItemKind = Literal["message", "function_call", "function_call_output", "breadcrumb", "other"]


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One conversation item as the app sees it.

    Attributes:
        item_id: The service's item id (`local_...` for seeded items and breadcrumbs).
        kind: `message`, `function_call`, `function_call_output`, `breadcrumb` (a local note
            tools leave, never sent to the model) or `other` (MCP items...).
        role: `user`, `assistant` or `system` for messages.
        text: The message's text or transcript so far; a call's name for calls.
        status: The wire status (`in_progress`, `completed`, `incomplete`).
        call_id, name, arguments, output: Function call fields.
        audio_end_ms: Where the assistant's audio was cut, if it was interrupted.
        agent_name: The agent active when the item was added.
        guardrail: The guardrail that stopped this item, if one did: a tripped assistant
            item is never a normal final answer, and a tripped user item was never acted on.
            Tripped items stay in the history (nothing is lost) but are not replayed.
        images: The images of a user message (`data:` or `https:` URLs), in order; a
            reconnect replays them with the text.
    """

    item_id: ItemId
    kind: ItemKind
    role: str | None = None
    text: str = ""
    status: str | None = None
    call_id: CallId | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    audio_end_ms: int | None = None
    agent_name: str | None = None
    guardrail: str | None = None
    images: tuple[str, ...] = ()

    @classmethod
    def user(
        cls, text: str, *, item_id: str | None = None, images: tuple[str, ...] = ()
    ) -> HistoryItem:
        """A user message, e.g. to seed a session with earlier turns (with `images`, as URLs)."""
        return cls(
            ItemId(item_id or ""),
            "message",
            role="user",
            text=text,
            status="completed",
            images=images,
        )

    @classmethod
    def assistant(cls, text: str, *, item_id: str | None = None) -> HistoryItem:
        """An assistant message, e.g. to seed a session with earlier turns."""
        return cls(
            ItemId(item_id or ""), "message", role="assistant", text=text, status="completed"
        )

    def to_wire(self) -> JsonObject:
        """This item as a GA conversation item, for `conversation.item.create` (seeding)."""
        if self.kind == "message":
            part = "output_text" if self.role == "assistant" else "input_text"
            content: list[JsonObject] = [
                {"type": "input_image", "image_url": url} for url in self.images
            ]
            if self.text or not content:
                content.append({"type": part, "text": self.text})
            return {"type": "message", "role": self.role or "user", "content": content}
        if self.kind == "function_call":
            return {
                "type": "function_call",
                "call_id": self.call_id,
                "name": self.name,
                "arguments": self.arguments or "{}",
            }
        if self.kind == "function_call_output":
            return {
                "type": "function_call_output",
                "call_id": self.call_id,
                "output": self.output or "",
            }
        raise ValueError(f"a {self.kind} item is local to agentkit and has no wire form")


@dataclass(slots=True)
class _Entry:
    """The mutable record behind a `HistoryItem`; text is kept as chunks until read."""

    item_id: ItemId
    kind: ItemKind
    role: str | None = None
    chunks: list[str] = field(default_factory=list)
    status: str | None = None
    call_id: CallId | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    audio_end_ms: int | None = None
    agent_name: str | None = None
    guardrail: str | None = None
    images: tuple[str, ...] = ()

    def snapshot(self) -> HistoryItem:
        chunks = self.chunks
        if len(chunks) > 1:
            # Join once and keep the result, so reading twice costs nothing more.
            chunks[:] = ["".join(chunks)]
        # Sealed, not `HistoryItem(...)`: a snapshot is taken for every item event, and the
        # frozen `__init__` of twelve fields cost more than the rest of an upsert.
        return _new_item(
            self.item_id,
            self.kind,
            self.role,
            chunks[0] if chunks else "",
            self.status,
            self.call_id,
            self.name,
            self.arguments,
            self.output,
            self.audio_end_ms,
            self.agent_name,
            self.guardrail,
            self.images,
        )


_new_item = sealed_constructor(HistoryItem)

_KINDS: frozenset[str] = frozenset({"message", "function_call", "function_call_output"})
_TEXT_KEYS = ("text", "transcript")


def _content_text(item: JsonMapping) -> str:
    content = item.get("content")
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for part in content:
        if isinstance(part, Mapping):
            for key in _TEXT_KEYS:
                value = part.get(key)
                if isinstance(value, str) and value:
                    parts.append(value)
                    break
    return "".join(parts)


def _content_images(item: JsonMapping) -> tuple[str, ...]:
    content = item.get("content")
    if not isinstance(content, list):
        return ()
    return tuple(
        url
        for part in content
        if isinstance(part, Mapping)
        and part.get("type") == "input_image"
        and isinstance(url := part.get("image_url"), str)
    )


class History:
    """The conversation so far, oldest first.

    The session updates it from the wire; the app and tools read it through `items()`,
    `get()`, `len()` and iteration, which give frozen `HistoryItem` snapshots.
    """

    __slots__ = ("_entries", "_local_ids", "_order", "_sequence")

    def __init__(self, initial: Iterable[HistoryItem] = ()) -> None:
        self._entries: dict[str, _Entry] = {}
        self._order: list[ItemId] = []
        self._sequence: list[_Entry] = []  # the entries in `_order`'s order, for `view()`
        self._local_ids = 0
        for item in initial:
            self._insert(self._entry_from_item(item), None)

    # -- reading ---------------------------------------------------------------------------

    def items(self) -> list[HistoryItem]:
        """Every item, oldest first (O(n): call it when you need it, not per delta)."""
        entries = self._entries
        return [entries[item_id].snapshot() for item_id in self._order]

    def view(self) -> HistoryView:
        """The items as they stand now, snapshotted only when first read.

        Taking a view costs one copy of a list of references, however long the history:
        the runtime gives one to every tool call (`RunContext.history`), and most tools
        never read it.
        """
        return HistoryView(tuple(self._sequence))

    def get(self, item_id: str) -> HistoryItem | None:
        """The item with this id, if the conversation has it."""
        entry = self._entries.get(item_id)
        return entry.snapshot() if entry is not None else None

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._entries

    def __iter__(self) -> Iterator[HistoryItem]:
        return iter(self.items())

    @property
    def last_item_id(self) -> ItemId | None:
        """The id of the newest item (what a new item is placed after by default)."""
        return self._order[-1] if self._order else None

    # -- updating (the session calls these) -------------------------------------------------

    def upsert(
        self,
        item: JsonMapping,
        previous_item_id: ItemId | None = None,
        *,
        agent_name: str | None = None,
    ) -> tuple[HistoryItem, bool] | None:
        """Add a wire item, or refresh it if it is already known.

        Returns the snapshot and whether it was new, or `None` for an item without an id.
        """
        # The wire's ids, typed by annotation at this door (checked before use).
        item_id: ItemId | None = item.get("id")
        if not isinstance(item_id, str):
            return None
        entry = self._entries.get(item_id)
        is_new = entry is None
        if entry is None:
            kind = item.get("type")
            entry = _Entry(item_id, kind if kind in _KINDS else "other", agent_name=agent_name)
            self._insert(entry, previous_item_id)
        get = item.get
        value = get("role")
        if isinstance(value, str):
            entry.role = value
        value = get("status")
        if isinstance(value, str):
            entry.status = value
        call_id: CallId | None = get("call_id")
        if isinstance(call_id, str):
            entry.call_id = call_id
        value = get("name")
        if isinstance(value, str):
            entry.name = value
        value = get("arguments")
        if isinstance(value, str):
            entry.arguments = value
        value = get("output")
        if isinstance(value, str):
            entry.output = value
        if "content" in item:
            text = _content_text(item)
            if text:
                entry.chunks[:] = [text]
            images = _content_images(item)
            if images:
                entry.images = images
        return entry.snapshot(), is_new

    def append_text(self, item_id: ItemId, delta: str) -> bool:
        """Append a transcript or text delta in O(1); False for an unknown item."""
        entry = self._entries.get(item_id)
        if entry is None:
            return False
        entry.chunks.append(delta)
        return True

    def set_text(self, item_id: ItemId, text: str) -> HistoryItem | None:
        """Replace the text with the final transcript."""
        entry = self._entries.get(item_id)
        if entry is None:
            return None
        entry.chunks[:] = [text]
        return entry.snapshot()

    def mark_truncated(self, item_id: ItemId, audio_end_ms: int) -> HistoryItem | None:
        """Record where the assistant's audio was cut (the service drops the unheard text)."""
        entry = self._entries.get(item_id)
        if entry is None:
            return None
        entry.audio_end_ms = audio_end_ms
        return entry.snapshot()

    def delete(self, item_id: ItemId) -> HistoryItem | None:
        """Remove an item; returns its last snapshot."""
        entry = self._entries.pop(item_id, None)
        if entry is None:
            return None
        index = self._order.index(item_id)
        del self._order[index]
        del self._sequence[index]
        return entry.snapshot()

    def mark_guardrail(self, item_id: ItemId, guardrail: str) -> HistoryItem | None:
        """Mark an item as stopped by `guardrail` (see `HistoryItem.guardrail`)."""
        entry = self._entries.get(item_id)
        if entry is None:
            return None
        entry.guardrail = guardrail
        if entry.status == "in_progress":
            entry.status = "incomplete"
        return entry.snapshot()

    def add_local(self, item: HistoryItem, *, agent_name: str | None = None) -> HistoryItem:
        """Record an item the client created itself (a typed message, a tool output) before
        the service confirms it, under the id the client sent it with; the service's echo of
        that id then refreshes this entry instead of adding a second one. Recording first
        means an item created while the connection is down is still replayed."""
        entry = self._entry_from_item(item)
        if entry.agent_name is None:
            entry.agent_name = agent_name
        existing = self._entries.get(entry.item_id)
        if existing is not None:
            return existing.snapshot()
        self._insert(entry, None)
        return entry.snapshot()

    def add_note(self, text: str, *, agent_name: str | None = None) -> HistoryItem:
        """A local breadcrumb, shown with the transcript, never sent to the model."""
        entry = _Entry(self._next_local_id(), "breadcrumb", chunks=[text], agent_name=agent_name)
        self._insert(entry, None)
        return entry.snapshot()

    # -- internals ----------------------------------------------------------------------------

    def _next_local_id(self) -> ItemId:
        self._local_ids += 1
        return ItemId(f"local_{self._local_ids}")

    def _entry_from_item(self, item: HistoryItem) -> _Entry:
        return _Entry(
            item.item_id or self._next_local_id(),
            item.kind,
            item.role,
            [item.text] if item.text else [],
            item.status,
            item.call_id,
            item.name,
            item.arguments,
            item.output,
            item.audio_end_ms,
            item.agent_name,
            item.guardrail,
            item.images,
        )

    def _insert(self, entry: _Entry, previous_item_id: ItemId | None) -> None:
        self._entries[entry.item_id] = entry
        order = self._order
        if previous_item_id is None or not order or order[-1] == previous_item_id:
            order.append(entry.item_id)
            self._sequence.append(entry)
            return
        try:
            index = order.index(previous_item_id)
        except ValueError:
            order.append(entry.item_id)
            self._sequence.append(entry)
        else:
            order.insert(index + 1, entry.item_id)
            self._sequence.insert(index + 1, entry)


class HistoryView(Sequence[HistoryItem]):
    """A read-only sequence of the items a `History` held when the view was taken
    (`History.view()`), oldest first: what `RunContext.history` is.

    Which items it holds, and their order, are fixed when it is taken; their frozen
    `HistoryItem` snapshots are made on first read (so a text still streaming then reads as
    far as it got), and kept. It compares equal to a list of the same items.
    """

    __slots__ = ("_entries", "_items")

    def __init__(self, entries: tuple[_Entry, ...] = ()) -> None:
        self._entries = entries
        self._items: list[HistoryItem] | None = None

    def _materialised(self) -> list[HistoryItem]:
        items = self._items
        if items is None:
            items = self._items = [entry.snapshot() for entry in self._entries]
            self._entries = ()
        return items

    def __len__(self) -> int:
        items = self._items
        return len(self._entries) if items is None else len(items)

    @overload
    def __getitem__(self, index: int) -> HistoryItem: ...

    @overload
    def __getitem__(self, index: slice) -> list[HistoryItem]: ...

    def __getitem__(self, index: int | slice) -> HistoryItem | list[HistoryItem]:
        return self._materialised()[index]

    def __iter__(self) -> Iterator[HistoryItem]:
        return iter(self._materialised())

    def __reversed__(self) -> Iterator[HistoryItem]:
        return reversed(self._materialised())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HistoryView):
            return self._materialised() == other._materialised()
        if isinstance(other, list):
            return self._materialised() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HistoryView({self._materialised()!r})"
