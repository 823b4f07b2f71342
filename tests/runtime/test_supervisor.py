"""The sans-I/O supervisor façade: connecting, app calls, transcripts, the observer."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from support import feed, frames, new_supervisor, types
from triage import PCM_100MS, audio, created, done, make, triage

from agentkit import ServerVad, SessionSettings
from agentkit.errors import CompileError
from agentkit.events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioOut,
    HistoryAdded,
    InputAudioDropped,
    RawServerEvent,
    Reconnected,
    SessionStatus,
    StatusChanged,
    UserTranscript,
)
from agentkit.history import HistoryItem
from agentkit.runtime.supervisor import Supervisor


def test_connect_sends_session_update_and_reports_status() -> None:
    sup = new_supervisor(triage, SessionSettings(turn_detection=ServerVad()))
    sup.connecting()
    sup.connected()
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["session.update"]
    assert sent[0]["session"]["instructions"] == "You triage."
    assert {t["name"] for t in sent[0]["session"]["tools"]} == {
        "lookup",
        "slow_search",
        "transfer_to_billing",
    }
    assert sup.events_to_emit() == [
        StatusChanged(SessionStatus.DISCONNECTED, SessionStatus.CONNECTING),
        StatusChanged(SessionStatus.CONNECTING, SessionStatus.CONNECTED),
    ]
    sup.disconnected()
    assert sup.events_to_emit() == [
        StatusChanged(SessionStatus.CONNECTED, SessionStatus.DISCONNECTED)
    ]


def test_seeded_history_is_recreated_in_order() -> None:
    seed = [
        HistoryItem.user("I need help", item_id="h1"),
        HistoryItem.assistant("Sure.", item_id="h2"),
    ]
    sup = new_supervisor(triage, history=seed)
    sup.connected()
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["session.update", *["conversation.item.create"] * 2]
    assert sent[1]["item"]["id"] == "h1" and "previous_item_id" not in sent[1]
    assert sent[2]["previous_item_id"] == "h1"
    assert sent[2]["item"]["content"] == [{"type": "output_text", "text": "Sure."}]
    # The server's echo does not duplicate the seeded item.
    feed(
        sup, {"type": "conversation.item.added", "item": {**sent[1]["item"], "status": "completed"}}
    )
    assert [i.item_id for i in sup.history.items()] == ["h1", "h2"]


def test_push_to_talk_frames() -> None:
    sup = make(settings=SessionSettings(turn_detection=None))
    sup.send_audio(b"\x00\x01")
    sup.start_turn(0.0)
    sup.send_audio(b"\x02\x03")
    sup.end_turn()
    sent = frames(sup)
    assert [f["type"] for f in sent] == [
        "input_audio_buffer.append",
        "input_audio_buffer.clear",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "response.create",
    ]
    assert base64.b64decode(sent[2]["audio"]) == b"\x02\x03"
    assert sup.interrupt_response is False


def test_start_turn_while_the_assistant_speaks_interrupts_it() -> None:
    sup = make(settings=SessionSettings(turn_detection=None))
    created(sup)
    audio(sup, 0.0)
    sup.start_turn(0.05)
    assert types(sup) == [
        "conversation.item.truncate",
        "response.cancel",
        "input_audio_buffer.clear",
    ]


def test_transcripts_update_history_per_delta_and_emit_events() -> None:
    sup = make()
    created(sup)
    item = {
        "id": "item_a",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    feed(sup, {"type": "conversation.item.added", "item": item, "previous_item_id": None})
    pos = {"response_id": "resp_1", "item_id": "item_a", "output_index": 0, "content_index": 0}
    for delta in ["Hel", "lo ", "there."]:
        feed(sup, {"type": "response.output_audio_transcript.delta", **pos, "delta": delta})
    assert sup.history.get("item_a").text == "Hello there."  # type: ignore[union-attr]
    feed(
        sup, {"type": "response.output_audio_transcript.done", **pos, "transcript": "Hello there!"}
    )
    events = sup.events_to_emit()
    assert isinstance(events[1], HistoryAdded)
    assert [e.delta for e in events if isinstance(e, AssistantTranscriptDelta)] == [
        "Hel",
        "lo ",
        "there.",
    ]
    assert AssistantTranscript("item_a", "Hello there!") in events
    assert sup.history.get("item_a").text == "Hello there!"  # type: ignore[union-attr]


def test_user_transcript_completed() -> None:
    sup = make()
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": "u1", "type": "message", "role": "user", "content": []},
        },
    )
    feed(
        sup,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": "Where is my order?",
        },
    )
    assert UserTranscript("u1", "Where is my order?") in sup.events_to_emit()
    assert sup.history.get("u1").text == "Where is my order?"  # type: ignore[union-attr]


def test_agent_start_and_end_follow_responses() -> None:
    sup = make()
    created(sup)
    done(sup, status="cancelled")
    assert sup.events_to_emit() == [
        AgentStart("Triage", "resp_1"),
        AgentEnd("Triage", "resp_1", "cancelled"),
    ]


def test_raw_events_mode_emits_every_wire_event() -> None:
    sup = make(raw_events=True)
    created(sup)
    events = sup.events_to_emit()
    assert isinstance(events[0], RawServerEvent) and isinstance(events[1], AgentStart)


def test_beta_dialect_frames() -> None:
    sup = make(dialect="beta")
    feed(sup, {"type": "response.created", "response": {"id": "resp_1"}})
    feed(
        sup,
        {
            "type": "response.audio.delta",
            "response_id": "resp_1",
            "item_id": "item_a",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(PCM_100MS).decode(),
        },
    )
    assert any(isinstance(e, AudioOut) for e in sup.events_to_emit())
    sup.send_text("hi")
    sent = frames(sup)
    assert sent[0]["item"]["content"] == [{"type": "input_text", "text": "hi"}]


def test_importing_the_supervisor_loads_no_event_loop() -> None:
    import subprocess
    import sys

    # Load the supervisor without the package's __init__ (which pulls in the I/O layers on
    # purpose), so only what the supervisor itself needs is imported.
    code = (
        "import sys, types, pathlib, agentkit as _a\n"
        "path = list(_a.__path__)\n"
        "for name in [m for m in sys.modules if m == 'agentkit' or m.startswith('agentkit.')]:\n"
        "    del sys.modules[name]\n"
        "for name in ('asyncio', 'anyio', 'websockets'):\n"
        "    for m in [m for m in sys.modules if m == name or m.startswith(name + '.')]:\n"
        "        del sys.modules[m]\n"
        "pkg = types.ModuleType('agentkit'); pkg.__path__ = path; sys.modules['agentkit'] = pkg\n"
        "import agentkit.runtime.supervisor\n"
        "print(sorted({'asyncio', 'anyio', 'websockets'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _Log:
    """An observer (what `SessionTracer` is to the session) recording what it is told."""

    def __init__(self, event_types: set[type]) -> None:
        self.event_types = frozenset(event_types)
        self.seen: list[str] = []

    def observe(self, event: Any) -> None:
        self.seen.append(type(event).__name__)

    def response_requested(self) -> None:
        self.seen.append("response_requested")


def test_observer_hears_its_classes_first_audio_chunks_and_response_creates() -> None:
    from agentkit import protocol as p

    sup = make()
    log = _Log({AgentStart, AgentEnd, AudioOut, p.InputAudioBufferSpeechStopped})
    sup.observe_with(log)
    feed(sup, {"type": "input_audio_buffer.speech_started", "item_id": "u1", "audio_start_ms": 0})
    feed(sup, {"type": "input_audio_buffer.speech_stopped", "item_id": "u1", "audio_end_ms": 900})
    created(sup)
    for t in range(5):
        audio(sup, t * 0.1)  # one item: only its first chunk is reported
    done(sup)
    sup.send_text("and one more thing")  # asks for a response: a response.create goes out
    sup.send_raw({"type": "response.create"})  # the app's own counts too
    sup.send_raw({"type": "input_audio_buffer.clear"})

    assert log.seen == [
        "InputAudioBufferSpeechStopped",  # a wire event, before the supervisor handles it
        "AgentStart",
        "AudioOut",
        "AgentEnd",
        "response_requested",
        "response_requested",
    ]
    # The app still gets every event, each chunk included.
    assert [type(e).__name__ for e in sup.events_to_emit()].count("AudioOut") == 5

    told = len(log.seen)
    sup.observe_with(None)
    created(sup, "resp_2")
    done(sup, "resp_2")
    sup.send_raw({"type": "response.create"})
    assert len(log.seen) == told  # nothing more once detached
    assert "AgentStart" in [type(e).__name__ for e in sup.events_to_emit()]



# --- images ------------------------------------------------------------------------------------


def test_send_image_creates_a_user_item_with_an_input_image_then_asks_for_a_response() -> None:
    sup = make()
    sup.send_image("data:image/png;base64,iVBORw0K", text="What is this?", detail="low")
    create, response = frames(sup)
    assert create["type"] == "conversation.item.create"
    item = create["item"]
    assert item["role"] == "user" and item["type"] == "message"
    assert item["content"] == [
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0K", "detail": "low"},
        {"type": "input_text", "text": "What is this?"},
    ]
    assert response["type"] == "response.create"
    recorded = sup.history.get(item["id"])
    assert recorded is not None and (recorded.role, recorded.text) == ("user", "What is this?")


def test_send_image_without_a_response() -> None:
    sup = make()
    sup.send_image("data:image/jpeg;base64,/9j/", respond=False)
    assert types(sup) == ["conversation.item.create"]


def test_the_beta_dialect_refuses_an_image_before_anything_is_sent() -> None:
    sup = make(dialect="beta")
    before = len(sup.history)
    with pytest.raises(CompileError, match="beta dialect cannot send images; use the GA"):
        sup.send_image("data:image/png;base64,iVBORw0K", text="What is this?")
    assert frames(sup) == []
    assert len(sup.history) == before


# --- reconnects and turns, as the app sees them --------------------------------------------------


def reconnected_with(*history: HistoryItem) -> Supervisor:
    """A supervisor seeded with `history`, connected, dropped and connected again."""
    sup = new_supervisor(triage, can_reconnect=True, history=history)
    sup.connecting()
    sup.connected(now=0.0)
    sup.data_to_send()
    sup.events_to_emit()
    sup.disconnected(reconnecting=True)
    sup.connected(now=1.0)
    return sup


def test_a_reconnect_answers_the_callers_last_turn_only_when_it_was_the_last_item() -> None:
    hello, hi = HistoryItem.assistant("Hello!", item_id="a1"), HistoryItem.user("Hi", item_id="u1")
    unanswered = reconnected_with(hello, hi)
    assert types(unanswered)[-1] == "response.create"
    (reconnected,) = [e for e in unanswered.events_to_emit() if isinstance(e, Reconnected)]
    assert reconnected.attempt == 1  # the first reconnect is number 1
    answered = reconnected_with(hi, hello)
    assert "response.create" not in types(answered)


def test_audio_in_a_text_only_session_is_reported_chunk_by_chunk() -> None:
    sup = make()
    sup.disconnected(reconnecting=True)
    sup.connected(now=1.0, text_only=True)
    sup.events_to_emit()
    sup.send_audio(b"\x00" * 480)
    assert [e for e in sup.events_to_emit() if isinstance(e, InputAudioDropped)] == [
        InputAudioDropped(1, 480, "text-only session")
    ]


def test_a_push_to_talk_turn_means_the_app_has_started() -> None:
    sup = make()
    assert sup.awaiting_first_turn()
    sup.start_turn(0.0)
    assert not sup.awaiting_first_turn()


def test_an_answer_the_drop_cut_off_is_kept_as_incomplete() -> None:
    sup = make(can_reconnect=True)
    created(sup)
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": "a1", "type": "message", "role": "assistant", "status": "in_progress"},
        },
    )
    sup.disconnected(reconnecting=True)
    item = sup.history.get("a1")
    assert item is not None and item.status == "incomplete"


def test_the_first_turn_is_over_once_the_conversation_changed_or_the_app_sent_anything() -> None:
    added = make()
    feed(
        added,
        {
            "type": "conversation.item.added",
            "item": {"id": "u1", "type": "message", "role": "user", "content": []},
        },
    )
    assert not added.awaiting_first_turn()  # the caller's turn, before any response

    seeded = new_supervisor(triage, history=[HistoryItem.user("Earlier", item_id="u0")])
    seeded.connecting()
    seeded.connected()
    assert seeded.awaiting_first_turn()
    feed(seeded, {"type": "conversation.item.deleted", "item_id": "u0"})
    assert not seeded.awaiting_first_turn()  # fewer items than seeded: it changed too

    raw = make()
    raw.send_raw({"type": "input_audio_buffer.clear"})
    assert not raw.awaiting_first_turn()
