"""`agentkit run --transport webrtc --pace fast`: the customer-service example's return call
over a WebRTC call to the local server, spoken turns included.

Caller audio over RTP goes out in real time whatever `--pace` says (the server's side stays
fast): sent faster, it only piled up on the outbound track and the spoken turns failed with
"no response started".
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentkit.cli import main

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "examples" / "customer_service" / "agents.yaml"
# The shortest of the example's conversations (three spoken turns, three tools, a handoff).
SCRIPT = REPO / "examples" / "customer_service" / "conversations" / "return.yaml"


@pytest.fixture(autouse=True)
def no_service_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hermetic: whatever the developer's shell has, the run uses the local server."""
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_run_over_webrtc_at_fast_pace_completes_the_spoken_turns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    status = main(
        ["run", str(EXAMPLE), "--transport", "webrtc", "--codec", "pcmu", "--pace", "fast",
         "--script", str(SCRIPT)]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "no response started" not in out
    assert "conversation completed: 3 caller turns, 3 tool calls, 1 handoff" in out
    assert time.monotonic() - started < 20
