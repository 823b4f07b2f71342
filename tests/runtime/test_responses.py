"""Responses: one `response.create` at a time, follow-ups, refused creates, fatal errors."""

from __future__ import annotations

from support import feed, frames, types
from triage import created, done, make

from agentkit.events import (
    ErrorEvent,
)
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
