"""`agentkit validate`, `compile`, `schema` and `server`'s options: what each subcommand prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit.cli import main
from agentkit.loader import agents_schema

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "examples" / "customer_service" / "agents.yaml"
TINY = Path(__file__).parents[1] / "data" / "run" / "tiny_agent.py"
WARNINGS = Path(__file__).parents[1] / "data" / "warnings" / "agents.yaml"


def test_validate_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert f"{EXAMPLE}: OK" in out
    assert "starting agent: authentication" in out
    assert "agents (4):" in out
    assert "handoffs: sales (back_to_sales)" not in out  # escalation's come in order:
    assert "handoffs: returns (back_to_returns), sales (back_to_sales)" in out
    assert "escalate_to_human" in out
    assert "guardrails: in:civil_language, in:prompt_injection, out:no_card_numbers" in out
    assert "script: " in out


def test_validate_marks_unreachable_agents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text("version: 1\nagents:\n  a: {handoffs: [b]}\n  b: {}\n  c: {}\nstarting_agent: a\n")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "    c  (unreachable)" in out
    assert "    b\n" in out


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_compile_prints_every_reachable_agent(dialect: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLE), "--dialect", dialect]) == 0
    payloads: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert list(payloads) == ["authentication", "returns", "sales", "escalation"]
    for payload in payloads.values():
        assert payload["type"] == "session.update"
    session = payloads["authentication"]["session"]
    if dialect == "ga":
        assert session["type"] == "realtime"
        assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
        assert session["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 900
    else:
        assert session["input_audio_format"] == "g711_ulaw"
        assert session["turn_detection"]["silence_duration_ms"] == 900
    names = [t["name"] for t in payloads["escalation"]["session"]["tools"]]
    assert names == ["escalate_to_human", "ticket_status", "back_to_returns", "back_to_sales"]


def test_compile_one_agent(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLE), "--agent", "sales"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["type"] == "session.update"
    tools = [t["name"] for t in payload["session"]["tools"]]
    assert tools == ["search_products", "list_offers", "add_to_cart", "transfer_to_returns", "transfer_to_escalation"]


def test_compile_unknown_agent_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLE), "--agent", "sale"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "has no agent 'sale' (did you mean 'sales'?)" in captured.err


def test_compile_takes_module_agent_like_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", f"{TINY}:agent"]) == 0
    payloads: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert list(payloads) == ["weather", "travel"]
    tools = [t["name"] for t in payloads["weather"]["session"]["tools"]]
    assert tools == ["get_weather", "transfer_to_travel"]
    assert main(["compile", f"{TINY}:agent", "--agent", "travl"]) == 1
    assert "has no agent 'travl' (did you mean 'travel'?)" in capsys.readouterr().err


def test_schema_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == agents_schema()


def test_server_passes_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run_server_command(**kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    from agentkit.cli import server as server_cli
    monkeypatch.setattr(server_cli, "run_server_command", fake_run_server_command)
    argv = ["server", "--port", "9001", "--pace", "fast", "--api-key", "k1", "--api-key", "k2"]
    assert main(argv) == 0
    assert seen == {"host": "127.0.0.1", "port": 9001, "script": None, "pace": "fast", "api_keys": ["k1", "k2"]}


def test_validate_warns_on_stderr_and_strict_makes_warnings_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", str(WARNINGS)]) == 0
    out, err = capsys.readouterr()
    assert f"{WARNINGS}: OK" in out and "warnings: 3 (on stderr)" in out
    assert err.splitlines() == [
        f"warning: {WARNINGS}:4:3: tools.lookup_order: tool 'lookup_order' is declared but no "
        "agent uses it (list it under an agent's 'tools', or remove it)",
        f"warning: {WARNINGS}:6:3: guardrails.civil: guardrail 'civil' is declared but no agent "
        "uses it (list it under an agent's 'input_guardrails' or 'output_guardrails', or remove it)",
        f"warning: {WARNINGS}:11:7: agents.support.instructions: 'tools:' is part of the "
        "instructions text, not a key (over-indented?); indent it like 'instructions:' to make it a key",
    ]
    assert main(["validate", str(WARNINGS), "--strict"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 3 and all(line.startswith("error: ") for line in err.splitlines())
    assert main(["validate", str(EXAMPLE), "--strict"]) == 0  # nothing to warn about
    assert capsys.readouterr().err == ""


def test_validate_checks_scripts_against_the_agents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("turns:\n  - user: Hi\n    steps:\n      - handoff: payment\n")
    assert main(["validate", str(EXAMPLE), "--script", str(script)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {script}:4:18: turns[0].steps[0].handoff: unknown agent 'payment'")
    # The file's own `script:` is checked too.
    agents = tmp_path / "agents.yaml"
    agents.write_text("version: 1\nagents:\n  a: {instructions: Hi.}\nscript: script.yaml\n")
    assert main(["validate", str(agents)]) == 1
    assert "unknown agent 'payment'; expected an agent some agent hands off to" in capsys.readouterr().err
