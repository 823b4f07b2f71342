"""Tool and handoff execution: the one place where a model's call becomes a result.

Every session and transport goes through `ToolRunner`, so argument validation, timeouts,
error formatting and (later) approvals and tool guardrails are decided here once.

What a call can end in, and what the model is told (via the `ToolErrorFormatter`):

| outcome | output |
| --- | --- |
| the tool returned | its value, serialised (`str` as is, pydantic/dataclass/JSON values as JSON) |
| arguments break the schema | `invalid_arguments`, naming the bad field so the model can retry |
| the agent has no such tool | `unknown_tool`, listing the tools it has |
| the tool raised | `error`, with the exception's message |
| it ran past its timeout | `timeout` |

Never a dead call: every path returns an output string. Async tools run on the event loop,
concurrently; sync tools run in worker threads bounded by a `CapacityLimiter`, so a slow
blocking tool never stalls audio.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import orjson
from pydantic import BaseModel

from ..agent import RealtimeAgent
from ..context import RunContext
from ..errors import DefinitionError, ToolArgumentsError
from ..handoffs import Handoff
from ..policy import FailureKind, ToolErrorFormatter, ToolFailure, default_tool_error_formatter
from ..tools import FunctionTool

__all__ = [
    "HandoffOutcome",
    "ToolOutcome",
    "ToolRunner",
    "serialize_tool_output",
]

logger = logging.getLogger("agentkit.tools")

def serialize_tool_output(value: Any) -> str:
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
    """What to send for one call; `error` is set when the tool did not produce a result."""

    output: str
    error: FailureKind | None = None


@dataclass(frozen=True, slots=True)
class HandoffOutcome:
    """A transfer's verdict: the agent to switch to and its instructions, or the output
    explaining the refusal to the model."""

    target: RealtimeAgent[Any] | None
    instructions: str | None = None
    refusal: str | None = None


class ToolRunner:
    """Runs tool calls and handoff callbacks for one session.

    Args:
        default_timeout: Seconds a tool may run when it sets no `timeout` (None: no limit).
        max_threads: Sync tools running at once in worker threads (one limiter per runner,
            so sessions do not share it).
        error_formatter: How failures are told to the model.
    """

    def __init__(
        self,
        *,
        default_timeout: float | None = 30.0,
        max_threads: int = 8,
        error_formatter: ToolErrorFormatter = default_tool_error_formatter,
    ) -> None:
        if default_timeout is not None and default_timeout <= 0:
            raise DefinitionError(f"default_timeout must be positive, got {default_timeout}")
        self.default_timeout = default_timeout
        self.error_formatter = error_formatter
        self._limiter = anyio.CapacityLimiter(max_threads)

    def timeout_for(self, tool: FunctionTool | None) -> float | None:
        """The seconds `tool` may run: its own `timeout`, else the runner's default."""
        if tool is not None and tool.timeout is not None:
            return tool.timeout
        return self.default_timeout

    def timed_out(self, name: str, timeout: float) -> ToolOutcome:
        """The outcome of a call that ran past `timeout` (for a caller that owns the
        deadline, see `run(timed=False)`)."""
        return self._fail(
            ToolFailure(
                "timeout",
                name,
                f"the tool did not finish within {timeout:g}s",
                TimeoutError(),
            )
        )

    async def run(
        self,
        name: str,
        tool: FunctionTool | None,
        arguments: str,
        ctx: RunContext[Any],
        *,
        timed: bool = True,
    ) -> ToolOutcome:
        """Validate, run and serialise one call. Never raises except for cancellation.

        Args:
            timed: Enforce the tool's timeout here. A caller that already runs the call under
                its own deadline (`timeout_for()`; the session does, with one
                `asyncio.timeout` per call) passes False and reports an expiry with
                `timed_out()`.
        """
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
        timeout = tool.timeout if tool.timeout is not None else self.default_timeout
        try:
            if not timed or timeout is None:
                value = await (call() if tool.is_async else self._in_thread(call))
            else:
                with anyio.fail_after(timeout):
                    value = await (call() if tool.is_async else self._in_thread(call))
        except TimeoutError as exc:
            return self._fail(
                ToolFailure("timeout", name, f"the tool did not finish within {timeout:g}s", exc)
            )
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
            with anyio.fail_after(self.default_timeout):
                await handoff.run_callback(ctx, value)
                instructions = await target.resolve_instructions(
                    dataclasses.replace(ctx, agent=target)
                )
        except TimeoutError as exc:
            failure = ToolFailure("timeout", name, "the transfer callback timed out", exc)
            return HandoffOutcome(None, refusal=self.error_formatter(failure))
        except Exception as exc:
            logger.warning("handoff %r failed", name, exc_info=True)
            failure = ToolFailure("error", name, f"{type(exc).__name__}: {exc}", exc)
            return HandoffOutcome(None, refusal=self.error_formatter(failure))
        return HandoffOutcome(target, instructions)

    def _fail(self, failure: ToolFailure) -> ToolOutcome:
        return ToolOutcome(self.error_formatter(failure), failure.kind)
