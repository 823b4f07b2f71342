"""Tool and approval spans (`ToolSpans`), and tool code nesting under them."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import anyio.to_thread
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from agentkit.events import (
    AgentEnd,
    AgentStart,
    ToolApprovalRequired,
    ToolApprovalResolved,
    ToolEnd,
    ToolStart,
)

from .harness import Harness, run_return_call


def test_tool_handoff_and_guardrail_spans(harness: Harness) -> None:
    run_return_call(harness)
    verify = harness.one("execute_tool verify_customer")
    assert dict(verify.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "verify_customer",
        "gen_ai.tool.call.id": "call_verify",
        "gen_ai.tool.type": "function",
        "gen_ai.agent.name": "authentication",
        "agentkit.tool.timeout": False,
        "agentkit.tool.cancelled": False,
    }
    assert verify.status.status_code is StatusCode.UNSET
    assert verify.start_time is not None and verify.end_time is not None
    assert verify.end_time - verify.start_time == pytest.approx(0.4e9, abs=2)
    assert (harness.parent_of(verify).attributes or {})["gen_ai.response.id"] == "resp_2"

    handoff = harness.one("agentkit.handoff")
    assert dict(handoff.attributes or {}) == {
        "gen_ai.tool.name": "transfer_to_returns",
        "gen_ai.tool.call.id": "call_transfer",
        "agentkit.handoff.from": "authentication",
        "agentkit.handoff.to": "returns",
        "agentkit.handoff.new_agent_spoke": True,
    }
    # From the transfer call (11.4) to the returns agent's first audio (12.6).
    assert handoff.start_time is not None and handoff.end_time is not None
    assert handoff.end_time - handoff.start_time == pytest.approx(1.2e9, abs=2)

    guardrails = harness.one("agentkit.guardrails")
    assert dict(guardrails.attributes or {}) == {
        "agentkit.guardrail.stage": "input",
        "agentkit.guardrail.names": ("civil_language", "prompt_injection"),
        "agentkit.guardrail.tripped": False,
    }
    assert harness.parent_of(guardrails).name == "agentkit.user_turn"


def test_tool_code_nests_under_the_tool_span(harness: Harness) -> None:
    tracer = harness.provider.get_tracer("example.store")
    harness.at(1.0, AgentStart("returns", "resp_1"))
    harness.at(1.1, ToolStart("call_1", "lookup_order", "{}", "returns"))
    seen: dict[str, Any] = {}

    def blocking_query() -> None:
        seen["thread"] = threading.get_ident()
        with tracer.start_as_current_span("SELECT sync"):
            pass

    async def tool() -> None:
        with tracer.start_as_current_span("SELECT async"):
            await anyio.sleep(0)
        # A sync tool runs in a worker thread: the context must follow it there.
        await anyio.to_thread.run_sync(blocking_query)

    async def run_in_task() -> None:
        async with anyio.create_task_group() as tg:

            async def run_tool() -> None:
                with harness.tracer.tool_context("call_1"):
                    await tool()

            tg.start_soon(run_tool)

    anyio.run(run_in_task)
    assert seen["thread"] != threading.get_ident()
    harness.at(1.5, ToolEnd("call_1", "lookup_order", "{}", "returns"))
    tool_span = harness.one("execute_tool lookup_order")
    assert harness.parent_of(harness.one("SELECT async")) == tool_span
    assert harness.parent_of(harness.one("SELECT sync")) == tool_span
    # Outside the context manager the tool span is not current.
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_tool_failures_timeouts_and_cancellations(harness: Harness) -> None:
    harness.at(1.0, AgentStart("returns", "resp_1"))
    harness.at(1.0, ToolStart("c1", "start_return", "{}", "returns"))
    harness.at(1.0, ToolStart("c2", "lookup_order", "{}", "returns"))
    harness.at(1.0, ToolStart("c3", "list_offers", "{}", "returns"))
    harness.at(9.0, ToolEnd("c1", "start_return", '{"error": "timeout"}', "returns", "timeout"))
    harness.at(9.5, ToolEnd("c2", "lookup_order", '{"error": "error"}', "returns", "error"))
    harness.at(9.7, ToolEnd("c3", "list_offers", '{"error": "cancelled"}', "returns", "cancelled"))
    timed_out = harness.one("execute_tool start_return")
    assert timed_out.attributes is not None
    assert timed_out.attributes["agentkit.tool.timeout"] is True
    assert timed_out.attributes["error.type"] == "timeout"
    assert timed_out.status.status_code is StatusCode.ERROR
    cancelled = harness.one("execute_tool list_offers")
    assert cancelled.attributes is not None
    assert cancelled.attributes["agentkit.tool.cancelled"] is True
    # Interrupted by the caller is not a failure of the tool.
    assert cancelled.status.status_code is StatusCode.UNSET
    assert harness.counts("agentkit.tool.failures", "error.type") == {"timeout": 1, "error": 1}
    duration = harness.histogram("agentkit.tool.duration", **{"gen_ai.tool.name": "start_return"})
    assert duration.sum == pytest.approx(8.0)


def test_approvals(harness: Harness) -> None:
    harness.at(1.0, AgentStart("returns", "resp_1"))
    harness.at(1.1, ToolApprovalRequired("c1", "start_return", "{}", "returns", 60.0, "reject"))
    harness.at(1.1, ToolApprovalRequired("c2", "start_return", "{}", "returns", 60.0, "reject"))
    harness.at(2.0, AgentEnd("returns", "resp_1", "completed"))
    harness.at(4.0, ToolApprovalResolved("c1", "start_return", True, "app"))
    harness.at(4.0, ToolStart("c1", "start_return", "{}", "returns"))
    harness.at(4.5, ToolEnd("c1", "start_return", '{"rma": "R1"}', "returns"))
    harness.at(5.0, ToolApprovalResolved("c2", "start_return", False, "timeout"))
    harness.at(5.0, ToolEnd("c2", "start_return", '{"error": "rejected"}', "returns", "rejected"))
    approvals = sorted(harness.named("agentkit.tool_approval"), key=lambda s: s.start_time or 0)
    assert [
        (
            (s.attributes or {})["gen_ai.tool.call.id"],
            (s.attributes or {})["agentkit.approval.approved"],
            (s.attributes or {})["agentkit.approval.by"],
        )
        for s in approvals
    ] == [("c1", True, "app"), ("c2", False, "timeout")]
    response = harness.one("generate_content gpt-realtime")
    # The approved call ran after its response ended, and still belongs to it.
    assert harness.parent_of(harness.one("execute_tool start_return")) == response
    assert all(harness.parent_of(s) == response for s in approvals)
    assert harness.points("agentkit.tool.failures") == []
