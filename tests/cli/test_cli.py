"""`agentkit.cli.main` and `python -m agentkit`: exit codes, usage, and no tracebacks for user
mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentkit import cli
from agentkit.cli import COMMANDS, main

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "examples" / "customer_service" / "agents.yaml"
BAD = Path(__file__).parents[1] / "data" / "bad_yaml"


def test_bad_file_exits_1_with_one_located_line(capsys: pytest.CaptureFixture[str]) -> None:
    bad = BAD / "handoff_unknown_agent.yaml"
    assert main(["validate", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: {bad}:7:16: agents.sales.handoffs[1].agent: unknown agent 'suport' "
        "(did you mean 'support'?); expected an agent declared under 'agents' "
        "('returns', 'sales', 'support')\n"
    )


@pytest.mark.parametrize("command", ["validate", "compile", "run"])
def test_a_missing_file_is_worded_the_same_by_every_command(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.yaml"
    assert main([command, str(missing)]) == 1
    assert capsys.readouterr().err == f"error: {missing}: file not found\n"


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["compile", str(EXAMPLE), "--dialect", "v2"], ["validate"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: agentkit" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("agentkit ")


def test_every_command_is_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command.name in out


def test_a_user_error_from_any_command_exits_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from agentkit.errors import CompileError

    def failing(args: object) -> int:
        raise CompileError("temperature is beta-only", field="temperature", dialect="ga")

    commands = tuple(
        cli.Command(c.name, c.help, c.configure, failing) if c.name == "schema" else c for c in COMMANDS
    )
    monkeypatch.setattr(cli, "COMMANDS", commands)
    assert main(["schema"]) == 1
    assert capsys.readouterr().err == "error: temperature: temperature is beta-only (dialect 'ga')\n"


def test_an_interrupted_command_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    commands = tuple(
        cli.Command(c.name, c.help, c.configure, interrupted) if c.name == "schema" else c
        for c in COMMANDS
    )
    monkeypatch.setattr(cli, "COMMANDS", commands)
    assert main(["schema"]) == 130


def test_console_script_runs_and_never_shows_a_traceback() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "agentkit", "validate", str(EXAMPLE)],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "starting agent: authentication" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "agentkit", "compile", str(BAD / "import_raises.yaml")],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"error: {BAD / 'import_raises.yaml'}:4:15: tools.lookup_order.function: ")
