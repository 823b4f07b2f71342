"""Reconnect spans (`ReconnectSpans`), scripted and through a session."""

from __future__ import annotations

import pytest
from opentelemetry.trace import StatusCode

from agentkit import ReconnectPolicy
from agentkit.events import Reconnected, Reconnecting, SessionStatus, StatusChanged
from agentkit.runner import RealtimeRunner
from agentkit.transports import memory_transport_pair

from .harness import Harness, attrs, bank, next_of, wait_for


def test_reconnects(harness: Harness) -> None:
    harness.at(1.0, StatusChanged(SessionStatus.CONNECTED, SessionStatus.RECONNECTING))
    harness.at(1.0, Reconnecting(1, 0.5, "connection lost"))
    harness.at(2.0, Reconnecting(2, 1.0, "connection lost"))
    harness.at(3.5, Reconnected(2, 7))
    harness.at(10.0, Reconnecting(1, 0.5, "session_expired"))
    harness.at(11.0, StatusChanged(SessionStatus.RECONNECTING, SessionStatus.DISCONNECTED))
    harness.tracer.end()
    spans = sorted(harness.named("agentkit.reconnect"), key=lambda s: s.start_time or 0)
    assert [
        (
            (s.attributes or {})["agentkit.reconnect.attempt"],
            (s.attributes or {})["agentkit.reconnect.outcome"],
            s.status.status_code,
        )
        for s in spans
    ] == [
        (1, "failed", StatusCode.ERROR),
        (2, "reconnected", StatusCode.UNSET),
        (1, "gave_up", StatusCode.ERROR),
    ]
    assert (spans[1].attributes or {})["agentkit.reconnect.replayed_items"] == 7
    assert (spans[0].attributes or {})["agentkit.reconnect.delay_s"] == 0.5
    assert all(harness.parent_of(s).name == "agentkit.session" for s in spans)
    assert harness.counts("agentkit.reconnects", "agentkit.reconnect.outcome") == {
        "failed": 1,
        "reconnected": 1,
        "gave_up": 1,
    }


async def test_reconnect_and_its_replay_are_traced() -> None:
    h = Harness(start=False, defer_spans=1)
    pairs = [memory_transport_pair() for _ in range(2)]
    transports = iter(pairs[1:])
    runner = RealtimeRunner(
        bank, reconnect=ReconnectPolicy(base_delay_s=0.01, jitter=0.0), tracing=h.config
    )
    session = runner.session(pairs[0][0], transport_factory=lambda: next(transports)[0])
    async with session:
        first, second = pairs[0][1], pairs[1][1]
        await next_of(first, "session.update")
        await session.send_text("hello")
        await next_of(first, "response.create")
        await first.abort()
        await next_of(second, "session.update")
        # The request the drop cut off is asked again, after the replay: its frame is seen.
        await next_of(second, "response.create")
        await second.send_event({"type": "response.created", "response": {"id": "resp_2"}})
        await second.send_event(
            {"type": "response.done", "response": {"id": "resp_2", "status": "completed"}}
        )
        await wait_for(lambda: h.named("generate_content gpt-realtime"))
    await second.close()
    reconnect = h.one("agentkit.reconnect")
    assert h.parent_of(reconnect).name == "agentkit.session"
    assert attrs(reconnect) == {
        "agentkit.reconnect.attempt": 1,
        "agentkit.reconnect.delay_s": pytest.approx(0.01),
        "agentkit.reconnect.reason": "connection lost",
        "agentkit.reconnect.replayed_items": 1,
        "agentkit.reconnect.outcome": "reconnected",
    }
    assert h.counts("agentkit.reconnects", "agentkit.reconnect.outcome") == {"reconnected": 1}
    assert attrs(h.one("generate_content gpt-realtime"))["agentkit.response.trigger"] == "client"
    assert attrs(h.one("agentkit.session"))["agentkit.session.status"] == "closed"
