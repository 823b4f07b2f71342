"""`agentkit.runtime.work`: a command runs in its own task with its run context, and its
result goes back to the supervisor before the session is flushed."""

from __future__ import annotations

import gc
from typing import Any

import anyio
from support import frames, new_supervisor
from triage import call_done, created

from agentkit import RealtimeAgent, RunContext, handoff, input_guardrail, tool
from agentkit.events import Breadcrumb, HandoffEvent
from agentkit.runtime.commands import CancelTool, RunGuardrails, RunHandoff, RunTool
from agentkit.runtime.supervisor import Supervisor
from agentkit.runtime.tool_runner import ToolRunner
from agentkit.runtime.work import Work

seen: list[tuple[Any, str | None, int]] = []


@tool
async def whoami(ctx: RunContext[str]) -> str:
    """Say whose call this is."""
    seen.append((ctx.context, ctx.agent.name if ctx.agent else None, len(ctx.history)))
    ctx.add_breadcrumb("looked")
    return f"for {ctx.context}"


gates: list[anyio.Event] = []  # one per test: an event belongs to its loop


@tool
async def gated() -> str:
    """Waits at the gate."""
    await gates[-1].wait()
    seen.append(("gated", None, 0))
    return "through"


late = RealtimeAgent(name="Late", instructions="Later.")
desk = RealtimeAgent(name="Desk", instructions="Desk.", tools=[whoami, gated], handoffs=[handoff("Late")])


class Harness:
    def __init__(self) -> None:
        self.sup: Supervisor = new_supervisor(desk)
        self.sup.connecting()
        self.sup.connected()
        self.sup.data_to_send()
        self.sup.events_to_emit()
        self.flushed = anyio.Event()
        self.failures: list[BaseException] = []
        self.agents: dict[str, RealtimeAgent[Any]] = {"Desk": desk}
        self.work: Work[str] = Work(
            self.sup, ToolRunner(), self.failures.append, context="ada", agents=self.agents,
            clock=lambda: 12.0, flush=self.flush,
        )

    async def flush(self) -> None:
        self.flushed.set()

    async def run(self, command: RunTool | RunHandoff | RunGuardrails) -> None:
        self.flushed = anyio.Event()
        self.work.start(command)
        with anyio.fail_after(2):
            await self.flushed.wait()

    def call(self, call_id: str, name: str, arguments: str = "{}") -> Any:
        created(self.sup, f"r_{call_id}")
        call_done(self.sup, call_id, name, rid=f"r_{call_id}", arguments=arguments)
        (command,) = self.sup.commands()
        return command


async def test_a_tool_runs_with_its_context_and_its_output_goes_back() -> None:
    seen.clear()
    h = Harness()
    await h.run(h.call("c1", "whoami"))
    assert seen == [("ada", "Desk", 1)]  # the history as it was: the call itself
    outputs = [f["item"] for f in frames(h.sup) if f["type"] == "conversation.item.create"]
    assert [(o["call_id"], o["output"]) for o in outputs] == [("c1", "for ada")]
    assert Breadcrumb("looked", "c1") in h.sup.events_to_emit()
    assert h.failures == []


async def test_a_transfer_to_a_name_is_resolved_and_remembered() -> None:
    h = Harness()
    command = h.call("c2", "transfer_to_late")
    assert isinstance(command, RunHandoff)
    h.agents["Late"] = late
    await h.run(command)
    assert h.sup.agent is late
    assert any(isinstance(e, HandoffEvent) for e in h.sup.events_to_emit())


async def test_a_cancelled_call_reports_nothing() -> None:
    seen.clear()
    h = Harness()
    gates.append(anyio.Event())
    h.work.start(h.call("c3", "gated"))
    await anyio.lowlevel.checkpoint()  # the tool is running, waiting at its gate
    h.work.cancel(CancelTool("c3", timed_out=True, output="timed out"))  # already answered
    gates[-1].set()
    for _ in range(20):  # what the tool needs to finish, had it not been cancelled
        await anyio.lowlevel.checkpoint()
    assert not h.work.tasks.alive
    assert (seen, frames(h.sup), h.flushed.is_set(), h.failures) == ([], [], False, [])


async def test_a_call_cancelled_before_its_task_starts_leaves_nothing_behind() -> None:
    h = Harness()
    h.work.start(h.call("c4", "whoami"))
    h.work.cancel(CancelTool("c4"))
    await h.work.tasks.stop()
    gc.collect()
    assert frames(h.sup) == [] and not h.flushed.is_set()


async def test_a_guardrail_round_reports_its_verdict() -> None:
    h = Harness()
    check = input_guardrail(lambda ctx, text: ctx.context == "ada" and "pin" in text, name="no_pin")
    results: list[Any] = []
    h.sup.guardrails_finished = lambda check_id, verdict, now: results.append((check_id, verdict.tripped, now))  # type: ignore[method-assign]
    await h.run(RunGuardrails(7, "input", (check,), "my pin is 1234", desk))
    assert [(i, g.name if g else None, now) for i, g, now in results] == [(7, "no_pin", 12.0)]
