"""Reconnect: backoff, the replay, and what a drop does to outputs and audio."""

from __future__ import annotations

from desk import call, created, make
from support import feed, frames

from agentkit import (
    SessionSettings,
)
from agentkit.events import (
    InputAudioDropped,
    Reconnected,
    SessionStatus,
)
from agentkit.history import HistoryItem
from agentkit.policy import ReconnectPolicy
from agentkit.runtime.reconnect import backoff_delay, replay_items
from agentkit.runtime.supervisor import CloseSession, Reconnect


def test_backoff_is_exponential_capped_and_jittered_by_the_injected_source() -> None:
    policy = ReconnectPolicy(base_delay_s=0.5, max_delay_s=4.0, jitter=0.5)
    assert [backoff_delay(policy, n, lambda: 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [backoff_delay(policy, n, lambda: 0.0) for n in range(1, 4)] == [0.25, 0.5, 1.0]
    assert backoff_delay(policy, 10_000, lambda: 0.5) == 3.0


def test_replay_turns_audio_into_text_and_keeps_call_ids() -> None:
    items = [
        HistoryItem("u1", "message", role="user", text="Where is it?", status="completed"),
        HistoryItem("a1", "message", role="assistant", text="Checking.", status="completed"),
        HistoryItem(
            "f1", "function_call", status="completed", call_id="c1", name="find", arguments="{}"
        ),
        HistoryItem("o1", "function_call_output", call_id="c1", output="here"),
        HistoryItem("local_1", "breadcrumb", text="note"),
        HistoryItem("a2", "message", role="assistant", text="Your pass", guardrail="no_secrets"),
        HistoryItem("a3", "message", role="assistant", text="Cut o", status="incomplete"),
        HistoryItem(
            "f2", "function_call", status="in_progress", call_id="c2", name="find", arguments=""
        ),
    ]
    wire = replay_items(items)
    assert [w["id"] for w in wire] == ["u1", "a1", "f1", "o1"]
    assert wire[0]["content"] == [{"type": "input_text", "text": "Where is it?"}]
    assert wire[1]["content"] == [{"type": "output_text", "text": "Checking."}]
    assert (wire[2]["call_id"], wire[3]["call_id"]) == ("c1", "c1")


def test_tool_output_made_while_down_is_replayed_then_followed_up() -> None:
    sup = make(settings=SessionSettings(), can_reconnect=True)
    sup.policy.remember("refund", True)
    created(sup)
    call(sup, "c1")
    sup.commands()
    sup.disconnected(reconnecting=True)
    assert sup.status is SessionStatus.RECONNECTING
    assert sup.commands() == []  # the tool keeps running
    sup.tool_finished("c1", "refunded 7")
    assert frames(sup) == []  # nothing goes to a dead connection
    sup.connected(now=5.0)
    sent = frames(sup)
    assert [f["type"] for f in sent] == [
        "session.update",
        "conversation.item.create",
        "conversation.item.create",
        "response.create",
    ]
    assert sent[1]["item"]["type"] == "function_call" and sent[1]["item"]["call_id"] == "c1"
    assert sent[2]["item"] == {
        "type": "function_call_output",
        "call_id": "c1",
        "output": "refunded 7",
        "id": sent[2]["item"]["id"],
    }
    assert sent[2]["previous_item_id"] == sent[1]["item"]["id"]
    assert any(isinstance(e, Reconnected) for e in sup.events_to_emit())


def test_audio_sent_while_down_is_reported_not_silently_dropped() -> None:
    sup = make(settings=SessionSettings(), can_reconnect=True)
    sup.disconnected(reconnecting=True)
    sup.send_audio(b"\x00" * 480)
    sup.send_audio(b"\x00" * 480)
    sup.connected()
    dropped = [e for e in sup.events_to_emit() if isinstance(e, InputAudioDropped)]
    assert dropped == [InputAudioDropped(2, 960, "disconnected")]


def test_session_expired_asks_for_a_reconnect_only_when_the_runtime_can() -> None:
    for can, kind in ((True, Reconnect), (False, CloseSession)):
        sup = make(settings=SessionSettings(), can_reconnect=can)
        feed(
            sup,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": "session_expired",
                    "message": "60 min",
                },
            },
        )
        assert [type(c) for c in sup.commands()] == [kind]



def test_an_image_message_is_replayed_with_its_image_and_its_text() -> None:
    url = "data:image/png;base64,iVBORw0KGgo="
    history = [
        HistoryItem.user("What is this?", item_id="item_1", images=(url,)),
        HistoryItem.user("", item_id="item_2", images=(url, url)),
    ]
    captioned, bare = replay_items(history)
    assert captioned["content"] == [
        {"type": "input_image", "image_url": url},
        {"type": "input_text", "text": "What is this?"},
    ]
    # An image sent without text is still a message worth replaying.
    assert bare["content"] == [{"type": "input_image", "image_url": url}] * 2
