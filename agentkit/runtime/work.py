"""The session's work: each tool call, transfer and guardrail round, run one way.

`RealtimeSession` hands the supervisor's `RunTool`, `RunHandoff` and `RunGuardrails`
commands here. Each runs in its own task (`CallTasks`) through the `ToolRunner`, with its
run context, under its observer (`runtime.observer`: the tracer, or the no-op), and its
result goes back to the supervisor, then the session flushes. `CancelTool` cancels a task:
its call was already answered (a timeout, an interruption, the session's end).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic

from ..agent import RealtimeAgent
from ..context import RunContext, TContext
from ..protocol.wire_types import CallId
from .commands import CancelTool, RunGuardrails, RunHandoff, RunTool
from .observer import NO_OBSERVER, SessionObserver
from .supervisor import Supervisor
from .tool_runner import CallTasks, ToolRunner

__all__ = ["Work"]

# Task names for the work a session starts per call. Named explicitly: without a name the
# runtime derives one from the function's module and qualified name on every spawn, which
# was a quarter of what starting a tool's task cost.
_TOOL_TASK = "agentkit.tool"
_HANDOFF_TASK = "agentkit.handoff"
_GUARDRAILS_TASK = "agentkit.guardrails"


class Work(Generic[TContext]):
    """Runs a session's calls and checks and reports them (see the module docs).

    Args:
        supervisor: Where results go.
        tools: Runs them.
        on_failure: Gets what a task failed with (see `CallTasks`).
        context: The app's object, for each `RunContext`.
        agents: The agents a transfer may name, by name (shared with the session).
        clock: The session's clock.
        flush: Flushes the session after a result (from a background task).
    """

    def __init__(
        self,
        supervisor: Supervisor,
        tools: ToolRunner,
        on_failure: Callable[[BaseException], None],
        *,
        context: TContext,
        agents: dict[str, RealtimeAgent[Any]],
        clock: Callable[[], float],
        flush: Callable[[], Awaitable[None]],
    ) -> None:
        self._supervisor = supervisor
        self._tools = tools
        self.tasks = self._tasks = CallTasks(on_failure)
        """Where each call runs."""
        self._context = context
        self._agents = agents
        self._clock = clock
        self._flush = flush
        self.observer: SessionObserver = NO_OBSERVER
        """Told about each call (set when the session starts, if it is traced)."""

    def start(self, command: RunTool | RunHandoff | RunGuardrails) -> None:
        """Run `command` in a task of its own."""
        if isinstance(command, RunTool):
            self._tasks.start(self._run_tool(command), name=_TOOL_TASK, key=command.call_id)
        elif isinstance(command, RunHandoff):
            self._tasks.start(
                self._run_handoff(command), name=_HANDOFF_TASK, key=command.call_id
            )
        else:
            self._tasks.start(self._run_guardrails(command), name=_GUARDRAILS_TASK)

    def cancel(self, command: CancelTool) -> None:
        """Stop the call's task (its output was already sent)."""
        self._tasks.cancel(command.call_id, timed_out_with=command.output)

    async def _run_tool(self, command: RunTool) -> None:
        call_id = command.call_id
        ctx = self.run_context(command.agent, call_id)
        # Under its `execute_tool` span when traced, so the tool's own spans nest there
        # (worker threads too: anyio runs sync tools in a copy of this context). A timeout
        # or a `CancelTool` cancels this task and ends it here, unanswered: the supervisor
        # already answered the call.
        with self.observer.tool_context(call_id):
            # Before the tool runs: a store's recorder makes the start durable here, so a
            # tool with side effects is never run twice after a crash (`agentkit.store`).
            await self.observer.tool_started(call_id, command.name)
            outcome = await self._tools.run(command.name, command.tool, command.arguments, ctx)
        if not self._tasks.finish(call_id):
            return  # cancelled meanwhile (the tool swallowed it): already answered
        self._supervisor.tool_finished(
            call_id, outcome.output, error=outcome.error, message=outcome.message, now=self._clock()
        )
        await self._flush()

    async def _run_handoff(self, command: RunHandoff) -> None:
        call_id = command.call_id
        ctx = self.run_context(command.agent, call_id)
        supervisor = self._supervisor
        # `on_handoff` and the target's instructions run under the handoff span.
        with self.observer.handoff(call_id, command.handoff.tool_name) as report:
            try:
                await self.observer.tool_started(call_id, command.handoff.tool_name)
                outcome = await self._tools.run_handoff(
                    command.handoff, command.arguments, ctx, self._resolve_agent
                )
            except BaseException:  # a cancellation: `run_handoff` raises nothing else
                refusal = self._tasks.timed_out(call_id)
                if refusal is not None:  # timed out: the model was told so
                    report.finished(None, refusal)
                raise
            if not self._tasks.finish(call_id):
                return
            target = outcome.target
            if target is None:
                supervisor.handoff_failed(call_id, outcome.refusal or "{}", now=self._clock())
                report.finished(None, outcome.refusal)
            else:
                self._agents.setdefault(target.name, target)
                supervisor.handoff_finished(
                    call_id, target, outcome.instructions, now=self._clock()
                )
                # The swap itself may still fail (the target cannot take over the session).
                if supervisor.agent is target:
                    report.finished(target.name)
                else:
                    report.finished(None, outcome.refusal)
        await self._flush()

    async def _run_guardrails(self, command: RunGuardrails) -> None:
        ctx = self.run_context(command.agent, None)
        names = [guardrail.name for guardrail in command.guardrails]
        with self.observer.guardrails(command.stage, names) as check:
            verdict = await self._tools.run_guardrails(
                command.guardrails,
                ctx,
                command.text,
                on_error=self._supervisor.config.guardrails.on_error,
            )
            check.finished(verdict, command.text)
        self._supervisor.guardrails_finished(command.check_id, verdict, self._clock())
        await self._flush()

    def _resolve_agent(self, target: RealtimeAgent[Any] | str) -> RealtimeAgent[Any] | None:
        if isinstance(target, RealtimeAgent):
            return target
        return self._agents.get(target)

    def run_context(
        self, agent: RealtimeAgent[Any], call_id: CallId | None
    ) -> RunContext[TContext]:
        """What a tool, check, callback or dynamic instructions of `agent` receive."""
        supervisor = self._supervisor

        def breadcrumb(text: str) -> None:
            supervisor.add_breadcrumb(text, call_id)

        return RunContext(
            context=self._context,
            agent=agent,
            # A view, not a copy: most tools never read the history, and copying it cost
            # O(length) per call.
            history=supervisor.history.view(),
            _breadcrumb_sink=breadcrumb,
        )
