"""Keypad digits (DTMF): what an agent declares for them, and the one matching policy.

An agent's `dtmf` maps a key or a sequence of keys (`"0"`, `"*9"`, `"123#"`) to an action:

- `DtmfHandoff("escalation")`: transfer to that agent, through the agent's own handoff to
  it (its `on_handoff`, its `session.update`; the new agent speaks first);
- `DtmfToolCall("ticket_status", {"ticket": "latest"})`: run one of the agent's tools with
  these arguments, as if the model had called it (the model sees the call and its output and
  answers);
- `DtmfReply("Our opening hours are nine to five.")`: speak this sentence in the agent's voice.

The policy (`DtmfKeypad.press`), in one place for every phone line (Twilio's `dtmf` messages,
SIP's `input_audio_buffer.dtmf_event_received`):

- keys are collected per session; when the collected keys end with a declared sequence, its
  action runs and the collection starts over;
- the sequences of one agent are *prefix-free* (`"1"` and `"12"` cannot both be declared):
  a phone menu that waits to see whether another key follows needs a timer, and callers
  hear that wait as the menu not working. So a match is decided on the key that completes it;
- keys pressed more than `DtmfKeypad.gap_s` seconds apart do not form a sequence;
- a key no sequence continues is kept only as far as it could still start one.

This module does no I/O and depends on nothing above the definitions: `agent.py` declares with
it and `runtime/dtmf.py` applies it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final

from ..errors import DefinitionError

__all__ = [
    "DTMF_KEYS",
    "DtmfAction",
    "DtmfHandoff",
    "DtmfKeypad",
    "DtmfMatch",
    "DtmfReply",
    "DtmfToolCall",
    "check_dtmf_map",
    "dtmf_map_problem",
]

DTMF_KEYS: Final = "0123456789*#ABCD"
"""The keys of a telephone keypad (A-D exist on some)."""
_SEQUENCE = re.compile(r"^[0-9*#A-D]{1,16}$")


@dataclass(frozen=True, slots=True)
class DtmfHandoff:
    """Transfer to the agent named `agent` (the active agent must hand off to it)."""

    agent: str


@dataclass(frozen=True, slots=True)
class DtmfToolCall:
    """Call the active agent's tool `tool` with `arguments`, as if the model had."""

    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DtmfReply:
    """Say `text`, word for word, in the agent's voice."""

    text: str


DtmfAction = DtmfHandoff | DtmfToolCall | DtmfReply
"""What a key sequence does."""


def dtmf_map_problem(keys: Mapping[Any, Any]) -> tuple[str | None, str] | None:
    """What is wrong with a key map, as `(the sequence at fault or None, the problem)`, or
    `None`. Shared by `check_dtmf_map` (Python) and the YAML loader (which locates it)."""
    for sequence, action in keys.items():
        if not isinstance(sequence, str) or not _SEQUENCE.match(sequence):
            return (
                sequence if isinstance(sequence, str) else None,
                f"{sequence!r} is not a key sequence: use 1 to 16 of the keys {DTMF_KEYS}",
            )
        if not isinstance(action, DtmfHandoff | DtmfToolCall | DtmfReply):
            return (
                sequence,
                f"the action of {sequence!r} is {type(action).__name__}: use DtmfHandoff, "
                "DtmfToolCall or DtmfReply",
            )
    ordered = sorted(keys)
    for shorter, longer in pairwise(ordered):
        if longer.startswith(shorter):
            return (
                longer,
                f"{shorter!r} is a prefix of {longer!r}: the keypad would have to wait to know "
                "which one the caller means; make the sequences prefix-free (e.g. end them with #)",
            )
    return None


def check_dtmf_map(owner: str, keys: Mapping[Any, Any]) -> dict[str, DtmfAction]:
    """`keys` as a checked key map of agent `owner`; `DefinitionError` names what is wrong."""
    problem = dtmf_map_problem(keys)
    if problem is not None:
        raise DefinitionError(f"agent {owner!r}: dtmf: {problem[1]}")
    return dict(keys)


@dataclass(frozen=True, slots=True)
class DtmfMatch:
    """A declared sequence the caller completed, and its action."""

    sequence: str
    action: DtmfAction


class DtmfKeypad:
    """The keys a session's caller pressed, matched against the active agent's map.

    Args:
        gap_s: Keys further apart than this (seconds) start a new sequence.
    """

    def __init__(self, gap_s: float = 4.0) -> None:
        self.gap_s = gap_s
        self._keys = ""
        self._last: float | None = None

    @property
    def pending(self) -> str:
        """The keys collected towards a sequence so far."""
        return self._keys

    def reset(self) -> None:
        """Forget the collected keys (the agent changed: its map is another)."""
        self._keys = ""

    def press(self, key: str, keys: Mapping[str, DtmfAction], now: float) -> DtmfMatch | None:
        """The caller pressed `key` at `now`: the completed sequence of `keys`, if any."""
        if self._last is not None and now - self._last > self.gap_s:
            self._keys = ""
        self._last = now
        collected = self._keys + key
        # Keep the longest tail that a sequence could still start with (or that is one).
        while collected and not any(s.startswith(collected) for s in keys):
            collected = collected[1:]
        action = keys.get(collected) if collected else None
        if action is not None:
            self._keys = ""
            return DtmfMatch(collected, action)
        self._keys = collected
        return None
