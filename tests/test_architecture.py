"""The layering the folders promise, checked from the source: the wire and the supervisor do
no I/O, and no package reaches into another package's private modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "agentkit"
IO_MODULES = {"asyncio", "anyio", "socket", "websockets", "time", "threading", "aiohttp", "aiortc"}
# The sans-I/O core: everything that takes events in and gives actions out.
SANS_IO = sorted(
    [p for p in (PACKAGE / "protocol").glob("*.py")]
    + [p for p in (PACKAGE / "runtime").glob("*.py") if p.name not in {"tool_runner.py"}]
    + [p for p in (PACKAGE / "compiler").glob("*.py")]
    + [PACKAGE / name for name in ("history.py", "events.py", "policy.py")]
)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every import of `path` as (absolute module name, level 0), resolving relative ones."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    parts = parts[:-1]  # the package the import is relative to (for __init__, itself)
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                anchor = parts[: len(parts) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.append((base, node.level))
            found.extend((f"{base}.{alias.name}", node.level) for alias in node.names)
    return found


@pytest.mark.parametrize("path", SANS_IO, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_imports_no_io(path: Path) -> None:
    roots = {name.split(".")[0] for name, _ in _imports(path)}
    assert not roots & IO_MODULES


def test_no_package_imports_another_packages_private_module() -> None:
    offenders: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        here = path.relative_to(PACKAGE.parent).parts[:-1]
        for name, _ in _imports(path):
            parts = name.split(".")
            if parts[0] != "agentkit":
                continue
            for i, part in enumerate(parts[1:], start=1):
                if part.startswith("_") and not part.startswith("__"):
                    owner = tuple(parts[:i])
                    if owner != tuple(here[: len(owner)]) or len(here) < len(owner):
                        offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
                    break
    assert offenders == []


def test_the_top_level_holds_the_definitions_and_the_entry_points() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 18, modules
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert packages == [
        "cli", "compiler", "loader", "mcp", "protocol", "runtime", "serve", "server", "session", "store", "telephony", "testing", "tracing", "transports"
    ]


def test_docs_and_readme_import_only_public_modules() -> None:
    root = PACKAGE.parent
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    pages += sorted((root / "examples").rglob("*.py"))
    private: list[str] = []
    for page in pages:
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            words = line.strip().split()
            imports_agentkit = len(words) > 1 and words[0] in {"from", "import"} and words[1].startswith("agentkit")
            if imports_agentkit and any(part.startswith("_") for part in words[1].split(".")):
                private.append(f"{page.relative_to(root)}:{number}: {line.strip()}")
    assert private == []


def test_every_logger_redacts_credentials() -> None:
    # A filter on a logger sees only that logger's records: each module must take its logger
    # from `agentkit.logs.get_logger`, which installs the redacting filter.
    plain = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "logs.py" and "logging.getLogger(" in path.read_text()
    ]
    assert plain == []
