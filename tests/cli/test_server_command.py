"""`agentkit server`: serves until interrupted, says where; a bad option or script exits 2."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.cli.server import run_server_command

SCRIPT = Path(__file__).parents[1] / "data" / "run" / "tiny_script.yaml"


def test_a_bad_pace_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status = run_server_command(host="127.0.0.1", port=0, script=None, pace="slow", api_keys=None)
    assert status == 2
    assert capsys.readouterr().err == "agentkit server: --pace must be realtime or fast, got 'slow'\n"


def test_a_missing_script_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    status = run_server_command(host="127.0.0.1", port=0, script=str(missing), pace="fast", api_keys=None)
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("agentkit server: ") and "nope.yaml" in err


def test_serves_until_interrupted_and_says_where() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "server", "--port", "0", "--pace", "fast", "--script", str(SCRIPT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith("agentkit local realtime server listening on ws://127.0.0.1:")
        assert "OpenAI client: websocket_base_url=" in server.stdout.readline()
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop, not a traceback
        _, err = server.communicate(timeout=30)
    assert server.returncode == 130  # the documented status for Ctrl-C
    assert "Traceback" not in err
