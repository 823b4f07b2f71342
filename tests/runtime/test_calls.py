"""Function calls: one dispatch and exactly one output per call id; handoff ordering."""

from __future__ import annotations

import orjson
from support import feed, frames, new_supervisor, types
from triage import audio, billing, call_done, call_item, created, done, lookup, make, triage

from agentkit import RealtimeAgent, SessionSettings, handoff
from agentkit.errors import CompileError, ProtocolError
from agentkit.events import (
    AgentStart,
    ErrorEvent,
    HandoffEvent,
    ToolEnd,
    ToolStart,
)
from agentkit.runtime.supervisor import RunHandoff, RunTool


def test_tool_output_then_one_response_create_after_response_done() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_1", "lookup")
    (command,) = sup.commands()
    assert isinstance(command, RunTool) and command.tool is lookup and command.call_id == "call_1"
    assert any(isinstance(e, ToolStart) for e in sup.events_to_emit())
    sup.tool_finished("call_1", "found it")
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["conversation.item.create"]  # response still active
    assert sent[0]["item"] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": "found it",
        "id": "ak_item_1",  # a client id: the echo refreshes the entry recorded when sent
    }
    done(sup, output=[call_item("call_1", "lookup")])
    assert types(sup) == ["response.create"]


def test_response_create_waits_for_every_call_of_the_response() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_1", "lookup")
    call_done(sup, "call_2", "lookup")
    assert len(sup.commands()) == 2
    done(sup)
    sup.tool_finished("call_2", "b")
    assert types(sup) == ["conversation.item.create"]
    sup.tool_finished("call_1", "a")
    assert types(sup) == ["conversation.item.create", "response.create"]


def test_exactly_one_output_per_call_id() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_1", "lookup")
    # The same call again, and listed in response.done: dispatched once.
    call_done(sup, "call_1", "lookup")
    done(sup, output=[call_item("call_1", "lookup")])
    assert len(sup.commands()) == 1
    sup.tool_finished("call_1", "a")
    sup.tool_finished("call_1", "again")
    assert types(sup) == ["conversation.item.create", "response.create"]
    call_done(sup, "call_1", "lookup", rid="resp_2")  # a replay after the answer
    assert sup.commands() == []


def test_call_only_seen_in_response_done_is_still_dispatched() -> None:
    sup = make()
    created(sup)
    done(sup, output=[call_item("call_9", "lookup")])
    (command,) = sup.commands()
    assert isinstance(command, RunTool) and command.call_id == "call_9"


def test_function_call_item_without_call_id_is_reported_and_never_dispatched() -> None:
    sup = make()
    created(sup)
    sup.events_to_emit()
    bad = {"id": "item_bad", "type": "function_call", "name": "lookup", "arguments": "{}"}
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": "resp_1",
            "output_index": 0,
            "item": bad,
        },
    )
    (error,) = sup.events_to_emit()
    assert isinstance(error, ErrorEvent) and isinstance(error.error, ProtocolError)
    assert str(error.error) == f"function call without call_id/name: {bad!r}"
    assert sup.commands() == []
    assert "item_bad" not in sup.history
    # Listed again in response.done, before a call that was missed: reported again, in
    # output order, and the well-formed call still starts.
    done(sup, output=[bad, call_item("call_9", "lookup")])
    events = sup.events_to_emit()
    assert [type(e).__name__ for e in events[:2]] == ["ErrorEvent", "ToolStart"]
    assert isinstance(events[0], ErrorEvent) and str(events[0].error) == str(error.error)
    (command,) = sup.commands()
    assert isinstance(command, RunTool) and command.call_id == "call_9"


def test_unknown_tool_is_dispatched_with_no_tool_for_the_runner_to_answer() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_1", "no_such_tool")
    (command,) = sup.commands()
    assert isinstance(command, RunTool) and command.tool is None


def test_tool_end_event_carries_output_and_error() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_1", "lookup")
    sup.events_to_emit()
    sup.tool_finished("call_1", '{"error":"timeout"}', error="timeout")
    assert sup.events_to_emit() == [
        ToolEnd("call_1", "lookup", '{"error":"timeout"}', "Triage", "timeout")
    ]


def test_handoff_wire_order_update_then_output_then_response_create() -> None:
    sup = make()
    created(sup)
    audio(sup, 0.0)  # the session has produced audio: the voice must stay
    call_done(sup, "call_h", "transfer_to_billing", arguments="{}")
    (command,) = sup.commands()
    assert isinstance(command, RunHandoff) and command.handoff.agent_name == "Billing"
    frames(sup)
    sup.handoff_finished("call_h", billing, "You do billing.")
    done(sup)
    sent = frames(sup)
    assert [f["type"] for f in sent] == [
        "session.update",
        "conversation.item.create",
        "response.create",
    ]
    session = sent[0]["session"]
    assert session["instructions"] == "You do billing."
    assert "model" not in session
    assert "voice" not in session.get("audio", {}).get("output", {})
    assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert [t["name"] for t in session["tools"]] == ["transfer_to_triage"]
    assert sent[1]["item"]["call_id"] == "call_h"
    assert orjson.loads(sent[1]["item"]["output"]) == {"assistant": "Billing"}
    assert sup.agent is billing
    events = sup.events_to_emit()
    assert HandoffEvent("Triage", "Billing", "call_h") in events
    # The next response is the new agent's.
    created(sup, "resp_2")
    assert AgentStart("Billing", "resp_2") in sup.events_to_emit()


def test_handoff_before_audio_keeps_the_new_agents_voice_and_handing_back_works() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_h", "transfer_to_billing", arguments="{}")
    sup.commands()
    sup.handoff_finished("call_h", billing, "You do billing.")
    update = frames(sup)[0]
    assert update["session"]["audio"]["output"]["voice"] == "ash"
    done(sup)
    frames(sup)
    created(sup, "resp_2")
    call_done(sup, "call_back", "transfer_to_triage", rid="resp_2", arguments="{}")
    (command,) = sup.commands()
    assert isinstance(command, RunHandoff)
    sup.handoff_finished("call_back", triage, "You triage.")
    done(sup, "resp_2")
    assert types(sup) == ["session.update", "conversation.item.create", "response.create"]
    assert sup.agent is triage


def test_refused_handoff_tells_the_model_and_keeps_the_agent() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_h", "transfer_to_billing", arguments="{}")
    sup.commands()
    sup.handoff_failed("call_h", '{"error":"invalid_arguments"}')
    done(sup)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["conversation.item.create", "response.create"]
    assert sup.agent is triage


def test_update_agent_sends_only_the_swap() -> None:
    sup = make()
    sup.update_agent(billing, "You do billing.")
    assert types(sup) == ["session.update"]
    assert sup.events_to_emit() == [HandoffEvent("Triage", "Billing", None)]


def test_handoff_with_input_type_is_offered_with_its_schema() -> None:
    from pydantic import BaseModel

    class Reason(BaseModel):
        reason: str

    agent = RealtimeAgent(
        name="A", instructions="a", handoffs=[handoff(billing, input_type=Reason)]
    )
    sup = new_supervisor(agent)
    sup.connected()
    (update,) = frames(sup)
    (transfer,) = update["session"]["tools"]
    assert transfer["parameters"]["required"] == ["reason"]



def test_a_call_that_arrives_after_its_own_response_done_still_gets_the_follow_up() -> None:
    # A service out of order: response.done lists no call, then the call's item arrives.
    sup = make()
    created(sup)
    done(sup)
    assert types(sup) == []
    call_done(sup, "call_late", "lookup")
    (command,) = sup.commands()
    assert isinstance(command, RunTool) and command.call_id == "call_late"
    sup.tool_finished("call_late", "found it")
    # Its output, then the follow-up: the conversation does not stall.
    assert types(sup) == ["conversation.item.create", "response.create"]


def test_a_call_id_reused_for_another_tool_is_reported_not_dropped_silently() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_1", "lookup")
    sup.events_to_emit()
    call_done(sup, "call_1", "slow_search")
    errors = [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]
    assert len(errors) == 1 and isinstance(errors[0].error, ProtocolError)
    assert "'lookup'" in str(errors[0].error) and "'slow_search'" in str(errors[0].error)
    assert len(sup.commands()) == 1  # still one dispatch, so still one output for call_1
    # The same call announced again (response.done lists it) stays silent.
    done(sup, output=[call_item("call_1", "lookup")])
    assert not [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]


def test_arguments_sent_as_an_object_get_an_output_that_says_so() -> None:
    sup = make()
    created(sup)
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": "resp_1",
            "output_index": 0,
            "item": {**call_item("call_1", "lookup"), "arguments": {"q": "x"}},
        },
    )
    assert sup.commands() == []  # the tool is not run with made-up arguments
    (end,) = [e for e in sup.events_to_emit() if isinstance(e, ToolEnd)]
    assert end.error == "invalid_arguments"
    message = orjson.loads(end.output)["message"]
    assert "JSON object" in message and "string" in message and "required" not in message
    (sent,) = frames(sup)
    assert sent["item"]["type"] == "function_call_output" and sent["item"]["call_id"] == "call_1"
    done(sup, output=[])
    assert types(sup) == ["response.create"]  # and the model hears back


def test_a_transfer_the_session_cannot_take_tells_the_model_and_keeps_the_agent() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_h", "transfer_to_billing", arguments="{}")
    sup.commands()
    sup.events_to_emit()
    # Billing on another model: the session cannot switch to it mid-session.
    other_model = RealtimeAgent(
        name="Billing", instructions="You do billing.", settings=SessionSettings(model="gpt-x")
    )
    sup.handoff_finished("call_h", other_model, "You do billing.")
    done(sup)
    sent = frames(sup)
    assert [f["type"] for f in sent] == ["conversation.item.create", "response.create"]
    output = orjson.loads(sent[0]["item"]["output"])
    assert output["error"].startswith("transfer failed: ") and "gpt-x" in output["error"]
    errors = [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]
    assert len(errors) == 1 and isinstance(errors[0].error, CompileError)
    assert sup.agent is triage


def test_response_done_listing_other_items_starts_only_its_missed_calls() -> None:
    sup = make()
    created(sup)
    sup.events_to_emit()
    message = {"id": "item_m", "type": "message", "role": "assistant", "content": []}
    # An item kind agentkit does not know (its type sorts before `function_call`).
    other = {"id": "item_o", "type": "custom_item", "status": "completed"}
    done(sup, output=[message, other, call_item("call_9", "lookup")])
    assert not [e for e in sup.events_to_emit() if isinstance(e, ErrorEvent)]
    (command,) = sup.commands()
    assert isinstance(command, RunTool) and command.call_id == "call_9"
