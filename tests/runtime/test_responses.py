"""Responses: one `response.create` at a time, follow-ups, refused creates, fatal errors."""

from __future__ import annotations

import desk
from support import feed, frames, types
from triage import call_item, created, done, make

from agentkit.events import (
    ErrorEvent,
    GuardrailTripped,
)
from agentkit.runtime.policy import GuardrailSettings, SessionPolicy
from agentkit.runtime.supervisor import CloseSession


def test_no_response_create_while_a_response_is_active() -> None:
    sup = make()
    created(sup)
    sup.send_text("hello?")
    assert types(sup) == ["conversation.item.create"]
    sup.send_text("anyone?")
    assert types(sup) == ["conversation.item.create"]
    done(sup)
    assert types(sup) == ["response.create"]  # one, for both messages
    sup.send_text("and now?")
    assert types(sup) == ["conversation.item.create"]  # ours is in flight, not yet created


def test_a_server_started_response_satisfies_a_queued_request() -> None:
    sup = make()
    created(sup)
    sup.send_text("hi")
    frames(sup)
    done(sup)
    assert types(sup) == ["response.create"]
    created(sup, "resp_2")  # answers our request
    sup.send_text("more")
    frames(sup)
    feed(sup, {"type": "response.done", "response": {"id": "resp_2", "status": "completed"}})
    assert types(sup) == ["response.create"]
    created(sup, "resp_3")
    done(sup, "resp_3")
    feed(sup, {"type": "response.created", "response": {"id": "resp_vad"}})  # server VAD
    assert types(sup) == []


def test_refused_response_create_is_not_retried_into_a_loop() -> None:
    sup = make()
    sup.send_text("hi")
    sent = frames(sup)
    create_id = sent[1]["event_id"]
    feed(
        sup,
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "code": "conversation_already_has_active_response",
                "message": "busy",
                "event_id": create_id,
            },
        },
    )
    assert types(sup) == []
    (event,) = sup.events_to_emit()
    assert (
        isinstance(event, ErrorEvent) and event.code == "conversation_already_has_active_response"
    )
    sup.send_text("again")
    assert types(sup) == ["conversation.item.create", "response.create"]


def test_session_expired_closes_the_session() -> None:
    sup = make()
    feed(
        sup,
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "code": "session_expired",
                "message": "60 minutes",
            },
        },
    )
    (command,) = sup.commands()
    assert isinstance(command, CloseSession) and command.error.code == "session_expired"  # type: ignore[attr-defined]



# --- respond(): the app asks the agent to speak -----------------------------------------------


def test_respond_sends_one_response_create_with_its_instructions() -> None:
    sup = make()
    sup.respond("Greet the caller.")
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.create"]
    assert sent[0]["response"] == {"instructions": "Greet the caller."}
    assert sent[0]["event_id"].startswith("agentkit_rc_")  # ours: a refusal is recognised
    sup.respond()
    assert frames(sup) == []  # the first is still on its way: one at a time


def test_respond_waits_for_the_active_response_then_asks_once() -> None:
    sup = make()
    created(sup)
    sup.respond()
    assert frames(sup) == []
    done(sup)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["response.create"]
    assert "response" not in sent[0]  # no instructions: the agent's own


def test_awaiting_first_turn_until_something_is_asked_or_heard() -> None:
    sup = make()
    assert sup.awaiting_first_turn()
    sup.respond()
    assert not sup.awaiting_first_turn()  # owed, and the app has started

    heard = make()
    created(heard)  # a response the server started (server VAD)
    assert not heard.awaiting_first_turn()

    typed = make()
    typed.send_text("hi")
    assert not typed.awaiting_first_turn()


# --- which errors are ours, and which response is active ------------------------------------


def error(code: str, event_id: str | None = None) -> dict[str, object]:
    body = {"type": "invalid_request_error", "code": code, "message": code}
    return {"type": "error", "error": body if event_id is None else {**body, "event_id": event_id}}


def test_each_response_create_has_its_own_id_and_another_events_refusal_keeps_it_in_flight() -> None:
    sup = make()
    sup.send_text("hi")
    first = frames(sup)[-1]
    assert first["type"] == "response.create" and first["event_id"] == "agentkit_rc_1"
    sup.send_text("more")  # queued behind ours
    assert types(sup) == ["conversation.item.create"]
    feed(sup, error("invalid_value", "evt_someone_else"))  # not our response.create
    assert types(sup) == []  # ours is still on its way: still one at a time
    (event,) = sup.events_to_emit()
    assert isinstance(event, ErrorEvent) and event.code == "invalid_value"
    created(sup)
    assert sup.active_response_id == "resp_1"
    done(sup)
    assert sup.active_response_id is None
    (second,) = frames(sup)
    assert second["type"] == "response.create" and second["event_id"] == "agentkit_rc_2"


def test_after_our_cancel_only_the_crossed_cancel_is_hidden_from_the_app() -> None:
    sup = make()
    created(sup)
    sup.interrupt(1.0)
    assert types(sup) == ["response.cancel"]
    sup.events_to_emit()
    feed(sup, error("response_cancel_not_active"))  # crossed the response's end: expected
    assert sup.events_to_emit() == []
    feed(sup, error("rate_limit_exceeded"))  # anything else still reaches the app
    (event,) = sup.events_to_emit()
    assert isinstance(event, ErrorEvent) and event.code == "rate_limit_exceeded"


def test_another_responses_end_does_not_drop_an_output_check_under_way() -> None:
    sup = desk.make(policy=SessionPolicy(GuardrailSettings(output_debounce_chars=5)))
    desk.created(sup, "resp_1")
    desk.assistant_item(sup)
    desk.stream(sup, "response.output_text.delta", "resp_1", "a1", delta="The password ")
    # An out-of-band response (the app's own `response.create`) ends meanwhile.
    desk.done(sup, "resp_2")
    sup.events_to_emit()
    assert desk.run_checks(sup, tripped=True)
    (tripped,) = [e for e in sup.events_to_emit() if isinstance(e, GuardrailTripped)]
    assert tripped.guardrail_name == "no_secrets" and tripped.item_id == "a1"


def test_a_server_started_response_answers_queued_turns_but_not_a_queued_instruction() -> None:
    sup = make()
    created(sup)
    sup.send_text("and also...")  # queued: resp_1 is active
    created(sup, "resp_2")  # the server started one: it answers what was queued
    done(sup)
    done(sup, "resp_2")
    assert types(sup) == ["conversation.item.create"]  # and no response.create

    sup = make()
    created(sup)
    sup.respond("Apologise first.")  # queued instructions: a server response does not carry them
    created(sup, "resp_2")
    done(sup)
    done(sup, "resp_2")
    (sent,) = frames(sup)
    assert sent["type"] == "response.create"
    assert sent["response"] == {"instructions": "Apologise first."}


def test_an_answer_cut_off_by_a_drop_is_asked_for_again_unless_the_caller_cut_it_first() -> None:
    sup = make(can_reconnect=True)
    created(sup)
    sup.disconnected(reconnecting=True)
    sup.connected(now=1.0)
    assert types(sup) == ["session.update", "response.create"]

    cut = make(can_reconnect=True)
    created(cut)
    cut.interrupt(1.0)  # the caller cut it off: their next turn gets the answer
    cut.disconnected(reconnecting=True)
    cut.connected(now=2.0)
    assert types(cut) == ["session.update"]  # (the cancel died with the connection)


def test_a_create_the_drop_left_unanswered_is_asked_again_with_its_instructions() -> None:
    sup = make(can_reconnect=True)
    sup.respond("Greet the caller.")
    assert types(sup) == ["response.create"]
    sup.disconnected(reconnecting=True)  # before the service answered it
    sup.connected(now=1.0)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["session.update", "response.create"]
    assert sent[1]["response"] == {"instructions": "Greet the caller."}


def test_a_call_that_arrives_late_still_gets_its_follow_up_32_responses_on() -> None:
    sup = make()
    for n in range(1, 34):  # resp_1 ended, then 32 more
        created(sup, f"resp_{n}")
        done(sup, f"resp_{n}")
    frames(sup)
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": "resp_2",  # 31 responses back
            "output_index": 0,
            "item": call_item("call_late", "lookup"),
        },
    )
    sup.tool_finished("call_late", "found")
    assert types(sup) == ["conversation.item.create", "response.create"]


def test_one_cancel_per_response_even_when_a_trip_follows_a_barge_in() -> None:
    sup = desk.make(policy=SessionPolicy(GuardrailSettings(output_debounce_chars=5)))
    desk.created(sup, "resp_1")
    desk.assistant_item(sup)
    desk.stream(sup, "response.output_text.delta", "resp_1", "a1", delta="The password ")
    sup.interrupt(1.0)
    desk.run_checks(sup, tripped=True, now=1.1)
    assert types(sup).count("response.cancel") == 1


def test_a_check_back_after_its_response_ended_unfinished_changes_nothing() -> None:
    sup = desk.make(policy=SessionPolicy(GuardrailSettings(output_debounce_chars=5)))
    desk.created(sup, "resp_1")
    desk.assistant_item(sup)
    desk.stream(sup, "response.output_text.delta", "resp_1", "a1", delta="The password ")
    desk.done(sup, "resp_1", status="cancelled")  # no final text: the answer never finished
    frames(sup)
    sup.events_to_emit()
    desk.run_checks(sup, tripped=True)
    assert frames(sup) == []  # no cancel, no delete, no safe reply for a finished response
    assert not [e for e in sup.events_to_emit() if isinstance(e, GuardrailTripped)]
