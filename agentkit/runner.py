"""`RealtimeRunner`: agents plus settings, ready to start any number of sessions.

A runner holds only definitions (agents, settings, tool policy). Every `session()` gets its
own supervisor, tool runner and queue, so one runner serves many concurrent calls (the
peer's runner shares one connection between its sessions).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic

from .agent import RealtimeAgent, walk_agents
from .context import TContext
from .errors import UserError
from .history import HistoryItem
from .logs import get_logger
from .policy import (
    ApprovalSettings,
    GuardrailSettings,
    QualityPolicy,
    ReconnectPolicy,
    SessionLimits,
    ToolErrorFormatter,
    TransportFactory,
    default_tool_error_formatter,
)
from .protocol.dialects import Dialect
from .protocol.live_config import LiveOptions
from .runtime.config import RuntimeConfig
from .runtime.observer import ObserverFactory
from .runtime.slots import SessionSlots
from .session import RealtimeSession
from .settings import SessionSettings
from .tracing import Instrumentation, TracingConfig
from .transports.base import Transport
from .transports.websocket import OPENAI_REALTIME_URL, WebSocketTransport, realtime_url

if TYPE_CHECKING:
    from .loader import Definitions

logger = get_logger("agentkit.runner")

__all__ = ["RealtimeRunner"]


class RealtimeRunner(Generic[TContext]):
    """Starts sessions of a starting agent (or of loaded YAML `Definitions`).

    Args:
        starting: The agent a session starts with, or `Definitions` from `load_definitions`
            (its settings and agents are used; `settings=` still overrides).
        settings: The session settings; agents' own settings are laid on top.
        dialect: `"ga"`, `"beta"` or `"live"` (GPT-Live, see `LiveOptions`); `None`: the
            `dialect:` of loaded `Definitions`, else `"ga"`.
        tool_timeout: Default seconds per tool call (a tool's own `timeout` wins).
        max_tool_threads: Sync tools running at once per session.
        tool_error_formatter: How tool failures are worded for the model.
        raw_events: Emit every wire event as a `raw` session event too.
        max_queued_events: Events kept for the async iterator when it lags (overrides
            `limits.max_queued_events`).
        guardrails: How guardrail trips are handled (debounce, safe reply).
        approvals: Timeout and default decision for tools marked `needs_approval`.
        reconnect: Reconnect with backoff and history replay when the connection drops or
            the service ends the session, renew before its maximum duration, fall back to
            text. `None` (the default): a lost connection ends the session with an error.
        limits: Session duration, idle timeout, queue and payload limits.
        max_concurrent_sessions: Sessions of this runner open at once; one more raises
            `SessionLimitError` when it starts. `None`: no cap.
        tracing: OpenTelemetry traces and metrics of the sessions (see `TracingConfig`).
            `None` (the default) uses the global providers: sessions are traced once an
            OpenTelemetry SDK is installed, and cost nothing measurable until then.
            `TracingConfig(enabled=False)` turns tracing off whatever is installed.
        quality: Connection quality events and codec fallback over WebRTC (see
            `QualityPolicy`); `None`: off.
        live: How agents run on GPT-Live (`dialect="live"`, see `LiveOptions`); `None`: the
            defaults (or the `live:` section of loaded `Definitions`).
    """

    def __init__(
        self,
        starting: RealtimeAgent[TContext] | Definitions,
        *,
        settings: SessionSettings | None = None,
        dialect: Dialect | None = None,
        tool_timeout: float | None = 30.0,
        max_tool_threads: int = 8,
        tool_error_formatter: ToolErrorFormatter = default_tool_error_formatter,
        raw_events: bool = False,
        max_queued_events: int | None = None,
        guardrails: GuardrailSettings | None = None,
        approvals: ApprovalSettings | None = None,
        reconnect: ReconnectPolicy | None = None,
        limits: SessionLimits | None = None,
        max_concurrent_sessions: int | None = None,
        tracing: TracingConfig | None = None,
        quality: QualityPolicy | None = None,
        live: LiveOptions | None = None,
    ) -> None:
        self._context_factory: Callable[[], Any] | None = None
        if not isinstance(starting, RealtimeAgent):
            dialect = dialect or starting.dialect
            live = live if live is not None else starting.live
        if isinstance(starting, RealtimeAgent):
            self.starting_agent: RealtimeAgent[Any] = starting
            self.settings = settings if settings is not None else SessionSettings()
            self.agents = {a.name: a for a in walk_agents(starting)}
        else:
            self.starting_agent = starting.starting_agent
            self.settings = settings if settings is not None else starting.settings
            self.agents = dict(starting.agents)
            self._context_factory = starting.context_factory
        # Built once: every session of this runner reads it (see `RuntimeConfig`).
        self.config = RuntimeConfig.from_arguments(
            settings=self.settings,
            dialect=dialect or "ga",
            raw_events=raw_events,
            max_queued_events=max_queued_events,
            limits=limits,
            guardrails=guardrails,
            approvals=approvals,
            reconnect=reconnect,
            tool_timeout=tool_timeout,
            max_tool_threads=max_tool_threads,
            tool_error_formatter=tool_error_formatter,
            quality=quality,
            live=live,
        )
        self.slots = SessionSlots(max_concurrent_sessions)
        self.tracing = tracing if tracing is not None else TracingConfig()
        # Once per runner: the instruments are registered here, not per session.
        self._instrumentation = Instrumentation(self.tracing) if self.tracing.enabled else None
        unheard = sorted(
            agent.name
            for agent in self.agents.values()
            if agent.input_guardrails
            and self.settings.merged(agent.settings).input_transcription is None
        )
        if unheard:
            # Not an error (typed turns are still checked), but a spoken turn has no text to
            # check, so those guardrails silently never see one.
            logger.warning(
                "input guardrails of %s never check spoken turns: input transcription is "
                "off; turn it on (`input_transcription` in the session or agent settings) "
                "for them to see what the caller says",
                ", ".join(repr(name) for name in unheard),
            )

    def session(
        self,
        transport: Transport,
        *,
        context: TContext | None = None,
        history: Iterable[HistoryItem] = (),
        clock: Callable[[], float] = time.monotonic,
        transport_factory: TransportFactory | None = None,
        random_source: Callable[[], float] = random.random,
        agent: RealtimeAgent[Any] | None = None,
        observers: Sequence[ObserverFactory] = (),
    ) -> RealtimeSession[Any]:
        """A new session over `transport` (not connected until `async with`).

        Args:
            transport: A `WebSocketTransport`, the in-memory pair's client end, ...
            context: The object tools receive as `RunContext.context` (from the
                definitions' context factory when not given).
            history: Earlier turns to seed the conversation with.
            clock: Monotonic seconds, for the playback estimate and timers (tests pass a
                fake).
            transport_factory: Makes the transport of each reconnect attempt (default: the
                same transport connects again, which a `WebSocketTransport` can do).
            random_source: The jitter of the reconnect backoff (tests pass a constant).
            agent: The agent to start with, if not the runner's starting agent (a session
                resumed after a handoff: see `agentkit.store`).
            observers: Make the session's other observers when it starts (a store's
                recorder: see `agentkit.store`).

        Raises:
            UserError: `transport` speaks another dialect than the runner (its `dialect`).
        """
        spoken = getattr(transport, "dialect", self.config.dialect)
        if spoken != self.config.dialect:
            raise UserError(
                f"the transport speaks the {spoken!r} dialect but the runner {self.config.dialect!r}: "
                f"pass dialect={spoken!r} to RealtimeRunner (or build the transport for "
                f"{self.config.dialect!r})"
            )
        if context is None and self._context_factory is not None:
            context = self._context_factory()
        return RealtimeSession(
            agent=agent if agent is not None else self.starting_agent,
            transport=transport,
            context=context,
            config=self.config,
            history=history,
            agents=self.agents,
            clock=clock,
            transport_factory=transport_factory,
            random_source=random_source,
            slots=self.slots,
            instrumentation=self._instrumentation,
            observers=observers,
        )

    def websocket_session(
        self,
        *,
        api_key: str | None,
        url: str | None = None,
        context: TContext | None = None,
        history: Iterable[HistoryItem] = (),
    ) -> RealtimeSession[Any]:
        """A session over a WebSocket to OpenAI (or to `url`, e.g. the local server)."""
        transport = WebSocketTransport(
            url or realtime_url(self.settings.model, OPENAI_REALTIME_URL),
            api_key=api_key,
            dialect=self.config.dialect,
        )
        return self.session(transport, context=context, history=history)
