"""Python objects named by a definition file: `module:attribute` paths and tool plugins.

A definition file points at code two ways: `function: tools:lookup_order` (a dotted path,
looked up next to the file first, then on `sys.path`) and `plugin: helpdesk` (an installed
package's entry point in the `agentkit.tools` group). `Importer` resolves both, and turns
every way an import can fail (missing module, missing attribute, a module that raises, a
plugin registered twice) into a `ConfigError` located at the YAML value that named it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import inspect
import sys
import traceback
import types
from collections.abc import Mapping
from pathlib import Path

from ..errors import DefinitionError
from ..tools import FunctionTool
from .schema import did_you_mean
from .yaml_source import JsonPath, SourceDocument

__all__ = [
    "GUARDRAIL_ENTRY_POINT_GROUP",
    "TOOL_ENTRY_POINT_GROUP",
    "Importer",
    "describe_object",
    "tool_package",
]

TOOL_ENTRY_POINT_GROUP = "agentkit.tools"
"""The entry-point group plugin packages register tools under (`plugin:` in YAML)."""

GUARDRAIL_ENTRY_POINT_GROUP = "agentkit.guardrails"
"""The entry-point group plugin packages register guardrails under (`plugin:` in a
guardrail's YAML)."""


def tool_package(loaded: object) -> dict[str, FunctionTool] | None:
    """A plugin's tools by name when it exports several (a list or mapping of tools)."""
    if isinstance(loaded, Mapping):
        items = list(loaded.values())
    elif isinstance(loaded, list | tuple):
        items = list(loaded)
    else:
        return None
    if not all(isinstance(t, FunctionTool) for t in items):
        raise DefinitionError("a tool package must hold FunctionTool objects only")
    return {t.name: t for t in items}


def describe_object(value: object) -> str:
    """How an error names a Python object: `the class X`, `the module m`, `the int value 3`."""
    if inspect.isclass(value):
        return f"the class {value.__name__}"
    if inspect.ismodule(value):
        return f"the module {value.__name__}"
    shown = repr(value)
    return f"the {type(value).__name__} value {shown if len(shown) <= 40 else shown[:37] + '...'}"


class Importer:
    """Resolves `module:attribute` paths and plugin entry points to Python objects.

    Modules next to the definition file are imported as submodules of a private package whose
    path is that folder, so two example folders may both hold a `tools.py` without one
    shadowing the other in `sys.modules`; they can import each other relatively
    (`from .db import connect`).
    """

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        digest = hashlib.sha1(str(base_dir).encode(), usedforsecurity=False).hexdigest()[:12]
        self.package = f"_agentkit_defs_{digest}"

    def local(self, module: str) -> bool:
        head = self.base_dir / module.split(".")[0]
        return head.with_suffix(".py").is_file() or (head / "__init__.py").is_file()

    def ensure_package(self) -> None:
        if self.package in sys.modules:
            return
        spec = importlib.machinery.ModuleSpec(self.package, None, is_package=True)
        spec.submodule_search_locations = [str(self.base_dir)]
        package = types.ModuleType(self.package)
        package.__spec__ = spec
        package.__path__ = [str(self.base_dir)]
        package.__package__ = self.package
        sys.modules[self.package] = package

    def resolve(self, doc: SourceDocument, path: JsonPath, ref: str) -> object:
        module_name, _, attribute = ref.partition(":")
        module = self.import_module(doc, path, module_name)
        target: object = module
        for i, part in enumerate(attribute.split(".")):
            if not hasattr(target, part):
                owner = module_name if i == 0 else f"{module_name}:{'.'.join(attribute.split('.')[:i])}"
                names = [n for n in dir(target) if not n.startswith("_")]
                where = f" ({module.__file__})" if i == 0 and module.__file__ else ""
                raise doc.error(
                    path,
                    f"{owner}{where} has no attribute {part!r}{did_you_mean(part, names)}",
                    expected=f"'module:attribute' naming something defined in {module_name}",
                )
            target = getattr(target, part)
        return target

    def import_module(self, doc: SourceDocument, path: JsonPath, name: str) -> types.ModuleType:
        local = self.local(name)
        if local:
            self.ensure_package()
        full = f"{self.package}.{name}" if local else name
        try:
            return importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (full == exc.name or full.startswith(exc.name + ".")):
                raise doc.error(
                    path,
                    f"module {name!r} not found (looked in {self.base_dir} and on sys.path)",
                    expected="a module next to this file, or an installed one",
                ) from exc
            raise doc.error(path, _import_failure(name, exc), expected="a module that imports") from exc
        except Exception as exc:
            raise doc.error(path, _import_failure(name, exc), expected="a module that imports") from exc

    def entry_point(
        self, doc: SourceDocument, path: JsonPath, name: str, group: str = TOOL_ENTRY_POINT_GROUP
    ) -> object:
        found = importlib.metadata.entry_points(group=group)
        matches = [ep for ep in found if ep.name == name]
        if not matches:
            installed = sorted({ep.name for ep in found})
            listing = ", ".join(installed) if installed else "none installed"
            raise doc.error(
                path,
                f"no plugin named {name!r} in entry-point group {group!r}"
                f"{did_you_mean(name, installed)}; is its package installed?",
                expected=f"an installed plugin ({listing})",
            )
        if len({ep.value for ep in matches}) > 1:
            sources = ", ".join(sorted(ep.value for ep in matches))
            raise doc.error(
                path,
                f"plugin name {name!r} is registered more than once ({sources})",
                expected="one installed package per plugin name",
            )
        try:
            loaded: object = matches[0].load()
        except Exception as exc:
            raise doc.error(
                path,
                f"plugin {name!r} ({matches[0].value}) failed to load: {_short(exc)}",
                expected="a plugin that imports",
            ) from exc
        if group != TOOL_ENTRY_POINT_GROUP:
            return loaded
        try:
            tool_package(loaded)
        except DefinitionError as exc:
            raise doc.error(path, f"plugin {name!r}: {exc}", expected="a plugin providing tools") from exc
        return loaded


def _import_failure(name: str, exc: BaseException) -> str:
    """`importing 'tools' failed: ZeroDivisionError: division by zero (tools.py:3)`."""
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({exc.filename}:{exc.lineno})"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        user = [f for f in frames if "importlib" not in f.filename]
        if user:
            where = f" ({user[-1].filename}:{user[-1].lineno})"
    return f"importing {name!r} failed: {_short(exc)}{where}"


def _short(exc: BaseException) -> str:
    text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

