"""Finding personal data in text: payment card numbers (Luhn-checked) and email addresses.

A card number is 13 to 19 digits, possibly grouped by spaces or dashes ("4111 1111 1111
1111"), whose Luhn checksum holds: an order number or a phone number of that length almost
never passes the check, so they are not flagged. Speech transcripts spell digits out as
digits, which is what the pattern reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Finding", "find_pii", "luhn_valid", "redact"]

# 13-19 digits, single spaces or dashes allowed between them, not inside a longer number.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")

Kind = Literal["card_number", "email"]


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: what it is and where (`text[start:end]`)."""

    kind: Kind
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum (payment card numbers do)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def find_pii(text: str, kinds: frozenset[Kind] = frozenset({"card_number", "email"})) -> list[Finding]:
    """The personal data in `text`, in order."""
    found: list[Finding] = []
    if "card_number" in kinds:
        for match in _CARD.finditer(text):
            digits = re.sub(r"\D", "", match.group())
            if luhn_valid(digits):
                found.append(Finding("card_number", match.start(), match.end()))
    if "email" in kinds:
        found.extend(Finding("email", m.start(), m.end()) for m in _EMAIL.finditer(text))
    return sorted(found, key=lambda f: f.start)


def redact(text: str, findings: list[Finding] | None = None) -> str:
    """`text` with each finding masked: `[card number ending 1111]`, `[email]`."""
    if findings is None:
        findings = find_pii(text)
    out: list[str] = []
    position = 0
    for finding in findings:
        out.append(text[position : finding.start])
        if finding.kind == "card_number":
            digits = re.sub(r"\D", "", text[finding.start : finding.end])
            out.append(f"[card number ending {digits[-4:]}]")
        else:
            out.append("[email]")
        position = finding.end
    out.append(text[position:])
    return "".join(out)
