"""`agentkit test` on specs of agents that live only in the test's tmp folder: a matching
conversation passes; a missing tool call or handoff fails with a readable diff and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.cli import main
from agentkit.testing import run_spec


def test_a_matching_conversation_passes(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(desk / "refill.spec.yaml")]) == 0
    out = capsys.readouterr().out
    assert "✓ turn 1 (line 5)" in out and "✓ turn 2 (line 13)" in out
    assert "1 spec: 1 passed, 0 failed; 2 turns: 2 passed, 0 failed" in out


def test_the_result_records_what_happened(desk: Path) -> None:
    result = run_spec(desk / "refill.spec.yaml")
    assert result.passed and result.name == "refill amoxicillin"
    first, second = (t.record for t in result.turns)
    assert first is not None and second is not None
    assert [c.describe() for c in first.tool_calls] == [
        'find_prescription(patient="Ada Byron", drug="amoxicillin")'
    ]
    assert second.handoffs == [("desk", "refills")]
    assert second.approvals == [("refill", "approve")]
    assert second.said == ["It will be ready tomorrow."]
    assert first.latency_ms is not None


def test_a_missing_tool_call_fails_with_a_diff(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = desk / "script.yaml"
    script.write_text(
        script.read_text().replace(
            "      - call: find_prescription\n        arguments: {patient: Ada Byron, drug: amoxicillin}\n",
            "",
        )
    )
    assert main(["test", str(desk / "refill.spec.yaml")]) == 1
    out = capsys.readouterr().out
    assert "✗ turn 1 (line 5)" in out
    assert (
        'tool call: expected find_prescription(patient=contains "Ada", drug="amoxicillin"), got: none'
        in out
    )
    assert "1 spec: 0 passed, 1 failed; 2 turns: 1 passed, 1 failed" in out


def test_a_wrong_argument_shows_the_call_that_was_made(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = desk / "script.yaml"
    script.write_text(script.read_text().replace("drug: amoxicillin}", "drug: ibuprofen}"))
    assert main(["test", str(desk / "refill.spec.yaml")]) == 1
    assert (
        'got: find_prescription(patient="Ada Byron", drug="ibuprofen")' in capsys.readouterr().out
    )


def test_a_missing_handoff_fails_with_a_diff(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = desk / "script.yaml"
    script.write_text(script.read_text().replace("      - handoff: refills\n", ""))
    assert main(["test", str(desk / "refill.spec.yaml")]) == 1
    out = capsys.readouterr().out
    assert "✗ turn 2 (line 13)" in out
    assert "handoff: expected a handoff to refills, got: none" in out
    # Without the handoff the desk cannot refill: the scripted call is to a tool it lacks.
    assert "final agent: expected refills, got: desk" in out


def test_an_approval_the_spec_does_not_answer_is_rejected_and_reported(desk: Path) -> None:
    spec = desk / "refill.spec.yaml"
    spec.write_text(spec.read_text().replace("      approval: {tool: refill, decide: approve}\n", ""))
    result = run_spec(spec)
    failures = [str(f) for f in result.turns[1].failures]
    assert "approval: expected no approval request for refill (the spec answers with approval:), got: a request for refill, rejected" in failures
    assert result.turns[1].record is not None
    assert result.turns[1].record.approvals == [("refill", "reject")]


def test_a_guardrail_trip_is_expected(desk: Path) -> None:
    spec = desk / "polite.spec.yaml"
    spec.write_text(
        "agents: agents.yaml\nscript: script.yaml\nturns:\n"
        "  - user: You dumb robot.\n    expect: {guardrail: polite, says: friendly, tool_calls: []}\n"
    )
    result = run_spec(spec)
    assert result.passed, result.turns


def test_inline_model_steps_and_a_python_agent(desk: Path) -> None:
    (desk / "hello.py").write_text(
        "from agentkit import RealtimeAgent\nhello = RealtimeAgent(name='hello', instructions='Hi.')\n"
    )
    spec = desk / "hello.spec.yaml"
    spec.write_text(
        "agents: hello.py:hello\ngreeting: [{say: Hello there}]\nturns:\n"
        "  - user: Hi\n    model: [{say: Hi yourself}]\n    expect: {says: Hi yourself, agent: hello}\n"
    )
    assert run_spec(spec).passed
