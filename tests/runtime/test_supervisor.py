"""The sans-I/O supervisor: fast, deterministic checks of what goes on the wire and when."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import orjson
from support import new_supervisor

from agentkit import RealtimeAgent, ServerVad, SessionSettings, handoff, tool
from agentkit.events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioInterrupted,
    AudioOut,
    ErrorEvent,
    HandoffEvent,
    HistoryAdded,
    RawServerEvent,
    SessionStatus,
    StatusChanged,
    ToolEnd,
    ToolStart,
    UserTranscript,
)
from agentkit.history import HistoryItem
from agentkit.runtime.supervisor import CancelTool, CloseSession, RunHandoff, RunTool, Supervisor

PCM_100MS = b"\x01\x00" * 2400  # 4800 bytes = 100 ms of 24 kHz PCM16


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return q


@tool(cancellable=True)
async def slow_search(q: str) -> str:
    """Search slowly."""
    return q


billing = RealtimeAgent(name="Billing", instructions="You do billing.", voice="ash")
triage = RealtimeAgent(
    name="Triage",
    instructions="You triage.",
    tools=[lookup, slow_search],
    handoffs=[billing],
    voice="marin",
)
billing.handoffs.append(triage)


def make(
    agent: RealtimeAgent[Any] = triage, *, settings: SessionSettings | None = None, **kw: Any
) -> Supervisor:
    sup = new_supervisor(agent, settings, **kw)
    sup.connecting()
    sup.connected()
    sup.data_to_send()
    sup.events_to_emit()
    return sup


def frames(sup: Supervisor) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in sup.data_to_send()]


def types(sup: Supervisor) -> list[str]:
    return [f["type"] for f in frames(sup)]


def feed(sup: Supervisor, event: dict[str, Any], now: float = 0.0) -> None:
    sup.receive_frame(orjson.dumps(event), now)


def created(sup: Supervisor, rid: str = "resp_1") -> None:
    feed(sup, {"type": "response.created", "response": {"id": rid, "status": "in_progress"}})


def done(sup: Supervisor, rid: str = "resp_1", status: str = "completed", output: Any = ()) -> None:
    feed(
        sup,
        {
            "type": "response.done",
            "response": {"id": rid, "status": status, "output": list(output)},
        },
    )


def call_item(call_id: str, name: str, arguments: str = '{"q": "x"}') -> dict[str, Any]:
    return {
        "id": f"item_{call_id}",
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def call_done(sup: Supervisor, call_id: str, name: str, rid: str = "resp_1", **kw: Any) -> None:
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": rid,
            "output_index": 0,
            "item": call_item(call_id, name, **kw),
        },
    )


def audio(sup: Supervisor, now: float, chunk: bytes = PCM_100MS, rid: str = "resp_1") -> None:
    feed(
        sup,
        {
            "type": "response.output_audio.delta",
            "response_id": rid,
            "item_id": "item_a",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(chunk).decode(),
        },
        now,
    )


# --- structure ---------------------------------------------------------------------------------


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


# --- tool calls --------------------------------------------------------------------------------


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


# --- response.create discipline ----------------------------------------------------------------


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


# --- handoffs ----------------------------------------------------------------------------------


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


# --- interruption ------------------------------------------------------------------------------


def speech_started(sup: Supervisor, now: float) -> None:
    feed(
        sup,
        {"type": "input_audio_buffer.speech_started", "item_id": "item_u", "audio_start_ms": 0},
        now,
    )


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


# --- push-to-talk ------------------------------------------------------------------------------


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


# --- events and history ------------------------------------------------------------------------


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


def test_unknown_events_are_kept_and_malformed_frames_become_errors() -> None:
    sup = make()
    feed(sup, {"type": "mcp_list_tools.in_progress", "item_id": "x"})
    sup.receive_frame("{oops", 0.0)
    raw, error = sup.events_to_emit()
    assert isinstance(raw, RawServerEvent) and raw.event.type == "mcp_list_tools.in_progress"
    assert isinstance(error, ErrorEvent) and "not JSON" in str(error.error)


def test_raw_events_mode_emits_every_wire_event() -> None:
    sup = make(raw_events=True)
    created(sup)
    events = sup.events_to_emit()
    assert isinstance(events[0], RawServerEvent) and isinstance(events[1], AgentStart)


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


def test_every_server_event_has_exactly_one_handler() -> None:
    # `receive_event` dispatches on the event's class through a table, which cannot end in
    # `assert_never`: this is the exhaustiveness check instead (also run at import).
    from typing import get_args

    from agentkit import protocol as p
    from agentkit.runtime.supervisor import _HANDLERS

    members = set(get_args(p.ServerEvent))
    assert set(_HANDLERS) == members
    for cls, handler in _HANDLERS.items():
        assert callable(handler), cls


def test_every_server_event_is_dispatched_without_error() -> None:
    from typing import get_args

    from agentkit import protocol as p

    sup = new_supervisor(RealtimeAgent(name="a", instructions="x"))
    sup.connecting()
    sup.connected("x", now=0.0)
    samples: dict[type, Any] = {
        cls: cls(*[_sample(f.type) for f in dataclasses.fields(cls)])
        for cls in get_args(p.ServerEvent)
    }
    for event in samples.values():
        sup.receive_event(event, 1.0)
    sup.events_to_emit()


def _sample(annotation: Any) -> Any:
    text = str(annotation)
    if "int" in text and "str" not in text:
        return 0
    if "JSONObject" in text or "Mapping" in text or "dict" in text:
        return {}
    if "tuple" in text:
        return ()
    if "bytes" in text:
        return b""
    return "x"


# --- instrumentation ---------------------------------------------------------------------------


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
