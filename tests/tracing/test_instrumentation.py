"""`Instrumentation`: content capture, and what an app without an SDK pays."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import trace

from agentkit import tracing
from agentkit.runner import RealtimeRunner
from agentkit.tracing import Instrumentation, TracingConfig
from agentkit.transports import memory_transport_pair

from .harness import Harness, bank, next_of, run_return_call


def test_content_capture_follows_the_genai_environment_variable() -> None:
    on = Instrumentation(environ={tracing.CAPTURE_CONTENT_ENV: "True"})
    off = Instrumentation(environ={tracing.CAPTURE_CONTENT_ENV: "1"})
    explicit = Instrumentation(
        TracingConfig(capture_content=False), environ={tracing.CAPTURE_CONTENT_ENV: "true"}
    )
    assert (on.capture_content, off.capture_content, explicit.capture_content) == (
        True,
        False,
        False,
    )


def test_no_sdk_configured_runs_on_the_no_op_api(caplog: pytest.LogCaptureFixture) -> None:
    """The default config uses the global providers; without an SDK everything is a no-op
    and nothing fails."""
    h = Harness()
    h.instrumentation = Instrumentation(environ={})
    h.app_tracer = trace.get_tracer("example.store")
    h.tracer = h.start()
    with caplog.at_level(logging.DEBUG, logger="agentkit.tracing"):
        run_return_call(h)
    assert caplog.records == []
    assert h.spans() == []


async def test_tracing_off_or_not_configured_costs_no_tracer() -> None:
    h = Harness(start=False)
    for tracing_config in (TracingConfig(enabled=False, tracer_provider=h.provider), None):
        client, server = memory_transport_pair()
        session = RealtimeRunner(bank, tracing=tracing_config).session(client)
        async with session:
            await next_of(server, "session.update")
            # No SDK installed globally (the test process never installs one): no tracer.
            assert session._tracer is None
        await server.close()
    assert h.spans() == []
    assert Instrumentation(environ={}).active is False
    assert Instrumentation(TracingConfig(tracer_provider=h.provider), environ={}).active
