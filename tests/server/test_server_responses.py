"""Responses: pacing in due times, barge-in and cancel closing with what was heard."""

from __future__ import annotations

import pybase64
import pytest
from session_harness import Harness, speech

from agentkit import audio
from agentkit.server.session_config import ResponseLatency


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


def test_a_custom_voice_is_named_by_its_id_on_the_response() -> None:
    # The session takes a custom voice object; the response object's `voice` is a string
    # (found by the fuzz test: the object was echoed and broke the SDK's type).
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": {"id": "voice_1234"}}}}})
    h.send({"type": "response.create"})  # every event is validated against the SDK types
    h.advance(60)
    done = [e["response"] for e in h.events if e["type"] == "response.done"]
    assert [r["audio"]["output"]["voice"] for r in done] == ["voice_1234"]


def _user_text(h: Harness, text: str = "anything") -> None:
    h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})


def test_response_latency_delays_the_first_output_not_response_created() -> None:
    h = Harness(pace="realtime", response_latency=ResponseLatency.fixed(300))
    _user_text(h)
    out = h.send({"type": "response.create"})
    # The service acknowledges at once; the model takes its time to answer.
    assert h.types(out) == ["response.created", "rate_limits.updated"]
    assert h.core.next_deadline() == pytest.approx(h.now + 0.3)
    assert h.advance(0.299) == []
    out = h.advance(0.001)
    assert h.types(out)[:2] == ["response.output_item.added", "conversation.item.added"]
    assert len([e for e in out if e["type"] == "response.output_audio.delta"]) == 1
    # The response is active while the model "thinks": a second one is refused, a cancel
    # closes it with no output.
    h2 = Harness(pace="fast", response_latency=ResponseLatency.fixed(250))
    _user_text(h2)
    h2.send({"type": "response.create"})
    assert h2.error(h2.send({"type": "response.create"}))["code"] == "conversation_already_has_active_response"
    done = h2.send({"type": "response.cancel"})[-1]["response"]
    assert done["status"] == "cancelled" and done["output"] == []
    assert not [e for e in h2.advance(1) if e["type"].startswith("response.output")]


def test_response_latency_at_fast_pace_is_zero_by_default_and_applies_when_set() -> None:
    h = Harness(pace="fast", response_latency=None)
    _user_text(h)
    assert h.types(h.send({"type": "response.create"}))[-1] == "response.done"
    h = Harness(pace="fast", response_latency=ResponseLatency.fixed(120))
    _user_text(h)
    assert "response.done" not in h.types(h.send({"type": "response.create"}))
    assert h.types(h.advance(0.12))[-1] == "response.done"


def _first_output_delays(latency: ResponseLatency | None, pace: str = "realtime", turns: int = 5) -> list[float]:
    h = Harness(pace=pace, response_latency=latency)
    delays: list[float] = []
    for _ in range(turns):
        _user_text(h)
        start = h.now
        h.send({"type": "response.create"})
        deadline = h.core.next_deadline()
        assert deadline is not None
        delays.append(round((deadline - start) * 1000, 6))
        h.advance(60)
    return delays


def test_a_latency_distribution_is_drawn_from_its_seed() -> None:
    spread = ResponseLatency(200, 600, seed=1)
    first = _first_output_delays(spread)
    assert all(200 <= d <= 600 for d in first) and len(set(first)) > 1
    assert _first_output_delays(spread) == first  # the same seed, the same delays
    assert _first_output_delays(ResponseLatency(200, 600, seed=2)) != first
    # Real-time pace defaults to a realistic spread; fast pace to none.
    assert all(300 <= d <= 700 for d in _first_output_delays(None))
