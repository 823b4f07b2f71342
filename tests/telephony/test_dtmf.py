"""DTMF: the matching policy, the supervisor's actions for a completed sequence, and the
`dtmf:` section of the YAML with its located errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from agentkit import RealtimeAgent, tool
from agentkit.errors import ConfigError, DefinitionError
from agentkit.events import DtmfReceived, ErrorEvent
from agentkit.loader import load_definitions_from_string
from agentkit.protocol import decode_server_event
from agentkit.runtime.supervisor import RunHandoff, RunTool, Supervisor
from agentkit.telephony import DtmfHandoff, DtmfKeypad, DtmfReply, DtmfToolCall

KEYS = {"0": DtmfReply("zero"), "*9": DtmfReply("star nine"), "12#": DtmfReply("twelve")}


def test_the_keypad_matches_completed_sequences_only() -> None:
    pad = DtmfKeypad(gap_s=4.0)
    assert pad.press("*", KEYS, 0.0) is None and pad.pending == "*"
    match = pad.press("9", KEYS, 1.0)
    assert match is not None and match.sequence == "*9" and pad.pending == ""
    # A key that continues nothing is dropped, as far as it cannot start a sequence.
    assert pad.press("5", KEYS, 2.0) is None and pad.pending == ""
    assert pad.press("1", KEYS, 2.5) is None and pad.press("1", KEYS, 3.0) is None
    assert pad.pending == "1"  # "11" cannot be "12#", but its last "1" can start it
    assert pad.press("2", KEYS, 3.5) is None
    match = pad.press("#", KEYS, 4.0)
    assert match is not None and match.sequence == "12#"
    # Keys too far apart start over.
    assert pad.press("*", KEYS, 10.0) is None
    assert pad.press("9", KEYS, 20.0) is None and pad.pending == ""


def test_sequences_must_be_prefix_free_and_well_formed() -> None:
    with pytest.raises(DefinitionError, match="'1' is a prefix of '12'"):
        RealtimeAgent("menu", dtmf={"1": DtmfReply("a"), "12": DtmfReply("b")})
    with pytest.raises(DefinitionError, match="not a key sequence"):
        RealtimeAgent("menu", dtmf={"x": DtmfReply("a")})
    with pytest.raises(DefinitionError, match="use DtmfHandoff"):
        RealtimeAgent("menu", dtmf={"1": "say hi"})  # type: ignore[dict-item]
    with pytest.raises(DefinitionError, match="refer_to must be a sip:"):
        RealtimeAgent("desk", refer_to="https://example.com")


@tool
def ticket_status(ticket: str) -> str:
    """The status of a ticket."""
    return f"{ticket}: open"


def _supervisor() -> tuple[Supervisor, RealtimeAgent[object]]:
    person = RealtimeAgent("person", instructions="A person will help.")
    desk = RealtimeAgent(
        "desk",
        instructions="Help.",
        tools=[ticket_status],
        handoffs=[person],
        dtmf={
            "0": DtmfHandoff("person"),
            "1": DtmfToolCall("ticket_status", {"ticket": "T-1"}),
            "9": DtmfReply("Our hours are nine to five."),
            "7": DtmfHandoff("nobody"),
        },
    )
    supervisor = Supervisor(desk)
    supervisor.connected(now=0.0)
    supervisor.data_to_send()
    supervisor.events_to_emit()
    return supervisor, person


def test_a_key_runs_the_declared_handoff_through_the_handoff_path() -> None:
    supervisor, person = _supervisor()
    frame = orjson.dumps(
        {"type": "input_audio_buffer.dtmf_event_received", "event": "0", "received_at": 1767225600}
    )
    supervisor.receive_frame(frame, 1.0)
    (event,) = [e for e in supervisor.events_to_emit() if isinstance(e, DtmfReceived)]
    assert (event.key, event.sequence, event.received_at) == ("0", "0", 1767225600)
    (created,) = [orjson.loads(f) for f in supervisor.data_to_send()]
    item = created["item"]
    assert created["type"] == "conversation.item.create"
    assert (item["type"], item["name"], item["arguments"]) == ("function_call", "transfer_to_person", "{}")
    (command,) = supervisor.commands()
    assert isinstance(command, RunHandoff) and command.call_id == item["call_id"]
    supervisor.handoff_finished(command.call_id, person, "A person will help.", now=2.0)
    kinds = [orjson.loads(f)["type"] for f in supervisor.data_to_send()]
    # The new agent's session, the call's one output, then one response: it speaks first.
    assert kinds == ["session.update", "conversation.item.create", "response.create"]
    assert supervisor.agent is person


def test_a_key_calls_a_tool_or_speaks_a_reply() -> None:
    supervisor, _ = _supervisor()
    supervisor.press_key("1", 1.0)
    (command,) = supervisor.commands()
    assert isinstance(command, RunTool) and command.name == "ticket_status"
    assert orjson.loads(command.arguments) == {"ticket": "T-1"}
    supervisor.tool_finished(command.call_id, '"T-1: open"', now=2.0)
    kinds = [orjson.loads(f)["type"] for f in supervisor.data_to_send()]
    assert kinds == ["conversation.item.create", "conversation.item.create", "response.create"]
    supervisor.press_key("9", 3.0)
    # (a response.create is already in flight: the reply is queued behind it)
    supervisor.receive_frame(orjson.dumps({"type": "response.created", "event_id": "e1", "response": {"id": "resp_1", "status": "in_progress", "output": []}}), 3.1)
    supervisor.receive_frame(orjson.dumps({"type": "response.done", "event_id": "e2", "response": {"id": "resp_1", "status": "completed", "output": []}}), 3.2)
    (reply,) = [orjson.loads(f) for f in supervisor.data_to_send() if "response.create" in f]
    assert "Our hours are nine to five." in reply["response"]["instructions"]


def test_a_key_whose_action_the_agent_lacks_is_reported_and_nothing_runs() -> None:
    supervisor, _ = _supervisor()
    supervisor.press_key("7", 1.0)
    errors = [e for e in supervisor.events_to_emit() if isinstance(e, ErrorEvent)]
    assert errors and errors[0].code == "dtmf_action_unavailable" and "'nobody'" in str(errors[0].error)
    assert supervisor.commands() == [] and supervisor.data_to_send() == []


def test_the_dtmf_event_decodes_with_no_event_id() -> None:
    event = decode_server_event('{"type":"input_audio_buffer.dtmf_event_received","event":"#","received_at":5}')
    assert type(event).__name__ == "InputAudioBufferDtmfEventReceived"
    bad = decode_server_event('{"type":"input_audio_buffer.dtmf_event_received","event":5,"received_at":5}')
    assert type(bad).__name__ == "MalformedServerEvent"


_YAML = """\
version: 1
tools:
  ticket_status: {function: "tests.telephony.test_dtmf:ticket_status"}
agents:
  desk:
    instructions: Help.
    tools: [ticket_status]
    handoffs: [person]
    dtmf:
      "0": {handoff: person}
      "*1": {tool: ticket_status, arguments: {ticket: T-1}}
      "9": {say: Our hours are nine to five.}
  person:
    instructions: A person.
    refer_to: "sip:desk@example.com"
starting_agent: desk
"""


def test_the_yaml_dtmf_section() -> None:
    definitions = load_definitions_from_string(_YAML, base_dir=Path.cwd())
    desk = definitions.agents["desk"]
    assert desk.dtmf == {
        "0": DtmfHandoff("person"),
        "*1": DtmfToolCall("ticket_status", {"ticket": "T-1"}),
        "9": DtmfReply("Our hours are nine to five."),
    }
    assert definitions.agents["person"].refer_to == "sip:desk@example.com"


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ("0: {handoff: person}", "10:7: agents.desk.dtmf", "mapping keys must be text, got '0'; quote it"),
        ('"0": {handoff: persn}', "10:22: agents.desk.dtmf.0.handoff", "does not hand off to 'persn' (did you mean 'person'?)"),
        ('"0": {tool: ticket}', "10:19: agents.desk.dtmf.0.tool", "has no tool 'ticket'"),
        ('"0": {sey: hi}', "10:13: agents.desk.dtmf.0.sey", "did you mean 'say'?"),
        ('"0": {say: hi, handoff: person}', "10:12: agents.desk.dtmf.0", "cannot be given together"),
        ('"9x": {say: hi}', "10:7: agents.desk.dtmf", "9x"),
        ('"*": {say: hi}', '11:7: agents.desk.dtmf["*1"]', "'*' is a prefix of '*1'"),
    ],
)
def test_yaml_dtmf_errors_are_located(change: str, where: str, message: str) -> None:
    text = _YAML.replace('"0": {handoff: person}', change)
    with pytest.raises(ConfigError) as caught:
        load_definitions_from_string(text, base_dir=Path.cwd())
    text_error = str(caught.value)
    assert where in text_error and message in text_error, text_error
