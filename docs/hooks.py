"""MkDocs hook: the YAML reference page, generated from the shipped JSON Schema at build time.

The schema (`agentkit.loader.agents_schema()`, printed by `agentkit schema`) is the one source
of truth for the format: the loader validates every file against it and editors underline
with it. So the reference is rendered from it on each build, never copied by hand;
`tests/docs/test_yaml_reference.py` checks the page lists every property, enum value and
description in the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["PAGE", "on_files", "render_schema"]

PAGE = "reference/yaml.md"
"""Where the generated page goes, relative to `docs/`."""

_INTRO = """# YAML reference

Generated from the JSON Schema shipped in the package (`agentkit schema`,
`agentkit.loader.agents_schema()`) each time these docs are built, so it always matches what
`agentkit validate` accepts. [YAML definitions](../yaml.md) explains the format with examples;
every mapping is closed (an unknown key is an error).
"""

Schema = Mapping[str, Any]


class _Renderer:
    """Walks the schema once; each object with `properties` becomes a section with a table."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.sections: list[str] = []

    def render(self) -> str:
        self.section("file", "The file", self.schema)
        for name, definition in self.schema.get("$defs", {}).items():
            self.section(name, f"`{name}`", definition)
        return _INTRO + "\n" + "\n".join(self.sections)

    def section(self, anchor: str, title: str, schema: Schema) -> None:
        # Reserve the slot first, so nested objects found while rendering come after it.
        index = len(self.sections)
        self.sections.append("")
        lines = [f"## {title} {{#{anchor}}}", ""]
        if "description" in schema:
            lines += [_cell(schema["description"]), ""]
        if "properties" in schema or "patternProperties" in schema:
            lines += self.table(anchor, schema)
        for n, branch in enumerate(schema.get("oneOf", [])):
            if "properties" in branch:
                label = branch.get("title", str(n + 1))
                self.section(f"{anchor}-{label}", f"{title}: {label}", branch)
        required_one = [b["required"] for b in schema.get("oneOf", []) if set(b) == {"required"}]
        if required_one:
            keys = ", ".join(f"`{k}`" for group in required_one for k in group)
            lines += [f"Exactly one of {keys}.", ""]
        if "properties" not in schema and "oneOf" not in schema:
            lines += [f"Type: {self.type_of(schema, anchor, anchor)}", ""]
        self.sections[index] = "\n".join(lines)

    def table(self, anchor: str, schema: Schema) -> list[str]:
        required = set(schema.get("required", []))
        rows = [
            "| field | type | required | default | description |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, prop in schema.get("properties", {}).items():
            rows.append(
                f"| `{name}` | {self.type_of(prop, f'{anchor}-{name}', f'{anchor}.{name}')} | "
                f"{'yes' if name in required else ''} | {_default(prop)} | "
                f"{_cell(prop.get('description', ''))} |"
            )
        for pattern, prop in schema.get("patternProperties", {}).items():
            rows.append(
                f"| keys matching `{pattern}` | {self.type_of(prop, anchor, anchor) or 'anything'}"
                f" | | | {_cell(prop.get('description', ''))} |"
            )
        return [*rows, ""]

    def type_of(self, schema: Schema, anchor: str, title: str) -> str:
        """The type as Markdown: links to other sections, constraints, branch descriptions."""
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            text = f"[{name}](#{name})"
        elif "const" in schema:
            text = f"`{json.dumps(schema['const'])}`"
        elif "enum" in schema:
            text = "one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
        elif "anyOf" in schema or "oneOf" in schema:
            branches = schema.get("anyOf") or schema["oneOf"]
            text = " or ".join(
                self.type_of(b, f"{anchor}-{n + 1}" if len(branches) > 1 else anchor, title)
                for n, b in enumerate(branches)
            )
        else:
            text = self.plain_type(schema, anchor, title)
        constraints = _constraints(schema)
        if constraints:
            text += f" ({constraints})"
        # A branch's own description (a property's is in its row).
        if "description" in schema and schema.get("type") == "null":
            text += f" ({_cell(schema['description'])})"
        return text

    def plain_type(self, schema: Schema, anchor: str, title: str) -> str:
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if kind else []
        parts = []
        for k in kinds:
            if k == "object" and "properties" in schema:
                self.section(anchor, f"`{title}` (object)", {k: v for k, v in schema.items() if k != "description"})
                parts.append(f"[object](#{anchor})")
            elif k == "object" and "additionalProperties" in schema:
                key = self.type_of(schema.get("propertyNames", {"type": "string"}), anchor, title)
                value = self.type_of(schema["additionalProperties"], anchor, title)
                parts.append(f"mapping of {key} to {value}")
            elif k == "array":
                parts.append(f"list of {self.type_of(schema.get('items', {}), anchor, title)}")
            else:
                parts.append(f"`{k}`")
        return " or ".join(parts) or "anything"


def _constraints(schema: Schema) -> str:
    words = {
        "minimum": "≥ {}",
        "exclusiveMinimum": "> {}",
        "maximum": "≤ {}",
        "minLength": "at least {} characters",
        "minItems": "at least {} items",
        "minProperties": "at least {} entries",
        "pattern": "matching `{}`",
    }
    found = []
    for key, form in words.items():
        if key in schema:
            one = key in ("minLength", "minItems", "minProperties") and schema[key] == 1
            found.append("non-empty" if one else form.format(schema[key]))
    return ", ".join(found)


def _default(schema: Schema) -> str:
    return f"`{json.dumps(schema['default'])}`" if "default" in schema else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_schema(schema: Schema) -> str:
    """The reference page for a definition-file schema, as Markdown."""
    return _Renderer(schema).render()


def on_files(files: Any, config: Any) -> Any:
    """Add the generated page to the build (MkDocs event)."""
    # Imported here so tests can render the page without MkDocs installed.
    from mkdocs.structure.files import File

    from agentkit.loader import agents_schema

    files.append(File.generated(config, PAGE, content=render_schema(agents_schema())))
    return files
