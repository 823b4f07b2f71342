"""`agentkit.server.outbox`: the ids a session hands out and the order paced events leave in."""

from __future__ import annotations

from typing import Any

from agentkit.server.outbox import Out, Outbox, copy_json


def test_ids_and_event_ids_come_from_one_increasing_counter() -> None:
    outbox = Outbox("abc")
    assert outbox.new_id("item") == "item_abc000001"
    outbox.emit({"type": "a"}, now=0.0)
    outbox.schedule(1.0, {"type": "b"}, "resp_1")
    assert outbox.new_id("resp") == "resp_abc000004"
    assert [e["event_id"] for e in outbox.take()] == ["event_abc000002"]
    outbox.release_due(1.0)
    assert [e["event_id"] for e in outbox.take()] == ["event_abc000003"]
    # Two sessions' tokens keep their ids apart.
    assert Outbox("xyz").new_id("item") != Outbox("abc").new_id("item")


def test_paced_events_leave_in_due_order_ties_in_planning_order() -> None:
    outbox = Outbox("t")
    outbox.schedule(0.3, {"type": "late"}, "r1")
    outbox.schedule(0.1, {"type": "first"}, "r1")
    outbox.schedule(0.1, {"type": "second"}, "r2")
    outbox.release_due(0.05)
    assert outbox.take() == []
    outbox.release_due(0.1)  # due exactly now: released
    assert [e["type"] for e in outbox.take()] == ["first", "second"]
    # `emit` goes after everything already due by its `now`.
    outbox.emit({"type": "now"}, now=0.5)
    assert [e["type"] for e in outbox.take()] == ["late", "now"]
    assert outbox.take() == []  # taking empties the ready list


def test_a_cancelled_response_drops_only_its_own_events() -> None:
    outbox = Outbox("t")
    for due, rid in ((0.1, "r1"), (0.2, "r2"), (0.3, "r1"), (0.4, "r2")):
        outbox.schedule(due, {"type": f"{rid}@{due}"}, rid)
    outbox.drop_response("r1")
    outbox.release_due(1.0)
    assert [e["type"] for e in outbox.take()] == ["r2@0.2", "r2@0.4"]


def test_only_tracked_events_are_reported_on_release_with_their_due_time() -> None:
    outbox = Outbox("t")
    heard: list[tuple[Any, float]] = []

    def on_release(out: Out, due: float) -> None:
        heard.append((out.track, due))

    outbox.on_release = on_release
    outbox.schedule(0.2, {"type": "response.output_audio.delta"}, "r1", track=("item_1", 200))
    outbox.schedule(0.1, {"type": "response.created"}, "r1")
    outbox.release_due(0.15)
    assert heard == []
    outbox.release_due(5.0)  # reported with its due time, not the release time
    assert heard == [(("item_1", 200), 0.2)]


def test_copy_json_is_deep() -> None:
    original: dict[str, Any] = {"a": {"b": [1, {"c": 2}]}}
    copied = copy_json(original)
    copied["a"]["b"][1]["c"] = 3
    assert original == {"a": {"b": [1, {"c": 2}]}} and copied["a"]["b"][1]["c"] == 3
