"""The session harness: a `ServerSession` plus a made-up clock, every event validated."""

from __future__ import annotations

from typing import Any

import orjson
import pybase64
from openai_conformance import validate_server_event

from agentkit import audio
from agentkit.server import (
    CloseConnection,
    ScriptedModel,
    ServerSession,
    SessionOptions,
    load_script,
)
from agentkit.server.session_config import ResponseLatency

SCRIPT = load_script(
    {
        "greeting": [{"say": "Hello, how can I help?"}],
        "turns": [
            {
                "user": "Where is my order 42?",
                "steps": [
                    {"say": "Let me check."},
                    {"call": "lookup_order", "arguments": {"order_id": "42"}},
                    {"say": "Order {{ output.order_id }} is {{ output.status }}."},
                ],
            },
            {"user": "Thanks, that is all.", "mode": "text", "steps": [{"say": "You are welcome. Goodbye!"}]},
        ],
    }
)


class Harness:
    """A session plus a clock; every event it emits is validated against the SDK types."""

    def __init__(self, *, pace: str = "fast", script: Any = SCRIPT, **options: Any) -> None:
        self.now = 1000.0
        self.core = ServerSession(
            model=ScriptedModel(load_script(script)),
            now=self.now,
            # The synthetic voice's durations are exact; espeak-ng's (when installed) are not.
            # No model latency unless a test asks for it: the pacing tests count from the request.
            options=SessionOptions(pace=pace, **{"speech_engine": "synthetic", "response_latency": ResponseLatency(), **options}),  # type: ignore[arg-type]
        )
        self.core.start(self.now)
        self.events: list[dict[str, Any]] = []
        self.closes: list[CloseConnection] = []
        self.drain()

    def drain(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in self.core.poll(self.now):
            if isinstance(item, CloseConnection):
                self.closes.append(item)
                continue
            validate_server_event(item, "ga")
            out.append(item)
        self.events += out
        return out

    def send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        self.core.receive(orjson.dumps(event), self.now)
        return self.drain()

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        self.now += seconds
        return self.drain()

    def append(self, pcm: bytes, fmt: audio.AudioFormat = "pcm16", chunk_ms: int = 100) -> list[dict[str, Any]]:
        data = audio.convert(pcm, "pcm16", fmt)
        step = audio.bytes_for_ms(chunk_ms, fmt)
        out: list[dict[str, Any]] = []
        for pos in range(0, len(data), step):
            out += self.send({"type": "input_audio_buffer.append", "audio": pybase64.b64encode(data[pos : pos + step]).decode()})
        return out

    def types(self, events: list[dict[str, Any]] | None = None) -> list[str]:
        return [e["type"] for e in (self.events if events is None else events)]

    def error(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        errors = [e["error"] for e in events if e["type"] == "error"]
        assert len(errors) == 1, events
        return errors[0]


def speech(ms_before: int, text: str, ms_after: int) -> bytes:
    return audio.generate_silence(ms_before) + audio.synthesize_speech(text, engine="synthetic") + audio.generate_silence(ms_after)
