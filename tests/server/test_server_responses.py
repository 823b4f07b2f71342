"""Responses: pacing in due times, barge-in and cancel closing with what was heard."""

from __future__ import annotations

import pybase64
import pytest
from session_harness import Harness, speech

from agentkit import audio


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
