"""The run context that tools, guardrails, handoff callbacks and dynamic instructions receive."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .agent import RealtimeAgent

__all__ = ["RunContext", "TContext"]

TContext = TypeVar("TContext")


@dataclass
class RunContext(Generic[TContext]):
    """What a tool, guardrail or callback may know about the run it is part of.

    A tool asks for it by annotating a parameter with `RunContext` (or `RunContext[MyState]`);
    that parameter is injected and never appears in the tool's JSON Schema.

    Attributes:
        context: The developer's own object given to the runner (a DB handle, the caller's id...).
        agent: The agent active when the call was made.
        history: The conversation so far, as the runtime mirrors it (oldest first): in a
            session, a read-only `HistoryView` of the items there were when the call was
            made, snapshotted when first read (taking it costs nothing per call).
    """

    context: TContext
    agent: RealtimeAgent[Any] | None = None
    history: Sequence[object] = ()
    _breadcrumb_sink: Callable[[str], None] | None = field(default=None, repr=False)

    def add_breadcrumb(self, text: str) -> None:
        """Leave a note in the transcript (shown to people, never sent to the model)."""
        if self._breadcrumb_sink is not None:
            self._breadcrumb_sink(text)
