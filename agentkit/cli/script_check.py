"""A conversation script checked against the agents it plays with, before the run starts.

The local server plays a script's model side whatever the agents are: a `call: add_piza` is
sent to the session as a call of an unknown tool, and a `handoff: paymnt` as a call of
`transfer_to_paymnt`, and the run may still end "completed". So every name a script uses is
checked first, and a mistake is a `ConfigError` located like the definition file's own:

    s.yaml:9:15: turns[1].steps[0].call: unknown tool 'add_piza' (did you mean 'add_pizza'?); ...

What is checked: each `call:` names a tool some agent has (a handoff's `transfer_to_...` tool
counts); each `handoff: X` calls a handoff tool some agent has (`transfer_to_x`, see
`agentkit.server.script`); each `has_tool` / `lacks_tool` names such a tool. The script is
re-read with the loader's line-tracking reader only to locate a mistake.

`load_checked_script` reads a script file and checks it: what `agentkit run` and
`agentkit validate` do with `--script` or the definition file's `script:`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..agent import RealtimeAgent
from ..errors import ConfigError, UserError
from ..loader.schema import did_you_mean
from ..loader.yaml_source import JsonPath, SourceDocument, format_path, parse_yaml
from ..server.script import CallTool, Condition, Handoff, Script, Step, load_script
from .target import file_not_found, short_error

__all__ = ["check_script", "load_checked_script"]


def load_checked_script(path: Path, agents: Mapping[str, RealtimeAgent[Any]]) -> Script:
    """The script at `path`, read and checked against `agents`; a `UserError` (a
    `ConfigError` where it can be located) for a missing, malformed or mismatched script."""
    script = _load_script(path)
    check_script(script, path, agents)
    return script


def check_script(
    script: Script, path: Path | None, agents: Mapping[str, RealtimeAgent[Any]]
) -> None:
    """Raise a `ConfigError` for the first name in `script` that no agent has.

    Args:
        script: The loaded script.
        path: Where it was read from (to locate the mistake); None for an inline script.
        agents: Every agent of the run, by name.
    """
    names = _Names.of(agents)
    for where, item in _named_items(script):
        problem = names.problem(item)
        if problem is not None:
            message, expected = problem
            raise _locate(path, where, message, expected)


@dataclass(frozen=True)
class _Names:
    agents: tuple[str, ...]
    tools: frozenset[str]
    handoff_tools: frozenset[str]

    @classmethod
    def of(cls, agents: Mapping[str, RealtimeAgent[Any]]) -> _Names:
        tools = {t.name for a in agents.values() for t in a.tools}
        handoffs = {h.tool_name for a in agents.values() for h in a.handoff_list()}
        return cls(tuple(agents), frozenset(tools | handoffs), frozenset(handoffs))

    def problem(self, item: Step | str) -> tuple[str, str] | None:
        """`(message, expected)` for a name no agent has, else None."""
        if isinstance(item, CallTool):
            return None if item.name in self.tools else self.unknown_tool(item.name)
        if isinstance(item, Handoff):
            if item.tool_name in self.handoff_tools:
                return None
            expected = f"an agent some agent hands off to ({_listed(self.handoff_tools, 'handoffs')})"
            if item.agent in self.agents:
                return (
                    f"no agent hands off to {item.agent!r} (the step calls {item.tool_name!r})",
                    expected,
                )
            return f"unknown agent {item.agent!r}{did_you_mean(item.agent, self.agents)}", expected
        if isinstance(item, str):  # a `has_tool` / `lacks_tool` name
            return None if item in self.tools else self.unknown_tool(item)
        return None

    def unknown_tool(self, name: str) -> tuple[str, str]:
        return (
            f"unknown tool {name!r}{did_you_mean(name, self.tools)}",
            f"a tool one of the agents has ({_listed(self.tools, 'tools')})",
        )


def _listed(names: frozenset[str], kind: str) -> str:
    return ", ".join(sorted(names)) or f"no agent has {kind}"


def _named_items(script: Script) -> Iterator[tuple[JsonPath, Step | str]]:
    """Every step and condition name of the script, with its path in the YAML."""
    yield from _steps(("greeting",), script.greeting)
    for i, turn in enumerate(script.turns):
        for k, alternative in enumerate(turn.alternatives):
            yield from _condition(("turns", i, "alternatives", k, "when"), alternative.when)
            yield from _steps(("turns", i, "alternatives", k, "steps"), alternative.steps)
        yield from _steps(("turns", i, "steps"), turn.steps)


def _steps(path: JsonPath, steps: tuple[Step, ...]) -> Iterator[tuple[JsonPath, Step | str]]:
    for j, step in enumerate(steps):
        if step.when is not None:
            yield from _condition((*path, j, "when"), step.when)
        if isinstance(step, CallTool):
            yield (*path, j, "call"), step
        elif isinstance(step, Handoff):
            yield (*path, j, "handoff"), step


def _condition(path: JsonPath, when: Condition) -> Iterator[tuple[JsonPath, str]]:
    for key, names in (("has_tool", when.has_tools), ("lacks_tool", when.lacks_tools)):
        for n, name in enumerate(names):
            # A list item's path; a single name (`has_tool: x`) is found at its key instead.
            yield (*path, key, n), name


def _locate(path: Path | None, where: JsonPath, message: str, expected: str) -> ConfigError:
    doc = _read(path)
    if doc is None:
        return ConfigError(
            f"{message}; expected {expected}", path=format_path(where), expected=expected
        )
    error = doc.error(where, message, expected=expected)
    if isinstance(where[-1], int) and doc.location(where) == doc.location(where[:-1]):
        # `has_tool: x` (no list): name the key, not a list item that is not there.
        error = doc.error(where[:-1], message, expected=expected)
    return error


def _read(path: Path | None) -> SourceDocument | None:
    if path is None:
        return None
    try:
        return parse_yaml(path.read_text(encoding="utf-8"), filename=str(path), env={})
    except (OSError, UnicodeDecodeError, ConfigError):
        # A script the server's reader accepts but this stricter one does not (a duplicate
        # key, a `${...}` in a line): the mistake is still reported, without a line.
        return None


def _load_script(path: Path) -> Script:
    if not path.is_file():
        raise file_not_found(path, option="--script")
    try:
        return load_script(path)
    except ConfigError:
        raise
    except Exception as exc:  # a script the loader could not even parse as YAML
        raise UserError(f"{path}: not a conversation script ({short_error(exc)})") from exc
