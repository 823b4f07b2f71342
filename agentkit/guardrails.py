"""Input and output guardrails: checks on what the caller says and what the agent says.

A guardrail is a function of the run context and a text that returns a `GuardrailResult` (or a
bool, meaning "tripped"). Input guardrails see each completed user transcript and typed message;
output guardrails see the assistant's transcript as it streams. The runtime decides what a trip
does (cancel, truncate, speak `safe_reply`); this module only defines and runs the checks.

Built-ins (`blocked_terms`, `blocked_regex`, `max_length`) are usable from YAML by name.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

from .context import RunContext
from .errors import DefinitionError

__all__ = [
    "BUILTIN_GUARDRAILS",
    "Guardrail",
    "GuardrailFunction",
    "GuardrailResult",
    "InputGuardrail",
    "OutputGuardrail",
    "blocked_regex",
    "blocked_terms",
    "input_guardrail",
    "max_length",
    "output_guardrail",
]


@dataclass(frozen=True)
class GuardrailResult:
    """The verdict of one guardrail on one text.

    Attributes:
        tripwire_triggered: True when the text must not go through.
        details: Why, as data the app can log or show (matched term, length, ...).
    """

    tripwire_triggered: bool
    details: Mapping[str, Any] = field(default_factory=dict)


GuardrailFunction = Callable[
    [RunContext[Any], str], GuardrailResult | bool | Awaitable[GuardrailResult | bool]
]
"""`check(ctx, text)`, sync or async, returning a `GuardrailResult` or a bool."""


@dataclass(frozen=True, eq=False)
class Guardrail:
    """A named check plus what the agent says instead when it trips.

    Attributes:
        name: Shown in events, traces and the transcript.
        check: The function doing the check.
        safe_reply: What the agent says after a trip; `None` lets the runtime's default speak.
    """

    name: str
    check: GuardrailFunction
    safe_reply: str | None = None
    stage: Literal["input", "output"] = "input"

    async def run(self, ctx: RunContext[Any], text: str) -> GuardrailResult:
        """Run the check; a bare bool becomes a result with no details."""
        verdict = self.check(ctx, text)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return self.result_of(verdict)

    def result_of(self, verdict: object) -> GuardrailResult:
        """What the check returned, as a `GuardrailResult` (a bare bool: "tripped", with no
        details); the one place a check's return value is read.

        Raises:
            DefinitionError: The check returned something else.
        """
        if isinstance(verdict, GuardrailResult):
            return verdict
        if isinstance(verdict, bool):
            return GuardrailResult(tripwire_triggered=verdict)
        raise DefinitionError(
            f"guardrail {self.name!r} returned {type(verdict).__name__}; "
            "return a GuardrailResult or a bool"
        )


@dataclass(frozen=True, eq=False)
class InputGuardrail(Guardrail):
    """Runs on each completed user transcript and each typed message."""

    stage: Literal["input", "output"] = "input"


@dataclass(frozen=True, eq=False)
class OutputGuardrail(Guardrail):
    """Runs on the assistant's transcript as it streams (debounced by the runtime)."""

    stage: Literal["input", "output"] = "output"


G = TypeVar("G", InputGuardrail, OutputGuardrail)


def _make(
    cls: type[G], func: GuardrailFunction, name: str | None, safe_reply: str | None
) -> G:
    if not callable(func):
        raise DefinitionError(f"a guardrail needs a function, got {type(func).__name__}")
    try:
        inspect.signature(func).bind(None, "")
    except TypeError as exc:
        raise DefinitionError(
            f"guardrail {getattr(func, '__name__', func)!r} must accept (ctx, text): {exc}"
        ) from exc
    except ValueError:
        pass
    label: str = name or getattr(func, "__name__", None) or "guardrail"
    return cls(name=label, check=func, safe_reply=safe_reply)


@overload
def input_guardrail(func: GuardrailFunction, /) -> InputGuardrail: ...
@overload
def input_guardrail(
    func: GuardrailFunction, /, *, name: str | None = None, safe_reply: str | None = None
) -> InputGuardrail: ...
@overload
def input_guardrail(
    func: None = None, /, *, name: str | None = None, safe_reply: str | None = None
) -> Callable[[GuardrailFunction], InputGuardrail]: ...
def input_guardrail(
    func: GuardrailFunction | None = None,
    /,
    *,
    name: str | None = None,
    safe_reply: str | None = None,
) -> InputGuardrail | Callable[[GuardrailFunction], InputGuardrail]:
    """Declare an input guardrail: `@input_guardrail`, or `input_guardrail(check, name=...)`."""
    if func is None:
        return lambda f: _make(InputGuardrail, f, name, safe_reply)
    return _make(InputGuardrail, func, name, safe_reply)


@overload
def output_guardrail(func: GuardrailFunction, /) -> OutputGuardrail: ...
@overload
def output_guardrail(
    func: GuardrailFunction, /, *, name: str | None = None, safe_reply: str | None = None
) -> OutputGuardrail: ...
@overload
def output_guardrail(
    func: None = None, /, *, name: str | None = None, safe_reply: str | None = None
) -> Callable[[GuardrailFunction], OutputGuardrail]: ...
def output_guardrail(
    func: GuardrailFunction | None = None,
    /,
    *,
    name: str | None = None,
    safe_reply: str | None = None,
) -> OutputGuardrail | Callable[[GuardrailFunction], OutputGuardrail]:
    """Declare an output guardrail: `@output_guardrail`, or `output_guardrail(check, ...)`."""
    if func is None:
        return lambda f: _make(OutputGuardrail, f, name, safe_reply)
    return _make(OutputGuardrail, func, name, safe_reply)


def blocked_terms(terms: Sequence[str], *, case_sensitive: bool = False) -> GuardrailFunction:
    """Trip when any of `terms` appears as a whole word or phrase."""
    # A bare string is a Sequence[str] too: it would block each of its letters.
    if isinstance(terms, str):
        raise DefinitionError(f"blocked_terms needs a list of terms, got the string {terms!r}")
    if not terms or not all(isinstance(t, str) and t.strip() for t in terms):
        raise DefinitionError("blocked_terms needs a non-empty list of non-empty strings")
    flags = 0 if case_sensitive else re.IGNORECASE
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(re.escape(t.strip()) for t in terms) + r")(?!\w)", flags
    )

    def check(ctx: RunContext[Any], text: str) -> GuardrailResult:
        match = pattern.search(text)
        if match is None:
            return GuardrailResult(False)
        return GuardrailResult(True, {"matched": match.group(1)})

    check.__name__ = "blocked_terms"
    return check


def blocked_regex(pattern: str, *, case_sensitive: bool = False) -> GuardrailFunction:
    """Trip when the regular expression matches anywhere in the text."""
    try:
        compiled = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise DefinitionError(f"blocked_regex: invalid pattern {pattern!r}: {exc}") from exc

    def check(ctx: RunContext[Any], text: str) -> GuardrailResult:
        match = compiled.search(text)
        if match is None:
            return GuardrailResult(False)
        return GuardrailResult(True, {"matched": match.group(0), "pattern": pattern})

    check.__name__ = "blocked_regex"
    return check


def max_length(limit: int) -> GuardrailFunction:
    """Trip when the text is longer than `limit` characters."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise DefinitionError(f"max_length needs a positive whole number, got {limit!r}")

    def check(ctx: RunContext[Any], text: str) -> GuardrailResult:
        if len(text) <= limit:
            return GuardrailResult(False)
        return GuardrailResult(True, {"length": len(text), "limit": limit})

    check.__name__ = "max_length"
    return check


BUILTIN_GUARDRAILS: Mapping[str, Callable[..., GuardrailFunction]] = {
    "blocked_terms": blocked_terms,
    "blocked_regex": blocked_regex,
    "max_length": max_length,
}
"""Built-in checks by the name YAML files use (`builtin: blocked_terms`)."""
