"""Response latency, defined once (`ResponseLatency`): end of caller speech → first agent
audio, from made-up times; and the console's `LatencyMeter` (tested in
`tests/cli/test_latency.py`) reporting the same number as the histogram and the spans."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from agentkit import protocol as p
from agentkit.caller import CallerTurn
from agentkit.cli.console import ConsoleRenderer
from agentkit.cli.latency import LatencyMeter
from agentkit.events import (
    AgentEnd,
    AgentStart,
    AudioOut,
    RawServerEvent,
    SessionEvent,
)
from agentkit.tracing.conventions import RESPONSE_LATENCY_ATTRIBUTE
from agentkit.tracing.latency import ResponseLatency

from .harness import Harness


def test_response_latency_counts_from_the_end_of_the_voice() -> None:
    latency = ResponseLatency()
    assert latency.first_audio(1.0) is None  # no turn waits
    latency.speech_ended(1.0)
    assert latency.first_audio(1.25) == pytest.approx(0.25)
    assert latency.first_audio(1.5) is None  # once per turn
    # Without an input audio log: the report came once the silence had passed.
    assert latency.speech_stopped(2500, 5.0, silence_ms=500) == pytest.approx(4.5)
    assert latency.first_audio(5.9) == pytest.approx(1.4)
    # With one: when the last voiced audio was sent.
    for k in range(30):
        latency.audio_sent((k + 1) * 100.0, 1.0 + 0.1 * k)
    assert latency.speech_stopped(2500, 3.45, silence_ms=500) == pytest.approx(2.9)


def test_the_console_the_histogram_and_the_span_report_the_same_latency(
    harness: Harness,
) -> None:
    """One session, fed to the console's meter and to the tracer as the runtime feeds them:
    the summary, the `agentkit.turn.response_latency` points and the response spans agree."""
    meter = LatencyMeter()

    def both(t: float, event: SessionEvent) -> None:
        harness.at(t, event)
        meter.observe(event, 100.0 + t)

    vad = {"audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 500}}}}
    harness.at(0.05, p.SessionCreated(vad))
    # A typed turn.
    meter.caller_turn(CallerTurn("Hello?", "text", 101.0))
    meter.turn_ended(101.0)
    harness.clock.now = 101.0
    harness.tracer.user_text("Hello?")
    harness.send(1.0, p.encode_response_create())
    both(1.2, AgentStart("support", "resp_1"))
    both(1.75, AudioOut(b"\x00" * 80, "item_1", 0, "resp_1"))
    both(2.0, AgentEnd("support", "resp_1", "completed"))
    # A spoken turn: VAD waited 500 ms of silence before it reported the end at 4900 ms.
    meter.caller_turn(CallerTurn("Where is my order?", "voice", 103.0, vad_silence_ms=500))
    harness.at(3.0, p.InputAudioBufferSpeechStarted("item_u1", 2900))
    stopped = p.InputAudioBufferSpeechStopped("item_u1", 4900)
    harness.at(5.0, stopped)
    meter.observe(RawServerEvent(stopped), 105.0)
    both(5.2, AgentStart("support", "resp_2"))
    both(5.9, AudioOut(b"\x00" * 80, "item_2", 0, "resp_2"))
    both(6.5, AgentEnd("support", "resp_2", "completed"))
    harness.clock.now = 107.0
    harness.tracer.end()

    assert meter.turn_latencies_ms() == pytest.approx([750.0, 1400.0])
    out = io.StringIO()
    ConsoleRenderer(Console(file=out, no_color=True, width=120)).summary(meter)
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert ["1", "Hello?", "typed", "support", "750", "ms"] in rows
    assert ["2", "Where", "is", "my", "order?", "voice", "support", "1,400", "ms"] in rows
    for detection, seconds in (("text", 0.75), ("server_vad", 1.4)):
        point = harness.histogram(
            "agentkit.turn.response_latency", **{"agentkit.turn.detection": detection}
        )
        assert (point.count, point.sum) == (1, pytest.approx(seconds))
    spans = sorted(harness.named("generate_content gpt-realtime"), key=lambda s: s.start_time or 0)
    assert [(s.attributes or {})[RESPONSE_LATENCY_ATTRIBUTE] for s in spans] == pytest.approx(
        [0.75, 1.4]
    )
