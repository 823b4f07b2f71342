"""Agent definitions from YAML: `agents.yaml` → settings, tools, guardrails and agents.

Loading runs in three passes, each reporting the *first* problem as a `ConfigError` that names
the file, line, column and field path:

1. **Parse** (`yaml_source`): YAML syntax, duplicate keys, `${VAR}` expansion.
2. **Structure** (`schema`): the shipped JSON Schema, the same one editors use.
3. **Meaning** (`definitions`): imports and plugins resolve (`importer`: `module:attribute`
   paths and the `agentkit.tools` entry points), references between sections exist,
   settings pass their range checks, names are unique per agent.

What loads but is probably a mistake (a tool no agent uses, `tools:` indented into the
instructions text) is a warning (`lint`), kept in `Definitions.warnings`.

The format is documented in `docs/yaml.md`; the schema is `agentkit/schemas/agents.schema.json`.
"""

from __future__ import annotations

from .definitions import Definitions, load_definitions, load_definitions_from_string
from .importer import TOOL_ENTRY_POINT_GROUP
from .lint import DefinitionWarning, lint
from .schema import agents_schema

__all__ = [
    "TOOL_ENTRY_POINT_GROUP",
    "DefinitionWarning",
    "Definitions",
    "agents_schema",
    "lint",
    "load_definitions",
    "load_definitions_from_string",
]
