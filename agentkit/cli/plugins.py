"""`agentkit plugins`: the tools and guardrails installed packages provide, by package.

Plugins are entry points in the `agentkit.tools` and `agentkit.guardrails` groups (see
`agentkit.loader.importer`); a definition file names them with `plugin:`. The listing reads
the installed distributions' metadata only: no plugin is imported, so a broken one cannot
stop the command (`agentkit validate` reports it, at the YAML line that names it).
"""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

import orjson

from ..loader.importer import GUARDRAIL_ENTRY_POINT_GROUP, TOOL_ENTRY_POINT_GROUP

__all__ = ["PluginEntry", "configure_plugins", "installed_plugins", "print_plugins"]

GROUPS = (TOOL_ENTRY_POINT_GROUP, GUARDRAIL_ENTRY_POINT_GROUP)


@dataclass(frozen=True)
class PluginEntry:
    """One installed plugin: its package, group, name (what `plugin:` takes) and target."""

    package: str
    version: str
    group: str
    name: str
    value: str


def installed_plugins(groups: Iterable[str] = GROUPS) -> list[PluginEntry]:
    """Every plugin entry point in `groups`, sorted by package, group and name."""
    found: list[PluginEntry] = []
    for group in groups:
        for ep in importlib.metadata.entry_points(group=group):
            dist = ep.dist
            package = dist.name if dist is not None else "?"
            version = dist.version if dist is not None else "?"
            found.append(PluginEntry(package, version, group, ep.name, ep.value))
    return sorted(found, key=lambda e: (e.package.lower(), e.group, e.name))


def configure_plugins(parser: argparse.ArgumentParser) -> None:
    """The arguments of `agentkit plugins`."""
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def print_plugins(args: argparse.Namespace, out: TextIO) -> int:
    """List the installed plugins by package (see the module docs)."""
    entries = installed_plugins()
    if args.json:
        out.write(orjson.dumps([e.__dict__ for e in entries], option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    if not entries:
        out.write(f"no plugins installed (entry-point groups {', '.join(GROUPS)})\n")
        return 0
    package = None
    for entry in entries:
        if entry.package != package:
            package = entry.package
            out.write(f"{entry.package} {entry.version}\n")
        kind = "tool" if entry.group == TOOL_ENTRY_POINT_GROUP else "guardrail"
        out.write(f"  {kind:<9} {entry.name:<28} {entry.value}\n")
    return 0
