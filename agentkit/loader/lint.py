"""Warnings about a definition file that loads but probably does not say what was meant.

An error stops a load; a warning does not, since the file is valid YAML and valid against the
schema. Two mistakes are found:

- a tool or guardrail declared but used by no agent (often the other half of the next one);
- a line inside a block scalar (`instructions: |`) that looks like a key of the mapping the
  text belongs to, or a top-level section: `tools: [lookup]` indented one level too far is
  part of the instructions text, and the agent silently has no tools.

`lint` returns them in file order; `Definitions.warnings` holds them after a load, and
`agentkit validate` / `agentkit run` print them (`--strict` makes them errors).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import SourceLocation
from .schema import agents_schema
from .yaml_source import JsonPath, SourceDocument, format_path

__all__ = ["DefinitionWarning", "lint"]

_KEY_LINE = re.compile(r"^(\s*)([a-z_]+):(\s|$)")


@dataclass(frozen=True)
class DefinitionWarning:
    """Something in a definition file that is valid but probably a mistake.

    `str()` reads like a `ConfigError`: `agents.yaml:9:7: agents.support.instructions: ...`.

    Attributes:
        message: What looks wrong and what probably happened.
        location: Where (file, 1-based line and column).
        path: The dotted field path it is about.
    """

    message: str
    location: SourceLocation
    path: str

    def __str__(self) -> str:
        return f"{self.location}: {self.path}: {self.message}"


def lint(doc: SourceDocument) -> tuple[DefinitionWarning, ...]:
    """The warnings about a parsed, structurally valid definition file, in file order."""
    found = [*_unused(doc), *_keys_in_text(doc)]
    return tuple(sorted(found, key=lambda w: (w.location.line, w.location.column)))


def _unused(doc: SourceDocument) -> Iterable[DefinitionWarning]:
    data: Mapping[str, Any] = doc.data
    agents: Mapping[str, Mapping[str, Any]] = data.get("agents", {})
    used_tools = {ref for spec in agents.values() for ref in spec.get("tools", [])}
    used_guards = {
        ref
        for spec in agents.values()
        for key in ("input_guardrails", "output_guardrails")
        for ref in spec.get(key, [])
    }
    sections = (
        ("tools", "tool", used_tools, "'tools'"),
        ("guardrails", "guardrail", used_guards, "'input_guardrails' or 'output_guardrails'"),
    )
    for section, kind, used, where in sections:
        for name in data.get(section, {}):
            if name not in used:
                yield _warning(
                    doc,
                    (section, name),
                    f"{kind} {name!r} is declared but no agent uses it (list it under an "
                    f"agent's {where}, or remove it)",
                )


def _keys_in_text(doc: SourceDocument) -> Iterable[DefinitionWarning]:
    lines = doc.text.splitlines()
    for path, first, end in doc.block_scalars():
        keys = _sibling_keys(path)
        if not keys:
            continue
        indent: int | None = None
        for number in range(first, min(end, len(lines))):
            line = lines[number]
            if not line.strip():
                continue
            width = len(line) - len(line.lstrip())
            indent = width if indent is None else indent
            match = _KEY_LINE.match(line)
            # Lines less indented than the text's first line are not part of it.
            if match is None or width < indent or match.group(2) not in keys:
                continue
            key, field = match.group(2), str(path[-1])
            yield DefinitionWarning(
                f"'{key}:' is part of the {field} text, not a key (over-indented?); indent "
                f"it like '{field}:' to make it a key",
                SourceLocation(doc.filename, number + 1, width + 1),
                format_path(path),
            )


def _sibling_keys(path: JsonPath) -> frozenset[str]:
    """The keys a line in the text at `path` may have been meant as: its mapping's own (an
    agent's or a tool's) and the top-level sections."""
    if len(path) != 3 or path[0] not in ("agents", "tools"):
        return frozenset()
    kind = "agent" if path[0] == "agents" else "tool"
    return _schema_keys(kind) | _schema_keys("")


@cache
def _schema_keys(definition: str) -> frozenset[str]:
    schema = agents_schema()
    node = schema["$defs"][definition] if definition else schema
    return frozenset(node.get("properties", {}))


def _warning(doc: SourceDocument, path: JsonPath, message: str) -> DefinitionWarning:
    return DefinitionWarning(message, doc.location(path, key=True), format_path(path))
