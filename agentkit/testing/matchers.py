"""Matchers: how an expectation compares a value the agent produced with what the spec wants.

Two kinds, both pure and typed:

- `Matcher` checks one tool-call argument: an exact value (`order_id: "42"`), or a mapping
  with one key: `{contains: "42"}` (text or list containment), `{regex: "^A\\d+$"}` (a
  `re.search` on the value as text), `{any: true}` (present, whatever its value);
- `TextMatcher` checks what the agent said in a turn: `contains` (one text or a list, each
  must appear, case-insensitively), `regex` (`re.search`, case-sensitive unless the pattern
  says `(?i)`), `not_contains` (none may appear, case-insensitively).

Each describes itself the way a failure message shows it (`"42"`, `contains "42"`,
`matching /^A\\d+$/`, `any value`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import orjson

__all__ = ["Matcher", "TextMatcher", "anything", "contains", "regex", "show_value"]

MatcherKind = Literal["equals", "contains", "regex", "any"]


def show_value(value: object) -> str:
    """A value as a failure message shows it: JSON (`"42"`, `3`, `true`, `{"a":1}`)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


@dataclass(frozen=True)
class Matcher:
    """One tool-call argument's expected value.

    Attributes:
        kind: `equals`, `contains`, `regex` or `any`.
        value: The expected value, the contained text or item, or the pattern.
    """

    kind: MatcherKind
    value: object = None

    @classmethod
    def parse(cls, raw: object) -> Matcher:
        """A spec's matcher: a one-key mapping (`{contains: x}`, `{regex: p}`, `{any: true}`)
        or any other value, matched exactly. Write `{equals: {...}}` to match a mapping that
        itself has such a key."""
        if isinstance(raw, Matcher):
            return raw
        if isinstance(raw, Mapping) and len(raw) == 1:
            (key, value), = raw.items()
            if key in ("equals", "contains", "regex", "any"):
                return cls(key, value)
        return cls("equals", raw)

    def matches(self, actual: object) -> bool:
        """Whether `actual` (a decoded JSON value) satisfies the matcher."""
        if self.kind == "any":
            return True
        if self.kind == "equals":
            # JSON has one number type: 1 and 1.0 are the same argument.
            return bool(actual == self.value) and isinstance(actual, bool) == isinstance(self.value, bool)
        if self.kind == "contains":
            if isinstance(actual, str):
                return str(self.value) in actual
            if isinstance(actual, Sequence):
                return self.value in actual
            return False
        text = actual if isinstance(actual, str) else show_value(actual)
        return re.search(str(self.value), text) is not None

    def describe(self) -> str:
        """`"42"`, `contains "42"`, `matching /^A\\d+$/` or `any value`."""
        if self.kind == "equals":
            return show_value(self.value)
        if self.kind == "contains":
            return f"contains {show_value(self.value)}"
        if self.kind == "regex":
            return f"matching /{self.value}/"
        return "any value"


@dataclass(frozen=True)
class TextMatcher:
    """What the agent must (or must not) say in a turn; every part must hold.

    Attributes:
        contains: Texts that must each appear (case-insensitive).
        regex: A pattern `re.search` must find.
        not_contains: Texts none of which may appear (case-insensitive).
    """

    contains: tuple[str, ...] = ()
    regex: str | None = None
    not_contains: tuple[str, ...] = ()

    def problems(self, said: str) -> list[str]:
        """What `said` fails of the matcher, one line each (empty: it matches)."""
        lowered = said.lower()
        out = [f"says {text!r}" for text in self.contains if text.lower() not in lowered]
        if self.regex is not None and re.search(self.regex, said) is None:
            out.append(f"says something matching /{self.regex}/")
        out += [f"does not say {text!r}" for text in self.not_contains if text.lower() in lowered]
        return out


def contains(part: object) -> Matcher:
    """An argument that contains `part` (a substring, or a list item): `{contains: ...}`."""
    return Matcher("contains", part)


def regex(pattern: str) -> Matcher:
    """An argument `re.search(pattern)` finds something in: `{regex: ...}`."""
    return Matcher("regex", pattern)


def anything() -> Matcher:
    """An argument that is present, whatever its value: `{any: true}`."""
    return Matcher("any", True)
