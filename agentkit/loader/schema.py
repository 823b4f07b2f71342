"""The structural pass: a definition file checked against `schemas/agents.schema.json`.

The schema editors use is the one the loader enforces, so what an editor underlines and what
`agentkit validate` reports cannot drift. jsonschema's own messages are written for schema
authors (`{'agnt': 'b'} is not valid under any of the given schemas`); this module turns the
first error in document order into a sentence about the file: where, which field, what was
expected, what was found, and a "did you mean" when a name is close to a valid one.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ..errors import ConfigError
from .yaml_source import JsonPath, SourceDocument

__all__ = ["agents_schema", "agents_schema_text", "check_structure", "describe_value", "did_you_mean"]

# When two errors start at the same place, the more specific one is the better report: an
# unknown key says more than the missing key it was probably meant to be.
_PRIORITY = {
    "additionalProperties": 0,
    "const": 1,
    "enum": 1,
    "type": 2,
    "pattern": 3,
    "oneOf": 4,
    "anyOf": 4,
    "required": 9,
}


def agents_schema_text() -> str:
    """The JSON Schema of `agents.yaml` as shipped in the package, verbatim."""
    return resources.files("agentkit").joinpath("schemas/agents.schema.json").read_text("utf-8")


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(agents_schema_text()))


def agents_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the definition file format, as a fresh dict."""
    schema: dict[str, Any] = json.loads(agents_schema_text())
    return schema


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a choice is close to `word`, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe_value(doc: SourceDocument, path: JsonPath, value: object) -> str:
    """How a value reads in an error message: `a mapping`, `the number 3`, `'marine'`.

    A value that came from `${VAR}` is shown as written (`'${API_KEY}'`), never expanded, so
    secrets do not end up in logs.
    """
    source = doc.source_text(path)
    if source is not None:
        return f"{source!r} (after variable expansion)"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the text {shown!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    return f"a {type(value).__name__}"


def check_structure(doc: SourceDocument) -> None:
    """Validate the document against the schema; raise the first problem as a `ConfigError`."""
    errors = list(_validator().iter_errors(doc.data))
    if not errors:
        return
    raise _first(doc, errors)


def _first(doc: SourceDocument, errors: Sequence[ValidationError]) -> ConfigError:
    # A missing key next to an unknown one is almost always the same key misspelled; the
    # unknown key (with its "did you mean") is the report that helps.
    misspelled = {_path(e) for e in errors if e.validator == "additionalProperties"}
    kept = [e for e in errors if not (e.validator == "required" and _path(e) in misspelled)]
    reports = [_translate(doc, error) for error in kept]

    def order(report: ConfigError) -> tuple[int, int, int]:
        loc = report.location
        line, column = (loc.line, loc.column) if loc is not None else (0, 0)
        return (line, getattr(report, "_priority", 5), column)

    return min(reports, key=order)


def _path(error: ValidationError) -> JsonPath:
    return tuple(error.absolute_path)


def _translate(doc: SourceDocument, error: ValidationError) -> ConfigError:
    report = _translate_one(doc, error)
    report._priority = _PRIORITY.get(str(error.validator), 5)  # type: ignore[attr-defined]
    return report


def _translate_one(doc: SourceDocument, error: ValidationError) -> ConfigError:
    path = _path(error)
    validator = str(error.validator)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    got = describe_value(doc, path, error.instance)

    if "propertyNames" in error.relative_schema_path:
        name = str(error.instance)
        rule = schema.get("description", f"a name matching {schema.get('pattern')}")
        return doc.error((*path, name), f"invalid name {name!r}", expected=rule, key=True)
    if validator == "additionalProperties":
        return _unknown_key(doc, path, error.instance, schema)
    if validator == "required":
        missing = _missing(error)
        return doc.error(
            path,
            f"missing required key {missing!r}",
            expected=f"a {missing!r} key in this mapping",
        )
    if validator in ("oneOf", "anyOf"):
        return _alternatives(doc, error)
    if validator == "not" and isinstance(_rule(error), Mapping):
        together = _rule(error).get("required", [])
        present = [k for k in together if isinstance(error.instance, Mapping) and k in error.instance]
        keys = " and ".join(repr(k) for k in [*_dependent_key(error), *present])
        return doc.error(path, f"{keys} cannot be given together", expected="only one of them")
    expected = _expectation(schema, validator, _rule(error))
    if validator == "const" and _rule(error) == 1 and path == ("version",):
        return doc.error(path, f"unsupported version: got {got}", expected="version: 1")
    hint = ""
    if validator in ("enum", "const") and isinstance(error.instance, str):
        options = _rule(error) if validator == "enum" else [_rule(error)]
        hint = did_you_mean(error.instance, [o for o in options if isinstance(o, str)])
    return doc.error(path, f"expected {expected}, got {got}{hint}", expected=expected)


def _rule(error: ValidationError) -> Any:
    """The schema keyword's value that failed (`1` for `const: 1`), typed for use."""
    value: Any = error.validator_value
    return value


def _dependent_key(error: ValidationError) -> list[str]:
    # `dependentSchemas: {instructions: {not: ...}}`: the key that triggered the rule.
    parts = list(error.relative_schema_path)
    if "dependentSchemas" in parts:
        index = parts.index("dependentSchemas")
        if index + 1 < len(parts):
            return [str(parts[index + 1])]
    return []


def _missing(error: ValidationError) -> str:
    match = re.match(r"^'(.+)' is a required property$", error.message)
    if match:
        return match.group(1)
    return str(_rule(error)[0])


def _allowed_keys(schema: Mapping[str, Any]) -> list[str]:
    props = schema.get("properties", {})
    return sorted(props) if isinstance(props, Mapping) else []


def _unknown_key(
    doc: SourceDocument, path: JsonPath, instance: Any, schema: Mapping[str, Any]
) -> ConfigError:
    allowed = _allowed_keys(schema)
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    unknown = [
        k
        for k in instance
        if k not in allowed and not any(p.search(k) for p in patterns)
    ]
    # Report the unknown key written first in the file.
    unknown.sort(key=lambda k: _line_col(doc, (*path, k)))
    key = unknown[0]
    extra = " or an 'x-' extension key" if patterns else ""
    expected = f"one of {', '.join(repr(a) for a in allowed)}{extra}"
    return doc.error(
        (*path, key),
        f"unknown key {key!r}{did_you_mean(key, allowed)}",
        expected=expected,
        key=True,
    )


def _line_col(doc: SourceDocument, path: JsonPath) -> tuple[int, int]:
    loc = doc.location(path, key=True)
    return (loc.line, loc.column)


def _alternatives(doc: SourceDocument, error: ValidationError) -> ConfigError:
    """Pick the alternative the author meant, and report that alternative's own problem.

    The branch is chosen by the shape of the value (a string vs a mapping), then by a constant
    discriminator (`builtin: blocked_terms`), then by which branch has the fewest problems.
    """
    path = _path(error)
    branches: list[Mapping[str, Any]] = list(_rule(error))
    by_branch: dict[int, list[ValidationError]] = {i: [] for i in range(len(branches))}
    for sub in error.context or ():
        by_branch[int(sub.relative_schema_path[0])].append(sub)

    if not error.context:
        # oneOf matched more than one branch: with `required`-only branches, two keys given.
        keys = [k for b in branches for k in b.get("required", [])]
        present = [k for k in keys if isinstance(error.instance, Mapping) and k in error.instance]
        return doc.error(
            path,
            f"{' and '.join(repr(k) for k in present)} cannot be given together",
            expected=f"exactly one of {_or(keys)}",
        )

    if all(set(b) == {"required"} for b in branches):
        keys = [k for b in branches for k in b["required"]]
        return doc.error(
            path, f"none of {_or(keys)} is given", expected=f"exactly one of {_or(keys)}"
        )

    def fits(index: int) -> bool:
        # The value's shape rules a branch out: a wrong JSON type, or a different constant.
        branch = branches[index]
        if "const" in branch and branch["const"] != error.instance:
            return False
        return not any(e.validator == "type" and _path(e) == path for e in by_branch[index])

    fitting = [i for i in range(len(branches)) if fits(i)]
    if not fitting:
        expected = " or ".join(_describe_schema(b) for b in branches)
        got = describe_value(doc, path, error.instance)
        return doc.error(path, f"expected {expected}, got {got}", expected=expected)

    chosen = _discriminate(doc, path, error.instance, branches, fitting)
    if isinstance(chosen, ConfigError):
        return chosen
    best = min(chosen or fitting, key=lambda i: (len(by_branch[i]), i))
    return _first(doc, by_branch[best])


def _discriminate(
    doc: SourceDocument,
    path: JsonPath,
    instance: Any,
    branches: Sequence[Mapping[str, Any]],
    fitting: Sequence[int],
) -> ConfigError | list[int]:
    """The branches a mapping's discriminating keys select (`builtin: blocked_terms`).

    A discriminator is a property some branches pin with `const`; the other branches are told
    apart by a required key of their own (`function:`). Returns an error when the discriminator
    names no branch, or when the mapping gives neither kind of key; an empty list when the
    branches are not discriminated at all.
    """
    if not isinstance(instance, Mapping):
        return []
    pinned: dict[str, list[tuple[int, Any]]] = {}
    for i in fitting:
        for key, sub in branches[i].get("properties", {}).items():
            if isinstance(sub, Mapping) and "const" in sub:
                pinned.setdefault(key, []).append((i, sub["const"]))
    if not pinned:
        return []
    pinned_branches = {i for options in pinned.values() for i, _ in options}
    others = [i for i in fitting if i not in pinned_branches]
    other_keys = _required_keys(branches, others)
    for key, options in pinned.items():
        if key not in instance:
            continue
        matching = [i for i, value in options if value == instance[key]]
        if matching:
            return matching
        values = [str(v) for _, v in options]
        got = describe_value(doc, (*path, key), instance[key])
        hint = did_you_mean(str(instance[key]), values)
        return doc.error(
            (*path, key),
            f"expected one of {_or(values)}, got {got}{hint}",
            expected=f"one of {_or(values)}",
        )
    keyed = [i for i in others if set(branches[i].get("required", [])) <= set(instance)]
    if keyed:
        return keyed
    choices = [*pinned, *other_keys]
    return doc.error(path, f"none of {_or(choices)} is given", expected=f"one of {_or(choices)}")


def _required_keys(branches: Sequence[Mapping[str, Any]], indexes: Iterable[int]) -> list[str]:
    keys: list[str] = []
    for i in indexes:
        for k in branches[i].get("required", []):
            if k not in keys:
                keys.append(k)
    return keys


def _or(items: Sequence[object]) -> str:
    quoted = [repr(i) for i in items]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing (null)",
}


def _describe_schema(schema: Mapping[str, Any]) -> str:
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return _describe_enum(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(_TYPE_NAMES.get(k) or str(k) for k in kind)
    if isinstance(kind, str):
        base = _TYPE_NAMES.get(kind, kind)
        bounds = _bounds(schema)
        return f"{base} {bounds}".strip()
    return "a valid value"


def _describe_enum(options: Sequence[object]) -> str:
    shown = [("null" if o is None else repr(o)) for o in options]
    return "one of " + ", ".join(shown)


def _bounds(schema: Mapping[str, Any]) -> str:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if low is not None and high is not None:
        return f"from {low} to {high}"
    if low is not None:
        return f">= {low}"
    if high is not None:
        return f"<= {high}"
    if schema.get("exclusiveMinimum") is not None:
        return f"> {schema['exclusiveMinimum']}"
    return ""


def _expectation(schema: Mapping[str, Any], validator: str, value: Any) -> str:
    if validator == "type":
        kinds = value if isinstance(value, list) else [value]
        text = " or ".join(_TYPE_NAMES.get(k) or str(k) for k in kinds)
        bounds = _bounds(schema)
        return f"{text} {bounds}".strip()
    if validator == "const":
        return repr(value)
    if validator == "enum":
        return _describe_enum(value)
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        kind = schema.get("type", "number")
        base = _TYPE_NAMES.get(kind if isinstance(kind, str) else "number", "a number")
        symbol = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[validator]
        return f"{base} {symbol} {value}"
    if validator == "minItems":
        return f"a list with at least {value} item{'s' if value != 1 else ''}"
    if validator == "minLength":
        return "non-empty text"
    if validator == "minProperties":
        return f"at least {value} entr{'ies' if value != 1 else 'y'}"
    if validator == "pattern":
        return str(schema.get("description") or f"text matching {value}")
    if validator == "False schema":
        return "nothing here"
    return str(schema.get("description") or f"a value valid for {validator!r}")
