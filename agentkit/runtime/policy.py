"""Guardrail and approval policy: the one place that decides what a check or a parked call
means, for every session and transport.

`SessionPolicy` holds the runner's `GuardrailSettings` and `ApprovalSettings` plus the
decisions a session remembers (an "always" approval or rejection of a tool). The sans-I/O
`Supervisor` asks it the pure questions (is this tool approved already? is an output check
due? what does the agent say after a trip?); the session runs the checks themselves with
`run_guardrails`, as tasks, so a slow guardrail never blocks the pump.

No I/O and no event loop here: checks are awaited, but what awaits them is the runtime.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ..context import RunContext
from ..guardrails import Guardrail, GuardrailResult
from ..logs import get_logger
from ..policy import ApprovalSettings, GuardrailOnError, GuardrailSettings
from ..tools import FunctionTool

__all__ = [
    "GuardrailVerdict",
    "SessionPolicy",
    "run_guardrails",
]

logger = get_logger("agentkit.guardrails")


@dataclass(frozen=True, slots=True)
class GuardrailVerdict:
    """The outcome of one round of checks on one text.

    Attributes:
        tripped: The first guardrail (in declaration order) whose tripwire fired, if any.
        details: Its result's details.
        errors: Guardrails that failed (raised, or returned no verdict), by name, with the
            message: reported, never fatal, as a broken check must not end a call. Whether a
            failure also trips the round is `GuardrailSettings.on_error`'s choice.
    """

    tripped: Guardrail | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    errors: tuple[tuple[str, str], ...] = ()


RunSync = Callable[[Callable[[], Any]], Awaitable[Any]]
"""Runs a blocking function off the event loop (the runtime passes a worker-thread runner)."""


async def _check(
    guardrail: Guardrail, ctx: RunContext[Any], text: str, run_sync: RunSync | None
) -> GuardrailResult:
    if run_sync is None or inspect.iscoroutinefunction(guardrail.check):
        return await guardrail.run(ctx, text)
    # A plain function may be slow (a classifier, a regex over a long transcript): run it in
    # a worker thread so the pump keeps moving audio meanwhile.
    verdict = await run_sync(lambda: guardrail.check(ctx, text))
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return guardrail.result_of(verdict)


async def run_guardrails(
    guardrails: Sequence[Guardrail],
    ctx: RunContext[Any],
    text: str,
    *,
    run_sync: RunSync | None = None,
    on_error: GuardrailOnError = "block",
) -> GuardrailVerdict:
    """Run `guardrails` on `text` in order and stop at the first trip.

    Args:
        run_sync: Runs sync checks off the event loop; `None` calls them inline.
        on_error: A check that fails: `block` trips the round on it (with
            `details={"error": ...}`), `allow` goes on to the next check. Either way it is
            logged (WARNING) and listed in `errors` (see `GuardrailSettings.on_error`).
    """
    errors: list[tuple[str, str]] = []
    for guardrail in guardrails:
        try:
            result = await _check(guardrail, ctx, text, run_sync)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "guardrail %r failed (%s the text)",
                guardrail.name,
                "blocking" if on_error == "block" else "allowing",
                exc_info=True,
            )
            errors.append((guardrail.name, message))
            if on_error == "block":
                return GuardrailVerdict(guardrail, {"error": message}, tuple(errors))
            continue
        if result.tripwire_triggered:
            return GuardrailVerdict(guardrail, dict(result.details), tuple(errors))
    return GuardrailVerdict(errors=tuple(errors))


# The wording the model gets to speak a fixed reply. The realtime API has no "say this"
# event: a response with these instructions is how a fixed sentence is spoken in the
# session's voice (an assistant item created by the client would be text only).
SAFE_REPLY_INSTRUCTIONS = (
    'Say exactly the following to the caller, word for word, and nothing else: "{reply}"'
)
CORRECTIVE_INSTRUCTIONS = {
    "input": (
        "The caller's last message was stopped by the {name!r} guardrail. Do not act on it or "
        "repeat it. Briefly tell the caller you cannot help with that, and offer other help."
    ),
    "output": (
        "Your last answer was stopped by the {name!r} guardrail and was not delivered. Do not "
        "repeat it. Briefly tell the caller you cannot help with that, and offer other help."
    ),
}


class SessionPolicy:
    """Guardrail and approval policy for one session (build one per session).

    Args:
        guardrails: Guardrail handling (debounce, safe reply).
        approvals: Approval timeout and default decision.
    """

    def __init__(
        self,
        guardrails: GuardrailSettings | None = None,
        approvals: ApprovalSettings | None = None,
    ) -> None:
        self.guardrails = guardrails if guardrails is not None else GuardrailSettings()
        self.approvals = approvals if approvals is not None else ApprovalSettings()
        self._always: dict[str, bool] = {}

    # -- approvals --------------------------------------------------------------------------

    def approval_for(self, tool: FunctionTool) -> Literal["ask", "approve", "reject"]:
        """Whether a call of `tool` must wait for the app, or was decided once for all."""
        if not tool.needs_approval:
            return "approve"
        remembered = self._always.get(tool.name)
        if remembered is None:
            return "ask"
        return "approve" if remembered else "reject"

    def remember(self, tool_name: str, approved: bool) -> None:
        """Apply this decision to every later call of `tool_name` in this session."""
        self._always[tool_name] = approved

    def rejection_output(self, message: str | None) -> str:
        """The `function_call_output` of a rejected call: the model reads it and can tell the
        caller why nothing happened."""
        return orjson.dumps(
            {"error": "rejected", "message": message or self.approvals.rejection_message}
        ).decode()

    # -- guardrails -------------------------------------------------------------------------

    def output_check_due(self, chars: int, checked: int) -> bool:
        """Whether the transcript grew enough since the last check to check again."""
        return chars - checked >= self.guardrails.output_debounce_chars

    def reply_after_trip(
        self, guardrail: Guardrail, stage: Literal["input", "output"]
    ) -> tuple[str | None, str]:
        """The safe reply (if any) and the `response.create` instructions that speak it."""
        reply = guardrail.safe_reply or self.guardrails.default_safe_reply
        if reply is not None:
            return reply, SAFE_REPLY_INSTRUCTIONS.format(reply=reply.replace('"', "'"))
        return None, CORRECTIVE_INSTRUCTIONS[stage].format(name=guardrail.name)
