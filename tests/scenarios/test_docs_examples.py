"""The complete programs in the docs run as written (a fragment is not checked here).

A block counts as complete when it runs itself (`asyncio.run(...)`); each is executed in a
fresh namespace, against the embedded local server when it starts one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _programs() -> list[pytest.ParameterSet]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for index, block in enumerate(_BLOCK.findall(page.read_text())):
            if "asyncio.run(" in block:
                found.append(pytest.param(block, id=f"{page.name}#{index}"))
    return found


PROGRAMS = _programs()


def test_the_docs_have_complete_programs() -> None:
    assert len(PROGRAMS) >= 2


@pytest.mark.parametrize("source", PROGRAMS)
def test_a_complete_program_in_the_docs_runs(source: str) -> None:
    exec(compile(source, "<docs example>", "exec"), {"__name__": "__main__"})
