"""The YAML reference page, generated from the shipped JSON Schema, lists all of it.

So the page cannot drift from the schema: every property (each time it occurs), every enum
value and every description in the schema appears on the page the docs build renders.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentkit.loader import agents_schema

HOOKS = Path(__file__).resolve().parents[2] / "docs" / "hooks.py"


def _page() -> str:
    spec = importlib.util.spec_from_file_location("docs_hooks", HOOKS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page: str = module.render_schema(agents_schema())
    return page


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_every_property_has_a_row_each_time_it_occurs() -> None:
    page = _page()
    wanted = Counter(
        name for key, value in _walk(agents_schema()) if key == "properties" for name in value
    )
    rows = Counter(re.findall(r"^\| `([^`]+)` \|", page, re.M))
    missing = {name: n for name, n in wanted.items() if rows[name] < n}
    assert missing == {}


def test_every_enum_value_and_description_is_on_the_page() -> None:
    page = _page()
    schema = agents_schema()
    values = [v for key, enum in _walk(schema) if key == "enum" for v in enum]
    assert [v for v in values if f"`{json.dumps(v)}`" not in page] == []
    descriptions = [t for key, t in _walk(schema) if key == "description" and isinstance(t, str)]
    # The top-level description is the page's first section; pipes are escaped in tables.
    assert [d for d in descriptions if d.replace("|", "\\|") not in page] == []


def test_every_definition_has_a_section() -> None:
    page = _page()
    assert [name for name in agents_schema()["$defs"] if f"{{#{name}}}" not in page] == []
