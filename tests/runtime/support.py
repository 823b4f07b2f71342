"""Helpers shared by the supervisor tests (`tests/runtime/test_*.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from agentkit import RealtimeAgent, SessionSettings
from agentkit.history import HistoryItem
from agentkit.policy import ReconnectPolicy, SessionLimits
from agentkit.protocol.dialects import Dialect
from agentkit.runtime.config import RuntimeConfig
from agentkit.runtime.policy import SessionPolicy
from agentkit.runtime.supervisor import Supervisor


def new_supervisor(
    agent: RealtimeAgent[Any],
    settings: SessionSettings | None = None,
    *,
    dialect: Dialect = "ga",
    raw_events: bool = False,
    limits: SessionLimits | None = None,
    can_reconnect: bool = False,
    renew_after_s: float | None = None,
    tool_timeout: float | None = 30.0,
    history: Iterable[HistoryItem] = (),
    policy: SessionPolicy | None = None,
    output_audio_buffer: bool = False,
) -> Supervisor:
    """A supervisor whose `RuntimeConfig` is built from the arguments a test varies."""
    config = RuntimeConfig(
        settings=settings if settings is not None else SessionSettings(),
        dialect=dialect,
        raw_events=raw_events,
        limits=limits if limits is not None else SessionLimits(),
        reconnect=ReconnectPolicy(renew_after_s=renew_after_s) if can_reconnect else None,
        tool_timeout=tool_timeout,
    )
    return Supervisor(
        agent, config, history=history, policy=policy, output_audio_buffer=output_audio_buffer
    )


def feed(sup: Supervisor, event: dict[str, Any], now: float = 0.0) -> None:
    sup.receive_frame(orjson.dumps(event), now)


def frames(sup: Supervisor) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in sup.data_to_send()]


def types(sup: Supervisor) -> list[str]:
    return [f["type"] for f in frames(sup)]
