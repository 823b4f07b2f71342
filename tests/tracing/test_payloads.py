"""What the tracer reads of wire payloads (token usage is checked on response spans in
`test_tracer.py`)."""

from __future__ import annotations

from agentkit.tracing.payloads import vad_silence_ms


def test_vad_silence_in_either_dialect_and_none_without_vad() -> None:
    ga = {"audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 700}}}}
    assert vad_silence_ms(ga) == 700.0
    assert vad_silence_ms({"turn_detection": {"silence_duration_ms": 300}}) == 300.0
    assert vad_silence_ms({"audio": {"input": {"turn_detection": None}}}) == 0.0
    assert vad_silence_ms({"audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}}) == 0.0
    assert vad_silence_ms({}) == 0.0
