"""`agentkit.guardrails`: the decorators, running a check, and the built-in checks."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import (
    DefinitionError,
    GuardrailResult,
    InputGuardrail,
    OutputGuardrail,
    RunContext,
    blocked_regex,
    blocked_terms,
    input_guardrail,
    max_length,
    output_guardrail,
)
from agentkit.guardrails import BUILTIN_GUARDRAILS


def ctx() -> RunContext[None]:
    return RunContext(context=None)


def test_guardrail_decorators_bare_and_with_options() -> None:
    @input_guardrail
    def no_swearing(c: RunContext[Any], text: str) -> bool:
        return "darn" in text

    @output_guardrail(name="no_prices", safe_reply="I can't quote prices.")
    def prices(c: RunContext[Any], text: str) -> bool:
        return "$" in text

    assert isinstance(no_swearing, InputGuardrail)
    assert (no_swearing.name, no_swearing.stage, no_swearing.safe_reply) == (
        "no_swearing",
        "input",
        None,
    )
    assert isinstance(prices, OutputGuardrail)
    assert (prices.name, prices.stage, prices.safe_reply) == (
        "no_prices",
        "output",
        "I can't quote prices.",
    )
    direct = input_guardrail(lambda c, t: False, name="never")
    assert direct.name == "never"


def test_guardrail_must_accept_ctx_and_text() -> None:
    def one_arg(text: str) -> bool:
        return False

    with pytest.raises(DefinitionError, match=r"must accept \(ctx, text\)"):
        input_guardrail(one_arg)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="needs a function"):
        output_guardrail("nope")  # type: ignore[call-overload]


async def test_guardrail_results_bool_result_async_and_bad_return() -> None:
    async def async_check(c: RunContext[Any], text: str) -> GuardrailResult:
        return GuardrailResult(True, {"why": text})

    tripped = await input_guardrail(lambda c, t: True).run(ctx(), "x")
    assert tripped == GuardrailResult(tripwire_triggered=True)
    passed = await input_guardrail(lambda c, t: False).run(ctx(), "x")
    assert passed.tripwire_triggered is False and passed.details == {}
    detailed = await output_guardrail(async_check).run(ctx(), "hello")
    assert detailed == GuardrailResult(True, {"why": "hello"})
    bad = input_guardrail(lambda c, t: "yes", name="bad")  # type: ignore[arg-type,return-value]
    with pytest.raises(DefinitionError, match="returned str"):
        await bad.run(ctx(), "x")


@pytest.mark.parametrize(
    ("text", "tripped", "matched"),
    [
        ("I want a REFUND now", True, "REFUND"),
        ("refunds are different words", False, None),
        ("call my lawyer please", True, "my lawyer"),
        ("lawyerly", False, None),
        ("", False, None),
    ],
)
async def test_blocked_terms_matches_whole_words(
    text: str, tripped: bool, matched: str | None
) -> None:
    check = input_guardrail(blocked_terms(["refund", "my lawyer"]))
    result = await check.run(ctx(), text)
    assert result.tripwire_triggered is tripped
    assert result.details.get("matched") == matched


async def test_blocked_terms_case_sensitive() -> None:
    check = input_guardrail(blocked_terms(["NDA"], case_sensitive=True))
    assert (await check.run(ctx(), "sign the NDA")).tripwire_triggered
    assert not (await check.run(ctx(), "sign the nda")).tripwire_triggered


@pytest.mark.parametrize("terms", [[], [""], ["ok", "  "], "refund"])
def test_blocked_terms_needs_a_list_of_terms(terms: Any) -> None:
    # A bare string would otherwise block each of its letters.
    with pytest.raises(DefinitionError, match="blocked_terms needs"):
        blocked_terms(terms)


async def test_blocked_regex_and_max_length() -> None:
    card = input_guardrail(blocked_regex(r"\b\d{4}([ -]?\d{4}){3}\b"))
    result = await card.run(ctx(), "it is 4111 1111 1111 1111 ok")
    assert result.tripwire_triggered and result.details["matched"] == "4111 1111 1111 1111"
    assert not (await card.run(ctx(), "call 555 1234")).tripwire_triggered
    with pytest.raises(DefinitionError, match="invalid pattern"):
        blocked_regex("([")

    short = output_guardrail(max_length(5))
    assert not (await short.run(ctx(), "12345")).tripwire_triggered
    long = await short.run(ctx(), "123456")
    assert long == GuardrailResult(True, {"length": 6, "limit": 5})
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DefinitionError, match="positive whole number"):
            max_length(bad)  # type: ignore[arg-type]


def test_builtin_guardrails_by_yaml_name() -> None:
    assert set(BUILTIN_GUARDRAILS) == {"blocked_terms", "blocked_regex", "max_length"}
    assert BUILTIN_GUARDRAILS["max_length"](3)(ctx(), "abcd") == GuardrailResult(
        True, {"length": 4, "limit": 3}
    )


async def test_blocked_regex_case_sensitive_and_guardrails_are_distinct_objects() -> None:
    check = blocked_regex(r"Secret\d", case_sensitive=True)
    assert not check(ctx(), "secret1").tripwire_triggered  # type: ignore[union-attr]
    assert check(ctx(), "Secret1").tripwire_triggered  # type: ignore[union-attr]
    # Two guardrails over one function are two guardrails (identity, not field equality):
    # an app may register the same check twice, under two names or stages.
    first, second = input_guardrail(check), input_guardrail(check)
    assert first != second and len({first, second}) == 2
