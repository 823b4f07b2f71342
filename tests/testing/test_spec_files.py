"""Spec files are checked like definition files: `file:line:col: path: problem; expected ...`,
with "did you mean" for misspelled keys and names."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.cli import main
from agentkit.errors import ConfigError
from agentkit.testing import load_spec


def _error(desk: Path, text: str) -> str:
    spec = desk / "bad.spec.yaml"
    spec.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_spec(spec)
    return str(caught.value)


def test_an_unknown_key_is_located_with_did_you_mean(desk: Path) -> None:
    message = _error(
        desk, "agents: agents.yaml\nturns:\n  - user: Hi\n    expect:\n      tool_cals: []\n"
    )
    assert message.startswith(f"{desk / 'bad.spec.yaml'}:5:7: turns[0].expect.tool_cals: ")
    assert "unknown key 'tool_cals' (did you mean 'tool_calls'?)" in message


def test_an_unknown_tool_is_located_with_did_you_mean(desk: Path) -> None:
    message = _error(
        desk,
        "agents: agents.yaml\nturns:\n  - user: Hi\n    expect:\n"
        "      tool_calls:\n        - name: find_prescriptoin\n",
    )
    assert ":6:17: turns[0].expect.tool_calls[0].name: unknown tool 'find_prescriptoin'" in message
    assert "(did you mean 'find_prescription'?)" in message


def test_an_unknown_agent_and_guardrail(desk: Path) -> None:
    message = _error(desk, "agents: agents.yaml\nturns:\n  - user: Hi\n    expect: {handoff: refils}\n")
    assert ":4:23: turns[0].expect.handoff: unknown agent 'refils' (did you mean 'refills'?)" in message
    message = _error(desk, "agents: agents.yaml\nturns:\n  - user: Hi\n    expect: {guardrail: polit}\n")
    assert "unknown guardrail 'polit' (did you mean 'polite'?)" in message
    message = _error(desk, "agents: agents.yaml\nexpect_final_agent: dsk\nturns:\n  - user: Hi\n")
    assert ":2:21: expect_final_agent: unknown agent 'dsk' (did you mean 'desk'?)" in message


def test_a_wrong_value_says_what_was_expected(desk: Path) -> None:
    message = _error(desk, "agents: agents.yaml\nturns:\n  - user: Hi\n    mode: txt\n")
    assert ":4:11: turns[0].mode: got the text 'txt' (did you mean 'text'?); expected one of 'text', 'audio'" in message
    message = _error(
        desk, "agents: agents.yaml\nturns:\n  - user: Hi\n    expect: {latency_ms: {max: -1}}\n"
    )
    assert "turns[0].expect.latency_ms.max: got the number -1; expected a number > 0" in message
    message = _error(desk, "agents: agents.yaml\nturns: []\n")
    assert ":2:8: turns: got an empty list; expected at least 1 item(s)" in message
    message = _error(desk, "turns:\n  - user: Hi\n")
    assert ":1:1: (top level): missing required key 'agents'" in message


def test_inline_model_steps_are_checked_against_the_agents(desk: Path) -> None:
    message = _error(
        desk, "agents: agents.yaml\nturns:\n  - user: Hi\n    model:\n      - call: refil\n"
    )
    assert ":5:15: turns[0].model[0].call: unknown tool 'refil' (did you mean 'refill'?)" in message
    message = _error(
        desk, "agents: agents.yaml\nturns:\n  - user: Hi\n    model:\n      - {say: a, call: refill}\n"
    )
    assert "turns[0].model[0]: a step has exactly one of say, call, handoff" in message


def test_a_script_that_does_not_match_the_agents_is_located_in_the_script(desk: Path) -> None:
    (desk / "script.yaml").write_text("turns:\n  - user: Hi\n    steps:\n      - handoff: refils\n")
    message = _error(desk, "agents: agents.yaml\nscript: script.yaml\nturns:\n  - user: Hi\n")
    assert message.startswith(f"{desk / 'script.yaml'}:4:18: turns[0].steps[0].handoff: unknown agent 'refils'")


def test_missing_files_are_located_at_their_key(desk: Path) -> None:
    message = _error(desk, "agents: nowhere.yaml\nturns:\n  - user: Hi\n")
    assert ":1:9: agents: " in message and "nowhere.yaml: file not found" in message
    message = _error(desk, "agents: agents.yaml\nscript: none.yaml\nturns:\n  - user: Hi\n")
    assert ":2:9: script: " in message and "file not found" in message


def test_a_turn_takes_its_line_from_the_script(desk: Path) -> None:
    spec = desk / "lines.spec.yaml"
    spec.write_text("agents: agents.yaml\nscript: script.yaml\nturns:\n  - expect: {tool_calls: [find_prescription]}\n")
    loaded = load_spec(spec)
    assert loaded.turns[0].user.startswith("Do I have a prescription")
    assert loaded.turns[0].mode == "text"
    message = _error(desk, "agents: agents.yaml\nturns:\n  - expect: {}\n")
    assert ":3:5: turns[0]: missing required key 'user'" in message


def test_the_command_reports_a_bad_spec_and_runs_the_others(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (desk / "bad.spec.yaml").write_text("agents: agents.yaml\nturn: []\n")
    assert main(["test", str(desk / "bad.spec.yaml"), str(desk / "refill.spec.yaml")]) == 1
    out = capsys.readouterr().out
    assert "bad.spec.yaml:2:1: turn: unknown key 'turn' (did you mean 'turns'?)" in out
    assert "2 specs: 1 passed, 1 failed; 2 turns: 2 passed, 0 failed" in out
