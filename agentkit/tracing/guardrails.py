"""Guardrail rounds as spans: `agentkit.guardrails` around one round of checks, a child of
the caller's turn (input) or of the response (output), with the verdict `GuardrailCheck`
reports. (Trips are also counted and marked as span events by `SessionTracer`.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from .conventions import ERROR_TYPE, GUARDRAILS_SPAN
from .records import Shared

if TYPE_CHECKING:
    from ..runtime.policy import GuardrailVerdict

__all__ = ["GuardrailCheck", "guardrail_round"]


@contextmanager
def guardrail_round(
    shared: Shared, parent: Context, stage: Literal["input", "output"], names: Sequence[str]
) -> Iterator[GuardrailCheck]:
    """See `SessionTracer.guardrails`; `parent`: the turn or the response checked."""
    span = shared.tracer.start_span(
        GUARDRAILS_SPAN,
        context=parent,
        attributes={"agentkit.guardrail.stage": stage, "agentkit.guardrail.names": list(names)},
        start_time=shared.ns(shared.clock()),
    )
    check = GuardrailCheck(shared.capture, span)
    try:
        with trace.use_span(
            span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            yield check
    except BaseException as exc:
        span.set_attribute(ERROR_TYPE, type(exc).__name__)
        raise
    finally:
        span.end(shared.ns(shared.clock()))


class GuardrailCheck:
    """The handle `SessionTracer.guardrails` yields: report the verdict."""

    __slots__ = ("_capture", "_span")

    def __init__(self, capture: bool, span: Span) -> None:
        self._capture = capture
        self._span = span

    def finished(self, verdict: GuardrailVerdict, text: str | None = None) -> None:
        """Record which guardrail tripped (if any) and which ones raised. `text`, the text
        that was checked, is recorded only with content capture."""
        tripped = verdict.tripped
        attributes: dict[str, AttributeValue] = {"agentkit.guardrail.tripped": tripped is not None}
        if tripped is not None:
            attributes["agentkit.guardrail.name"] = tripped.name
        if verdict.errors:
            attributes["agentkit.guardrail.errors"] = [name for name, _ in verdict.errors]
        if text is not None and self._capture:
            attributes["agentkit.guardrail.text"] = text
        self._span.set_attributes(attributes)

