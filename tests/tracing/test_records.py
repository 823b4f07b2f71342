"""`agentkit.tracing.records`: what a tracer holds for an open turn or response, and what its
parts share."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context

from agentkit.tracing.records import Pending, Response, SessionPart, Shared, Turn


def test_an_open_turn_or_response_has_no_span_until_one_is_needed() -> None:
    turn = Turn(Context(), 1, "server_vad", 0.5, {"a": 1})  # type: ignore[arg-type]
    assert (turn.span, turn.context, turn.ended, turn.item_id, turn.speech_end) == (None, None, False, None, None)
    first = Response(turn, Context(), 2, "resp_1", "Desk", 1.0, None, {})
    second = Response(None, Context(), 3, "resp_2", "Desk", 2.0, 1.5, {})
    assert (first.span, first.events, first.interrupted, first.transcript) == (None, None, False, None)
    first.text.append("Hello")
    assert second.text == []  # each response keeps its own transcript
    assert Pending(at=3.0).at == 3.0
    with pytest.raises(AttributeError):
        turn.extra = 1  # type: ignore[attr-defined]  # slotted: a typo is an error


def test_every_part_reads_the_one_shared_record() -> None:
    clock_calls: list[int] = []

    def clock() -> float:
        clock_calls.append(1)
        return 2.0

    metrics: Any = object()
    shared = Shared(trace.NoOpTracer(), metrics, True, clock, lambda s: int(s * 1e9))
    part = SessionPart(shared)
    assert (part._tracer, part._metrics, part._capture) == (shared.tracer, metrics, True)
    assert (part._clock(), part._ns(1.5)) == (2.0, 1_500_000_000) and clock_calls == [1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        shared.capture = False  # type: ignore[misc]
