"""Assertions on one recorded turn, for tests written in Python.

```python
await caller.say("Where is my order A1001?")
caller.expect.tool_call("lookup_order", order_id="A1001")
caller.expect.tool_call("lookup_order", order_id=regex(r"^A\\d+$"))
caller.expect.handoff("returns")
caller.expect.says(contains="shipped")
```

Each method builds the same `Expectations` a spec's `expect:` does and checks them with
`agentkit.testing.check`, so a failed assertion reads like `agentkit test`'s diff:
`AssertionError: tool call: expected lookup_order(order_id="42"), got: none`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .check import check_turn
from .matchers import Matcher, TextMatcher
from .record import TurnRecord
from .spec import Approval, Expectations, ExpectedCall

__all__ = ["Expect"]


class Expect:
    """Assertions on `record`; each raises `AssertionError` with the diff when it fails."""

    def __init__(self, record: TurnRecord) -> None:
        self.record = record

    def that(self, expectations: Expectations) -> None:
        """Check a whole `Expectations` (what a spec turn's `expect:` becomes)."""
        failures = check_turn(expectations, self.record)
        if failures:
            lines = "\n".join(f"  {f}" for f in failures)
            raise AssertionError(f"turn {self.record.user!r}:\n{lines}")

    def tool_call(self, name: str, /, **arguments: object) -> None:
        """The turn called `name`; each given argument matches (a value, or a matcher:
        `contains(...)`, `regex(...)`, `anything()`)."""
        call = ExpectedCall(name, {k: Matcher.parse(v) for k, v in arguments.items()})
        self.that(Expectations(tool_calls=(call,)))

    def tool_calls(self, *names: str) -> None:
        """The turn called these tools in this order (none at all when no name is given)."""
        self.that(Expectations(tool_calls=tuple(ExpectedCall(n, {}) for n in names)))

    def handoff(self, agent: str) -> None:
        """The conversation passed to `agent` in the turn."""
        self.that(Expectations(handoff=agent))

    def guardrail(self, name: str) -> None:
        """The guardrail `name` tripped in the turn."""
        self.that(Expectations(guardrail=name))

    def approval(self, tool: str, decided: Literal["approve", "reject"] = "approve") -> None:
        """`tool` asked for approval and was `decided` (see `RecordingCaller.say`'s
        `approvals`)."""
        self.that(Expectations(approvals=(Approval(tool, decided),)))

    def says(
        self,
        text: str | None = None,
        *,
        contains: str | Sequence[str] = (),
        regex: str | None = None,
        not_contains: str | Sequence[str] = (),
    ) -> None:
        """The agent said `text` / every `contains` (case-insensitive), something `regex`
        finds, and none of `not_contains`."""
        wanted = [text] if text is not None else []
        wanted += [contains] if isinstance(contains, str) else list(contains)
        unwanted = [not_contains] if isinstance(not_contains, str) else list(not_contains)
        self.that(Expectations(says=TextMatcher(tuple(wanted), regex, tuple(unwanted))))

    def agent(self, name: str) -> None:
        """`name` is in charge after the turn."""
        self.that(Expectations(agent=name))

    def latency_under(self, max_ms: float) -> None:
        """The agent started answering within `max_ms`."""
        self.that(Expectations(latency_max_ms=max_ms))
