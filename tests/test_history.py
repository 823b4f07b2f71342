"""The local conversation mirror: order, per-delta updates, snapshots."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from agentkit import events
from agentkit.history import History, HistoryItem


def message(item_id: str, role: str = "assistant", text: str = "") -> dict[str, object]:
    part = (
        {"type": "output_audio", "transcript": text}
        if role == "assistant"
        else {"type": "input_text", "text": text}
    )
    return {"id": item_id, "type": "message", "role": role, "content": [part] if text else []}


def test_items_keep_wire_order_including_inserts_after_a_previous_item() -> None:
    history = History()
    history.upsert(message("a"))
    history.upsert(message("c"), "a")
    history.upsert(message("b"), "a")  # placed right after a
    history.upsert(message("d"), "unknown")  # an unknown anchor appends
    assert [i.item_id for i in history.items()] == ["a", "b", "c", "d"]
    assert history.last_item_id == "d"


def test_deltas_append_and_final_text_replaces() -> None:
    history = History()
    history.upsert(message("a"))
    for chunk in ["Hel", "lo", "!"]:
        assert history.append_text("a", chunk)
    snapshot = history.get("a")
    assert snapshot is not None and snapshot.text == "Hello!"
    history.append_text("a", " More")
    assert snapshot.text == "Hello!"  # snapshots do not change later
    assert history.set_text("a", "Hi.") == dataclasses.replace(snapshot, text="Hi.")
    assert not history.append_text("missing", "x")


def test_many_deltas_stay_as_chunks_until_read() -> None:
    history = History()
    history.upsert(message("a"))
    for _ in range(10_000):
        history.append_text("a", "x")
    entry = history._entries["a"]
    assert len(entry.chunks) == 10_000  # nothing rebuilt per delta
    assert history.get("a").text == "x" * 10_000  # type: ignore[union-attr]
    assert len(entry.chunks) == 1  # joined once on read


def test_upsert_refreshes_known_items_and_reads_content_text() -> None:
    history = History()
    first = history.upsert(message("u", "user", "Hi there"))
    assert first is not None and first[1] is True and first[0].text == "Hi there"
    again = history.upsert({**message("u", "user", "Hi there"), "status": "completed"})
    assert again is not None and again[1] is False and again[0].status == "completed"
    assert history.upsert({"type": "message"}) is None  # no id: ignored


def test_function_call_fields_truncation_and_delete() -> None:
    history = History()
    history.upsert(
        {"id": "f", "type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"}
    )
    history.upsert({"id": "o", "type": "function_call_output", "call_id": "c1", "output": "ok"})
    call, output = history.items()
    assert (call.kind, call.call_id, call.name) == ("function_call", "c1", "lookup")
    assert (output.kind, output.output) == ("function_call_output", "ok")
    history.upsert(message("a", text="long answer"))
    truncated = history.mark_truncated("a", 1500)
    assert truncated is not None and truncated.audio_end_ms == 1500
    assert history.delete("f") is not None and "f" not in history and len(history) == 2


def test_seeding_and_notes() -> None:
    history = History([HistoryItem.user("Earlier"), HistoryItem.assistant("Reply", item_id="x")])
    history.add_note("looked up order 42", agent_name="Support")
    items = history.items()
    assert [(i.kind, i.text) for i in items] == [
        ("message", "Earlier"),
        ("message", "Reply"),
        ("breadcrumb", "looked up order 42"),
    ]
    assert items[0].item_id.startswith("local_") and items[1].item_id == "x"
    assert items[1].to_wire() == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Reply"}],
    }
    with pytest.raises(ValueError):
        items[2].to_wire()


def test_event_names_match_the_event_union() -> None:
    names = {cls.type for cls in typing.get_args(events.SessionEvent)}
    assert names == set(typing.get_args(events.SessionEventName))


def test_view_holds_the_items_of_its_time_and_snapshots_on_first_read() -> None:
    from agentkit.history import HistoryView

    history = History([HistoryItem.user("hi", item_id="u1")])
    history.upsert({"id": "a1", "type": "message", "role": "assistant", "status": "in_progress"})
    history.append_text("a1", "Hel")
    view = history.view()
    assert isinstance(view, HistoryView) and len(view) == 2
    history.append_text("a1", "lo")  # read at first access: as far as it got
    history.add_note("later")  # taken after the view: not in it
    history.delete("u1")  # deleted after the view: still in it
    assert [item.item_id for item in view] == ["u1", "a1"]
    assert view[1].text == "Hello" and view[-1] is view[1]
    history.append_text("a1", "!")  # snapshotted now: frozen from here on
    assert view[1].text == "Hello"
    assert view == [view[0], view[1]] and view[:1] == [view[0]]
    assert History().view() == []


def test_the_view_a_tool_receives_keeps_wire_order_after_mid_conversation_inserts() -> None:
    history = History()
    for item_id in ("a", "b", "c"):
        history.upsert(message(item_id, text=item_id))
    history.upsert(message("x", text="x"), "a")  # after a, before b
    history.upsert(message("y", text="y"), "c")  # after the last: an append
    history.upsert(message("z", text="z"), "gone")  # an unknown anchor appends
    expected = ["a", "x", "b", "c", "y", "z"]
    assert [item.item_id for item in history.items()] == expected
    assert [item.item_id for item in history.view()] == expected
    assert [item.text for item in history.view()] == expected
    assert history.last_item_id == "z" and len(history) == 6
    history.delete("x")  # and after a delete mid-conversation, too
    assert [item.item_id for item in history.view()] == ["a", "b", "c", "y", "z"]
    assert history.view() == history.items()
    history.upsert(message("w", text="w"), "b")
    assert [item.item_id for item in history.view()] == ["a", "b", "w", "c", "y", "z"]
    assert history.view() == history.items()


def test_the_first_item_and_inserts_into_an_empty_history() -> None:
    history = History()
    assert history.last_item_id is None and history.items() == []
    history.upsert(message("a", text="a"), "unknown")
    history.upsert(message("b", text="b"))
    assert [item.item_id for item in history.view()] == ["a", "b"]
