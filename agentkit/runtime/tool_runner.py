"""Tool, handoff and guardrail execution: where a model's call becomes a result, in a task.

Every session and transport goes through `ToolRunner`, so argument validation, error
formatting and the worker threads of sync tools are decided here once; `CallTasks` is the
one concurrency model of a session's work: every tool call, transfer and guardrail round
runs in its own asyncio task, cancelled by id (`CancelTool`) or all at once when the
session closes, awaited before the session ends, its failure raised in the session.

Deadlines are not kept here: the supervisor's watchdog (`runtime.watchdog`) times every
call out on the session's clock, answers it, and asks for its task to be cancelled.

What a call can end in, and what the model is told (via the `ToolErrorFormatter`):

| outcome | output |
| --- | --- |
| the tool returned | its value, serialised (`str` as is, pydantic/dataclass/JSON values as JSON) |
| arguments break the schema | `invalid_arguments`, naming the bad field so the model can retry |
| the agent has no such tool | `unknown_tool`, listing the tools it has |
| the tool raised | `error`, with the exception's message |
| it ran past its timeout | `timeout` (decided by the watchdog, worded by the same formatter) |

Never a dead call: every path returns an output string. Async tools run on the event loop,
concurrently; sync tools run in worker threads bounded by a `CapacityLimiter`, so a slow
blocking tool never stalls audio.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import orjson
from pydantic import BaseModel

from ..agent import RealtimeAgent
from ..context import RunContext
from ..errors import ToolArgumentsError
from ..guardrails import Guardrail
from ..handoffs import Handoff
from ..logs import get_logger
from ..policy import (
    FailureKind,
    GuardrailOnError,
    ToolErrorFormatter,
    ToolFailure,
    default_tool_error_formatter,
)
from ..protocol.wire_types import CallId
from ..tools import FunctionTool
from .policy import GuardrailVerdict, run_guardrails

__all__ = [
    "CallTasks",
    "HandoffOutcome",
    "ToolOutcome",
    "ToolRunner",
    "serialize_tool_output",
]

logger = get_logger("agentkit.tools")


def serialize_tool_output(value: object) -> str:
    """A tool's return value as the string the model reads."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What to send for one call; `error` (the kind) and `message` (why, for people) are set
    when the tool did not produce a result."""

    output: str
    error: FailureKind | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class HandoffOutcome:
    """A transfer's verdict: the agent to switch to and its instructions, or the output
    explaining the refusal to the model."""

    target: RealtimeAgent[Any] | None
    instructions: str | None = None
    refusal: str | None = None


class ToolRunner:
    """Runs tool calls, handoff callbacks and guardrail checks for one session.

    Args:
        max_threads: Sync tools running at once in worker threads (one limiter per runner,
            so sessions do not share it).
        error_formatter: How failures are told to the model.
    """

    def __init__(
        self,
        *,
        max_threads: int = 8,
        error_formatter: ToolErrorFormatter = default_tool_error_formatter,
    ) -> None:
        self.error_formatter = error_formatter
        self._limiter = anyio.CapacityLimiter(max_threads)

    async def run(
        self, name: str, tool: FunctionTool | None, arguments: str, ctx: RunContext[Any]
    ) -> ToolOutcome:
        """Validate, run and serialise one call. Never raises except for cancellation (how
        a call that timed out is stopped: see the module docs)."""
        if tool is None:
            agent = ctx.agent
            offered = sorted(t.name for t in agent.tools) if agent is not None else []
            return self._fail(
                ToolFailure(
                    "unknown_tool",
                    name,
                    f"there is no tool named {name!r}; available: {', '.join(offered) or 'none'}",
                )
            )
        try:
            parsed = tool.parse_arguments(arguments)
            call = tool.bind(ctx, parsed)
        except ToolArgumentsError as exc:
            return self._fail(ToolFailure("invalid_arguments", name, exc.message, exc))
        try:
            value = await (call() if tool.is_async else self._in_thread(call))
        except Exception as exc:
            logger.warning("tool %r raised", name, exc_info=True)
            return self._fail(ToolFailure("error", name, f"{type(exc).__name__}: {exc}", exc))
        try:
            return ToolOutcome(serialize_tool_output(value))
        except Exception as exc:
            return self._fail(ToolFailure("error", name, f"unserialisable result: {exc}", exc))

    async def _in_thread(self, call: Callable[[], Any]) -> Any:
        # abandon_on_cancel: a timed-out sync tool cannot be stopped, but the session stops
        # waiting for it and the thread's result is dropped.
        return await anyio.to_thread.run_sync(call, limiter=self._limiter, abandon_on_cancel=True)

    async def run_handoff(
        self,
        handoff: Handoff,
        arguments: str,
        ctx: RunContext[Any],
        resolve: Callable[[RealtimeAgent[Any] | str], RealtimeAgent[Any] | None],
    ) -> HandoffOutcome:
        """Validate the transfer input, run `on_handoff`, resolve the target's instructions.

        Args:
            resolve: Finds the target agent (handoffs may name their target by string).
        """
        name = handoff.tool_name
        target = resolve(handoff.target)
        if target is None:
            return HandoffOutcome(
                None,
                refusal=self.error_formatter(
                    ToolFailure("unknown_tool", name, f"no agent named {handoff.agent_name!r}")
                ),
            )
        try:
            value = handoff.parse_input(arguments)
        except ToolArgumentsError as exc:
            return HandoffOutcome(
                None,
                refusal=self.error_formatter(
                    ToolFailure("invalid_arguments", name, exc.message, exc)
                ),
            )
        try:
            await handoff.run_callback(ctx, value)
            instructions = await target.resolve_instructions(
                dataclasses.replace(ctx, agent=target)
            )
        except Exception as exc:
            logger.warning("handoff %r failed", name, exc_info=True)
            failure = ToolFailure("error", name, f"{type(exc).__name__}: {exc}", exc)
            return HandoffOutcome(None, refusal=self.error_formatter(failure))
        return HandoffOutcome(target, instructions)

    async def run_guardrails(
        self,
        guardrails: Sequence[Guardrail],
        ctx: RunContext[Any],
        text: str,
        *,
        on_error: GuardrailOnError = "block",
    ) -> GuardrailVerdict:
        """One round of checks on `text` (sync checks in worker threads); a check that fails
        trips the round or is skipped, as `on_error` says (`GuardrailSettings.on_error`)."""
        return await run_guardrails(
            guardrails, ctx, text, run_sync=anyio.to_thread.run_sync, on_error=on_error
        )

    def _fail(self, failure: ToolFailure) -> ToolOutcome:
        return ToolOutcome(self.error_formatter(failure), failure.kind, failure.message)


class CallTasks:
    """The tasks one session runs its work in (see the module docs).

    Plain asyncio tasks, not a task group's: starting one costs a tenth (≈6 µs against
    ≈60 µs with its cancel scope), on every call's critical path. Structure is kept by
    hand: a keyed task is cancelled by `cancel(key)`, every task by `cancel_all()`, all are
    awaited by `stop()` before the session ends, and a task's failure goes to `on_failure`
    (the session raises it in its task group, as a task group would).

    Args:
        on_failure: Called with the exception a task ended with (not a cancellation).
    """

    def __init__(self, on_failure: Callable[[BaseException], None]) -> None:
        self._on_failure = on_failure
        self._running: dict[CallId, asyncio.Task[None]] = {}  # by call id: cancellable
        self._timed_out: dict[CallId, str] = {}  # call id → the output sent instead
        self.alive: set[asyncio.Task[None]] = set()
        """Every task not yet ended, cancelled or not."""

    def start(
        self, work: Coroutine[Any, Any, None], *, name: str, key: CallId | None = None
    ) -> None:
        """Run `work` in a new task; with `key`, `cancel(key)` cancels it."""
        task = asyncio.get_running_loop().create_task(self._guard(work, key), name=name)
        if key is not None:
            self._running[key] = task
        alive = self.alive
        alive.add(task)

        def ended(task: asyncio.Task[None]) -> None:
            alive.discard(task)
            # A task cancelled before its first step never started `work`: close it, or it
            # is reported as never awaited (a no-op for a coroutine that ran to its end).
            work.close()

        task.add_done_callback(ended)

    def finish(self, key: CallId) -> bool:
        """The task of `key` has its result: forget it. False when it was cancelled
        meanwhile (its call is already answered: report nothing)."""
        return self._running.pop(key, None) is not None

    def cancel(self, key: CallId, *, timed_out_with: str | None = None) -> None:
        """Cancel the task of `key`, if running; `timed_out_with` is the output its call was
        answered with when it timed out (see `timed_out`)."""
        task = self._running.pop(key, None)
        if task is not None:
            if timed_out_with is not None:
                self._timed_out[key] = timed_out_with
            task.cancel()

    def timed_out(self, key: CallId) -> str | None:
        """In a cancelled task: the output sent when its call timed out, else None."""
        return self._timed_out.pop(key, None)

    def cancel_all(self) -> None:
        """Cancel every call's task (the session is closing); guardrail rounds finish or
        are cancelled by `stop()`."""
        for task in self._running.values():
            task.cancel()
        self._running.clear()

    async def stop(self) -> None:
        """Cancel the tasks still alive and wait for them.

        Cancelled again on every round, as a cancel scope would: a tool that swallows one
        cancellation does not keep the session open.
        """
        alive = self.alive
        with anyio.CancelScope(shield=True):
            while alive:
                for task in alive:
                    task.cancel()
                await asyncio.wait(alive, timeout=0.1)

    async def _guard(self, work: Coroutine[Any, Any, None], key: CallId | None) -> None:
        try:
            await work
        except Exception as error:
            self._on_failure(error)
        finally:
            if key is not None and self._timed_out:
                self._timed_out.pop(key, None)
