"""The guardrail gate: typed and spoken input held for checks, output checks, trips."""

from __future__ import annotations

from desk import PCM_100MS, assistant_item, created, done, make, run_checks, stream
from support import feed, frames

from agentkit import SessionSettings
from agentkit.events import (
    AssistantTranscript,
    AudioInterrupted,
    AudioOut,
    ErrorEvent,
    GuardrailTripped,
    HistoryUpdated,
)
from agentkit.runtime.policy import (
    GuardrailSettings,
    GuardrailVerdict,
    SessionPolicy,
)
from agentkit.runtime.supervisor import RunGuardrails, Supervisor


def test_typed_input_trip_is_never_sent_and_the_safe_reply_is_asked_for() -> None:
    sup = make()
    sup.send_text("you idiot")
    assert frames(sup) == []  # held for the check
    run_checks(sup, tripped=True)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.create"]
    assert "Let's keep it civil." in sent[0]["response"]["instructions"]
    (tripped,) = [e for e in sup.events_to_emit() if isinstance(e, GuardrailTripped)]
    assert (tripped.guardrail_name, tripped.stage, tripped.safe_reply) == (
        "civil",
        "input",
        "Let's keep it civil.",
    )
    (item,) = sup.history.items()
    assert item.text == "you idiot" and item.guardrail == "civil"


def test_typed_input_that_passes_goes_out_in_order() -> None:
    sup = make()
    sup.send_text("first")
    sup.send_text("second")
    checks = [c for c in sup.commands() if isinstance(c, RunGuardrails)]
    sup.guardrails_finished(checks[1].check_id, GuardrailVerdict(), 0.0)
    assert frames(sup) == []  # the second waits for the first
    sup.guardrails_finished(checks[0].check_id, GuardrailVerdict(), 0.0)
    sent = frames(sup)
    texts = [
        f["item"]["content"][0]["text"] for f in sent if f["type"] == "conversation.item.create"
    ]
    assert texts == ["first", "second"]
    assert [f["type"] for f in sent].count("response.create") == 1


def test_audio_input_trip_before_any_audio_reaches_the_app() -> None:
    sup = make()
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"})
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": "u1", "type": "message", "role": "user", "content": []},
        },
    )
    created(sup)  # server VAD answers at once
    assistant_item(sup)
    for _ in range(3):
        stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
    stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta="Sure")
    events = sup.events_to_emit()
    assert not any(isinstance(e, AudioOut) for e in events)  # held
    feed(
        sup,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": "you idiot",
        },
    )
    run_checks(sup, tripped=True)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.cancel", "conversation.item.delete"]
    assert sent[1]["item_id"] == "u1"
    events = sup.events_to_emit()
    assert not any(isinstance(e, AudioOut) for e in events)
    (tripped,) = [e for e in events if isinstance(e, GuardrailTripped)]
    assert tripped.item_id == "u1" and tripped.response_id == "resp_1"
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)  # late audio
    feed(sup, {"type": "conversation.item.deleted", "item_id": "u1"})
    done(sup, status="cancelled")
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.create"]
    assert "civil" in sent[0]["response"]["instructions"]
    assert not any(isinstance(e, AudioOut) for e in sup.events_to_emit())
    assert sup.history.get("u1") is not None and sup.history.get("u1").guardrail == "civil"  # type: ignore[union-attr]


def test_audio_input_that_passes_releases_the_held_response_in_order() -> None:
    sup = make()
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"})
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
    stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta="Hi")
    sup.events_to_emit()
    feed(
        sup,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": "hello",
        },
    )
    run_checks(sup, tripped=False)
    kinds = [e.type for e in sup.events_to_emit()]
    assert kinds[-2:] == ["audio", "assistant_transcript_delta"]


def test_a_missing_transcript_does_not_hold_the_response_forever() -> None:
    sup = make()
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"}, now=10.0)
    created(sup)
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
    assert sup.next_deadline() == 15.0
    sup.tick(15.0)
    events = sup.events_to_emit()
    assert any(isinstance(e, ErrorEvent) and e.code == "input_check_timeout" for e in events)
    assert any(isinstance(e, AudioOut) for e in events)


def test_output_trip_mid_sentence_cancels_truncates_and_speaks_the_safe_reply() -> None:
    policy = SessionPolicy(GuardrailSettings(output_debounce_chars=10))
    sup = make(policy=policy)
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS, now=1.0)
    for word in ["Your ", "password ", "is ", "hunter2"]:
        stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta=word)
    checks = run_checks(sup, tripped=True, now=1.05)
    assert checks and checks[0].stage == "output"
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.cancel", "conversation.item.truncate"]
    assert sent[1]["audio_end_ms"] == 50  # 50 ms of the 100 ms received were played
    events = sup.events_to_emit()
    kinds = [e.type for e in events]
    assert kinds.index("audio_interrupted") < kinds.index("guardrail_tripped")
    assert next(e for e in events if isinstance(e, AudioInterrupted)).played_ms == 50
    # Nothing of the tripped text is reported final, late or not.
    stream(
        sup,
        "response.output_audio_transcript.done",
        "resp_1",
        "a1",
        transcript="Your password is hunter2",
    )
    done(sup, status="cancelled")
    assert not any(isinstance(e, AssistantTranscript) for e in sup.events_to_emit())
    item = sup.history.get("a1")
    assert item is not None and item.guardrail == "no_secrets"
    follow = frames(sup)
    assert [f["type"] for f in follow] == ["response.create"]
    assert "I'm sorry, I can't help with that." in follow[0]["response"]["instructions"]


def test_output_over_webrtc_also_clears_the_output_audio_buffer() -> None:
    sup = make(
        policy=SessionPolicy(GuardrailSettings(output_debounce_chars=5)), output_audio_buffer=True
    )
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta="the password")
    run_checks(sup, tripped=True)
    assert [f["type"] for f in frames(sup)][:2] == ["response.cancel", "output_audio_buffer.clear"]


def test_final_transcript_waits_for_the_output_check() -> None:
    sup = make()
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio_transcript.delta", "resp_1", "a1", delta="All good.")
    stream(sup, "response.output_audio_transcript.done", "resp_1", "a1", transcript="All good.")
    assert not any(isinstance(e, AssistantTranscript) for e in sup.events_to_emit())
    run_checks(sup, tripped=False)
    assert [e for e in sup.events_to_emit() if isinstance(e, AssistantTranscript)] == [
        AssistantTranscript("a1", "All good.")
    ]



# --- what each check decides, as the caller and the app see it -------------------------------


def debounced(chars: int) -> Supervisor:
    return make(policy=SessionPolicy(GuardrailSettings(output_debounce_chars=chars)))


def spoken_turn(sup: Supervisor, transcript: str) -> None:
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"})
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": "u1", "type": "message", "role": "user", "content": []},
        },
    )
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
    feed(
        sup,
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": transcript,
        },
    )


def test_the_output_is_checked_once_every_debounce_chars_not_sooner() -> None:
    sup = debounced(5)
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_text.delta", "resp_1", "a1", delta="1234")
    assert sup.commands() == []
    stream(sup, "response.output_text.delta", "resp_1", "a1", delta="5")
    (check,) = sup.commands()
    assert isinstance(check, RunGuardrails) and check.text == "12345"
    stream(sup, "response.output_text.delta", "resp_1", "a1", delta="6789")
    assert sup.commands() == []
    stream(sup, "response.output_text.delta", "resp_1", "a1", delta="0")
    (again,) = sup.commands()
    assert isinstance(again, RunGuardrails) and again.text == "1234567890"


def test_a_check_that_failed_is_reported_to_the_app() -> None:
    sup = make()
    sup.send_text("hello")
    (check,) = sup.commands()
    assert isinstance(check, RunGuardrails)
    sup.guardrails_finished(check.check_id, GuardrailVerdict(errors=(("civil", "boom"),)), 0.0)
    (error,) = [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]
    assert error.code == "guardrail_error" and str(error.error) == "guardrail 'civil' failed: boom"
    assert [f["type"] for f in frames(sup)] == ["conversation.item.create", "response.create"]


def test_a_typed_message_that_passes_does_not_release_a_later_one_still_checked() -> None:
    sup = make()
    sup.send_text("first")
    sup.send_text("second")
    first, _second = sup.commands()
    assert isinstance(first, RunGuardrails)
    sup.guardrails_finished(first.check_id, GuardrailVerdict(), 0.0)
    sent = [f for f in frames(sup) if f["type"] == "conversation.item.create"]
    assert [f["item"]["content"][0]["text"] for f in sent] == ["first"]


def test_the_final_transcript_waits_for_the_final_check_not_an_earlier_one() -> None:
    sup = debounced(5)
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_text.delta", "resp_1", "a1", delta="Your password")
    (early,) = sup.commands()
    stream(sup, "response.output_text.done", "resp_1", "a1", text="Your password is x")
    (final,) = sup.commands()
    assert isinstance(early, RunGuardrails) and isinstance(final, RunGuardrails)
    sup.guardrails_finished(early.check_id, GuardrailVerdict(), 0.0)  # the start was fine
    assert not [e for e in sup.events_to_emit() if isinstance(e, AssistantTranscript)]
    sup.guardrails_finished(final.check_id, GuardrailVerdict(), 0.0)
    (transcript,) = [e for e in sup.events_to_emit() if isinstance(e, AssistantTranscript)]
    assert transcript.transcript == "Your password is x"


def test_without_input_transcription_a_spoken_turn_is_not_held() -> None:
    sup = make(settings=SessionSettings())  # no transcript will ever come to check
    feed(sup, {"type": "input_audio_buffer.committed", "item_id": "u1"})
    created(sup)
    stream(sup, "response.output_audio.delta", "resp_1", "a1", delta=PCM_100MS)
    assert any(isinstance(e, AudioOut) for e in sup.events_to_emit())


def test_an_input_trip_marks_the_turn_in_the_history_the_app_sees() -> None:
    sup = make()
    spoken_turn(sup, "you idiot")
    sup.events_to_emit()
    run_checks(sup, tripped=True)
    (updated,) = [e for e in sup.events_to_emit() if isinstance(e, HistoryUpdated)]
    assert updated.item.item_id == "u1" and updated.item.guardrail == "civil"


def test_an_input_trip_after_the_held_response_ended_sends_no_cancel_and_asks_for_the_reply() -> None:
    sup = make()
    spoken_turn(sup, "you idiot")
    done(sup)  # held, like the rest of the response
    run_checks(sup, tripped=True)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["conversation.item.delete", "response.create"]
    assert "civil" in sent[1]["response"]["instructions"]
    (tripped,) = [e for e in sup.events_to_emit() if isinstance(e, GuardrailTripped)]
    assert tripped.response_id is None


def test_a_final_output_check_that_trips_after_the_response_ended_sends_no_cancel() -> None:
    sup = debounced(1000)
    created(sup)
    assistant_item(sup)
    stream(sup, "response.output_text.delta", "resp_1", "a1", delta="The password is x")
    stream(sup, "response.output_text.done", "resp_1", "a1", text="The password is x")
    done(sup)
    frames(sup)
    sup.events_to_emit()
    run_checks(sup, tripped=True)
    sent = frames(sup)
    # Text only (nothing playing): the item is taken out of the model's context.
    assert [f["type"] for f in sent] == ["conversation.item.delete", "response.create"]
    assert sent[0]["item_id"] == "a1"
    events = sup.events_to_emit()
    (tripped,) = [e for e in events if isinstance(e, GuardrailTripped)]
    assert tripped.response_id is None
    (updated,) = [e for e in events if isinstance(e, HistoryUpdated)]
    assert updated.item.guardrail == "no_secrets"
