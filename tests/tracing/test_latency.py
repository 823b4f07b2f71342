"""Response latency, defined once (`ResponseLatency`), and the console's `LatencyMeter`: end
of caller speech → first agent audio, and tool round trips, from made-up times."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from agentkit import protocol as p
from agentkit.caller import CallerTurn
from agentkit.cli.console import ConsoleRenderer
from agentkit.events import (
    AgentEnd,
    AgentStart,
    AssistantTranscriptDelta,
    AudioOut,
    RawServerEvent,
    SessionEvent,
    ToolEnd,
    ToolStart,
    UserTranscript,
)
from agentkit.protocol import InputAudioBufferSpeechStopped
from agentkit.tracing.conventions import RESPONSE_LATENCY_ATTRIBUTE
from agentkit.tracing.latency import LatencyMeter, ResponseLatency, percentile

from .harness import Harness


def audio(at: float, meter: LatencyMeter) -> None:
    meter.observe(AudioOut(b"\x00" * 80, "i1", 0, "r1"), at)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([100.0], 95) == 100.0
    assert percentile([100.0, 200.0], 50) == 150.0
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 95) == pytest.approx(48.0)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_typed_turn_counts_from_sending_to_first_audio() -> None:
    meter = LatencyMeter()
    meter.caller_turn(CallerTurn("Hello?", "text", 10.0))
    meter.turn_ended(10.5)
    meter.observe(AgentStart("support", "r1"), 10.6)
    audio(10.75, meter)
    audio(10.9, meter)  # only the first audio counts
    (turn,) = meter.turns
    assert (turn.label, turn.mode, turn.agent) == ("Hello?", "text", "support")
    assert turn.latency_ms == pytest.approx(250.0)


def test_vad_turn_counts_from_when_the_last_voiced_audio_was_sent() -> None:
    meter = LatencyMeter()
    meter.caller_turn(CallerTurn("Where is my order?", "voice", 0.0, vad_silence_ms=500))
    # 100 ms chunks sent in real time from t=1.0: chunk k (ending at (k+1)*100 ms) at 1.0 + 0.1k.
    for k in range(30):
        meter.audio_sent((k + 1) * 100.0, 1.0 + 0.1 * k)
    # Speech ended at 2000 ms; VAD reports 2000 + 500 ms of silence, once it has seen it.
    meter.observe(RawServerEvent(InputAudioBufferSpeechStopped("u1", 2500)), 3.45)
    meter.observe(AgentStart("support", "r1"), 3.5)
    audio(3.7, meter)
    (turn,) = meter.turns
    assert turn.end_of_speech == pytest.approx(1.0 + 0.1 * 19)  # the chunk that ends at 2000 ms
    assert turn.latency_ms == pytest.approx(800.0)  # the silence wait is the caller's wait too
    assert turn.label == "Where is my order?"


def test_a_recording_names_each_turn_by_its_transcript() -> None:
    meter = LatencyMeter()
    meter.caller_turn(CallerTurn("♪ call.wav", "recording", 0.0, vad_silence_ms=0))
    meter.audio_sent(10_000.0, 1.0)
    for n, (item, end) in enumerate([("u1", 3000), ("u2", 7000)]):
        meter.observe(RawServerEvent(InputAudioBufferSpeechStopped(item, end)), 2.0 + n)
        meter.observe(UserTranscript(item, f"line {n + 1}"), 2.1 + n)
        audio(2.5 + n, meter)
    assert [(t.label, t.mode) for t in meter.turns] == [("line 1", "recording"), ("line 2", "recording")]
    assert meter.turn_latencies_ms() == pytest.approx([1500.0, 2500.0])


def test_text_output_counts_the_first_text() -> None:
    meter = LatencyMeter(audio_output=False)
    meter.caller_turn(CallerTurn("Hi", "text", 0.0))
    meter.turn_ended(1.0)
    meter.observe(AssistantTranscriptDelta("i1", "r1", "Hel"), 1.2)
    assert meter.turn_latencies_ms() == pytest.approx([200.0])
    # With audio output a transcript delta is not audio.
    meter = LatencyMeter()
    meter.caller_turn(CallerTurn("Hi", "text", 0.0))
    meter.turn_ended(1.0)
    meter.observe(AssistantTranscriptDelta("i1", "r1", "Hel"), 1.1)
    audio(1.3, meter)
    assert meter.turn_latencies_ms() == pytest.approx([300.0])


def test_tool_round_trips_per_tool() -> None:
    meter = LatencyMeter()
    for n, (call, tool, took) in enumerate([("c1", "lookup", 0.02), ("c2", "refund", 0.3), ("c3", "lookup", 0.04)]):
        meter.observe(ToolStart(call, tool, "{}", "support"), 10.0 + n)
        meter.observe(ToolEnd(call, tool, "{}", "support"), 10.0 + n + took)
    meter.observe(ToolStart("c4", "lookup", "{}", "support"), 20.0)  # still running: not counted
    trips = meter.tool_round_trips_ms()
    assert list(trips) == ["lookup", "refund"]
    assert trips["lookup"] == pytest.approx([20.0, 40.0])
    assert trips["refund"] == pytest.approx([300.0])


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
