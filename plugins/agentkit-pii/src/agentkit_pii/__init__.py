"""agentkit-pii: guardrails that keep card numbers and email addresses out of a conversation.

The guardrails (entry points in the `agentkit.guardrails` group) trip on personal data in
what the caller says (input) or what the agent says (output); the runtime then blocks the
turn and has the agent say the `safe_reply`. `redact` gives the text with the data masked,
for transcripts and logs; each trip's details carry the redacted text too.
"""

from __future__ import annotations

from .detect import Finding, find_pii, luhn_valid, redact
from .guardrails import card_numbers, emails, pii

__all__ = ["Finding", "card_numbers", "emails", "find_pii", "luhn_valid", "pii", "redact"]
