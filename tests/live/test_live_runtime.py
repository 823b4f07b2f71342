"""The supervisor on Live, sans I/O: the same code path, Live's frames out, and the few places
where Live differs (late results after a barge-in, steering instead of a cancel, no
push-to-talk, the voice layer's turns dated by silence)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from live_conformance import validate_live_client_event

from agentkit import RealtimeAgent
from agentkit.errors import CompileError
from agentkit.events import AgentEnd, AgentStart, AssistantTranscript, GuardrailTripped, ToolEnd
from agentkit.guardrails import input_guardrail
from agentkit.history import HistoryItem
from agentkit.protocol.live_config import LiveOptions
from agentkit.runtime.commands import Reconnect, RunGuardrails, RunTool
from agentkit.runtime.config import RuntimeConfig
from agentkit.runtime.policy import GuardrailVerdict
from agentkit.runtime.supervisor import Supervisor
from agentkit.tools import tool


@tool
def lookup(order_id: str) -> str:
    """Look an order up."""
    return order_id


@tool(cancellable=True)
def slow_search(query: str) -> str:
    """Search slowly."""
    return query


def no_swearing(ctx: object, text: str) -> bool:
    return "stupid" in text


desk = RealtimeAgent(
    name="desk",
    instructions="Help.",
    tools=[lookup, slow_search],
    input_guardrails=[input_guardrail(no_swearing, name="civil", safe_reply="Let's keep it civil.")],
)


def live_supervisor(**kwargs: Any) -> Supervisor:
    config = RuntimeConfig(dialect="live", live=LiveOptions(turn_end_ms=500), reconnect=None, **kwargs)
    sup = Supervisor(desk, config, history=[HistoryItem.user("Earlier question", item_id="h1")])
    sup.connecting()
    sup.connected(now=0.0)
    return sup


def sent(sup: Supervisor) -> list[dict[str, Any]]:
    frames = [orjson.loads(f) for f in sup.data_to_send()]
    for frame in frames:
        validate_live_client_event(frame)
    return frames


def feed(sup: Supervisor, now: float, *events: dict[str, Any]) -> None:
    for event in events:
        sup.receive_frame(orjson.dumps({"event_id": "e", **event}), now)


def backend(delegation: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.event", "delegation_id": delegation, "event": event}


def delegate_call(sup: Supervisor, now: float, name: str = "lookup", call_id: str = "call_1") -> None:
    feed(
        sup, now,
        {"type": "session.delegation.created", "offset_ms": 10, "delegation": {"id": "dlg_1", "target": "responses", "type": "delegation", "response_id": "resp_1"}},
        backend("dlg_1", {"type": "response.created", "response": {"id": "resp_1"}}),
        backend("dlg_1", {"type": "response.output_item.done", "output_index": 0, "item": {"type": "function_call", "id": "fc_1", "call_id": call_id, "name": name, "arguments": '{"order_id": "42"}' if name == "lookup" else '{"query": "q"}'}}),
        backend("dlg_1", {"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "output": []}}),
    )


def test_connecting_sends_one_session_start_seeded_with_the_history() -> None:
    (start,) = sent(live_supervisor())
    assert start["type"] == "session.start"
    assert start["session"]["input"] == [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Earlier question"}]}]


def test_a_delegated_call_is_run_once_and_answered_with_item_then_one_response_create() -> None:
    sup = live_supervisor()
    sent(sup)
    delegate_call(sup, 1.0)
    (run,) = [c for c in sup.commands() if isinstance(c, RunTool)]
    assert (run.call_id, run.name) == ("call_1", "lookup")
    sup.tool_finished(run.call_id, '"shipped"', now=1.5)
    frames = sent(sup)
    assert [f["type"] for f in frames] == ["response.item.create", "response.create"]
    assert frames[0]["item"] == {"type": "function_call_output", "call_id": "call_1", "output": '"shipped"'}
    assert [e.tool_name for e in sup.events_to_emit() if isinstance(e, ToolEnd)] == ["lookup"]


def test_a_late_result_after_a_barge_in_is_still_delivered() -> None:
    sup = live_supervisor()
    sent(sup)
    delegate_call(sup, 1.0, name="slow_search")
    (run,) = [c for c in sup.commands() if isinstance(c, RunTool)]
    feed(sup, 1.2, {"type": "session.output_transcript.delta", "delta": "Searching", "start_ms": 0, "end_ms": 100})
    sup.interrupt(1.3)
    # Live has no cancel: nothing goes out, and the cancellable call keeps running.
    assert sent(sup) == [] and not sup.commands()
    sup.tool_finished(run.call_id, '"found"', now=5.0)
    assert [f["type"] for f in sent(sup)] == ["response.item.create", "response.create"]


def test_typed_text_goes_to_the_backend() -> None:
    sup = Supervisor(RealtimeAgent(name="plain", instructions="x"), RuntimeConfig(dialect="live"))
    sup.connecting()
    sup.connected(now=0.0)
    sent(sup)
    sup.send_text("Where is my order?", now=0.5)
    frames = sent(sup)
    assert [f["type"] for f in frames] == ["response.item.create", "response.create"]
    assert frames[0]["item"]["content"] == [{"type": "input_text", "text": "Where is my order?"}]


def test_push_to_talk_is_refused_on_live() -> None:
    sup = live_supervisor()
    for call in (lambda: sup.start_turn(1.0), lambda: sup.end_turn(1.0)):
        with pytest.raises(CompileError) as info:
            call()
        assert info.value.field == "turn_detection"


def test_the_voice_turn_ends_after_its_silence_and_a_trip_steers_the_voice() -> None:
    sup = live_supervisor()
    sent(sup)
    feed(sup, 1.0, {"type": "session.input_transcript.delta", "delta": "You stupid bot", "start_ms": 0, "end_ms": 900})
    feed(sup, 1.1, {"type": "session.output_transcript.delta", "delta": "Hmm.", "start_ms": 950, "end_ms": 1200})
    (check,) = [c for c in sup.commands() if isinstance(c, RunGuardrails)]
    events = sup.events_to_emit()
    assert [e for e in events if isinstance(e, AgentStart)]
    assert sup.next_deadline() == pytest.approx(1.6)
    sup.tick(1.6)
    events = sup.events_to_emit()
    assert [e.transcript for e in events if isinstance(e, AssistantTranscript)] == ["Hmm."]
    assert [e for e in events if isinstance(e, AgentEnd)]
    guardrail = desk.input_guardrails[0]
    sup.guardrails_finished(check.check_id, GuardrailVerdict(tripped=guardrail), 1.7)
    assert [e.guardrail_name for e in sup.events_to_emit() if isinstance(e, GuardrailTripped)] == ["civil"]
    (steer,) = sent(sup)  # no delete, no cancel: the voice layer is steered
    assert steer["type"] == "session.instructions.append" and "Let's keep it civil." in steer["content"]


def test_a_text_fallback_is_refused_on_live() -> None:
    from agentkit.errors import DefinitionError
    from agentkit.policy import ReconnectPolicy

    with pytest.raises(DefinitionError, match="text_fallback"):
        RuntimeConfig(dialect="live", reconnect=ReconnectPolicy(text_fallback=lambda: None))  # type: ignore[arg-type,return-value]


def test_an_expired_session_reconnects_when_the_policy_allows_it() -> None:
    from agentkit.policy import ReconnectPolicy

    sup = Supervisor(desk, RuntimeConfig(dialect="live", reconnect=ReconnectPolicy(max_attempts=2)))
    sup.connecting()
    sup.connected(now=0.0)
    feed(sup, 3.0, {"type": "session.closed", "reason": "expired", "session": {}, "usage": {"seconds": 3.0}})
    assert sup.commands() == [Reconnect("session_expired")]
