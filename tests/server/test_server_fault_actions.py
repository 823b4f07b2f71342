"""The fault-action table: every `FaultAction` kind has one handler, each doing its one thing.

The handlers run against a recording `FaultTarget` (no sockets, no sleeping): what they
send, close, abort or wait for is checked directly.
"""

from __future__ import annotations

from typing import Any, get_args

import pytest

from agentkit.server import (
    CloseConnection,
    Fault,
    FaultAction,
    ScriptedModel,
    ServerSession,
    SessionOptions,
    load_script,
)
from agentkit.server.fault_actions import apply_fault, handler_for


class Target:
    """A `FaultTarget` that records what the handlers do to it."""

    def __init__(self) -> None:
        self.core = ServerSession(model=ScriptedModel(load_script({"turns": []})), now=0.0, options=SessionOptions(pace="fast"))
        self.clock = 10.0
        self.calls: list[tuple[Any, ...]] = []

    def now(self) -> float:
        return self.clock

    async def sleep(self, seconds: float) -> None:
        self.calls.append(("sleep", seconds))
        self.clock += seconds

    async def stall(self) -> None:
        self.calls.append(("stall",))

    def abort_all(self) -> None:
        self.calls.append(("abort",))

    async def close_all(self, code: int, reason: str) -> None:
        self.calls.append(("close", code, reason))

    async def send_event(self, event: dict[str, Any]) -> None:
        self.calls.append(("event", event))

    async def send_text(self, text: str) -> None:
        self.calls.append(("text", text))


def fault(action: FaultAction, **fields: Any) -> Fault:
    return Fault(action=action, after_events=0, **fields)


def test_every_action_has_its_own_handler() -> None:
    handlers = [handler_for(action) for action in get_args(FaultAction)]
    assert len(set(handlers)) == len(handlers)


async def test_drop_aborts_and_ends_the_session() -> None:
    target = Target()
    assert await apply_fault(fault("drop"), target) is False
    assert target.calls == [("abort",)]


async def test_close_closes_with_the_code_and_a_short_reason() -> None:
    target = Target()
    assert await apply_fault(fault("close", close_code=4000, message="x" * 200), target) is False
    assert target.calls == [("close", 4000, "x" * 120)]


async def test_delay_holds_then_goes_on() -> None:
    target = Target()
    assert await apply_fault(fault("delay", delay_ms=300), target) is True
    assert target.calls == [("sleep", 0.3)]


@pytest.mark.parametrize(("delay_ms", "goes_on", "calls"), [(None, False, [("stall",)]), (250, True, [("sleep", 0.25)])])
async def test_stall_forever_or_for_a_while(delay_ms: float | None, goes_on: bool, calls: list[tuple[Any, ...]]) -> None:
    target = Target()
    assert await apply_fault(fault("stall", delay_ms=delay_ms), target) is goes_on
    assert target.calls == calls


@pytest.mark.parametrize(("code", "kind"), [("server_error", "server_error"), ("bad_thing", "invalid_request_error")])
async def test_error_sends_an_error_event(code: str, kind: str) -> None:
    target = Target()
    assert await apply_fault(fault("error", code=code, message="boom"), target) is True
    ((what, event),) = target.calls
    assert what == "event" and event["type"] == "error" and event["event_id"].startswith("event_fault")
    assert event["error"] == {"type": kind, "code": code, "message": "boom", "param": None, "event_id": None}
    assert list(event) == ["type", "event_id", "error"]


async def test_malformed_sends_a_frame_that_is_not_json() -> None:
    target = Target()
    assert await apply_fault(fault("malformed"), target) is True
    ((what, text),) = target.calls
    assert what == "text" and text.startswith('{"type": "response.output_audio.delta"')


async def test_unknown_event_sends_an_unknown_type() -> None:
    target = Target()
    assert await apply_fault(fault("unknown_event"), target) is True
    ((what, event),) = target.calls
    assert what == "event" and event["type"] == "response.agentkit_unknown_event"


async def test_expire_sends_session_expired_then_closes_1001() -> None:
    target = Target()
    target.core.start(0.0)
    assert await apply_fault(fault("expire"), target) is False
    sent = [call[1]["type"] for call in target.calls if call[0] == "event"]
    assert sent == ["session.created", "conversation.created", "error"]
    assert target.calls[-2][1]["error"]["code"] == "session_expired"
    assert target.calls[-1] == ("close", 1001, "session expired")
    assert target.core.closed and not [out for out in target.core.poll(20.0) if isinstance(out, CloseConnection)]


async def test_rate_limit_reports_nothing_left_and_goes_on() -> None:
    target = Target()
    assert await apply_fault(fault("rate_limit"), target) is True
    (limits, error) = (call[1] for call in target.calls)
    assert limits["type"] == "rate_limits.updated" and all(limit["remaining"] == 0 for limit in limits["rate_limits"])
    assert error["error"]["code"] == "rate_limit_exceeded" and error["error"]["type"] == "rate_limit_error"
