"""Reconnect: backoff, the replay, and what a drop does to outputs and audio."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from desk import call, created, make
from support import feed, frames

from agentkit import (
    RealtimeAgent,
    SessionSettings,
)
from agentkit.errors import ReconnectFailed
from agentkit.events import (
    InputAudioDropped,
    Reconnected,
    Reconnecting,
    SessionStatus,
)
from agentkit.history import HistoryItem
from agentkit.policy import ReconnectPolicy
from agentkit.runtime.config import RuntimeConfig
from agentkit.runtime.reconnect import backoff_delay, reconnect, replay_frames, replay_items
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


def test_an_answer_still_streaming_or_cut_off_is_not_replayed_as_heard() -> None:
    items = [
        HistoryItem("u1", "message", role="user", text="Tell me", status="completed"),
        HistoryItem("a1", "message", role="assistant", text="The weather is", status="in_progress"),
        HistoryItem("a2", "message", role="assistant", text="It was", status="incomplete"),
        # The caller's own turn is what they said, whatever its status.
        HistoryItem("u2", "message", role="user", text="Hello?", status="in_progress"),
        HistoryItem("u3", "message", role="user", text="", status="completed"),  # no transcript
        HistoryItem("o1", "function_call_output", call_id="", output="orphan"),
        HistoryItem("x1", "other"),
        HistoryItem("f3", "function_call", call_id="c3", name="", arguments="{}"),
        HistoryItem("f4", "function_call", call_id="", name="find", arguments="{}"),
        HistoryItem("a3", "message", role="assistant", text="Done.", status="completed"),
    ]
    assert [w["id"] for w in replay_items(items)] == ["u1", "u2", "a3"]


def test_backoff_edges_zero_delay_full_jitter_and_attempts_from_one() -> None:
    instant = ReconnectPolicy(base_delay_s=0, max_delay_s=0)
    assert [backoff_delay(instant, n, lambda: 0.99) for n in (1, 2, 50)] == [0.0, 0.0, 0.0]
    full = ReconnectPolicy(base_delay_s=1.0, max_delay_s=8.0, jitter=1.0)
    # jitter=1: anywhere from 0 to the whole delay, as the random source says.
    assert [backoff_delay(full, 3, lambda r=r: r) for r in (0.0, 0.25, 0.5)] == [0.0, 1.0, 2.0]
    none = ReconnectPolicy(base_delay_s=1.0, max_delay_s=8.0, jitter=0.0)
    assert [backoff_delay(none, n, lambda: 0.9) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    with pytest.raises(ValueError, match="attempts count from 1, got 0"):
        backoff_delay(none, 0, lambda: 0.0)


def test_replay_frames_configure_first_then_chain_the_items() -> None:
    agent = RealtimeAgent(name="A", instructions="Be brief.")
    history = [
        HistoryItem("u1", "message", role="user", text="Hi", status="completed"),
        HistoryItem("local_1", "breadcrumb", text="note"),
        HistoryItem("a1", "message", role="assistant", text="Hello.", status="completed"),
    ]
    frames_, count = replay_frames(
        agent, SessionSettings(), history, dialect="ga", instructions="Be brief."
    )
    sent = [orjson.loads(f) for f in frames_]
    assert count == 2
    assert [f["type"] for f in sent] == [
        "session.update",
        "conversation.item.create",
        "conversation.item.create",
    ]
    assert sent[0]["session"]["instructions"] == "Be brief."
    assert "previous_item_id" not in sent[1] and sent[1]["item"]["id"] == "u1"
    assert sent[2]["previous_item_id"] == "u1" and sent[2]["item"]["id"] == "a1"


class Outage:
    """The effects `reconnect` is given, recorded; `results` are what each attempt returns."""

    def __init__(self, *results: BaseException | None, closing_after: int | None = None) -> None:
        self.results = list(results)
        self.attempts: list[tuple[str, bool]] = []
        self.announced: list[Reconnecting] = []
        self.slept: list[float] = []
        self.closing_after = closing_after
        self.made = 0

    async def attempt(self, transport: str, text_only: bool) -> BaseException | None:
        self.attempts.append((transport, text_only))
        return self.results.pop(0) if self.results else ConnectionError("still down")

    def new_transport(self) -> str:
        self.made += 1
        return f"ws{self.made}"

    async def announce(self, event: Any) -> None:
        self.announced.append(event)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def closing(self) -> bool:
        return self.closing_after is not None and len(self.announced) > self.closing_after

    async def run(
        self, policy: ReconnectPolicy, reason: str = "dropped", fallback: bool = False
    ) -> ReconnectFailed | None:
        return await reconnect(
            policy,
            reason,
            ConnectionError("cut"),
            attempt=self.attempt,
            new_transport=self.new_transport,
            fallback_transport=(lambda: "text") if fallback else None,
            announce=self.announce,
            sleep=self.sleep,
            random=lambda: 1.0,
            closing=self.closing,
        )


async def test_the_default_policy_tries_five_times_with_growing_delays_then_gives_up() -> None:
    outage = Outage()
    failed = await outage.run(ReconnectPolicy())
    assert [a.attempt for a in outage.announced] == [1, 2, 3, 4, 5]
    assert outage.slept == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert [a.delay_s for a in outage.announced] == outage.slept
    assert outage.attempts == [("ws1", False), ("ws2", False), ("ws3", False), ("ws4", False), ("ws5", False)]
    assert isinstance(failed, ReconnectFailed) and failed.attempts == 5
    assert str(failed).startswith("could not reconnect after 5 attempts (dropped): still down")
    assert isinstance(failed.__cause__, ConnectionError)


async def test_max_attempts_zero_never_reconnects_and_the_config_says_so() -> None:
    outage = Outage()
    failed = await outage.run(ReconnectPolicy(max_attempts=0))
    assert outage.attempts == [] and outage.announced == []
    assert isinstance(failed, ReconnectFailed) and failed.attempts == 0
    assert str(failed.__cause__) == "cut"
    config = RuntimeConfig(reconnect=ReconnectPolicy(max_attempts=0))
    assert config.reconnect is None and not config.can_reconnect and config.renew_after_s is None
    assert RuntimeConfig(reconnect=ReconnectPolicy(renew_after_s=None)).renew_after_s is None
    assert RuntimeConfig(reconnect=ReconnectPolicy()).renew_after_s == 3300.0
    assert RuntimeConfig(reconnect=ReconnectPolicy(max_attempts=1)).can_reconnect


async def test_success_stops_the_loop_and_a_renewal_does_not_wait_first() -> None:
    outage = Outage(ConnectionError("busy"), None)
    assert await outage.run(ReconnectPolicy(), "renewal") is None
    assert [a.delay_s for a in outage.announced] == [0.0, 1.0]
    assert outage.slept == [1.0] and len(outage.attempts) == 2
    assert [a.reason for a in outage.announced] == ["renewal", "renewal"]
    outage = Outage(None)
    assert await outage.run(ReconnectPolicy(base_delay_s=0, max_delay_s=0)) is None
    assert outage.slept == [] and outage.attempts == [("ws1", False)]  # no sleep(0)


async def test_the_text_fallback_comes_last_and_closing_stops_quietly() -> None:
    outage = Outage(ConnectionError("a"), ConnectionError("b"), None)
    assert await outage.run(ReconnectPolicy(max_attempts=2), fallback=True) is None
    assert outage.attempts == [("ws1", False), ("ws2", False), ("text", True)]
    outage = Outage(ConnectionError("a"), ConnectionError("text too"))
    failed = await outage.run(ReconnectPolicy(max_attempts=1), fallback=True)
    assert failed is not None and str(failed).endswith(": text too")
    outage = Outage(closing_after=0)
    assert await outage.run(ReconnectPolicy(), fallback=True) is None
    assert outage.attempts == []
