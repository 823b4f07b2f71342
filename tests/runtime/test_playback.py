"""Playback and interruption: what was heard, truncation, cancels, cancelled tools."""

from __future__ import annotations

import base64

from support import feed, frames, types
from triage import PCM_100MS, audio, call_done, created, done, make, speech_started

from agentkit import ServerVad, SessionSettings
from agentkit.events import (
    AudioEnd,
    AudioInterrupted,
    AudioOut,
)
from agentkit.runtime.supervisor import CancelTool, Supervisor


def test_barge_in_truncates_at_the_clock_estimate_and_leaves_cancel_to_the_server() -> None:
    sup = make(settings=SessionSettings(turn_detection=ServerVad(interrupt_response=True)))
    created(sup)
    for i in range(3):
        audio(sup, 10.0 + i * 0.01)  # 300 ms received, playback started at t=10
    sup.events_to_emit()
    speech_started(sup, 10.150)
    assert frames(sup) == [
        {
            "type": "conversation.item.truncate",
            "item_id": "item_a",
            "content_index": 0,
            "audio_end_ms": 150,
        }
    ]
    assert sup.events_to_emit() == [AudioInterrupted("item_a", 0, 150)]
    audio(sup, 10.2)  # late audio of the interrupted response is never played
    assert not any(isinstance(e, AudioOut) for e in sup.events_to_emit())


def test_estimate_is_bounded_by_the_audio_received() -> None:
    sup = make()
    created(sup)
    audio(sup, 0.0)
    audio(sup, 0.0)  # 200 ms
    speech_started(sup, 5.0)  # wall clock says 5 s
    (truncate,) = frames(sup)
    assert truncate["audio_end_ms"] == 200


def test_reported_playback_position_wins_over_the_clock() -> None:
    sup = make()
    created(sup)
    for _ in range(5):
        audio(sup, 0.0)  # 500 ms
    sup.playback_position("item_a", 320)
    speech_started(sup, 0.4)
    (truncate,) = frames(sup)
    assert truncate["audio_end_ms"] == 320


def test_g711_output_is_measured_at_8_khz() -> None:
    sup = make(settings=SessionSettings(output_audio_format="g711_ulaw"))
    created(sup)
    audio(sup, 0.0, chunk=b"\xff" * 800)  # 100 ms of G.711
    speech_started(sup, 1.0)
    (truncate,) = frames(sup)
    assert truncate["audio_end_ms"] == 100


def test_nothing_played_means_no_truncate() -> None:
    sup = make()
    created(sup)
    audio(sup, 3.0)
    speech_started(sup, 3.0)
    assert frames(sup) == []
    assert sup.events_to_emit()[-1] == AudioInterrupted("item_a", 0, 0)


def test_finished_playback_is_not_interrupted() -> None:
    sup = make()
    created(sup)
    audio(sup, 0.0)
    done(sup)
    sup.playback_position("item_a", 100, finished=True)
    sup.events_to_emit()
    speech_started(sup, 9.0)
    assert frames(sup) == []
    assert sup.events_to_emit() == []


def test_server_without_interrupt_response_gets_a_cancel() -> None:
    sup = make(settings=SessionSettings(turn_detection=ServerVad(interrupt_response=False)))
    created(sup)
    audio(sup, 0.0)
    speech_started(sup, 0.05)
    assert types(sup) == ["conversation.item.truncate", "response.cancel"]


def test_effective_session_from_the_server_decides_the_cancel() -> None:
    sup = make()  # asked for interrupt_response (the default)
    session = {
        "type": "realtime",
        "audio": {"input": {"turn_detection": {"type": "server_vad", "interrupt_response": False}}},
    }
    feed(sup, {"type": "session.updated", "session": session})
    created(sup)
    audio(sup, 0.0)
    speech_started(sup, 0.05)
    assert types(sup) == ["conversation.item.truncate", "response.cancel"]


def test_manual_interrupt_always_cancels_the_active_response() -> None:
    sup = make()
    created(sup)
    audio(sup, 0.0)
    sup.interrupt(0.05)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["conversation.item.truncate", "response.cancel"]
    assert sent[1]["response_id"] == "resp_1"
    sup.interrupt(0.06)  # nothing left to interrupt
    assert frames(sup) == []


def test_interruption_cancels_cancellable_tools_with_one_output_and_no_follow_up() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_s", "slow_search")
    call_done(sup, "call_l", "lookup")
    sup.commands()
    speech_started(sup, 0.0)
    assert sup.commands() == [CancelTool("call_s")]
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["conversation.item.create"]
    assert sent[0]["item"]["call_id"] == "call_s"
    assert "cancelled" in sent[0]["item"]["output"]
    sup.tool_finished("call_s", "too late")  # ignored: one output per call
    done(sup, status="cancelled")
    sup.tool_finished("call_l", "done")
    assert types(sup) == ["conversation.item.create"]  # no response.create for a cut response



def audio_of(sup: Supervisor, item_id: str, now: float, chunk: bytes = PCM_100MS) -> None:
    feed(
        sup,
        {
            "type": "response.output_audio.delta",
            "response_id": "resp_1",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(chunk).decode(),
        },
        now,
    )


def test_a_position_reported_without_finished_still_gets_cut() -> None:
    sup = make()
    created(sup)
    audio(sup, 0.0)
    done(sup)  # the response is over; the app is still playing its audio
    sup.playback_position("item_a", 40)
    speech_started(sup, 9.0)
    (truncate,) = frames(sup)
    assert truncate["audio_end_ms"] == 40
    assert sup.events_to_emit()[-1] == AudioInterrupted("item_a", 0, 40)


def test_a_position_reported_for_another_item_is_ignored() -> None:
    sup = make()
    created(sup)
    for _ in range(5):
        audio_of(sup, "item_b", 0.0)  # 500 ms
    sup.playback_position("item_a", 320)  # an earlier item (its id sorts first)
    speech_started(sup, 0.2)
    (truncate,) = frames(sup)
    assert (truncate["item_id"], truncate["audio_end_ms"]) == ("item_b", 200)


def test_a_new_item_starts_its_own_playback_whatever_its_id() -> None:
    for first, second in (("item_a", "item_b"), ("item_b", "item_a")):
        sup = make()
        created(sup)
        audio_of(sup, first, 0.0)
        audio_of(sup, second, 1.0)  # the next item
        started = [e.item_id for e in sup.events_to_emit() if isinstance(e, AudioOut)]
        assert started == [first, second]
        speech_started(sup, 1.05)
        (truncate,) = frames(sup)
        assert (truncate["item_id"], truncate["audio_end_ms"]) == (second, 50)


def test_received_audio_counts_fractions_of_a_millisecond() -> None:
    sup = make()
    created(sup)
    for _ in range(10):
        audio(sup, 0.0, chunk=b"\x00" * 72)  # 1.5 ms each
    speech_started(sup, 5.0)  # long after: everything received was heard
    (truncate,) = frames(sup)
    assert truncate["audio_end_ms"] == 15


def test_a_1_ms_cut_is_still_truncated() -> None:
    sup = make()
    created(sup)
    audio(sup, 3.0)
    speech_started(sup, 3.0015)
    (truncate,) = frames(sup)
    assert truncate["audio_end_ms"] == 1


def test_audio_end_is_reported_unless_the_caller_cut_the_response_off() -> None:
    sup = make()
    created(sup)
    audio(sup, 0.0)
    audio_done = {
        "type": "response.output_audio.done",
        "response_id": "resp_1",
        "item_id": "item_a",
        "output_index": 0,
        "content_index": 0,
    }
    feed(sup, audio_done)
    assert sup.events_to_emit()[-1] == AudioEnd("item_a", 0)
    created(sup, "resp_2")
    audio(sup, 1.0, rid="resp_2")
    sup.interrupt(1.05)
    sup.events_to_emit()
    feed(sup, {**audio_done, "response_id": "resp_2"})
    assert not [e for e in sup.events_to_emit() if isinstance(e, AudioEnd)]


def test_audio_of_a_finished_response_is_cut_only_while_it_still_plays() -> None:
    sup = make()
    created(sup)
    for _ in range(3):
        audio(sup, 0.0)  # 300 ms
    done(sup)
    speech_started(sup, 0.1)  # 100 ms heard: still playing
    assert frames(sup)[0]["audio_end_ms"] == 100
    assert AudioInterrupted("item_a", 0, 100) in sup.events_to_emit()

    heard = make()
    created(heard)
    for _ in range(3):
        audio(heard, 0.0)
    done(heard)
    heard.events_to_emit()
    speech_started(heard, 1.0)  # all 300 ms heard by now: nothing to cut
    assert frames(heard) == [] and heard.events_to_emit() == []


def test_the_servers_session_decides_the_cancel_and_the_audio_rate() -> None:
    sup = make(settings=SessionSettings(turn_detection=ServerVad(interrupt_response=False)))
    session = {
        "type": "realtime",
        "audio": {
            "input": {"turn_detection": {"type": "server_vad", "interrupt_response": True}},
            "output": {"format": {"type": "audio/opus"}},  # unknown: the rate stays
        },
    }
    feed(sup, {"type": "session.updated", "session": session})
    created(sup)
    audio(sup, 0.0)
    speech_started(sup, 0.05)
    assert types(sup) == ["conversation.item.truncate"]  # the server cancels it itself


def test_a_cancelled_tool_of_an_ended_response_gets_no_follow_up() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_s", "slow_search")
    done(sup)  # the response ended; its cancellable tool still runs
    sup.commands()
    frames(sup)
    speech_started(sup, 1.0)  # the caller speaks: their turn gets the answer
    assert sup.commands() == [CancelTool("call_s")]
    assert types(sup) == ["conversation.item.create"]  # the output, no response.create
