"""The session span: its final status, errors and limits."""

from __future__ import annotations

import pytest
from opentelemetry.trace import StatusCode

from agentkit import protocol as p
from agentkit.errors import ProviderError, TransportError
from agentkit.events import AgentStart, ErrorEvent, SessionLimitReached, ToolStart
from agentkit.runner import RealtimeRunner

from .harness import Harness, attrs, bank


def test_errors_and_final_status(harness: Harness) -> None:
    harness.send(0.5, p.encode_response_create(event_id="agentkit_rc_1"))
    harness.at(0.6, ErrorEvent(ProviderError("busy"), "conversation_already_has_active_response"))
    # The refused create does not time the server's own response.
    harness.at(0.7, AgentStart("authentication", "resp_vad"))
    harness.at(0.8, ErrorEvent(ProviderError("bad"), "invalid_value"))
    harness.at(1.0, ToolStart("c1", "verify_customer", "{}", "authentication"))
    harness.clock.now = 100 + 2.0
    harness.tracer.end(TransportError("connection lost"))
    harness.tracer.end()  # idempotent
    session = harness.one("agentkit.session")
    assert session.attributes is not None
    assert session.attributes["agentkit.session.status"] == "failed"
    assert session.attributes["error.type"] == "TransportError"
    assert session.status.status_code is StatusCode.ERROR
    assert [(e.attributes or {})["error.type"] for e in session.events] == [
        "conversation_already_has_active_response",
        "invalid_value",
    ]
    assert harness.counts("agentkit.errors", "error.type") == {
        "conversation_already_has_active_response": 1,
        "invalid_value": 1,
    }
    # Everything still open was closed with the session.
    response = harness.one("generate_content gpt-realtime")
    assert response.attributes is not None
    assert response.attributes["agentkit.response.trigger"] == "server"
    assert response.attributes["agentkit.response.status"] == "unfinished"
    assert (harness.one("execute_tool verify_customer").attributes or {})["error.type"] == (
        "session_ended"
    )
    assert [pt.value for pt in harness.points("agentkit.sessions.active")] == [0]


def test_session_limit_status(harness: Harness) -> None:
    harness.at(5.0, SessionLimitReached("idle_timeout", 5.0))
    harness.tracer.end()
    attributes = harness.one("agentkit.session").attributes or {}
    assert attributes["agentkit.session.status"] == "limit_reached"
    assert attributes["agentkit.session.limit"] == "idle_timeout"


async def test_a_failed_connect_ends_the_session_span_as_failed() -> None:
    class Refusing:
        async def connect(self) -> None:
            raise TransportError("connection refused")

        async def send(self, frame: str) -> None:
            raise AssertionError("nothing is sent before connecting")

        async def receive(self) -> str:
            raise AssertionError("unreachable")

        async def close(self) -> None:
            pass

    h = Harness(start=False)
    with pytest.raises(TransportError):
        async with RealtimeRunner(bank, tracing=h.config).session(Refusing()):
            raise AssertionError("the body must not run")
    session = h.one("agentkit.session")
    assert attrs(session)["agentkit.session.status"] == "failed"
    assert attrs(session)["error.type"] == "TransportError"
    assert attrs(session)["agentkit.transport"] == "refusing"
    assert session.status.status_code is StatusCode.ERROR
    assert [pt.value for pt in h.points("agentkit.sessions.active")] == [0]
