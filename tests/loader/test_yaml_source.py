"""`loader.yaml_source`: YAML syntax, duplicate keys, merge keys and `${VAR}` expansion, seen
through the loader as a user sees them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit import ConfigError
from agentkit.loader import load_definitions_from_string
from agentkit.loader.yaml_source import format_path, parse_yaml


def test_comment_only_file_counts_as_empty() -> None:
    with pytest.raises(ConfigError, match="the file is empty"):
        load_definitions_from_string("# nothing here yet\n")


def test_second_document_is_an_error() -> None:
    text = "version: 1\nagents: {a: {}}\n---\nversion: 1\n"
    with pytest.raises(ConfigError, match="single document") as info:
        load_definitions_from_string(text)
    assert info.value.location is not None and info.value.location.line == 3


def test_duplicate_key_deep_inside_settings() -> None:
    text = "version: 1\nsettings:\n  turn_detection:\n    type: server_vad\n    type: semantic_vad\nagents: {a: {}}\n"
    with pytest.raises(ConfigError) as info:
        load_definitions_from_string(text)
    error = info.value
    assert error.path == "settings.turn_detection.type"
    assert error.location is not None and (error.location.line, error.location.column) == (5, 5)


def test_merge_key_override_is_not_a_duplicate() -> None:
    text = (
        "version: 1\nx-base: &base {instructions: base, voice: marin}\n"
        "agents:\n  a:\n    <<: *base\n    instructions: own\n"
    )
    agent = load_definitions_from_string(text).agents["a"]
    assert (agent.instructions, agent.voice) == ("own", "marin")


# -- environment variables ------------------------------------------------------------------

MINIMAL = "version: 1\nagents:\n  a:\n    instructions: {value}\n"


def test_env_param_replaces_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_TEXT", "from os.environ")
    text = MINIMAL.format(value="${AGENT_TEXT}")
    assert load_definitions_from_string(text).agents["a"].instructions == "from os.environ"
    assert load_definitions_from_string(text, env={"AGENT_TEXT": "given"}).agents["a"].instructions == "given"
    with pytest.raises(ConfigError, match="'AGENT_TEXT' is not set"):
        load_definitions_from_string(text, env={})


def test_default_applies_when_unset_or_empty() -> None:
    text = MINIMAL.format(value="${A:-fallback}")
    assert load_definitions_from_string(text, env={}).agents["a"].instructions == "fallback"
    assert load_definitions_from_string(text, env={"A": ""}).agents["a"].instructions == "fallback"
    # Without a default, a variable set to "" is accepted as "", as in the shell.
    plain = MINIMAL.format(value="'[${A}]'")
    assert load_definitions_from_string(plain, env={"A": ""}).agents["a"].instructions == "[]"


def test_expanded_secrets_stay_out_of_error_messages() -> None:
    text = "version: 1\nsettings:\n  speed: ${SPEED}\nagents: {a: {}}\n"
    with pytest.raises(ConfigError) as info:
        load_definitions_from_string(text, env={"SPEED": "sk-secret-value"})
    error = info.value
    assert "sk-secret-value" not in str(error)
    assert "'${SPEED}' (after variable expansion)" in str(error)
    assert error.path == "settings.speed"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_quoted_variable_is_the_value_verbatim(value: str) -> None:
    text = MINIMAL.format(value='"${V}"')
    loaded = load_definitions_from_string(text, env={"V": value})
    assert loaded.agents["a"].instructions == value


# -- the document on its own ----------------------------------------------------------------


def test_every_value_knows_where_it_was_written() -> None:
    text = "version: 1\nagents:\n  front desk:\n    tools: [a, b]\n"
    doc = parse_yaml(text, filename="agents.yaml", env={})
    assert doc.data == {"version": 1, "agents": {"front desk": {"tools": ["a", "b"]}}}
    where = doc.location(("agents", "front desk", "tools", 1))
    assert (where.file, where.line, where.column) == ("agents.yaml", 4, 16)
    key = doc.location(("agents", "front desk"), key=True)
    assert (key.line, key.column) == (3, 3)
    # A missing key is reported in the mapping it should have been written in.
    missing = doc.location(("agents", "front desk", "instructions"))
    assert (missing.line, missing.column) == (4, 5)


def test_errors_say_the_field_and_what_was_expected() -> None:
    doc = parse_yaml("agents:\n  front desk: {tools: [x]}\n", filename="agents.yaml", env={})
    error = doc.error(("agents", "front desk", "tools", 0), "unknown tool 'x'", expected="a tool")
    assert str(error) == (
        'agents.yaml:2:24: agents["front desk"].tools[0]: unknown tool \'x\'; expected a tool'
    )
    assert format_path(()) == "(top level)"
    assert format_path(("agents", "sales-2", "handoffs", 1)) == "agents.sales-2.handoffs[1]"


def test_expanded_values_keep_the_text_as_written() -> None:
    doc = parse_yaml("key: ${SECRET}\nplain: x\n", filename="f.yaml", env={"SECRET": "s3cret"})
    assert doc.data["key"] == "s3cret"
    assert doc.source_text(("key",)) == "${SECRET}"
    assert doc.source_text(("plain",)) is None
