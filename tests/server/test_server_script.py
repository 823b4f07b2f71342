"""`agentkit.server.script`: loading scripts and naming what is wrong in them (the scripted
model that plays them is tested in `test_server_model.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.errors import ConfigError
from agentkit.server import CallTool, Handoff, Say, load_script, parse_script
from agentkit.server.session_config import ResponseLatency

GOOD = """\
name: demo
turns:
  - user: Hi there
    mode: text
    steps:
      - say: Hello!
      - call: lookup
        arguments: {q: x}
  - user: Refund please
    alternatives:
      - when: {has_tool: transfer_to_billing}
        steps:
          - handoff: billing
          - say: "Billing: {{ output.msg }}"
            when: {instructions_contain: Billing}
    steps:
      - say: No refunds.
faults:
  - {after_events: 5, action: drop}
  - {at_event: response.done, action: close, sessions: [1, 3]}
  - {at_event: response.created, action: error, sessions: 2}
"""


def test_parse_good_script(tmp_path: Path) -> None:
    script = parse_script(GOOD, file="demo.yaml")
    assert script.name == "demo" and len(script.turns) == 2
    assert script.turns[0].mode == "text" and script.turns[1].mode == "audio"
    assert script.turns[0].steps == (Say("Hello!"), CallTool("lookup", {"q": "x"}))
    assert isinstance(script.turns[1].alternatives[0].steps[0], Handoff)
    assert script.turns[1].alternatives[0].steps[0].tool_name == "transfer_to_billing"  # type: ignore[union-attr]
    assert script.faults[0].after_events == 5
    assert [f.sessions for f in script.faults] == [None, (1, 3), (2,)]
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    assert load_script(path).turns == script.turns
    assert load_script(str(path)).source == str(path)


@pytest.mark.parametrize(
    ("text", "where", "path"),
    [
        ("turns:\n  - user: hi\n    steps:\n      - say: a\n        call: b\n", "4:9", "turns[0].steps[0]"),
        ("turns:\n  - user: hi\n    mode: video\n", "3:11", "turns[0].mode"),
        ("turns:\n  - steps: []\n", "2:5", "turns[0]"),
        ("turns:\n  - user: hi\n    steps:\n      - say: a\n        when: {has_tools: x}\n", "5:27", "turns[0].steps[0].when.has_tools"),
        ("turnz: []\n", "1:8", "turnz"),
        ("turns: []\nfaults:\n  - {action: explode, after_events: 1}\n", "3:14", "faults[0].action"),
        ("turns: []\nfaults:\n  - {action: drop}\n", "3:5", "faults[0]"),
        ("turns: []\nfaults:\n  - action: drop\n    after_events: 1\n    sessions: [1, 0]\n", "5:19", "faults[0].sessions[1]"),
        ("turns: []\nfaults:\n  - {action: drop, after_events: 1, sessions: first}\n", "3:47", "faults[0].sessions"),
        ("turns: []\nfaults:\n  - {action: drop, after_events: 1, sessions: []}\n", "3:47", "faults[0].sessions"),
        ("turns:\n  - user: [1, 2]\n", "2:11", "turns[0].user"),
        ("turns: [\n", "2:1", ""),
        ("turns: []\nresponse_latency_ms: -5\n", "2:22", "response_latency_ms"),
        ("turns: []\nresponse_latency_ms: {min: 400, max: 100}\n", "2:38", "response_latency_ms.max"),
        ("turns: []\nresponse_latency_ms: {min: 1, max: 2, sead: 3}\n", "2:45", "response_latency_ms.sead"),
        ("turns: []\nresponse_latency_ms: {max: 2}\n", "2:22", "response_latency_ms"),
    ],
)
def test_errors_name_file_line_and_field(text: str, where: str, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_script(text, file="conv.yaml")
    message = str(info.value)
    assert message.startswith(f"conv.yaml:{where}"), message
    assert info.value.path == path


def test_response_latency_key() -> None:
    assert parse_script("turns: []\n").response_latency is None
    assert parse_script("turns: []\nresponse_latency_ms: 300\n").response_latency == ResponseLatency.fixed(300)
    spread = parse_script("turns: []\nresponse_latency_ms: {min: 200, max: 600, seed: 1}\n").response_latency
    assert spread == ResponseLatency(200, 600, seed=1)


def test_response_latency_option_text() -> None:
    assert ResponseLatency.parse("300") == ResponseLatency.fixed(300)
    assert ResponseLatency.parse("200-600") == ResponseLatency(200, 600, 0)
    assert ResponseLatency.parse("200-600:7") == ResponseLatency(200, 600, 7)
    for bad in ("soon", "600-200", "-5", "1-2:x"):
        with pytest.raises(ValueError):
            ResponseLatency.parse(bad)
