"""Guardrail rounds and trips as spans and events."""

from __future__ import annotations

from agentkit.events import AgentEnd, AgentStart, GuardrailTripped
from agentkit.guardrails import Guardrail
from agentkit.runtime.policy import GuardrailVerdict

from .harness import Harness, all_values


def test_guardrail_trip(harness: Harness) -> None:
    harness.at(1.0, AgentStart("returns", "resp_1"))
    trip = Guardrail("no_card_numbers", lambda ctx, text: True, stage="output")
    with harness.tracer.guardrails("output", ["no_card_numbers"]) as check:
        check.finished(GuardrailVerdict(trip, {"matched": "4111"}, (("pii", "boom"),)))
    harness.at(
        1.2,
        GuardrailTripped(
            "no_card_numbers", "output", {"matched": "4111"}, "card 4111", "item_1", "resp_1", None
        ),
    )
    harness.at(1.3, AgentEnd("returns", "resp_1", "cancelled"))
    span = harness.one("agentkit.guardrails")
    assert span.attributes is not None
    assert span.attributes["agentkit.guardrail.tripped"] is True
    assert span.attributes["agentkit.guardrail.name"] == "no_card_numbers"
    assert span.attributes["agentkit.guardrail.errors"] == ("pii",)
    assert harness.parent_of(span).name == "generate_content gpt-realtime"
    response = harness.one("generate_content gpt-realtime")
    assert [e.name for e in response.events] == ["agentkit.guardrail_tripped"]
    assert "card 4111" not in all_values(harness.spans())
    assert harness.counts("agentkit.guardrail.trips", "agentkit.guardrail.name") == {
        "no_card_numbers": 1
    }
