"""A rogue server against a real `RealtimeSession` (tools, a handoff, guardrails), and a
property test of the supervisor under mostly-valid server events with mutated fields.

For every scenario: no exception escapes the session, no traceback and nothing at ERROR in
agentkit's logs, every `ToolStart` has exactly one `ToolEnd` and one `function_call_output`
on the wire, the app hears about what happened, and a normal turn works afterwards.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from log_records import Records, capture
from support import new_supervisor

from agentkit import RealtimeAgent, blocked_terms, output_guardrail, tool
from agentkit.events import ErrorEvent, SessionEvent, ToolEnd, ToolStart
from agentkit.runner import RealtimeRunner
from agentkit.runtime.supervisor import RunHandoff, RunTool
from agentkit.transports import MemoryServerEnd, memory_transport_pair


@tool
async def lookup(order_id: str) -> str:
    """Look an order up."""
    return f"order {order_id} shipped"


@tool
async def refund_it(order_id: str) -> str:
    """Refund (Billing's tool)."""
    return "refunded"


billing = RealtimeAgent(name="Billing", instructions="Billing.", tools=[refund_it])
support = RealtimeAgent(
    name="Support",
    instructions="Orders.",
    tools=[lookup],
    handoffs=[billing],
    output_guardrails=[output_guardrail(blocked_terms(["password"]), name="no_secrets")],
)


def call(call_id: str, name: str = "lookup", rid: str = "resp_1", arguments: Any = '{"order_id": "7"}') -> dict[str, Any]:
    return {
        "type": "response.output_item.done",
        "response_id": rid,
        "output_index": 0,
        "item": {"id": f"item_{call_id}", "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments, "status": "completed"},
    }


def created(rid: str = "resp_1") -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": rid, "status": "in_progress", "output": []}}


def done(rid: str = "resp_1", output: Any = ()) -> dict[str, Any]:
    return {"type": "response.done", "response": {"id": rid, "status": "completed", "output": list(output)}}


def delta(rid: str = "resp_1", **kw: Any) -> dict[str, Any]:
    return {"type": "response.output_audio.delta", "response_id": rid, "item_id": "a1", "output_index": 0, "content_index": 0, "delta": "AAAA", **kw}


HOT = [
    delta(),
    {"type": "response.output_audio_transcript.delta", "response_id": "resp_1", "item_id": "a1", "output_index": 0, "content_index": 0, "delta": "hi"},
    call("w1"),
    {"type": "conversation.item.added", "item": {"id": "a1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}},
    {"type": "input_audio_buffer.speech_started", "item_id": "u1", "audio_start_ms": 10},
    done(),
]
WRONG = [None, True, 7, -1.5, "x", [], {}, [1, "a"], {"a": None}, "\udcff"[:0] + "\x00"]


def _wrong_types() -> list[list[Any]]:
    cases: list[list[Any]] = []
    for event in HOT:
        for key in event:
            if key == "type":
                continue
            for wrong in WRONG[::3]:
                cases.append([created(), {**event, key: wrong}, done()])
            if isinstance(event[key], dict):
                for inner in event[key]:
                    cases.append([created(), {**event, key: {**event[key], inner: WRONG[len(inner) % len(WRONG)]}}, done()])
    return cases


SCENARIOS: dict[str, list[Any]] = {
    "deltas before response.created": [delta(), delta(), created(), done()],
    "response.done twice": [created(), done(), done()],
    "response.done for a response never created": [done("resp_x")],
    "output_item.done for an unknown response": [call("u1", rid="resp_nope")],
    "a call for an unknown tool": [created(), call("u2", name="no_such_tool"), done()],
    "a call for another agent's tool": [created(), call("u3", name="refund_it"), done()],
    "one call id in two responses": [created(), call("dup"), done(), created("resp_2"), call("dup", rid="resp_2"), done("resp_2")],
    "one call id for two tools": [created(), call("two"), call("two", name="transfer_to_billing"), done()],
    "arguments as an object": [created(), call("obj", arguments={"order_id": "7"}), done()],
    "arguments not JSON": [created(), call("nj", arguments="{order_id"), done()],
    "arguments of 100 KB": [created(), call("big", arguments=orjson.dumps({"order_id": "7" * 100_000}).decode()), done()],
    "a call after its response.done": [created(), done(), call("late")],
    "unknown event types": [{"type": "no.such.event"}, {"type": ""}, {"type": 7}, {"type": None}, {"no_type": 1}],
    "a huge frame": ['{"type":"response.output_audio_transcript.delta","delta":"' + "x" * 5_000_000 + '"}'],
    "binary frames": [b"\x00\x01\x02", orjson.dumps(created()), b"\xff\xfe"],
    "invalid UTF-8": [b'{"type":"response.created","response":{"id":"\xff"}}'],
    "not JSON": ["{", "[]", '"x"', "null", "1e999", '{"type":"error","error":' + "[" * 3000 + "]" * 3000 + "}"],
    "session.updated that drops the tools": [{"type": "session.updated", "session": {"type": "realtime", "tools": []}}],
    "session.updated of the wrong shape": [{"type": "session.updated", "session": [1]}, {"type": "session.updated"}],
    "rate limits": [{"type": "rate_limits.updated", "rate_limits": [{"name": "requests", "limit": 1, "remaining": 0, "reset_seconds": 1e9}]}, {"type": "rate_limits.updated", "rate_limits": "x"}],
    "a guardrail trips mid-response": [
        created(),
        {"type": "conversation.item.added", "item": {"id": "a1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}},
        {"type": "response.output_text.done", "response_id": "resp_1", "item_id": "a1", "output_index": 0, "content_index": 0, "text": "the password is 42"},
        done(),
    ],
    "a handoff and a call in one response": [created(), call("h1", name="transfer_to_billing"), call("h2"), done()],
    **{f"wrong types {index}": case for index, case in enumerate(_wrong_types()[::4])},
}

ERROR_CODES = [
    "invalid_value", "invalid_event", "conversation_already_has_active_response", "response_cancel_not_active",
    "item_not_found", "rate_limit_exceeded", "server_error", "session_expired", "invalid_api_key",
    "input_audio_buffer_commit_empty", "something_new", None, 7,
]
SCENARIOS.update(
    {
        f"error {code}": [{"type": "error", "error": {"type": "invalid_request_error", "code": code, "message": "m", "param": None, "event_id": None}}]
        for code in ERROR_CODES
    }
)
SCENARIOS["error of the wrong shape"] = [{"type": "error"}, {"type": "error", "error": "boom"}, {"type": "error", "error": {"code": []}}]

# Errors after which the session ends by design (no reconnect policy in these tests).
FATAL = {"error session_expired", "error invalid_api_key"}


class Rogue:
    """A session on the client end, the test playing a rogue service on the other."""

    def __init__(self, server: MemoryServerEnd) -> None:
        self.server = server
        self.events: list[SessionEvent] = []

    async def until(self, kind: str) -> dict[str, Any]:
        with anyio.fail_after(3):
            while True:
                event = await self.server.receive_event()
                if event["type"] == kind:
                    return event

    async def normal_turn(self) -> None:
        """A response with a tool call; the output and a follow-up come back."""
        await self.server.send_event(created("resp_ok"))
        await self.server.send_event(call("ok", rid="resp_ok"))
        await self.server.send_event(done("resp_ok", [call("ok")["item"]]))
        output = await self.until("conversation.item.create")
        while output["item"].get("call_id") != "ok":  # the rogue part's own outputs first
            output = await self.until("conversation.item.create")
        # `lookup` is Support's: after a handoff to Billing it is an unknown tool, answered too.
        assert output["item"]["type"] == "function_call_output" and output["item"]["output"]
        await self.until("response.create")


@pytest.fixture
def records() -> Iterator[Records]:
    with capture() as handler:
        yield handler


def check_calls(events: list[SessionEvent], sent: list[dict[str, Any]]) -> None:
    starts = Counter(e.call_id for e in events if isinstance(e, ToolStart))
    ends = Counter(e.call_id for e in events if isinstance(e, ToolEnd))
    outputs = Counter(
        e["item"]["call_id"] for e in sent if e["type"] == "conversation.item.create" and e["item"].get("type") == "function_call_output"
    )
    assert all(n == 1 for n in ends.values()), ends
    assert all(n == 1 for n in outputs.values()), outputs
    assert set(starts) <= set(ends), (starts, ends)
    assert set(starts) <= set(outputs), (starts, outputs)


@pytest.mark.parametrize("frames", SCENARIOS.values(), ids=list(SCENARIOS))
async def test_rogue_server(frames: list[Any], records: Records, request: pytest.FixtureRequest) -> None:
    client, server = memory_transport_pair()
    rogue = Rogue(server)
    session = RealtimeRunner(support).session(client)
    fatal = request.node.callspec.id in FATAL
    async with session:
        for name in ("tool_start", "tool_end", "error", "raw", "handoff", "guardrail_tripped"):
            session.on(name, rogue.events.append)  # type: ignore[arg-type]
        await rogue.until("session.update")
        for frame in frames:
            if isinstance(frame, dict):
                await server.send_event(frame)
            else:
                await server.send_frame(frame)
        with anyio.fail_after(3):
            while {e.call_id for e in rogue.events if isinstance(e, ToolStart)} - {e.call_id for e in rogue.events if isinstance(e, ToolEnd)}:
                await anyio.sleep(0.005)
        await anyio.sleep(0.02)
        if not fatal:
            await rogue.normal_turn()
    await server.close()
    check_calls(rogue.events, server.received + server.drain())
    if any(isinstance(f, dict) and f.get("type") == "error" for f in frames):
        assert any(isinstance(e, ErrorEvent) for e in rogue.events), rogue.events
    bad = [r for r in records.records if r.name.startswith("agentkit") and (r.exc_info or r.levelno >= logging.ERROR)]
    assert not bad, [r.getMessage() for r in bad]


# --- the supervisor, sans-I/O -----------------------------------------------------------------

_names = st.sampled_from(["lookup", "refund_it", "transfer_to_billing", "nope"])
_ids = st.sampled_from(["resp_1", "resp_2", "resp_3"])
_calls = st.sampled_from(["c1", "c2", "c3"])
_junk = st.sampled_from([None, 1, -1, "", "x", [], {}, 1.5, True, {"id": 1}])


@st.composite
def _event(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["created", "done", "call", "delta", "added", "error", "raw", "speech", "transcript"]))
    rid = draw(_ids)
    if kind == "created":
        event = created(rid)
    elif kind == "done":
        event = done(rid, [call(draw(_calls), draw(_names), rid)["item"]] if draw(st.booleans()) else [])
    elif kind == "call":
        event = call(draw(_calls), draw(_names), rid, draw(st.sampled_from(['{"order_id": "7"}', "{}", "{", '{"order_id": 7}'])))
    elif kind == "delta":
        event = delta(rid)
    elif kind == "added":
        event = {"type": "conversation.item.added", "item": {"id": draw(st.sampled_from(["a1", "u1"])), "type": "message", "role": "assistant", "content": []}}
    elif kind == "error":
        event = {"type": "error", "error": {"type": "invalid_request_error", "code": draw(st.sampled_from(["x", "server_error", "conversation_already_has_active_response"])), "message": "m"}}
    elif kind == "speech":
        event = {"type": "input_audio_buffer.speech_started", "item_id": "u1", "audio_start_ms": 0}
    elif kind == "transcript":
        event = {"type": "response.output_text.done", "response_id": rid, "item_id": "a1", "output_index": 0, "content_index": 0, "text": "a password"}
    else:
        event = {"type": "weird.event", "x": 1}
    if draw(st.integers(0, 4)) == 0:  # mutate one field
        key = draw(st.sampled_from(sorted(event)))
        event[key] = draw(_junk)
    return event


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_event().map(lambda e: ("event", e)), st.sampled_from(["tools", "tick", "handoffs"]).map(lambda a: (a, None))), max_size=30))
def test_supervisor_invariants(steps: list[tuple[str, Any]]) -> None:
    sup = new_supervisor(support)
    sup.connecting()
    sup.connected()
    now = 0.0
    started: Counter[str] = Counter()
    outputs: Counter[str] = Counter()
    tool_starts: Counter[str] = Counter()
    tool_ends: Counter[str] = Counter()
    pending: list[Any] = []
    for action, payload in steps:
        now += 0.05
        if action == "event":
            sup.receive_frame(orjson.dumps(payload), now)
        elif action == "tick":
            deadline = sup.next_deadline()
            if deadline is not None:
                now = max(now, deadline)
                sup.tick(now)
                later = sup.next_deadline()
                # A tick at the deadline handles it: the next one is later (no busy loop).
                assert later is None or later > deadline or later > now - 1e-9, (deadline, later, now)
        for command in sup.commands():
            if isinstance(command, (RunTool, RunHandoff)):
                started[command.call_id] += 1
                pending.append(command)
        if action in ("tools", "handoffs"):
            for command in pending:
                if isinstance(command, RunTool):
                    sup.tool_finished(command.call_id, "ok", now=now)
                elif isinstance(command, RunHandoff):
                    sup.handoff_finished(command.call_id, billing, now=now)
            pending = []
        for frame in sup.data_to_send():
            out = orjson.loads(frame)
            if out["type"] == "conversation.item.create" and out["item"].get("type") == "function_call_output":
                outputs[out["item"]["call_id"]] += 1
        for event in sup.events_to_emit():
            if isinstance(event, ToolStart):
                tool_starts[event.call_id] += 1
            elif isinstance(event, ToolEnd):
                tool_ends[event.call_id] += 1
        deadline = sup.next_deadline()
        assert deadline is None or deadline == deadline  # never NaN
    # Every tool run for a call id once; one output per call id on the wire.
    assert all(n == 1 for n in started.values()), started
    assert all(n == 1 for n in outputs.values()), outputs
    assert all(n == 1 for n in tool_ends.values()), tool_ends
    if not pending:
        assert all(tool_ends[call_id] == 1 for call_id in tool_starts), (tool_starts, tool_ends)
