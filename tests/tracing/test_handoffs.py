"""Handoff spans (`HandoffSpans`): refused, cancelled and app-made transfers."""

from __future__ import annotations

import pytest
from opentelemetry.trace import StatusCode

from agentkit.events import AgentStart, HandoffEvent

from .harness import Harness


def test_refused_handoff(harness: Harness) -> None:
    harness.at(1.0, AgentStart("authentication", "resp_1"))
    with harness.tracer.handoff("c1", "transfer_to_sales") as call:
        harness.clock.now = 100 + 1.3
        call.finished(None, '{"error": "invalid_arguments"}')
    span = harness.one("agentkit.handoff")
    assert span.attributes is not None
    assert span.attributes["error.type"] == "refused"
    assert "gen_ai.tool.call.result" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR
    point = harness.histogram("agentkit.handoff.duration")
    assert point.sum == pytest.approx(0.3)
    assert point.attributes["error.type"] == "refused"


def test_cancelled_handoff_closes_its_span(harness: Harness) -> None:
    class Hangup(Exception):
        pass

    with pytest.raises(Hangup), harness.tracer.handoff("c1", "transfer_to_sales"):
        raise Hangup
    assert (harness.one("agentkit.handoff").attributes or {})["error.type"] == "Hangup"


def test_app_switch_is_an_instant_handoff(harness: Harness) -> None:
    harness.at(2.0, HandoffEvent("authentication", "sales", None))
    span = harness.one("agentkit.handoff")
    assert (span.attributes or {})["agentkit.handoff.trigger"] == "app"
    assert span.start_time == span.end_time
    assert harness.points("agentkit.handoff.duration") == []
    assert harness.one("invoke_agent authentication").end_time == span.end_time
