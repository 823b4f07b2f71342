"""The local conversation mirror: order, per-delta updates, snapshots."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from agentkit import events
from agentkit.history import History, HistoryItem
from agentkit.protocol.wire_types import CallId, ItemId


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


# -- what a reconnect replays and what a tool reads: the wire form and the local records ------


def test_a_seeded_user_message_with_images_goes_on_the_wire_images_first() -> None:
    item = HistoryItem.user("What is this?", item_id="u", images=("data:a", "https://b"))
    assert item.to_wire() == {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_image", "image_url": "data:a"},
            {"type": "input_image", "image_url": "https://b"},
            {"type": "input_text", "text": "What is this?"},
        ],
    }
    # Images alone: no empty text part; nothing at all: one empty text part, never `[]`.
    assert HistoryItem.user("", images=("data:a",)).to_wire()["content"] == [
        {"type": "input_image", "image_url": "data:a"}
    ]
    assert HistoryItem.user("").to_wire()["content"] == [{"type": "input_text", "text": ""}]
    # A message without a role is sent as the user's.
    bare = HistoryItem(ItemId("m"), "message", text="hi")
    assert bare.to_wire() == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hi"}],
    }


def test_a_seeded_call_and_its_output_on_the_wire_fill_in_missing_fields() -> None:
    call = HistoryItem(ItemId("f"), "function_call", call_id=CallId("c1"), name="lookup")
    assert call.to_wire() == {
        "type": "function_call",
        "call_id": "c1",
        "name": "lookup",
        "arguments": "{}",
    }
    with_arguments = dataclasses.replace(call, arguments='{"q": 1}')
    assert with_arguments.to_wire()["arguments"] == '{"q": 1}'
    output = HistoryItem(ItemId("o"), "function_call_output", call_id=CallId("c1"))
    assert output.to_wire() == {"type": "function_call_output", "call_id": "c1", "output": ""}
    assert dataclasses.replace(output, output="42").to_wire()["output"] == "42"
    with pytest.raises(ValueError, match="other"):
        HistoryItem(ItemId("x"), "other").to_wire()


def test_a_user_message_keeps_its_images_in_order_from_the_wire() -> None:
    history = History()
    content: list[object] = [
        {"type": "input_image", "image_url": "data:one"},
        "not a part",
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": None},  # no URL: skipped
        {"type": "input_audio", "image_url": "data:nope"},  # not an image part
        {"type": "input_image", "image_url": "https://two"},
    ]
    added = history.upsert({"id": "u", "type": "message", "role": "user", "content": content})
    assert added is not None
    assert added[0].images == ("data:one", "https://two") and added[0].text == "look"
    # A refresh without images (or with content that is not a list) keeps the images it had.
    history.upsert({"id": "u", "type": "message", "content": [{"type": "input_text", "text": "x"}]})
    history.upsert({"id": "u", "type": "message", "content": "garbled"})
    kept = history.get("u")
    assert kept is not None and kept.images == ("data:one", "https://two") and kept.text == "x"
    # A reconnect replays them with the text.
    assert kept.to_wire()["content"] == [
        {"type": "input_image", "image_url": "data:one"},
        {"type": "input_image", "image_url": "https://two"},
        {"type": "input_text", "text": "x"},
    ]


def test_a_local_item_is_recorded_once_and_the_services_echo_refreshes_it() -> None:
    history = History()
    typed = HistoryItem.user("hello", item_id="item_1")
    first = history.add_local(typed, agent_name="Support")
    assert first.item_id == "item_1" and first.agent_name == "Support" and first.text == "hello"
    # Recorded again (a retry) under the same id: still one item, as first recorded.
    again = history.add_local(HistoryItem.user("changed", item_id="item_1"), agent_name="Other")
    assert again == first and len(history) == 1
    # The service's echo refreshes the same entry.
    echo = history.upsert(
        {"id": "item_1", "type": "message", "role": "user", "status": "completed",
         "content": [{"type": "input_text", "text": "hello"}]}
    )
    assert echo is not None and echo[1] is False and len(history) == 1
    assert echo[0].agent_name == "Support"
    # An item that names its agent keeps it; one without an id gets a local one.
    named = dataclasses.replace(HistoryItem.assistant("hi", item_id="a1"), agent_name="Triage")
    assert history.add_local(named, agent_name="Support").agent_name == "Triage"
    unnamed = history.add_local(HistoryItem.assistant("later"))
    assert unnamed.item_id.startswith("local_") and unnamed.agent_name is None
    assert [i.item_id for i in history.items()] == ["item_1", "a1", unnamed.item_id]


def test_a_guardrail_mark_ends_an_unfinished_item_as_incomplete() -> None:
    history = History()
    history.upsert({"id": "a", "type": "message", "role": "assistant", "status": "in_progress"})
    history.upsert({"id": "b", "type": "message", "role": "assistant", "status": "completed"})
    a = history.mark_guardrail("a", "no_pii")
    b = history.mark_guardrail("b", "no_pii")
    assert a is not None and (a.guardrail, a.status) == ("no_pii", "incomplete")
    assert b is not None and (b.guardrail, b.status) == ("no_pii", "completed")
    assert history.mark_guardrail("missing", "no_pii") is None
    assert history.mark_truncated("missing", 10) is None
    assert history.set_text("missing", "x") is None
    assert history.delete("missing") is None


def test_views_compare_by_their_items() -> None:
    history = History([HistoryItem.user("hi", item_id="u1")])
    first, second = history.view(), history.view()
    assert first == second and first == history.items()
    assert first != history.items()[:0] and first != History().view()
    longer = History([HistoryItem.user("hi", item_id="u1"), HistoryItem.user("more")])
    assert first != longer.items() and first != longer.view()  # a prefix is not equal
    assert first != ("not", "a", "list") and first != None  # noqa: E711
    assert first != history.items()[0]
    with pytest.raises(TypeError):
        hash(first)
    assert repr(first) == f"HistoryView({history.items()!r})"
    assert list(reversed(history.view())) == history.items()[::-1]


def test_an_item_placed_after_an_earlier_anchor_goes_right_after_it_whatever_the_ids() -> None:
    history = History()
    history.upsert(message("b"))
    history.upsert(message("a"))  # the newest id sorts before the anchor's
    history.upsert(message("x"), "b")
    assert [item.item_id for item in history.view()] == ["b", "x", "a"]
