"""The session object: defaults, `session.update` merging and what it refuses."""

from __future__ import annotations

from session_harness import Harness


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


def test_voice_cannot_change_after_audio() -> None:
    h = Harness()
    assert not [e for e in h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}}}) if e["type"] == "error"]
    h.send({"type": "response.create"})
    out = h.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "verse"}}}})
    assert h.error(out)["code"] == "cannot_update_voice"
    assert h.core.session["audio"]["output"]["voice"] == "ash"
