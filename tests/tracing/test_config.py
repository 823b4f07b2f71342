"""`TracingConfig` checks and `setup_tracing` exporters."""

from __future__ import annotations

import io
from typing import Any

import pytest

from agentkit import tracing
from agentkit.errors import ConfigError
from agentkit.tracing import Instrumentation, TracingConfig

from .harness import EXAMPLE


def test_console_setup_prints_spans(console_output: io.StringIO) -> None:
    setup = tracing.setup_tracing("console", environ={}, out=console_output, set_global=False)
    assert setup.tracer_provider is not None
    instrumentation = Instrumentation(setup.config, environ={})
    session = instrumentation.start_session(
        model="gpt-realtime", agent_name="triage", transport="memory", dialect="ga"
    )
    session.end()
    setup.shutdown()
    setup.shutdown()
    out = console_output.getvalue()
    assert '"name": "agentkit.session"' in out
    assert '"name": "invoke_agent triage"' in out
    assert "agentkit.sessions.active" in out
    assert '"service.name": "agentkit"' in out


def test_setup_reads_the_standard_environment(console_output: io.StringIO) -> None:
    assert tracing.setup_tracing(environ={}).tracer_provider is None
    assert tracing.setup_tracing(environ={"OTEL_TRACES_EXPORTER": "none"}).tracer_provider is None
    disabled = tracing.setup_tracing("console", environ={"OTEL_SDK_DISABLED": "true"})
    assert disabled.tracer_provider is None and disabled.config.enabled is False
    setup = tracing.setup_tracing(
        environ={"OTEL_TRACES_EXPORTER": "console"}, out=console_output, set_global=False
    )
    assert setup.tracer_provider is not None
    setup.shutdown()
    with pytest.raises(ConfigError, match="unknown trace exporter 'zipkin'"):
        tracing.setup_tracing("zipkin", environ={})  # type: ignore[arg-type]


def test_otlp_setup() -> None:
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"pip install 'agentkit\[otlp\]'"):
            tracing.setup_tracing("otlp", environ={}, set_global=False)
        return
    setup = tracing.setup_tracing("otlp", environ={}, set_global=False)
    assert setup.tracer_provider is not None
    setup.shutdown()


def test_agentkit_run_trace_console(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit.cli import main
    from agentkit.cli import run as _run

    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    real_setup = tracing.setup_tracing
    # Not globally: a test process can install a global provider only once.
    monkeypatch.setattr(
        _run, "setup_tracing", lambda exporter: real_setup(exporter, set_global=False)
    )
    status = main(["run", str(EXAMPLE / "agents.yaml"), "--pace", "fast", "--trace", "console"])
    out, err = capsys.readouterr()
    assert status == 0, out + err
    assert "conversation completed" in out and '"name"' not in out  # spans go to stderr
    for name in (
        "agentkit.session",
        "invoke_agent returns",
        "execute_tool check_return_eligibility",
        "agentkit.handoff",
        "agentkit.user_turn",
    ):
        assert f'"name": "{name}"' in err
    assert '"agentkit.transport": "websocket"' in err
    assert "agentkit.turn.response_latency" in err  # the metrics, exported at exit


@pytest.mark.parametrize("kwargs", [{"defer_spans": 0}, {"defer_spans": 2.5}, {"defer_max_s": 0}])
def test_group_settings_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="defer_"):
        TracingConfig(**kwargs)


def test_the_console_exporter_gets_spans_as_they_end() -> None:
    setup = tracing.setup_tracing("console", out=io.StringIO(), set_global=False)
    try:
        assert setup.config.defer_spans == 1
    finally:
        setup.shutdown()
