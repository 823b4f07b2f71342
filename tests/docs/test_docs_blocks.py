"""Every Python block in the docs runs and every YAML block is checked, unless the page says why not.

The conventions (also on the page `docs/contributing-docs.md`):

- A page is one program: its Python blocks run in order in one namespace, so a block may use
  what an earlier one defined.
- A block with a title (```` ```python title="tools.py" ````) is a file: it is written to the
  folder the page runs in, not run. The page's other blocks, and its YAML, use it from there.
- A YAML block is checked by what it is: a definition file (`version:`) is loaded with
  `load_definitions` from the page's folder, a conversation spec (`agents:` and `turns:` with
  `expect:`) with `load_spec`, a conversation script (`turns:`) is parsed with `parse_script`.
- A block the tests cannot run or check follows an admonition saying so and why, shown on the
  page: `!!! note "Not run by the tests: needs an OpenAI key"` (or "Not checked by the tests").
- `--8<-- "path"` lines (pymdownx.snippets) are replaced by the file, as the build does.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentkit.loader import load_definitions
from agentkit.server import parse_script
from agentkit.testing import load_spec

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md"))

_FENCE = re.compile(
    r'^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)(?:[ \t]+title="(?P<title>[^"]+)")?[^\n]*\n'
    r"(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)
_SKIP = re.compile(r'^!!! note "Not (?:run|checked) by the tests: (?P<reason>[^"]+)"[ \t]*$')
_SNIPPET = re.compile(r'^--8<-- "(?P<path>[^"]+)"[ \t]*$', re.M)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    title: str | None
    source: str
    skip_reason: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _expand(text: str) -> str:
    return _SNIPPET.sub(lambda m: (ROOT / m["path"]).read_text(encoding="utf-8").rstrip("\n"), text)


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = [line for line in text[: match.start()].splitlines() if line.strip()]
        skip = _SKIP.match(before[-1]) if before else None
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        found.append(
            Block(
                page,
                text.count("\n", 0, match.start()) + 1,
                match["lang"],
                match["title"],
                _expand(body),
                skip["reason"] if skip else None,
            )
        )
    return found


def _of(lang: str) -> Iterator[Block]:
    for page in PAGES:
        yield from (b for b in blocks(page) if b.lang == lang)


def _write_files(page: Path, folder: Path) -> None:
    for block in blocks(page):
        if block.title is not None and block.skip_reason is None:
            target = folder / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.source, encoding="utf-8")


PYTHON_PAGES = [p for p in PAGES if any(b.lang == "python" for b in blocks(p))]


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_the_python_blocks_of_a_page_run_as_one_program(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_files(page, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = set(sys.modules)
    namespace: dict[str, object] = {"__name__": "__main__"}
    try:
        for block in blocks(page):
            if block.lang != "python" or block.title is not None or block.skip_reason:
                continue
            exec(compile(block.source, block.where, "exec"), namespace)
    finally:
        # The page's own modules (tools.py ...) must not leak into the next page's run.
        for name in set(sys.modules) - modules:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(str(tmp_path)):
                del sys.modules[name]


YAML_BLOCKS = [b for b in _of("yaml") if b.skip_reason is None]


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: b.where)
def test_a_yaml_block_is_a_valid_definition_file_or_script(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_files(block.page, tmp_path)
    monkeypatch.chdir(tmp_path)
    if re.search(r"^version:", block.source, re.M):
        path = tmp_path / (block.title or "agents.yaml")
        path.write_text(block.source, encoding="utf-8")
        load_definitions(path, env={})
    elif re.search(r"^agents:", block.source, re.M) and re.search(r"^turns:", block.source, re.M):
        path = tmp_path / (block.title or "conversation.spec.yaml")
        path.write_text(block.source, encoding="utf-8")
        load_spec(path, env={})
    elif re.search(r"^turns:", block.source, re.M):
        parse_script(block.source, file=block.where)
    else:
        pytest.fail(
            f"{block.where}: a YAML block is a definition file (version:), a spec (agents: and"
            " turns:) or a script (turns:);"
            ' otherwise mark it: !!! note "Not checked by the tests: <why>"'
        )


def test_every_python_and_yaml_block_is_run_or_says_why_not() -> None:
    counted = [b for lang in ("python", "yaml") for b in _of(lang)]
    skipped = [b for b in counted if b.skip_reason]
    assert all(len(b.skip_reason or "x") > 10 for b in skipped), "say why on the page"
    run = [b for b in counted if not b.skip_reason]
    # Most of the docs run: a guard against marking everything skipped.
    assert len(run) >= 4 * len(skipped), [b.where for b in skipped]


def test_docs_import_only_public_modules() -> None:
    private = [
        f"{b.where}: {line.strip()}"
        for lang in ("python",)
        for b in _of(lang)
        for line in b.source.splitlines()
        if re.match(r"\s*(from|import)\s+agentkit\S*\._", line)
    ]
    assert private == []
