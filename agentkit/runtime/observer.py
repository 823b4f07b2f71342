"""What a session reports to its instrumentation, and the no-op default.

Tracing is an observer, not a copy of the code: the session runs every tool, transfer and
guardrail round the same way and tells its `SessionObserver` about it; with tracing off
that observer is `NO_OBSERVER`, which does nothing. `agentkit.tracing.SessionTracer` is
the real one (it fits these protocols as it is; nothing here imports it).

Two levels, as two protocols:

* `SupervisorObserver`: what the sans-I/O `Supervisor` reports as it decides
  (`Supervisor.observe_with`): wire and session events of the classes it asks for, and
  each `response.create`. The supervisor is given one only when tracing is on, so that an
  audio delta costs nothing when it is off.
* `SessionObserver`: that, plus what only the session knows: app calls (typed text,
  push-to-talk), the work it runs (a tool's context, a transfer, a guardrail round, each
  with a handle to report the outcome), its deferred work (`flush_due` / `tick`) and its end.

A session may have several observers (the tracer and a store's recorder, say): `ObserverGroup`
makes them one, so the session still reports to exactly one. Observers other than the tracer
are made when the session starts by an `ObserverFactory`, which is handed the supervisor (to
read the history and the agent) and `announce`, to deliver an event of the observer's own
(a store falling behind) to the app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from .. import protocol as p
    from ..events import SessionEvent
    from ..protocol.wire_types import CallId
    from ..tracing import Instrumentation, SessionTracer
    from .policy import GuardrailVerdict
    from .supervisor import Supervisor

__all__ = [
    "NO_OBSERVER",
    "GuardrailReport",
    "HandoffReport",
    "NoObserver",
    "ObserverFactory",
    "ObserverGroup",
    "SessionObserver",
    "SupervisorObserver",
    "join_observers",
    "start_tracer",
]


class SupervisorObserver(Protocol):
    """What `Supervisor.observe_with` reports to (see there)."""

    @property
    def event_types(self) -> AbstractSet[type]:
        """The wire and session event classes to report."""
        ...

    def observe(self, event: SessionEvent | p.ServerEvent) -> None:
        """One event: a wire event before it is handled, a session event as it is emitted."""
        ...

    def response_requested(self) -> None:
        """A `response.create` was just queued to go out (`data_to_send`), ours or the app's."""
        ...


class HandoffReport(Protocol):
    """The handle a transfer runs with: report how it went."""

    def finished(self, target: str | None, refusal: str | None = None) -> None:
        """`target`: the agent taken over to; `None` when refused, `refusal` the output."""
        ...


class GuardrailReport(Protocol):
    """The handle a guardrail round runs with: report the verdict."""

    def finished(self, verdict: GuardrailVerdict, text: str | None = None) -> None:
        """The round's verdict and the text that was checked."""
        ...


class SessionObserver(SupervisorObserver, Protocol):
    """What a `RealtimeSession` reports to (see the module docs)."""

    @property
    def flush_due(self) -> float | None:
        """When the observer wants `tick()` (the session's clock), if ever."""
        ...

    def tick(self, now: float) -> None:
        """Do what was due at `now`."""
        ...

    def wake_with(self, waker: Callable[[float], None] | None) -> None:
        """Call `waker(due)` when something becomes due, so the session's timer wakes."""
        ...

    def user_text(self, text: str) -> None:
        """The app sent a typed user turn."""
        ...

    def turn_started(self) -> None:
        """Push-to-talk pressed."""
        ...

    def turn_ended(self) -> None:
        """Push-to-talk released."""
        ...

    def tool_context(self, call_id: CallId) -> AbstractContextManager[None]:
        """The context a tool call runs in (so what the tool does nests under the call)."""
        ...

    async def tool_started(self, call_id: CallId, tool_name: str) -> None:
        """A tool or a transfer callback is about to run (in its own task, after any
        approval); awaited first, so a recorder can make the start durable before a tool with
        side effects runs (see `agentkit.store`)."""
        ...

    def handoff(self, call_id: CallId, tool_name: str) -> AbstractContextManager[HandoffReport]:
        """The context a transfer runs in; report its outcome on the handle."""
        ...

    def guardrails(
        self, stage: Literal["input", "output"], names: Sequence[str]
    ) -> AbstractContextManager[GuardrailReport]:
        """The context a round of guardrail checks runs in; report the verdict."""
        ...

    def end(self, error: BaseException | None = None) -> None:
        """The session closed (`error`: why, if it failed)."""
        ...


class _Ignored:
    """A handle whose report goes nowhere."""

    __slots__ = ()

    def finished(self, *args: object, **kwargs: object) -> None:
        return None


class NoObserver:
    """The observer of an untraced session: every report is dropped, at the cost of a call.

    Its context managers are shared `nullcontext`s (reusable, nothing allocated per call).
    """

    __slots__ = ()

    event_types: AbstractSet[type] = frozenset()
    flush_due: float | None = None

    _context: nullcontext[None] = nullcontext()
    _report: nullcontext[_Ignored] = nullcontext(_Ignored())

    def observe(self, event: SessionEvent | p.ServerEvent) -> None:
        return None

    def response_requested(self) -> None:
        return None

    def tick(self, now: float) -> None:
        return None

    def wake_with(self, waker: Callable[[float], None] | None) -> None:
        return None

    def user_text(self, text: str) -> None:
        return None

    def turn_started(self) -> None:
        return None

    def turn_ended(self) -> None:
        return None

    def tool_context(self, call_id: CallId) -> AbstractContextManager[None]:
        return self._context

    async def tool_started(self, call_id: CallId, tool_name: str) -> None:
        return None

    def handoff(self, call_id: CallId, tool_name: str) -> AbstractContextManager[HandoffReport]:
        return self._report

    def guardrails(
        self, stage: Literal["input", "output"], names: Sequence[str]
    ) -> AbstractContextManager[GuardrailReport]:
        return self._report

    def end(self, error: BaseException | None = None) -> None:
        return None


NO_OBSERVER: SessionObserver = NoObserver()
"""The shared no-op observer (it keeps no state)."""

ObserverFactory = Callable[["Supervisor", Callable[["SessionEvent"], None]], SessionObserver]
"""Makes one session's observer when the session starts: `factory(supervisor, announce)`,
where `supervisor` is the session's (read its history and agent, never drive it) and
`announce(event)` delivers an event of the observer's own to the app (it is safe to call from
any task of the session's event loop)."""


class _HandoffReports:
    __slots__ = ("_reports",)

    def __init__(self, reports: Sequence[HandoffReport]) -> None:
        self._reports = reports

    def finished(self, target: str | None, refusal: str | None = None) -> None:
        for report in self._reports:
            report.finished(target, refusal)


class _GuardrailReports:
    __slots__ = ("_reports",)

    def __init__(self, reports: Sequence[GuardrailReport]) -> None:
        self._reports = reports

    def finished(self, verdict: GuardrailVerdict, text: str | None = None) -> None:
        for report in self._reports:
            report.finished(verdict, text)


class ObserverGroup:
    """Several observers reported to as one, in order (the tracer first, then the others).

    Each event goes only to the members that asked for its class, so a member's
    `event_types` keeps its cost where it was; the session and the supervisor see one
    observer, as before.
    """

    def __init__(self, members: Sequence[SessionObserver]) -> None:
        self.members = tuple(members)
        types: set[type] = set()
        for member in self.members:
            types |= member.event_types
        self.event_types: AbstractSet[type] = frozenset(types)
        self._by_type = {
            cls: tuple(m for m in self.members if cls in m.event_types) for cls in types
        }

    @property
    def flush_due(self) -> float | None:
        dues = [due for m in self.members if (due := m.flush_due) is not None]
        return min(dues) if dues else None

    def observe(self, event: SessionEvent | p.ServerEvent) -> None:
        for member in self._by_type.get(type(event), ()):
            member.observe(event)

    def response_requested(self) -> None:
        for member in self.members:
            member.response_requested()

    def tick(self, now: float) -> None:
        for member in self.members:
            member.tick(now)

    def wake_with(self, waker: Callable[[float], None] | None) -> None:
        for member in self.members:
            member.wake_with(waker)

    def user_text(self, text: str) -> None:
        for member in self.members:
            member.user_text(text)

    def turn_started(self) -> None:
        for member in self.members:
            member.turn_started()

    def turn_ended(self) -> None:
        for member in self.members:
            member.turn_ended()

    @contextmanager
    def tool_context(self, call_id: CallId) -> Iterator[None]:
        with ExitStack() as stack:
            for member in self.members:
                stack.enter_context(member.tool_context(call_id))
            yield

    async def tool_started(self, call_id: CallId, tool_name: str) -> None:
        for member in self.members:
            await member.tool_started(call_id, tool_name)

    @contextmanager
    def handoff(self, call_id: CallId, tool_name: str) -> Iterator[HandoffReport]:
        with ExitStack() as stack:
            reports = [stack.enter_context(m.handoff(call_id, tool_name)) for m in self.members]
            yield _HandoffReports(reports)

    @contextmanager
    def guardrails(
        self, stage: Literal["input", "output"], names: Sequence[str]
    ) -> Iterator[GuardrailReport]:
        with ExitStack() as stack:
            reports = [stack.enter_context(m.guardrails(stage, names)) for m in self.members]
            yield _GuardrailReports(reports)

    def end(self, error: BaseException | None = None) -> None:
        for member in self.members:
            member.end(error)


def join_observers(members: Sequence[SessionObserver]) -> SessionObserver:
    """One observer for `members`: the no-op for none, the member itself for one."""
    if not members:
        return NO_OBSERVER
    if len(members) == 1:
        return members[0]
    return ObserverGroup(members)


def start_tracer(
    instrumentation: Instrumentation | None,
    supervisor: Supervisor,
    *,
    transport: object,
    clock: Callable[[], float],
) -> SessionTracer | None:
    """The session's tracer, if tracing is on (`Instrumentation.active`), attached to
    `supervisor`; None otherwise (the session then reports to `NO_OBSERVER`)."""
    if instrumentation is None or not instrumentation.active:
        return None
    # `websocket`, `memory`, ... for `agentkit.transport`: the class name without `Transport`.
    kind = type(transport).__name__
    tracer = instrumentation.start_session(
        model=supervisor.settings.model,
        agent_name=supervisor.agent.name,
        transport=kind.removesuffix("Transport").lower() or kind,
        dialect=supervisor.dialect,
        clock=clock,
    )
    # Only a real observer is given to the supervisor: an untraced audio delta then costs
    # nothing (see `Supervisor.observe_with`).
    supervisor.observe_with(tracer)
    return tracer
