"""The sans-I/O session core, driven with made-up timestamps: no sockets, no sleeping."""

from __future__ import annotations

import ast
import inspect
from typing import Any

import orjson
import pybase64
import pytest
from openai_conformance import validate_server_event

from agentkit import audio
from agentkit.server import (
    CloseConnection,
    ScriptedModel,
    ServerSession,
    SessionOptions,
    load_script,
)
from agentkit.server import session as session_module

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
            options=SessionOptions(pace=pace, **{"speech_engine": "synthetic", **options}),  # type: ignore[arg-type]
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


def test_core_has_no_io() -> None:
    tree = ast.parse(inspect.getsource(session_module))
    imported = {n.names[0].name for n in ast.walk(tree) if isinstance(n, ast.Import)} | {
        n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert not imported & {"asyncio", "socket", "websockets", "time", "threading", "trio", "anyio"}


def test_session_created_then_update_merges() -> None:
    h = Harness()
    assert h.types() == ["session.created", "conversation.created"]
    created = h.events[0]["session"]
    assert created["id"].startswith("sess_") and created["object"] == "realtime.session"
    assert created["expires_at"] > 0
    out = h.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Be terse.", "audio": {"output": {"voice": "cedar"}}}})
    session = out[-1]["session"]
    assert out[-1]["type"] == "session.updated"
    # Partial update merged into the full effective session.
    assert session["instructions"] == "Be terse."
    assert session["audio"]["output"] == {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "cedar", "speed": 1.0}
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    out = h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}, "instructions": ""}})
    assert out[-1]["session"]["audio"]["input"]["turn_detection"] is None
    assert out[-1]["session"]["instructions"] == ""
    out = h.send({"type": "session.update", "event_id": "c9", "session": {"type": "realtime", "modalities": ["text"]}})
    error = h.error(out)
    assert error["code"] == "unknown_parameter" and error["event_id"] == "c9" and error["param"] == "session.modalities"


def test_text_turn_with_tool_call_and_continuation() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
    h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "where is my order 42"}]}})
    out = h.send({"type": "response.create"})
    assert h.types(out) == [
        "response.created", "rate_limits.updated",
        "response.output_item.added", "conversation.item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "conversation.item.done",
        "response.output_item.added", "conversation.item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done", "conversation.item.done",
        "response.done",
    ]
    done = out[-1]["response"]
    assert done["status"] == "completed" and done["usage"]["total_tokens"] > 0
    call = done["output"][1]
    assert call["name"] == "lookup_order" and orjson.loads(call["arguments"]) == {"order_id": "42"}
    h.send({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call["call_id"], "output": '{"order_id": "42", "status": "shipped"}'}})
    out = h.send({"type": "response.create"})
    text = next(e for e in out if e["type"] == "response.output_text.done")["text"]
    assert text == "Order 42 is shipped."


def test_greeting_and_fallback() -> None:
    h = Harness()
    out = h.send({"type": "response.create"})
    assert next(e for e in out if e["type"] == "response.output_audio_transcript.done")["transcript"] == "Hello, how can I help?"
    h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Sing me a song"}]}})
    out = h.send({"type": "response.create"})
    transcript = next(e for e in out if e["type"] == "response.output_audio_transcript.done")["transcript"]
    assert transcript == "Sorry, I can't help with that. You said: Sing me a song"


def test_vad_timing_on_generated_audio() -> None:
    """300 ms silence, ~1.2 s of speech, 800 ms silence; defaults: padding 300, silence 500."""
    h = Harness()
    text = "Where is my order 42?"  # 5 words at 165 wpm = 1818 ms
    speech_ms = audio.duration_ms(len(audio.synthesize_speech(text, engine="synthetic")))
    out = h.append(speech(300, text, 800))
    started = [e for e in out if e["type"] == "input_audio_buffer.speech_started"]
    stopped = [e for e in out if e["type"] == "input_audio_buffer.speech_stopped"]
    assert len(started) == len(stopped) == 1
    # Speech begins at 300 ms; audio_start_ms includes the 300 ms prefix padding (±20 ms for
    # the syllable's soft onset on 10 ms frames).
    assert abs(started[0]["audio_start_ms"] - (300 - 300)) <= 20
    # The last word's voice ends ~70 ms (the word pause) before the speech's end; the stop
    # includes the 500 ms silence duration. Tolerance: 100 ms.
    voice_end = 300 + speech_ms - 70
    assert abs(stopped[0]["audio_end_ms"] - (voice_end + 500)) <= 100
    assert stopped[0]["item_id"] == started[0]["item_id"]
    committed = [e for e in out if e["type"] == "input_audio_buffer.committed"]
    assert committed and committed[0]["item_id"] == started[0]["item_id"]
    # create_response: the script's turn runs on the committed audio.
    assert "response.created" in h.types(out)
    assert any(e["type"] == "response.function_call_arguments.done" for e in out)


@pytest.mark.parametrize("fmt", ["g711_ulaw", "g711_alaw"])
def test_vad_and_output_in_g711(fmt: audio.AudioFormat) -> None:
    h = Harness()
    wire = {"g711_ulaw": {"type": "audio/pcmu"}, "g711_alaw": {"type": "audio/pcma"}}[fmt]
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": wire}, "output": {"format": wire}}}})
    out = h.append(speech(500, "Where is my order 42?", 900), fmt=fmt)
    started = next(e for e in out if e["type"] == "input_audio_buffer.speech_started")
    assert abs(started["audio_start_ms"] - 200) <= 20
    deltas = [pybase64.b64decode(e["delta"]) for e in out if e["type"] == "response.output_audio.delta"]
    spoken = b"".join(deltas)
    # 8 kHz, 1 byte per sample: "Let me check." is 3 words at 165 wpm.
    assert audio.duration_ms(len(spoken), fmt) == pytest.approx(3 * 60000 / 165, abs=2)
    decoded = audio.decode_to_pcm16(spoken, fmt)
    assert decoded.std() > 1000  # real audio, not silence


def test_realtime_pacing_is_in_due_times() -> None:
    h = Harness(pace="realtime")
    h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "anything"}]}})
    out = h.send({"type": "response.create"})
    assert "response.done" not in h.types(out)
    first = len([e for e in out if e["type"] == "response.output_audio.delta"])
    assert first == 1  # only the first 100 ms chunk is due at once
    assert h.core.next_deadline() == pytest.approx(h.now + 0.1)
    out = h.advance(0.5)
    assert len([e for e in out if e["type"] == "response.output_audio.delta"]) == 5
    out = h.advance(30)
    assert h.types(out)[-1] == "response.done"


def test_barge_in_cancels_with_what_was_heard() -> None:
    h = Harness(pace="realtime")
    h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Please tell me a long story about ships"}]}})
    h.send({"type": "response.create"})
    h.advance(1.0)  # 1.1 s of audio released (chunks at 0..1000 ms)
    out = h.append(speech(0, "Where is my order 42?", 0)[: audio.bytes_for_ms(400)])
    types = h.types(out)
    assert types.index("input_audio_buffer.speech_started") < types.index("response.done")
    done = next(e for e in out if e["type"] == "response.done")["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    item = done["output"][0]
    assert item["status"] == "incomplete"
    heard = item["content"][0]["transcript"]
    full = "Sorry, I can't help with that. You said: Please tell me a long story about ships"
    assert heard and full.startswith(heard) and heard != full
    sent = b"".join(pybase64.b64decode(e["delta"]) for e in h.events if e["type"] == "response.output_audio.delta")
    assert audio.duration_ms(len(sent)) == pytest.approx(1100, abs=1)
    # The stored item matches what the client got, and nothing more is streamed.
    out = h.advance(30)
    assert not [e for e in out if e["type"].startswith("response.output")]
    retrieved = h.send({"type": "conversation.item.retrieve", "item_id": item["id"]})[-1]["item"]
    assert audio.duration_ms(len(pybase64.b64decode(retrieved["content"][0]["audio"]))) == pytest.approx(1100, abs=1)
    assert retrieved["content"][0]["transcript"] == heard


def test_cancel_and_cancel_not_active() -> None:
    h = Harness(pace="realtime")
    out = h.send({"type": "response.cancel", "event_id": "c1"})
    assert h.error(out) == {"type": "invalid_request_error", "code": "response_cancel_not_active", "message": "Cancellation failed: no active response found", "param": None, "event_id": "c1"}
    h.send({"type": "response.create"})
    out = h.send({"type": "response.create", "event_id": "c2"})
    assert h.error(out)["code"] == "conversation_already_has_active_response"
    h.advance(0.25)
    out = h.send({"type": "response.cancel"})
    done = out[-1]["response"]
    assert done["status"] == "cancelled" and done["status_details"]["reason"] == "client_cancelled"
    # Out-of-band responses may run beside the default conversation's response.
    h.send({"type": "response.create"})
    out = h.send({"type": "response.create", "response": {"conversation": "none", "metadata": {"topic": "summary"}, "output_modalities": ["text"], "instructions": "Summarize."}})
    assert not [e for e in out if e["type"] == "error"]
    h.advance(60)
    oob = [e["response"] for e in h.events if e["type"] == "response.done" and e["response"]["conversation_id"] is None]
    assert oob and oob[0]["metadata"] == {"topic": "summary"} and oob[0]["output_modalities"] == ["text"]


def test_truncate() -> None:
    h = Harness()
    out = h.send({"type": "response.create"})
    item = next(e for e in out if e["type"] == "response.done")["response"]["output"][0]
    length = audio.duration_ms(3 * 0 + len(b"".join(pybase64.b64decode(e["delta"]) for e in out if e["type"] == "response.output_audio.delta")))
    out = h.send({"type": "conversation.item.truncate", "item_id": item["id"], "content_index": 0, "audio_end_ms": int(length) + 500, "event_id": "t1"})
    error = h.error(out)
    assert error["code"] == "invalid_value" and error["param"] == "audio_end_ms" and error["event_id"] == "t1"
    out = h.send({"type": "conversation.item.truncate", "item_id": item["id"], "content_index": 0, "audio_end_ms": 800})
    assert out[-1] == {**out[-1], "type": "conversation.item.truncated", "audio_end_ms": 800, "item_id": item["id"]}
    retrieved = h.send({"type": "conversation.item.retrieve", "item_id": item["id"]})[-1]["item"]
    # "Hello, how can I help?" = 5 words, 364 ms each: words starting before 800 ms are heard.
    assert retrieved["content"][0]["transcript"] == "Hello, how can"
    assert audio.duration_ms(len(pybase64.b64decode(retrieved["content"][0]["audio"]))) == 800
    out = h.send({"type": "conversation.item.truncate", "item_id": "item_nope", "content_index": 0, "audio_end_ms": 1})
    assert h.error(out)["code"] == "item_not_found"


def test_item_operations() -> None:
    h = Harness()
    msg = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "one"}]}
    h.send({"type": "conversation.item.create", "item": {**msg, "id": "item_a"}})
    out = h.send({"type": "conversation.item.create", "previous_item_id": "root", "item": {**msg, "id": "item_b"}})
    assert out[0]["previous_item_id"] is None
    assert h.core.order == ["item_b", "item_a"]
    out = h.send({"type": "conversation.item.create", "previous_item_id": "item_b", "item": {**msg, "id": "item_c"}})
    assert out[0]["previous_item_id"] == "item_b" and h.core.order == ["item_b", "item_c", "item_a"]
    assert h.error(h.send({"type": "conversation.item.create", "item": {**msg, "id": "item_a"}}))["code"] == "duplicate_item_id"
    assert h.error(h.send({"type": "conversation.item.create", "previous_item_id": "nope", "item": msg}))["code"] == "item_not_found"
    out = h.send({"type": "conversation.item.delete", "item_id": "item_c"})
    assert out[-1] == {**out[-1], "type": "conversation.item.deleted", "item_id": "item_c"}
    assert h.error(h.send({"type": "conversation.item.retrieve", "item_id": "item_c"}))["code"] == "item_not_found"
    assert h.error(h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "robot", "content": []}}))["code"] == "invalid_value"


@pytest.mark.parametrize(
    ("raw", "code", "param"),
    [
        (b"{not json", "invalid_event", None),
        (b'{"event_id": "x"}', "invalid_event", "type"),
        (b'{"type": "response.make_it_so"}', "invalid_event", "type"),
        (b'{"type": "input_audio_buffer.append"}', "invalid_event", "audio"),
        (b'{"type": "input_audio_buffer.append", "audio": "%%%"}', "invalid_event", "audio"),
        (b'{"type": "conversation.item.create"}', "invalid_event", "item"),
        (b'{"type": "conversation.item.retrieve"}', "invalid_event", "item_id"),
        (b'{"type": "input_audio_buffer.commit"}', "input_audio_buffer_commit_empty", None),
        (b'{"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}}', "invalid_value", "session.audio.input.format.rate"),
        (b'{"type": "session.update", "session": {"type": "realtime", "model": 42}}', "invalid_type", "session.model"),
    ],
)
def test_error_codes_and_session_goes_on(raw: bytes, code: str, param: str | None) -> None:
    h = Harness()
    h.core.receive(raw, h.now)
    error = h.error(h.drain())
    assert error["code"] == code and error["param"] == param
    assert error["type"] == "invalid_request_error"
    out = h.send({"type": "input_audio_buffer.clear"})
    assert h.types(out) == ["input_audio_buffer.cleared"]


def test_manual_commit_and_transcription() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None, "transcription": {"model": "gpt-4o-transcribe"}}}}})
    out = h.append(audio.synthesize_speech("hmm", engine="synthetic")[: audio.bytes_for_ms(50)])
    assert out == []  # no VAD without turn detection
    assert h.error(h.send({"type": "input_audio_buffer.commit", "event_id": "k"}))["message"].endswith("only has 50.00ms of audio.")
    h.append(audio.synthesize_speech("Where is my order 42?", engine="synthetic"))
    out = h.send({"type": "input_audio_buffer.commit"})
    types = h.types(out)
    assert types[:3] == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    completed = next(e for e in out if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "Where is my order 42?"
    deltas = "".join(e["delta"] for e in out if e["type"] == "conversation.item.input_audio_transcription.delta")
    assert deltas == completed["transcript"]
    assert "response.created" not in types  # manual mode: the client asks for the response
    out = h.send({"type": "response.create"})
    assert any(e["type"] == "response.function_call_arguments.done" for e in out)


def test_a_deleted_caller_line_still_counts_for_the_next_audio_turn() -> None:
    # An input guardrail deletes the offending user item; the caller's next audio turn is
    # still the script's next line, not the deleted one again.
    h = Harness()
    transcription = {"model": "gpt-4o-transcribe"}
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None, "transcription": transcription}}}})
    h.append(audio.synthesize_speech("Where is my order 42?", engine="synthetic"))
    first = next(e for e in h.send({"type": "input_audio_buffer.commit"}) if e["type"] == "input_audio_buffer.committed")
    deleted = h.send({"type": "conversation.item.delete", "item_id": first["item_id"]})
    assert h.types(deleted) == ["conversation.item.deleted"]
    h.append(audio.synthesize_speech("Thanks, that is all.", engine="synthetic"))
    out = h.send({"type": "input_audio_buffer.commit"})
    completed = next(e for e in out if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "Thanks, that is all."


def test_voice_cannot_change_after_audio() -> None:
    h = Harness()
    assert not [e for e in h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}}}) if e["type"] == "error"]
    h.send({"type": "response.create"})
    out = h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "verse"}}}})
    assert h.error(out)["code"] == "cannot_update_voice"
    assert h.core.session["audio"]["output"]["voice"] == "ash"


def test_idle_timeout() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 2000}}}}})
    out = h.send({"type": "response.create"})  # greeting: 5 words = 1818 ms of audio to play
    out = h.append(audio.generate_silence(5000))
    triggered = [e for e in out if e["type"] == "input_audio_buffer.timeout_triggered"]
    assert len(triggered) == 1
    start, end = triggered[0]["audio_start_ms"], triggered[0]["audio_end_ms"]
    # The timeout counts from when the greeting finished playing (fast pace: ~1818 ms of input).
    assert abs(start - 1818) <= 100 and abs((end - start) - 2000) <= 100
    assert next(e for e in out if e["type"] == "response.output_audio_transcript.done")["transcript"] == "Are you still there?"


def test_semantic_vad_eagerness() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}}}})
    # 1 s of silence is a pause for a "low" eagerness speaker (1500 ms), not the end of the turn.
    out = h.append(speech(300, "Where is", 1000))
    assert "input_audio_buffer.speech_stopped" not in h.types(out)
    out = h.append(audio.generate_silence(700))
    assert "input_audio_buffer.speech_stopped" in h.types(out)


def test_session_expires() -> None:
    h = Harness(max_duration_s=5)
    assert h.core.next_deadline() == pytest.approx(h.now + 5)
    out = h.advance(5)
    assert h.error(out)["code"] == "session_expired"
    assert h.closes == [CloseConnection(1001, "session expired")]
    assert h.core.next_deadline() is None
