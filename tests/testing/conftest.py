"""A pharmacy desk written into each test's tmp folder: agents the repository does not have,
so the specs are checked the way a user's would be."""

from __future__ import annotations

from pathlib import Path

import pytest

TOOLS = '''
def find_prescription(patient: str, drug: str) -> dict:
    """Find a prescription."""
    return {"patient": patient, "drug": drug, "refills": 2}


def refill(prescription_drug: str) -> dict:
    """Refill a prescription."""
    return {"ready": "tomorrow", "drug": prescription_drug}
'''

AGENTS = '''version: 1
tools:
  find_prescription: {function: "tools:find_prescription"}
  refill: {function: "tools:refill", needs_approval: true}
guardrails:
  polite:
    builtin: blocked_terms
    terms: [dumb robot]
    safe_reply: Let's keep it friendly.
agents:
  desk:
    instructions: You answer the pharmacy phone.
    tools: [find_prescription]
    handoffs: [refills]
    input_guardrails: [polite]
  refills:
    instructions: You refill prescriptions.
    tools: [refill]
starting_agent: desk
'''

SCRIPT = '''turns:
  - user: Do I have a prescription for amoxicillin? I'm Ada Byron.
    mode: text
    steps:
      - call: find_prescription
        arguments: {patient: Ada Byron, drug: amoxicillin}
      - say: "Yes, {{ output.drug }} with {{ output.refills }} refills left."
  - user: Please refill it.
    mode: text
    steps:
      - handoff: refills
      - call: refill
        arguments: {prescription_drug: amoxicillin}
      - say: "It will be ready {{ output.ready }}."
'''

SPEC = '''name: refill amoxicillin
agents: agents.yaml
script: script.yaml
turns:
  - user: Do I have a prescription for amoxicillin? I'm Ada Byron.
    expect:
      tool_calls:
        - name: find_prescription
          arguments: {patient: {contains: Ada}, drug: amoxicillin}
      says: {contains: 2 refills, not_contains: sorry}
      agent: desk
      latency_ms: {max: 5000}
  - user: Please refill it.
    expect:
      handoff: refills
      tool_calls: [{name: refill, arguments: {prescription_drug: {regex: "^amox"}}}]
      approval: {tool: refill, decide: approve}
      says: {regex: "ready tomorrow"}
expect_final_agent: refills
'''


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pharmacy's folder: agents.yaml, tools.py, script.yaml and a passing spec."""
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "tools.py").write_text(TOOLS)
    (tmp_path / "agents.yaml").write_text(AGENTS)
    (tmp_path / "script.yaml").write_text(SCRIPT)
    (tmp_path / "refill.spec.yaml").write_text(SPEC)
    return tmp_path
