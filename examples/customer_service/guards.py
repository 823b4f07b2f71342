"""Custom guardrails for the support desk.

`no_card_numbers` stops the agent from reading a payment card number back to the caller: a
call may be recorded, and a number spoken aloud is a number leaked. It looks for 13-19 digit
runs that pass the Luhn check, whether the transcript has them as digits ("4111 1111 ...") or
as spoken words ("four one one one ..."), so order numbers and phone numbers do not trip it.
"""

from __future__ import annotations

import re
from typing import Any

from agentkit import GuardrailResult, RunContext

__all__ = ["luhn_valid", "no_card_numbers"]

_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
# Digits, possibly grouped by spaces, dots or dashes, as card numbers are read and written.
_DIGIT_RUN = re.compile(r"\d(?:[\s.-]*\d){12,18}")
_WORD_RE = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _spoken_to_digits(text: str) -> str:
    # "four one one one" → "4 1 1 1", so spoken numbers are checked like written ones.
    return _WORD_RE.sub(lambda m: _WORDS[m.group(1).lower()], text)


def no_card_numbers(ctx: RunContext[Any], text: str) -> GuardrailResult:
    """Trip when the text contains something that is a valid payment card number."""
    for candidate in _DIGIT_RUN.finditer(_spoken_to_digits(text)):
        digits = re.sub(r"\D", "", candidate.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return GuardrailResult(True, {"last4": digits[-4:]})
    return GuardrailResult(False)
