"""Spans handed to the SDK in groups (`TracingConfig.defer_spans`)."""

from __future__ import annotations

import pytest

from agentkit import protocol as p
from agentkit.events import AgentEnd, AgentStart, UserTranscript
from agentkit.runner import RealtimeRunner
from agentkit.tracing import TracingConfig
from agentkit.transports import memory_transport_pair

from .harness import Clock, Harness, audio, bank, next_of, run_return_call, trace_shape, wait_for


def test_grouped_spans_make_the_same_trace_and_metrics_as_one_by_one() -> None:
    one_by_one, grouped = Harness(defer_spans=1), Harness(defer_spans=4)
    run_return_call(one_by_one)
    run_return_call(grouped)
    assert len(grouped.spans()) == len(one_by_one.spans()) > 15
    assert trace_shape(grouped) == trace_shape(one_by_one)
    assert grouped.tree() == one_by_one.tree()
    for metric in ("agentkit.turn.response_latency", "agentkit.response.time_to_first_audio"):
        assert sorted(
            (dict(pt.attributes).items(), pt.count, pt.sum) for pt in grouped.points(metric)
        ) == sorted(
            (dict(pt.attributes).items(), pt.count, pt.sum) for pt in one_by_one.points(metric)
        )


def test_a_group_goes_when_full_when_its_oldest_waited_or_at_the_end() -> None:
    h = Harness(defer_spans=3)  # a turn, its response and its latency sample
    turn = h.tracer

    def one_turn(t: float, n: int) -> None:
        h.at(t, p.InputAudioBufferSpeechStarted(f"item_u{n}", 0))
        h.at(t + 1.0, p.InputAudioBufferSpeechStopped(f"item_u{n}", 900))
        h.at(t + 1.1, AgentStart("authentication", f"resp_{n}"))
        h.at(t + 1.2, UserTranscript(f"item_u{n}", "hello"))  # the turn span ends: waits
        h.at(t + 1.5, audio(f"resp_{n}", f"item_a{n}"))  # the latency sample waits

    one_turn(1.0, 1)
    assert h.spans() == [] and h.points("agentkit.turn.response_latency") == []
    assert turn.flush_due == pytest.approx(100 + 2.2 + 30.0)  # the turn span's wait began at 2.2
    h.at(3.0, AgentEnd("authentication", "resp_1", "completed"))  # third item: the group goes
    assert [s.name for s in h.spans()] == ["agentkit.user_turn", "generate_content gpt-realtime"]
    assert h.histogram("agentkit.turn.response_latency").sum == pytest.approx(0.5)
    assert turn.flush_due is None

    one_turn(10.0, 2)
    due = turn.flush_due
    assert due is not None and len(h.spans()) == 2
    turn.tick(due - 0.01)
    assert len(h.spans()) == 2
    turn.tick(due)  # a session gone quiet: the group goes when its oldest waited its time
    assert [s.name for s in h.spans()][2:] == ["agentkit.user_turn"]
    assert h.histogram("agentkit.turn.response_latency").count == 2
    assert turn.flush_due is None

    h.at(45.0, AgentEnd("authentication", "resp_2", "completed"))
    assert len(h.spans()) == 3
    h.clock.now = 100 + 46.0
    turn.end()  # the session's end sends the rest, before the agent and session spans end
    names = [s.name for s in h.spans()]
    assert names[3:] == [
        "generate_content gpt-realtime",
        "invoke_agent authentication",
        "agentkit.session",
    ]
    response = h.spans()[3]  # its real times, not those of its hand-over
    assert response.end_time is not None and response.start_time is not None
    assert response.end_time - response.start_time == pytest.approx((45.0 - 11.1) * 1e9, abs=1e3)


async def test_a_quiet_session_hands_its_spans_over_without_waiting_for_its_end() -> None:
    h = Harness(start=False)
    config = TracingConfig(
        tracer_provider=h.provider,
        meter_provider=h.config.meter_provider,
        defer_spans=16,
        defer_max_s=0.05,
    )
    client, server = memory_transport_pair()
    clock = Clock()  # the session's: the group goes when it says the wait is over
    async with RealtimeRunner(bank, tracing=config).session(client, clock=clock) as session:
        ended: list[AgentEnd] = []
        session.on("agent_end", ended.append)
        await next_of(server, "session.update")
        await session.send_text("hello")
        await next_of(server, "response.create")
        await server.send_event({"type": "response.created", "response": {"id": "resp_1"}})
        await server.send_event(
            {"type": "response.done", "response": {"id": "resp_1", "status": "completed"}}
        )
        await wait_for(lambda: ended)
        # The clock has not moved: the turn and the response wait in their group.
        assert not h.named("agentkit.user_turn") and not h.named("generate_content gpt-realtime")
        # Nothing else happens: once the session's clock passes the wait, its timer hands
        # the group over.
        clock.now += 0.05
        await wait_for(lambda: h.named("generate_content gpt-realtime"))
        assert h.named("agentkit.user_turn") and not h.named("agentkit.session")
    await server.close()
