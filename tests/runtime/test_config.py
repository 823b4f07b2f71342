"""`RuntimeConfig`: built once by the runner, read by the session and the supervisor."""

from __future__ import annotations

import pytest

from agentkit import RealtimeAgent, RealtimeRunner, ReconnectPolicy, SessionLimits
from agentkit.errors import DefinitionError
from agentkit.runtime.config import RuntimeConfig
from agentkit.transports import memory_transport_pair

agent = RealtimeAgent(name="A", instructions="x")


@pytest.mark.parametrize("bad", [0, -1])
def test_runner_rejects_non_positive_default_timeout(bad: float) -> None:
    with pytest.raises(DefinitionError):
        RuntimeConfig(tool_timeout=bad)
    with pytest.raises(DefinitionError, match="must be positive"):
        RealtimeRunner(agent, tool_timeout=bad)


def test_max_tool_threads_is_checked_once() -> None:
    with pytest.raises(DefinitionError, match="max_tool_threads must be at least 1, got 0"):
        RealtimeRunner(agent, max_tool_threads=0)


def test_max_queued_events_lands_in_the_limits() -> None:
    config = RuntimeConfig.from_arguments(
        limits=SessionLimits(idle_timeout_s=5), max_queued_events=7
    )
    assert config.limits == SessionLimits(idle_timeout_s=5, max_queued_events=7)
    assert RuntimeConfig.from_arguments().limits == SessionLimits()
    runner = RealtimeRunner(agent, max_queued_events=3)
    assert runner.config.limits.max_queued_events == 3


def test_never_reconnecting_has_one_spelling() -> None:
    assert RuntimeConfig(reconnect=ReconnectPolicy(max_attempts=0)).reconnect is None
    config = RuntimeConfig(reconnect=ReconnectPolicy(renew_after_s=60))
    assert config.can_reconnect and config.renew_after_s == 60
    assert not RuntimeConfig().can_reconnect and RuntimeConfig().renew_after_s is None


async def test_every_session_of_a_runner_reads_its_one_config() -> None:
    runner = RealtimeRunner(agent, tool_timeout=12)
    pairs = [memory_transport_pair() for _ in range(2)]
    first, second = (runner.session(client) for client, _ in pairs)
    assert first.config is second.config is runner.config
    assert first._supervisor.config is runner.config
    assert runner.config.timeout_for(None) == 12
    for client, server in pairs:
        await client.close()
        await server.close()
