"""What a `SessionTracer` holds while a turn or a response is open, and `SessionPart`, the
base of the parts it delegates to (turns, tools, handoffs, reconnects).

A turn's and a response's spans are made when they end, all their attributes at once,
unless a child span needs them live first; until then these records hold what the span will
carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from .conventions import TurnDetection
from .metrics import Metrics

__all__ = ["Pending", "Response", "SessionPart", "Shared", "Turn"]


@dataclass(slots=True)
class Turn:
    """A caller turn, its span made when it ends (start and end in one go) unless a child
    (a response, an input guardrail round) needs it live first."""

    parent: Context  # the agent active when the caller spoke
    start_ns: int
    detection: TurnDetection
    started: float
    # What the span will carry; once it exists, only what it has not been given yet.
    attributes: dict[str, AttributeValue]
    item_id: str | None = None
    speech_end: float | None = None
    ended: bool = False
    span: Span | None = None
    context: Context | None = None


@dataclass(slots=True)
class Response:
    """A response, its span made when it ends (all its attributes at once) unless something
    needs it live first: a child span (a tool, a handoff, an output guardrail round)."""

    turn: Turn | None  # the parent, else `parent`
    parent: Context
    start_ns: int
    response_id: str
    agent_name: str
    started: float
    requested_at: float | None
    # What the span will carry: the start attributes and what the response learns while it
    # runs (time to first audio, usage, status). Once the span exists, only what it has not
    # been given yet, set in one call when it ends.
    attributes: dict[str, AttributeValue]
    span: Span | None = None
    context: Context | None = None
    # Span events (interruption, truncation, guardrail trip) while the span does not exist.
    events: list[tuple[str, dict[str, AttributeValue], int]] | None = None
    interrupted: bool = False
    # With content capture: the transcript so far (the final one, held back by output
    # guardrails, often arrives after the response is done and its span has ended).
    text: list[str] = field(default_factory=list)
    transcript: str | None = None



@dataclass(slots=True)
class Pending:
    """A response.create sent and not yet answered by `response.created`."""

    at: float



@dataclass(frozen=True, slots=True)
class Shared:
    """What the parts of one `SessionTracer` share with it: where spans and metric points go,
    the privacy choice, and the session's clock with its conversion to span times."""

    tracer: trace.Tracer
    metrics: Metrics
    capture: bool
    clock: Callable[[], float]
    ns: Callable[[float], int]  # the session's clock (seconds) to span time (ns, epoch)


class SessionPart:
    """The base of a `SessionTracer`'s parts: what they share, as attributes."""

    def __init__(self, shared: Shared) -> None:
        self._tracer = shared.tracer
        self._metrics = shared.metrics
        self._capture = shared.capture
        self._clock = shared.clock
        self._ns = shared.ns
