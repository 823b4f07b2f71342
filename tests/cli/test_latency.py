"""The console's `LatencyMeter`: end of caller speech → first agent audio, and tool round
trips, from made-up times; and `percentile`, the summary's p50 and p95."""

from __future__ import annotations

import pytest

from agentkit.caller import CallerTurn
from agentkit.cli.latency import LatencyMeter, percentile
from agentkit.events import (
    AgentStart,
    AssistantTranscriptDelta,
    AudioOut,
    RawServerEvent,
    ToolEnd,
    ToolStart,
    UserTranscript,
)
from agentkit.protocol import InputAudioBufferSpeechStopped


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
