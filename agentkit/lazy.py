"""Names a package exports but imports on first use.

Some exports pull in stacks that cost more to import than the rest of agentkit together
(aiortc and PyAV for WebRTC, PyYAML for the loader). A package lists them in a table and
sets `__getattr__ = lazy_exports(__name__, table)`; the first access imports the module,
caches the value in the package, and later accesses never come back here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports `table[name]` (a module relative
    to `package`, like `".webrtc"`) on first access to `name`."""

    def load(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return load
