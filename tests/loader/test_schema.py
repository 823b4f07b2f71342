"""`loader.schema`: the shipped JSON Schema is valid, complete, and agrees with the loader on
every shipped file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from agentkit import ConfigError, SessionSettings
from agentkit.guardrails import BUILTIN_GUARDRAILS
from agentkit.loader import agents_schema, load_definitions
from agentkit.loader.schema import check_structure, describe_value, did_you_mean
from agentkit.loader.yaml_source import parse_yaml
from agentkit.settings import _FORMAT_ALIASES

DATA = Path(__file__).parents[1] / "data"
FULL = DATA / "good" / "full" / "agents.yaml"
REPO = Path(__file__).parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/agents.yaml"))


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(agents_schema())


def test_schema_lists_every_setting() -> None:
    settings = agents_schema()["$defs"]["settings"]["properties"]
    assert set(settings) == set(SessionSettings.model_fields)


def test_schema_lists_every_builtin_guardrail() -> None:
    variants = agents_schema()["$defs"]["guardrail"]["oneOf"]
    builtins = {v["properties"]["builtin"]["const"] for v in variants if "builtin" in v["properties"]}
    assert builtins == set(BUILTIN_GUARDRAILS)


def test_schema_accepts_every_audio_format_alias() -> None:
    enum = agents_schema()["$defs"]["audio_format"]["anyOf"][0]["enum"]
    assert set(enum) == set(_FORMAT_ALIASES)


@pytest.mark.parametrize("path", [*EXAMPLES, FULL], ids=lambda p: str(p.relative_to(REPO)))
def test_good_files_pass_schema_and_loader(path: Path) -> None:
    # The schema and the loader must agree on every shipped file: the expanded document
    # validates, and the loader accepts it.
    env = {"LOOKUP_TIMEOUT": "4"}
    expanded = parse_yaml(path.read_text(), filename=str(path), env=env).data
    Draft202012Validator(agents_schema()).validate(expanded)
    loaded = load_definitions(path, env=env)
    assert loaded.starting_agent.name in loaded.agents


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_examples_are_clean_in_an_editor(path: Path) -> None:
    # Editors validate the file as written, before `${...}` expansion.
    data: Any = yaml.safe_load(path.read_text())
    Draft202012Validator(agents_schema()).validate(data)


def test_examples_exist() -> None:
    assert any(p.parent.name == "customer_service" for p in EXAMPLES)


# -- the structural check on its own --------------------------------------------------------


def test_the_first_structural_error_is_located_with_a_suggestion() -> None:
    doc = parse_yaml("version: 1\nagents:\n  a: {instructons: hi}\n", filename="agents.yaml", env={})
    with pytest.raises(ConfigError) as info:
        check_structure(doc)
    error = info.value
    assert error.path == "agents.a.instructons"
    assert error.location is not None and (error.location.line, error.location.column) == (3, 7)
    assert "unknown key 'instructons' (did you mean 'instructions'?)" in error.detail


def test_values_are_described_as_a_reader_says_them() -> None:
    doc = parse_yaml("speed: ${SPEED}\n", filename="agents.yaml", env={"SPEED": "fast"})
    assert describe_value(doc, ("speed",), "fast") == "'${SPEED}' (after variable expansion)"
    assert describe_value(doc, ("x",), None) == "nothing (null)"
    assert describe_value(doc, ("x",), True) == "the boolean true"
    assert describe_value(doc, ("x",), []) == "an empty list"
    assert did_you_mean("agnet", ["agent", "tools"]) == " (did you mean 'agent'?)"
    assert did_you_mean("zzz", ["agent"]) == ""
