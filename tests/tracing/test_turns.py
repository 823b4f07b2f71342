"""Caller turn spans (`TurnSpans`): server VAD, typed and push-to-talk turns, and the response
latency each turn reports."""

from __future__ import annotations

import pytest

from agentkit import protocol as p
from agentkit.events import AgentEnd, AgentStart, UserTranscript

from .harness import Harness, audio, run_return_call


def test_user_turn_spans_cover_the_speech(harness: Harness) -> None:
    run_return_call(harness)
    turns = harness.named("agentkit.user_turn")
    assert [t.attributes and t.attributes["agentkit.turn.number"] for t in turns] == [1, 2, 3]
    first = turns[0]
    assert first.attributes is not None
    assert first.attributes["agentkit.turn.detection"] == "server_vad"
    assert first.attributes["agentkit.turn.item_id"] == "item_u1"
    # Speech start to stop (3.0 → 5.0), although the transcript came at 5.3.
    assert first.start_time is not None and first.end_time is not None
    assert first.end_time - first.start_time == pytest.approx(2e9, abs=2)
    assert "agentkit.user_turn.transcript" not in first.attributes
    # The responses answering a turn are its children.
    responses = harness.named("generate_content gpt-realtime")
    assert harness.parent_of(responses[1]) is first


def test_a_typed_turn_is_timed_from_when_it_was_sent(harness: Harness) -> None:
    harness.clock.now = 100 + 1.0
    harness.tracer.user_text("Where is my order?")
    harness.send(1.0, p.encode_response_create())
    harness.at(1.2, AgentStart("authentication", "resp_1"))
    harness.at(1.75, audio("resp_1", "item_1"), audio("resp_1", "item_1"))
    harness.at(2.0, AgentEnd("authentication", "resp_1", "completed"))
    harness.tracer.end()
    latency = harness.histogram("agentkit.turn.response_latency")
    assert (latency.count, latency.sum) == (1, pytest.approx(0.75))
    assert latency.attributes["agentkit.turn.detection"] == "text"
    turn = harness.one("agentkit.user_turn")
    assert turn.start_time == turn.end_time
    assert harness.parent_of(harness.one("generate_content gpt-realtime")) == turn


def test_push_to_talk_turn(harness: Harness) -> None:
    harness.clock.now = 100 + 1.0
    harness.tracer.turn_started()
    harness.clock.now = 100 + 2.5
    harness.tracer.turn_ended()
    harness.send(2.5, p.encode_response_create())
    harness.at(2.6, p.InputAudioBufferCommitted("item_ptt"), AgentStart("authentication", "r1"))
    harness.at(2.9, audio("r1", "item_a"), UserTranscript("item_ptt", "hello"))
    turn = harness.one("agentkit.user_turn")
    assert turn.attributes is not None
    assert turn.attributes["agentkit.turn.detection"] == "push_to_talk"
    assert turn.attributes["agentkit.turn.item_id"] == "item_ptt"
    assert turn.start_time is not None and turn.end_time is not None
    assert turn.end_time - turn.start_time == pytest.approx(1.5e9, abs=2)
    latency = harness.histogram("agentkit.turn.response_latency")
    assert latency.sum == pytest.approx(0.4)
