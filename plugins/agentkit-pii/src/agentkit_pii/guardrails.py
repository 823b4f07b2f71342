"""The guardrails this package registers (group `agentkit.guardrails`).

| entry point | trips on |
| --- | --- |
| `pii` | a card number or an email address |
| `pii_card_numbers` | a card number |
| `pii_emails` | an email address |

Each works as an input or an output guardrail (agents.yaml lists it under
`input_guardrails`, `output_guardrails` or both). A trip's details say what was found
(`kinds`) and hold the text redacted (`redacted`), never the data itself.
"""

from __future__ import annotations

from typing import Any

from agentkit import RunContext
from agentkit.guardrails import Guardrail, GuardrailResult, input_guardrail

from .detect import Kind, find_pii, redact

__all__ = ["card_numbers", "emails", "pii"]


def _guardrail(name: str, kinds: frozenset[Kind], safe_reply: str) -> Guardrail:
    def check(ctx: RunContext[Any], text: str) -> GuardrailResult:
        findings = find_pii(text, kinds)
        if not findings:
            return GuardrailResult(False)
        return GuardrailResult(
            True,
            {"kinds": sorted({f.kind for f in findings}), "redacted": redact(text, findings)},
        )

    return input_guardrail(check, name=name, safe_reply=safe_reply)


pii = _guardrail(
    "pii",
    frozenset({"card_number", "email"}),
    "For your security, please don't share card numbers or email addresses on this call.",
)
card_numbers = _guardrail(
    "pii_card_numbers",
    frozenset({"card_number"}),
    "For your security, please don't read card numbers out on this call.",
)
emails = _guardrail(
    "pii_emails",
    frozenset({"email"}),
    "For your privacy, please don't share email addresses on this call.",
)
