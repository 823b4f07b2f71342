"""Tool dispatch policy: every way a call can end becomes an output the model can speak from.

(Timeouts are the watchdog's: see `test_watchdog.py` and `tests/test_session.py`.)"""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import orjson
from pydantic import BaseModel

from agentkit import RealtimeAgent, RunContext, handoff, tool
from agentkit.policy import ToolFailure
from agentkit.protocol.wire_types import CallId
from agentkit.runtime.tool_runner import CallTasks, ToolRunner, serialize_tool_output


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def boom(q: str) -> str:
    """Always fails."""
    raise RuntimeError("database down")


@tool
def whoami(ctx: RunContext[dict[str, str]], greeting: str) -> str:
    """Uses the run context."""
    assert ctx.agent is not None
    ctx.add_breadcrumb(f"greeted {ctx.context['user']}")
    return f"{greeting} {ctx.context['user']} from {ctx.agent.name}"


agent = RealtimeAgent(name="Main", instructions="x", tools=[add, boom, whoami])


def ctx(context: Any = None, crumbs: list[str] | None = None) -> RunContext[Any]:
    sink = crumbs.append if crumbs is not None else None
    return RunContext(context=context, agent=agent, _breadcrumb_sink=sink)


async def test_valid_call_returns_the_serialised_result() -> None:
    outcome = await ToolRunner().run("add", add, '{"a": 2, "b": 3}', ctx())
    assert outcome.output == "5" and outcome.error is None


async def test_invalid_arguments_never_reach_the_tool() -> None:
    outcome = await ToolRunner().run("add", add, '{"a": "two", "b": 3}', ctx())
    assert outcome.error == "invalid_arguments"
    body = orjson.loads(outcome.output)
    assert body["error"] == "invalid_arguments" and "a" in body["message"]
    outcome = await ToolRunner().run("add", add, "{not json", ctx())
    assert outcome.error == "invalid_arguments"


async def test_unknown_tool_lists_what_exists() -> None:
    outcome = await ToolRunner().run("nope", None, "{}", ctx())
    assert outcome.error == "unknown_tool"
    assert "add" in orjson.loads(outcome.output)["message"]


async def test_exception_becomes_an_output() -> None:
    outcome = await ToolRunner().run("boom", boom, '{"q": "x"}', ctx())
    assert outcome.error == "error"
    assert "database down" in outcome.output


async def test_sync_tools_run_in_threads_bounded_by_the_limiter() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    @tool
    def work(q: str) -> str:
        """Blocking work."""
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return q

    runner = ToolRunner(max_threads=2)
    outputs: list[str] = []

    async def one(i: int) -> None:
        outputs.append(
            (await runner.run("work", work, orjson.dumps({"q": str(i)}).decode(), ctx())).output
        )

    start = time.monotonic()
    async with anyio.create_task_group() as tg:
        for i in range(6):
            tg.start_soon(one, i)
    assert sorted(outputs) == [str(i) for i in range(6)]
    assert peak == 2
    assert time.monotonic() - start >= 0.14  # 3 waves of 2


async def test_run_context_carries_context_agent_and_breadcrumbs() -> None:
    crumbs: list[str] = []
    outcome = await ToolRunner().run(
        "whoami", whoami, '{"greeting": "hi"}', ctx({"user": "ada"}, crumbs)
    )
    assert outcome.output == "hi ada from Main"
    assert crumbs == ["greeted ada"]


async def test_custom_error_formatter() -> None:
    seen: list[ToolFailure] = []

    def formatter(failure: ToolFailure) -> str:
        seen.append(failure)
        return f"Sorry, {failure.tool_name} failed."

    outcome = await ToolRunner(error_formatter=formatter).run("boom", boom, '{"q": "x"}', ctx())
    assert outcome.output == "Sorry, boom failed."
    assert isinstance(seen[0].exception, RuntimeError)


def test_serialisation() -> None:
    class Order(BaseModel):
        id: int

    assert serialize_tool_output("plain") == "plain"
    assert orjson.loads(serialize_tool_output(Order(id=3))) == {"id": 3}
    assert orjson.loads(serialize_tool_output({"a": [1, 2]})) == {"a": [1, 2]}
    assert serialize_tool_output(object).startswith("<class")


class Reason(BaseModel):
    reason: str


async def test_handoff_validates_input_runs_callback_and_resolves_instructions() -> None:
    seen: list[str] = []

    async def on_handoff(run_ctx: RunContext[Any], value: Reason) -> None:
        seen.append(value.reason)

    target = RealtimeAgent(name="Billing", instructions=lambda c: f"Billing for {c.context}")
    h = handoff(target, on_handoff=on_handoff, input_type=Reason)
    runner = ToolRunner()
    outcome = await runner.run_handoff(
        h, '{"reason": "refund"}', ctx("ada"), lambda t: t if not isinstance(t, str) else None
    )
    assert outcome.target is target and outcome.instructions == "Billing for ada"
    assert seen == ["refund"]
    refused = await runner.run_handoff(
        h, '{"why": 1}', ctx("ada"), lambda t: None if isinstance(t, str) else t
    )
    assert refused.target is None and refused.refusal is not None
    assert "invalid_arguments" in refused.refusal


async def test_handoff_to_a_name_that_resolves_to_nothing_is_refused() -> None:
    h = handoff("Nobody")
    outcome = await ToolRunner().run_handoff(h, "{}", ctx(), lambda t: None)
    assert outcome.target is None and "Nobody" in (outcome.refusal or "")


# --- CallTasks: the one concurrency model of a session's work --------------------------------


async def test_call_tasks_cancel_by_key_report_failures_and_stop_them_all() -> None:
    failures: list[BaseException] = []
    tasks = CallTasks(failures.append)
    started = anyio.Event()
    cancelled: list[str] = []

    async def hang(name: str) -> None:
        try:
            started.set()
            await anyio.Event().wait()
        except BaseException:
            cancelled.append(name)
            raise

    async def fail() -> None:
        raise RuntimeError("bug")

    tasks.start(hang("c1"), name="agentkit.tool", key="c1")
    tasks.start(hang("check"), name="agentkit.guardrails")
    tasks.start(fail(), name="agentkit.tool", key="c2")
    await started.wait()
    await anyio.sleep(0)
    tasks.cancel("c1", timed_out_with='{"error": "timeout"}')
    await anyio.sleep(0)
    assert cancelled == ["c1"]
    assert [str(f) for f in failures] == ["bug"]
    assert not tasks.finish("c1")  # cancelled: its result would not be reported
    tasks.cancel_all()  # the calls' tasks; the guardrail round is left to stop()
    await tasks.stop()
    assert cancelled == ["c1", "check"] and not tasks.alive


# --- what the model hears when a result cannot be sent or a transfer callback fails ----------


class Opaque:
    """A value pydantic cannot serialise."""


class Report(BaseModel):
    model_config = {"arbitrary_types_allowed": True}

    payload: Opaque


@tool
def report() -> Report:
    """Returns a model pydantic cannot serialise."""
    return Report(payload=Opaque())


async def test_a_result_that_cannot_be_serialised_becomes_an_error_output() -> None:
    outcome = await ToolRunner().run("report", report, "{}", ctx())
    assert outcome.error == "error"
    assert outcome.message is not None and outcome.message.startswith("unserialisable result")
    assert orjson.loads(outcome.output)["error"] == "error"


async def test_a_transfer_whose_callback_raises_is_refused_with_the_reason() -> None:
    async def on_handoff(run_ctx: RunContext[Any], value: Reason) -> None:
        raise LookupError("no billing desk today")

    target = RealtimeAgent(name="Billing", instructions="x")
    h = handoff(target, on_handoff=on_handoff, input_type=Reason)
    outcome = await ToolRunner().run_handoff(
        h, '{"reason": "refund"}', ctx(), lambda t: t if not isinstance(t, str) else None
    )
    assert outcome.target is None and outcome.refusal is not None
    body = orjson.loads(outcome.refusal)
    assert body["error"] == "error" and body["message"] == "LookupError: no billing desk today"


async def test_a_sync_tool_past_its_deadline_is_abandoned_not_waited_for() -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    @tool
    def stuck() -> str:
        """Blocks its thread until released."""
        started.set()
        release.wait(5)
        finished.append(True)
        return "late"

    runner = ToolRunner()
    try:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(runner.run, "stuck", stuck, "{}", ctx())
                await anyio.to_thread.run_sync(started.wait)
                scope.cancel()
        assert finished == []  # the session stopped waiting while the thread still ran
    finally:
        release.set()


async def test_a_timed_out_task_learns_the_output_its_call_was_answered_with() -> None:
    tasks = CallTasks(lambda error: None)
    seen: dict[str, str | None] = {}
    started = anyio.Event()

    async def hang(key: str) -> None:
        try:
            started.set()
            await anyio.Event().wait()
        except BaseException:
            seen[key] = tasks.timed_out(CallId(key))
            raise

    tasks.start(hang("c1"), name="agentkit.tool", key=CallId("c1"))
    tasks.start(hang("c2"), name="agentkit.tool", key=CallId("c2"))
    await started.wait()
    await anyio.sleep(0)
    tasks.cancel(CallId("c1"), timed_out_with='{"error": "timeout"}')
    tasks.cancel(CallId("c2"))  # an interruption, not a timeout
    await tasks.stop()
    assert seen == {"c1": '{"error": "timeout"}', "c2": None}


async def test_stopping_from_a_cancelled_scope_still_waits_for_every_task() -> None:
    tasks = CallTasks(lambda error: None)
    ended: list[str] = []

    async def hang() -> None:
        try:
            await anyio.Event().wait()
        finally:
            ended.append("c1")

    tasks.start(hang(), name="agentkit.tool", key=CallId("c1"))
    await anyio.sleep(0)
    with anyio.CancelScope() as scope:
        scope.cancel()  # the session itself is being cancelled
        await tasks.stop()
    assert ended == ["c1"] and not tasks.alive


async def test_eight_sync_tools_run_at_once_by_default() -> None:
    together = threading.Barrier(8, timeout=5)  # met only if eight run at once
    running = 0
    peak = 0
    lock = threading.Lock()

    @tool
    def work(i: int) -> int:
        """Blocking work; the first eight wait for each other."""
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        if i < 8:
            together.wait()
        with lock:
            running -= 1
        return i

    runner = ToolRunner()
    outcomes: list[str] = []

    async def one(i: int) -> None:
        outcomes.append((await runner.run("work", work, f'{{"i": {i}}}', ctx())).output)

    async with anyio.create_task_group() as tg:
        for i in range(9):
            tg.start_soon(one, i)
    assert sorted(outcomes, key=int) == [str(i) for i in range(9)]
    assert peak == 8
