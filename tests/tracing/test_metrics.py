"""The metric instruments: latency histograms and counters of a scripted call; the attribute
sets of metric points."""

from __future__ import annotations

import pytest

from agentkit.tracing.metrics import AgentAttributes

from .harness import Harness, run_return_call


def test_latency_metrics_of_the_return_call(harness: Harness) -> None:
    run_return_call(harness)
    # End of speech → first audio: turn 1 (stopped 5.0, audio 6.4). Turn 2's first audio
    # came at 12.6 after stopping at 11.0; turn 3 was never answered.
    latency = harness.histogram(
        "agentkit.turn.response_latency", **{"gen_ai.agent.name": "authentication"}
    )
    assert (latency.count, latency.sum) == (1, pytest.approx(1.4))
    returns = harness.histogram(
        "agentkit.turn.response_latency", **{"gen_ai.agent.name": "returns"}
    )
    assert (returns.count, returns.sum) == (1, pytest.approx(1.6))
    assert returns.attributes["agentkit.turn.detection"] == "server_vad"
    # response.create → first audio: greeting 0.4, after the tool 0.5, after the check 0.5.
    ttfa = [pt for pt in harness.points("agentkit.response.time_to_first_audio")]
    assert sorted(
        (pt.attributes["gen_ai.agent.name"], pt.count, round(pt.sum, 6)) for pt in ttfa
    ) == [
        ("authentication", 2, 0.9),
        ("returns", 1, 0.5),
    ]
    verify = harness.histogram("agentkit.tool.duration", **{"gen_ai.tool.name": "verify_customer"})
    assert (verify.count, verify.sum) == (1, pytest.approx(0.4))
    handoff = harness.histogram("agentkit.handoff.duration")
    assert (handoff.count, handoff.sum) == (1, pytest.approx(1.2))
    assert handoff.attributes["agentkit.handoff.to"] == "returns"
    assert harness.counts("agentkit.interruptions", "gen_ai.agent.name") == {"returns": 1}
    # One session opened and closed.
    assert [pt.value for pt in harness.points("agentkit.sessions.active")] == [0]
    assert harness.points("agentkit.tool.failures") == []


def test_active_sessions_counts_concurrent_sessions(harness: Harness) -> None:
    second = harness.start("sales")
    assert [pt.value for pt in harness.points("agentkit.sessions.active")] == [2]
    second.end()
    assert [pt.value for pt in harness.points("agentkit.sessions.active")] == [1]


def test_agent_attributes_are_built_once_per_agent_and_detection() -> None:
    common = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-realtime"}
    of = AgentAttributes(common).of
    assert of("support") == {**common, "gen_ai.agent.name": "support"}
    assert of("support", "text") == {
        **common,
        "gen_ai.agent.name": "support",
        "agentkit.turn.detection": "text",
    }
    # The SDK hashes a point's attributes: the same set, not an equal copy, each time.
    assert of("support") is of("support")
    assert of("support", "text") is of("support", "text")
    assert of("billing") is not of("support")
