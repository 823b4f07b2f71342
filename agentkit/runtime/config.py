"""`RuntimeConfig`: everything a session's runtime reads, built once by the runner.

One frozen object instead of keyword arguments forwarded layer by layer: the runner builds
it from its own arguments (`RealtimeRunner(...)`), every session it starts shares it, and
the session, the supervisor and the tool runner read the part they need. Per-session
things (the transport, the context, the seeded history, the clock) stay arguments of the
session; so do the mutable, shared objects (the agent registry, the session slots, the
instrumentation).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..errors import DefinitionError
from ..policy import (
    ApprovalSettings,
    GuardrailSettings,
    QualityPolicy,
    ReconnectPolicy,
    SessionLimits,
    ToolErrorFormatter,
    default_tool_error_formatter,
)
from ..protocol.dialects import Dialect
from ..protocol.live_config import LiveOptions
from ..settings import SessionSettings
from ..tools import FunctionTool

__all__ = ["RuntimeConfig"]


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """The configuration of a session's runtime (see the module docs).

    Attributes:
        settings: The runner's session settings (agents' overrides are merged per agent).
        dialect: The wire dialect, `"ga"` or `"beta"`.
        raw_events: Also emit every decoded wire event as `RawServerEvent`; off by default
            because it doubles the events per audio delta.
        limits: Session limits (duration, idle timeout, queue and payload sizes, stalls);
            the one place `max_queued_events` is read.
        guardrails: Guardrail handling (debounce, safe reply, input check timeout).
        approvals: Approval timeout and default decision.
        reconnect: The reconnect policy; `None` (also for `max_attempts=0`): a lost
            connection ends the session.
        tool_timeout: Seconds a tool call or a transfer may run when the tool sets no
            `timeout` of its own (`None`: no limit).
        max_tool_threads: Sync tools running at once in worker threads, per session.
        tool_error_formatter: How tool failures (timeouts included) are worded for the model.
        quality: Connection quality watching and codec fallback, over a transport that has
            stats (WebRTC); `None`: off.
        live: How agents run on GPT-Live (`dialect="live"`); `None`: the defaults.
    """

    settings: SessionSettings = field(default_factory=SessionSettings)
    dialect: Dialect = "ga"
    raw_events: bool = False
    limits: SessionLimits = field(default_factory=SessionLimits)
    guardrails: GuardrailSettings = field(default_factory=GuardrailSettings)
    approvals: ApprovalSettings = field(default_factory=ApprovalSettings)
    reconnect: ReconnectPolicy | None = None
    tool_timeout: float | None = 30.0
    max_tool_threads: int = 8
    tool_error_formatter: ToolErrorFormatter = default_tool_error_formatter
    quality: QualityPolicy | None = None
    live: LiveOptions | None = None

    def __post_init__(self) -> None:
        if self.tool_timeout is not None and self.tool_timeout <= 0:
            raise DefinitionError(f"default_timeout must be positive, got {self.tool_timeout}")
        if self.max_tool_threads < 1:
            raise DefinitionError(
                f"max_tool_threads must be at least 1, got {self.max_tool_threads}"
            )
        if self.dialect == "live" and self.reconnect is not None and self.reconnect.text_fallback:
            raise DefinitionError(
                "ReconnectPolicy.text_fallback cannot be used on Live: a Live session always "
                "speaks (there is no text-only Live session to fall back to)"
            )
        if self.reconnect is not None and not self.reconnect.max_attempts:
            # `max_attempts=0` means "never reconnect": one spelling for it, `None`.
            object.__setattr__(self, "reconnect", None)

    @property
    def can_reconnect(self) -> bool:
        """Whether the runtime reconnects after a drop (else a drop ends the session)."""
        return self.reconnect is not None

    @property
    def renew_after_s(self) -> float | None:
        """Seconds after each connect to reconnect proactively, if the policy asks for it."""
        return self.reconnect.renew_after_s if self.reconnect is not None else None

    def timeout_for(self, tool: FunctionTool | None) -> float | None:
        """The seconds a call of `tool` may run: its own `timeout`, else `tool_timeout`."""
        if tool is not None and tool.timeout is not None:
            return tool.timeout
        return self.tool_timeout

    @classmethod
    def from_arguments(
        cls,
        *,
        settings: SessionSettings | None = None,
        dialect: Dialect = "ga",
        raw_events: bool = False,
        max_queued_events: int | None = None,
        limits: SessionLimits | None = None,
        guardrails: GuardrailSettings | None = None,
        approvals: ApprovalSettings | None = None,
        reconnect: ReconnectPolicy | None = None,
        tool_timeout: float | None = 30.0,
        max_tool_threads: int = 8,
        tool_error_formatter: ToolErrorFormatter = default_tool_error_formatter,
        quality: QualityPolicy | None = None,
        live: LiveOptions | None = None,
    ) -> RuntimeConfig:
        """The configuration the runner's (or a hand-built session's) keyword arguments
        describe: `None` takes each knob's defaults, and `max_queued_events`, a shortcut,
        lands in its one place, `limits.max_queued_events`."""
        limits = limits if limits is not None else SessionLimits()
        if max_queued_events is not None:
            limits = dataclasses.replace(limits, max_queued_events=max_queued_events)
        return cls(
            settings=settings if settings is not None else SessionSettings(),
            dialect=dialect,
            raw_events=raw_events,
            limits=limits,
            guardrails=guardrails if guardrails is not None else GuardrailSettings(),
            approvals=approvals if approvals is not None else ApprovalSettings(),
            reconnect=reconnect,
            tool_timeout=tool_timeout,
            max_tool_threads=max_tool_threads,
            tool_error_formatter=tool_error_formatter,
            quality=quality,
            live=live,
        )
