"""`agentkit run --dialect live` runs the customer-service example on the local server's Live
endpoint; `agentkit compile --dialect live` prints each agent's `session.start`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from live_conformance import validate_live_client_event

from agentkit.cli import main
from agentkit.cli.connection import choose_connection

EXAMPLE = Path(__file__).parents[2] / "examples" / "customer_service" / "agents.yaml"


@pytest.fixture(autouse=True)
def no_service_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_run_dialect_live_plays_the_example_on_the_live_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["run", str(EXAMPLE), "--dialect", "live", "--pace", "fast", "--no-color"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "local Live server ws://" in out and "/v1/live/sessions" in out
    assert "authentication  Thanks Maya, you're verified. What can I do for you today?" in out
    assert "⇄ handoff authentication → returns" in out
    assert "⚠ guardrail civil_language tripped on input" in out
    assert "returns         I want to help you with this. Let's keep it civil so we can sort it out together." in out
    assert "returns         Done. Your return number is RMA-A1001-001" in out
    assert "✓ conversation completed" in out and "3 tool calls, 1 handoff" in out


def test_compile_dialect_live_prints_each_agents_session_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLE), "--dialect", "live"]) == 0
    payloads = json.loads(capsys.readouterr().out)
    assert list(payloads) == ["authentication", "returns", "sales", "escalation"]
    for event in payloads.values():
        validate_live_client_event(event)
    assert payloads["returns"]["session"]["delegation"]["responses"]["model"] == "gpt-5.4-mini"


def test_compile_refuses_what_live_cannot_express_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "agents.yaml").write_text(
        "version: 1\nsettings: {speed: 1.2}\nagents:\n  desk: {instructions: Hello}\n"
    )
    assert main(["compile", str(tmp_path / "agents.yaml"), "--dialect", "live"]) == 1
    err = capsys.readouterr().err
    assert "speed" in err and "degrade" in err


def test_live_connections_keep_the_model_out_of_the_url() -> None:
    openai = choose_connection(model="gpt-realtime", dialect="live", env={"OPENAI_API_KEY": "sk-x"})
    assert openai.url == "wss://api.openai.com/v1/live/sessions"
    azure = choose_connection(model="m", dialect="live", env={"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_API_KEY": "k"})
    assert azure.url == "wss://r.openai.azure.com/openai/v1/live/sessions"
    url = choose_connection(model="m", dialect="live", env={}, url="ws://localhost:1/v1/live/sessions")
    assert url.url == "ws://localhost:1/v1/live/sessions"
