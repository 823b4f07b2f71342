"""YAML text → plain data plus a map from each value's path back to where it stands in the file.

PyYAML's `safe_load` throws positions away and silently keeps the last of two duplicate keys.
Definition files need both: every error must name a line and column, and a duplicated agent or
tool is a mistake to report, not to paper over. So the file is *composed* into nodes (which
carry marks) and walked here by hand: scalars are built with PyYAML's own safe constructor, so
`yes`, `0x1F` and `2024-01-01` mean what they mean in `safe_load`.

`${VAR}` / `${VAR:-default}` are expanded in string scalars during the walk, so the value the
loader sees is final while the map still knows the text the file really holds (error messages
quote that text, never an expanded secret).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from ..errors import ConfigError, SourceLocation

__all__ = ["JsonPath", "SourceDocument", "format_path", "parse_yaml", "read_source"]

JsonPath = tuple[str | int, ...]
"""A value's position in the document: mapping keys and sequence indexes from the root."""

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_DEPTH = 100

# `$$` is a literal dollar; `${NAME}` and `${NAME:-default}` are variables. Anything else that
# starts with `${` is malformed and reported rather than left in the value by accident.
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(path: JsonPath) -> str:
    """`("agents", "sales", "handoffs", 1, "agent")` → `agents.sales.handoffs[1].agent`.

    Keys that are not plain identifiers are quoted (`agents["front desk"].tools`).
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part) or (part and all(c.isalnum() or c in "_-" for c in part)):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]".replace("'", '"')
    return out or "(top level)"


@dataclass
class _Entry:
    node: Node
    key_node: Node | None = None
    source_text: str | None = None
    """The scalar as written, kept when `${...}` expansion changed it."""


@dataclass
class SourceDocument:
    """A parsed definition file: its data and where each piece of it was written.

    Attributes:
        filename: The name errors show (the path as given, or `<string>`).
        data: The document as plain Python data (dicts, lists, scalars).
    """

    filename: str
    data: Any
    _entries: dict[JsonPath, _Entry] = field(default_factory=dict, repr=False)
    text: str = field(default="", repr=False)
    """The YAML text as written (before `${...}` expansion)."""

    def block_scalars(self) -> Iterator[tuple[JsonPath, int, int]]:
        """Each `|` or `>` block scalar: its path and the 0-based lines its text spans
        (from the line after the indicator to the last line before what follows)."""
        for path, entry in self._entries.items():
            node = entry.node
            if isinstance(node, ScalarNode) and node.style in ("|", ">"):
                end = node.end_mark.line if node.end_mark.column == 0 else node.end_mark.line + 1
                yield path, node.start_mark.line + 1, end

    def location(self, path: JsonPath, *, key: bool = False) -> SourceLocation:
        """Where the value at `path` starts (or its key, with `key=True`).

        A path that does not exist (a missing key) falls back to its nearest existing parent,
        which is the mapping the key should have been written in.
        """
        for end in range(len(path), -1, -1):
            entry = self._entries.get(path[:end])
            if entry is None:
                continue
            node = entry.key_node if key and end == len(path) and entry.key_node else entry.node
            return _mark_location(self.filename, node.start_mark)
        return SourceLocation(self.filename, 1, 1)

    def source_text(self, path: JsonPath) -> str | None:
        """The scalar's text before `${...}` expansion, or None if nothing was expanded."""
        entry = self._entries.get(path)
        return entry.source_text if entry is not None else None

    def error(
        self,
        path: JsonPath,
        message: str,
        *,
        expected: str | None = None,
        key: bool = False,
        say_expected: bool = True,
    ) -> ConfigError:
        """A `ConfigError` pointing at `path`: file, line, column, dotted field path.

        The message always says what was expected: `expected` is appended unless the message
        already states it.
        """
        return ConfigError(
            _with_expected(message, expected) if say_expected else message,
            location=self.location(path, key=key),
            path=format_path(path),
            expected=expected,
        )


def _with_expected(message: str, expected: str | None) -> str:
    """The message, ending in what was expected unless it already says so."""
    if expected is not None and "expected" not in message:
        return f"{message}; expected {expected}"
    return message


def _mark_location(filename: str, mark: yaml.Mark | None) -> SourceLocation:
    # PyYAML marks count from 0; editors and compilers count from 1.
    if mark is None:
        return SourceLocation(filename, 1, 1)
    return SourceLocation(filename, mark.line + 1, mark.column + 1)


def parse_yaml(text: str, *, filename: str, env: Mapping[str, str]) -> SourceDocument:
    """Parse one YAML document into data plus its location map.

    Raises:
        ConfigError: a syntax error, more than one document, a non-string or duplicate key,
            an unset `${VAR}` without a default, or an empty file.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = ""
        if exc.context:
            started = exc.context_mark
            where = f" that starts on line {started.line + 1}" if started is not None else ""
            context = f" ({exc.context}{where})"
        raise ConfigError(
            f"YAML syntax error: {problem}{context}; expected valid YAML",
            location=_mark_location(filename, mark),
            expected="valid YAML",
        ) from exc
    except yaml.YAMLError as exc:  # reader errors (bad bytes) carry no mark in older PyYAML
        raise ConfigError(
            f"YAML syntax error: {exc}; expected valid YAML",
            location=SourceLocation(filename, 1, 1),
            expected="valid YAML",
        ) from exc
    if root is None:
        raise ConfigError(
            "the file is empty; expected a mapping with 'version: 1' and 'agents'",
            location=SourceLocation(filename, 1, 1),
            expected="a mapping with 'version', 'agents' and the other sections",
        )
    walker = _Walker(filename, env)
    data = walker.build(root, (), depth=0)
    return SourceDocument(filename=filename, data=data, _entries=walker.entries, text=text)


class _Walker:
    def __init__(self, filename: str, env: Mapping[str, str]) -> None:
        self.filename = filename
        self.env = env
        self.entries: dict[JsonPath, _Entry] = {}
        self.constructor = SafeConstructor()
        self.resolver = Resolver()

    def fail(self, node: Node, path: JsonPath, message: str, expected: str | None = None) -> ConfigError:
        return ConfigError(
            _with_expected(message, expected),
            location=_mark_location(self.filename, node.start_mark),
            path=format_path(path) if path else "",
            expected=expected,
        )

    def build(self, node: Node, path: JsonPath, *, depth: int, key_node: Node | None = None) -> Any:
        if depth > _MAX_DEPTH:
            # Only a recursive alias (`&a [*a]`) gets this deep in a definition file.
            raise self.fail(node, path, f"nesting deeper than {_MAX_DEPTH} levels (a recursive alias?)")
        entry = _Entry(node, key_node)
        self.entries[path] = entry
        if isinstance(node, MappingNode):
            return self.build_mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return [
                self.build(item, (*path, index), depth=depth + 1)
                for index, item in enumerate(node.value)
            ]
        assert isinstance(node, ScalarNode)
        return self.build_scalar(node, path, entry)

    def build_mapping(self, node: MappingNode, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        explicit: set[str] = set()
        merged: list[tuple[str, Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self.merge_sources(value_node, path))
                continue
            key = self.key_of(key_node, path)
            if key in explicit:
                first = next(k for k, _ in node.value if isinstance(k, ScalarNode) and k.value == key)
                raise self.fail(
                    key_node,
                    (*path, key),
                    f"duplicate key {key!r} (first defined on line {first.start_mark.line + 1}); "
                    "YAML would silently keep only the last one",
                    expected="each key once per mapping",
                )
            explicit.add(key)
            result[key] = self.build(value_node, (*path, key), depth=depth + 1, key_node=key_node)
        # `<<: *defaults` fills in keys the mapping does not set itself (YAML merge-key rule).
        for key, key_node, value_node in merged:
            if key not in result:
                result[key] = self.build(value_node, (*path, key), depth=depth + 1, key_node=key_node)
        return result

    def merge_sources(self, value_node: Node, path: JsonPath) -> list[tuple[str, Node, Node]]:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        pairs: list[tuple[str, Node, Node]] = []
        for source in sources:
            if not isinstance(source, MappingNode):
                raise self.fail(
                    source, path, "'<<' merges mappings only", expected="an alias of a mapping"
                )
            for key_node, item_node in source.value:
                if key_node.tag == _MERGE_TAG:
                    pairs.extend(self.merge_sources(item_node, path))
                else:
                    pairs.append((self.key_of(key_node, path), key_node, item_node))
        return pairs

    def key_of(self, key_node: Node, path: JsonPath) -> str:
        if not isinstance(key_node, ScalarNode) or key_node.tag != _STR_TAG:
            shown = key_node.value if isinstance(key_node, ScalarNode) else type(key_node).__name__
            raise self.fail(
                key_node,
                path,
                f"mapping keys must be text, got {shown!r}; quote it if you meant the text",
                expected="a string key",
            )
        return str(key_node.value)

    def build_scalar(self, node: ScalarNode, path: JsonPath, entry: _Entry) -> Any:
        if node.tag != _STR_TAG or "$" not in node.value:
            try:
                return self.constructor.construct_object(node, deep=True)
            except ConstructorError as exc:
                raise self.fail(node, path, f"invalid value: {exc.problem}") from exc
        expanded = self.expand(node, path)
        if expanded == node.value:
            return expanded
        entry.source_text = node.value
        if node.style is None:
            # An unquoted `${PORT}` resolves like any plain scalar, so `timeout: ${T:-5}` is a
            # number; quote it (`"${PORT}"`) to keep a string.
            tag = self.resolver.resolve(ScalarNode, expanded, (True, False))  # type: ignore[no-untyped-call]
            if tag != _STR_TAG:
                try:
                    return self.constructor.construct_object(ScalarNode(tag, expanded), deep=True)
                except ConstructorError:
                    return expanded
        return expanded

    def expand(self, node: ScalarNode, path: JsonPath) -> str:
        def replace(match: re.Match[str]) -> str:
            text = match.group(0)
            if text == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name is None:
                raise self.fail(
                    node,
                    path,
                    f"malformed variable in {node.value!r}",
                    expected="${NAME} or ${NAME:-default} (write $$ for a literal $)",
                )
            value = self.env.get(name)
            # Shell rules: `${X:-d}` falls back when X is unset *or empty*; `${X}` accepts empty.
            if default is not None and not value:
                return default
            if value is not None:
                return value
            raise self.fail(
                node,
                path,
                f"environment variable {name!r} is not set",
                expected=f"{name} set in the environment, or a default: ${{{name}:-value}}",
            )

        return _VARIABLE.sub(replace, node.value)


def read_source(path: Path) -> str:
    """The file's text, with a `ConfigError` (not an `OSError` traceback) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        # The wording every `agentkit` command uses for a missing file.
        raise ConfigError(f"{path}: file not found", expected="an existing YAML file") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path} is a directory", expected="a YAML file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start})", expected="a UTF-8 YAML file"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
