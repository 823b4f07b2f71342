"""A custom guardrail."""

from agentkit import GuardrailResult, RunContext, output_guardrail


def no_digits(ctx: RunContext[object], text: str) -> GuardrailResult:
    """Trip on any digit."""
    return GuardrailResult(any(c.isdigit() for c in text))


polite = output_guardrail(lambda ctx, text: "please" not in text, name="polite", safe_reply="Please.")
