"""Tool-call progress: `response.function_call_arguments.delta` becomes `ToolCallProgress`."""

from __future__ import annotations

from typing import Any

from support import feed
from triage import call_done, call_item, created, make

from agentkit.events import ToolCallProgress, ToolStart
from agentkit.runtime.supervisor import Supervisor


def _added(sup: Supervisor, call_id: str, name: str, rid: str = "resp_1") -> None:
    item = {**call_item(call_id, name, arguments=""), "status": "in_progress"}
    feed(sup, {"type": "response.output_item.added", "response_id": rid, "output_index": 0, "item": item})


def _delta(sup: Supervisor, call_id: str, delta: str, rid: str = "resp_1") -> None:
    event: dict[str, Any] = {
        "type": "response.function_call_arguments.delta", "response_id": rid,
        "item_id": f"item_{call_id}", "output_index": 0, "call_id": call_id, "delta": delta,
    }
    feed(sup, event)


def _progress(sup: Supervisor) -> list[ToolCallProgress]:
    return [e for e in sup.events_to_emit() if isinstance(e, ToolCallProgress)]


def test_each_delta_reports_the_tool_and_the_arguments_so_far() -> None:
    sup = make()
    created(sup)
    _added(sup, "call_1", "lookup")
    for piece in ('{"q"', ': "ord', 'er 42"}'):
        _delta(sup, "call_1", piece)
    progress = _progress(sup)
    assert [p.arguments for p in progress] == ['{"q"', '{"q": "ord', '{"q": "order 42"}']
    assert {(p.call_id, p.tool_name, p.agent_name) for p in progress} == {("call_1", "lookup", "Triage")}
    assert progress[0].type == "tool_call_progress"
    call_done(sup, "call_1", "lookup", arguments='{"q": "order 42"}')
    assert any(isinstance(e, ToolStart) for e in sup.events_to_emit())


def test_two_calls_of_one_response_are_kept_apart() -> None:
    sup = make()
    created(sup)
    _added(sup, "call_1", "lookup")
    _added(sup, "call_2", "lookup")
    _delta(sup, "call_1", '{"q": "a"')
    _delta(sup, "call_2", '{"q": "b"')
    _delta(sup, "call_1", "}")
    assert [(p.call_id, p.arguments) for p in _progress(sup)] == [
        ("call_1", '{"q": "a"'), ("call_2", '{"q": "b"'), ("call_1", '{"q": "a"}'),
    ]


def test_a_delta_of_a_call_never_announced_or_already_done_is_not_reported() -> None:
    sup = make()
    created(sup)
    _delta(sup, "call_x", "{")  # no output_item.added: the tool is unknown
    _added(sup, "call_1", "lookup")
    feed(sup, {
        "type": "response.function_call_arguments.done", "response_id": "resp_1",
        "item_id": "item_call_1", "output_index": 0, "call_id": "call_1", "arguments": "{}",
    })
    _delta(sup, "call_1", "}")
    assert _progress(sup) == []


def test_a_message_item_is_not_a_call_in_progress() -> None:
    sup = make()
    created(sup)
    message = {"id": "item_m", "type": "message", "role": "assistant", "content": []}
    feed(sup, {"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0, "item": message})
    _delta(sup, "item_m", "{")
    assert _progress(sup) == []
