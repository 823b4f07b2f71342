"""The JSON Schema of conversation spec files, and its errors worded like the definitions'.

A spec is checked against `SPEC_SCHEMA` (jsonschema, draft 2020-12) before any code reads
its fields; the first problem in document order becomes a `ConfigError` located at its
file, line and column, with the field path, what was expected, what was found and a "did you
mean" for a misspelled key or choice:

    return.spec.yaml:7:7: turns[0].expect.tool_cals: unknown key 'tool_cals' (did you mean
    'tool_calls'?); expected one of 'agent', 'approval', ...

What a schema cannot say (a step has exactly one of `say`, `call`, `handoff`; a regex
compiles; names the agents know) is checked by `agentkit.testing.spec` with the same
locations.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ..errors import ConfigError
from ..loader.schema import describe_value, did_you_mean
from ..loader.yaml_source import SourceDocument

__all__ = ["SPEC_SCHEMA", "check_spec_structure"]

_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_TEXTS: dict[str, Any] = {
    "type": ["string", "array"],
    "items": _TEXT,
    "description": "text or a list of texts",
}
_STEP: dict[str, Any] = {
    "type": "object",
    "description": "a model step: say, call (with arguments) or handoff",
    "additionalProperties": False,
    "properties": {
        "say": {"type": "string"},
        "call": _TEXT,
        "arguments": {"type": "object"},
        "handoff": _TEXT,
        "when": {"type": "object"},
    },
}
_STEPS: dict[str, Any] = {"type": "array", "items": _STEP}
_TOOL_CALL: dict[str, Any] = {
    "type": ["object", "string"],
    "description": "a tool name, or {name, arguments}",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _TEXT,
        "arguments": {
            "type": "object",
            "description": "argument: value, or {contains: ...}, {regex: ...}, {any: true}",
        },
    },
}
_APPROVAL: dict[str, Any] = {
    "type": "object",
    "description": "{tool, decide: approve | reject}",
    "additionalProperties": False,
    "required": ["tool", "decide"],
    "properties": {
        "tool": _TEXT,
        "decide": {"enum": ["approve", "reject"]},
        "message": {"type": "string"},
    },
}
_EXPECT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "tool_calls": {"type": "array", "items": _TOOL_CALL},
        "handoff": _TEXT,
        "guardrail": _TEXT,
        "approval": {
            **_APPROVAL,
            "type": ["object", "array"],
            "items": _APPROVAL,
            "description": "{tool, decide: approve | reject}, or a list of them",
        },
        "says": {
            "type": ["string", "object"],
            "description": "text the agent says, or {contains, regex, not_contains}",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {"contains": _TEXTS, "regex": _TEXT, "not_contains": _TEXTS},
        },
        "agent": _TEXT,
        "latency_ms": {
            "type": "object",
            "description": "{max: milliseconds}",
            "additionalProperties": False,
            "required": ["max"],
            "properties": {"max": {"type": "number", "exclusiveMinimum": 0}},
        },
    },
}
_TURN: dict[str, Any] = {
    "type": "object",
    "description": "a turn: user, mode, model, expect",
    "additionalProperties": False,
    "properties": {
        "user": _TEXT,
        "mode": {"enum": ["text", "audio"]},
        "model": _STEPS,
        "expect": _EXPECT,
    },
}

SPEC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "agentkit conversation spec",
    "type": "object",
    "description": "a spec: agents, script or per-turn model steps, turns",
    "additionalProperties": False,
    "required": ["agents", "turns"],
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "agents": {**_TEXT, "description": "a definition file or module:agent"},
        "script": {**_TEXT, "description": "a conversation script file"},
        "greeting": _STEPS,
        "turn_timeout": {"type": "number", "exclusiveMinimum": 0},
        "turns": {"type": "array", "minItems": 1, "items": _TURN},
        "expect_final_agent": _TEXT,
    },
}
"""The spec format, for editors and for `check_spec_structure`."""

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
}
# At one place, the more specific report wins: an unknown key over the key it hides.
_PRIORITY = {"additionalProperties": 0, "enum": 1, "type": 2, "required": 9}


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(SPEC_SCHEMA)


def check_spec_structure(doc: SourceDocument) -> None:
    """Raise the first schema violation of `doc` (in file order) as a located `ConfigError`."""
    errors = list(_validator().iter_errors(doc.data))
    if not errors:
        return

    def order(error: ValidationError) -> tuple[int, int, int]:
        where = doc.location(tuple(error.absolute_path))
        return (where.line, _PRIORITY.get(str(error.validator), 5), where.column)

    raise _translate(doc, min(errors, key=order))


def _translate(doc: SourceDocument, error: ValidationError) -> ConfigError:
    path = tuple(error.absolute_path)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    rule: Any = error.validator_value
    instance: Any = error.instance
    got = describe_value(doc, path, instance)
    validator = str(error.validator)
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        key = sorted(
            (k for k in instance if k not in allowed),
            key=lambda k: (doc.location((*path, k), key=True).line, k),
        )[0]
        return doc.error(
            (*path, key),
            f"unknown key {key!r}{did_you_mean(key, allowed)}",
            expected="one of " + ", ".join(repr(a) for a in allowed),
            key=True,
        )
    if validator == "required":
        missing = next(k for k in rule if k not in instance)
        return doc.error(path, f"missing required key {missing!r}", expected=f"a {missing!r} key")
    if validator == "enum":
        options = [str(o) for o in rule]
        hint = did_you_mean(str(instance), options)
        expected = "one of " + ", ".join(repr(o) for o in options)
        return doc.error(path, f"got {got}{hint}", expected=expected)
    if validator == "type":
        kinds = rule if isinstance(rule, list) else [rule]
        expected = str(schema.get("description") or " or ".join(_TYPE_NAMES[k] for k in kinds))
        return doc.error(path, f"got {got}", expected=expected)
    if validator == "minItems":
        return doc.error(path, f"got {got}", expected=f"at least {rule} item(s)")
    if validator == "minLength":
        return doc.error(path, f"got {got}", expected="non-empty text")
    if validator == "exclusiveMinimum":
        return doc.error(path, f"got {got}", expected=f"a number > {rule}")
    expected = str(schema.get("description") or f"a value valid for {validator!r}")
    return doc.error(path, f"got {got}", expected=expected)
