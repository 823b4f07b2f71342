"""`LiveServerSession`, sans I/O: the Live session clock, mute, fixtures, appended context,
16 kHz PCM, expiry; every event it sends is strictly valid Live."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from live_conformance import validate_live_server_event

from agentkit import audio
from agentkit.server.live_session import LiveServerSession, Outgoing
from agentkit.server.model import ScriptedModel
from agentkit.server.script import load_script
from agentkit.server.session import CloseConnection
from agentkit.server.session_config import SessionOptions

SCRIPT = load_script({"turns": [{"user": "Hello there", "steps": [{"say": "Hi! How can I help?"}]}]})


def session(rate: int = 24000, max_s: float = 60.0) -> LiveServerSession:
    core = LiveServerSession(model=ScriptedModel(SCRIPT), now=100.0, options=SessionOptions(pace="fast", max_duration_s=max_s))
    core.receive(orjson.dumps({"type": "session.start", "session": {"model": "gpt-live-1", "audio": {"format": {"type": "audio/pcm", "rate": rate}}, "delegation": {"type": "responses", "responses": {"model": "gpt-5.4-mini"}}}}), 100.0)
    assert [e["type"] for e in events(core, 100.0)] == ["session.started"]
    return core


def events(core: LiveServerSession, now: float) -> list[dict[str, Any]]:
    out = []
    for item in core.poll(now):
        if isinstance(item, CloseConnection):
            out.append({"type": "close", "code": item.code})
            continue
        assert isinstance(item, Outgoing)
        validate_live_server_event(item.event)
        out.append(item.event)
    return out


def send(core: LiveServerSession, now: float, event: dict[str, Any]) -> None:
    core.receive(orjson.dumps(event), now)


def speech(text: str, rate: int = 24000) -> str:
    pcm = audio.generate_silence(200) + audio.synthesize_speech(text, engine="synthetic") + audio.generate_silence(1200)
    if rate != 24000:
        pcm = audio.resample(audio.pcm16_samples(pcm), 24000, rate).astype("<i2").tobytes()
    return base64.b64encode(pcm).decode()


def said(out: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in out if e["type"] == "session.output_transcript.delta")


def test_a_spoken_turn_is_transcribed_on_the_session_clock_and_answered() -> None:
    core = session()
    send(core, 101.0, {"type": "session.input_audio.append", "audio": speech("Hello there")})
    out = events(core, 101.0)
    heard = [e for e in out if e["type"] == "session.input_transcript.delta"]
    assert "".join(e["delta"] for e in heard) == "Hello there"
    answer = [e for e in out if e["type"] == "session.output_transcript.delta"]
    # The answer starts after the words it answers, on the same timeline.
    assert answer[0]["start_ms"] >= heard[-1]["end_ms"]
    assert said(out) == "Hi! How can I help?"
    assert any(e["type"] == "session.usage.updated" for e in out)


def test_a_muted_caller_is_not_heard() -> None:
    core = session()
    send(core, 101.0, {"type": "session.input_audio.mute", "event_id": "m"})
    send(core, 101.0, {"type": "session.input_audio.append", "audio": speech("Hello there")})
    out = events(core, 101.0)
    assert [e["type"] for e in out] == ["session.input_audio.muted"]
    send(core, 102.0, {"type": "session.input_audio.unmute"})
    send(core, 102.0, {"type": "session.input_audio.append", "audio": speech("Hello there")})
    assert said(events(core, 102.0)) == "Hi! How can I help?"


def test_a_fixture_plays_paced_as_output_audio_and_input_during_it_is_dropped() -> None:
    core = LiveServerSession(model=ScriptedModel(SCRIPT), now=0.0, options=SessionOptions(pace="realtime", max_duration_s=60))
    send(core, 0.0, {"type": "session.start", "session": {"model": "gpt-live-1", "audio": {"format": {"type": "audio/pcmu", "rate": 8000}}, "delegation": {"type": "responses", "responses": {"model": "m"}}}})
    events(core, 0.0)
    fixture = audio.synthesize_speech("Please hold", engine="synthetic")
    send(core, 0.1, {"type": "session.output_audio.fixture.play", "event_id": "fx", "audio": base64.b64encode(fixture).decode()})
    first = events(core, 0.1)
    assert first[0] == {"type": "session.output_audio.fixture.playing", "client_event_id": "fx", "event_id": first[0]["event_id"]}
    send(core, 0.2, {"type": "session.instructions.append", "content": "x", "delegation_id": None, "event_id": "busy"})
    middle = events(core, 0.2)
    assert [e["error"]["code"] for e in middle if e["type"] == "error"] == ["fixture_active"]
    send(core, 0.2, {"type": "session.input_audio.append", "audio": speech("Hello there", 8000)})
    seconds = len(fixture) / 48_000
    rest = events(core, 0.1 + seconds + 0.01)
    assert rest[-1]["type"] == "session.output_audio.fixture.played" and rest[-1]["client_event_id"] == "fx"
    played = b"".join(base64.b64decode(e["delta"]) for e in first + middle + rest if e["type"] == "session.output_audio.delta")
    assert abs(len(played) - len(fixture) / 6) <= 16  # μ-law at 8 kHz: a sixth of the bytes
    assert not said(rest)  # the caller spoke during the fixture: dropped, not answered


def test_appended_directions_and_commentary_are_spoken() -> None:
    core = session()
    send(core, 101.0, {"type": "session.instructions.append", "content": 'Say exactly: "One moment please."', "delegation_id": None, "event_id": "i1"})
    out = events(core, 101.0)
    assert out[0]["type"] == "session.instructions.appended" and out[0]["client_event_id"] == "i1"
    assert out[0]["start_ms"] == out[0]["end_ms"] == 1000
    assert said(out) == "One moment please."
    send(core, 102.0, {"type": "session.commentary.append", "content": "Your order shipped.", "delegation_id": None})
    # The voice layer's second utterance since the caller last spoke: a new word of its turn.
    assert said(events(core, 102.0)) == " Your order shipped."
    send(core, 103.0, {"type": "session.thinking.append", "content": "The caller seems rushed.", "delegation_id": None})
    assert [e["type"] for e in events(core, 103.0)] == ["session.thinking.appended"]


def test_a_16khz_session_hears_and_speaks_at_16khz() -> None:
    spoken = {}
    for rate in (24000, 16000):
        core = session(rate=rate)
        send(core, 101.0, {"type": "session.input_audio.append", "audio": speech("Hello there", rate)})
        out = events(core, 101.0)
        assert said(out) == "Hi! How can I help?"
        spoken[rate] = sum(len(base64.b64decode(e["delta"])) for e in out if e["type"] == "session.output_audio.delta")
    # The same answer, two thirds of the bytes (less the resampler's last few samples).
    assert abs(spoken[16000] - spoken[24000] * 2 / 3) < 200


def test_the_session_expires_with_session_closed_then_a_close() -> None:
    core = session(max_s=5.0)
    assert core.next_deadline() == 105.0
    out = events(core, 105.0)
    assert [e["type"] for e in out] == ["session.closed", "close"]
    assert out[0]["reason"] == "expired" and out[0]["usage"]["seconds"] == 5.0
    send(core, 106.0, {"type": "session.input_audio.mute"})
    assert core.poll(106.0) == [] and core.next_deadline() is None
