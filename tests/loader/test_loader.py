"""The YAML loader: good files become agents; every mistake is located and explained."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from agentkit import ConfigError, RunContext, SessionSettings
from agentkit.guardrails import BUILTIN_GUARDRAILS
from agentkit.loader import (
    Definitions,
    agents_schema,
    load_definitions,
    load_definitions_from_string,
)
from agentkit.loader.yaml_source import parse_yaml
from agentkit.settings import _FORMAT_ALIASES

DATA = Path(__file__).parents[1] / "data"
BAD = DATA / "bad_yaml"
FULL = DATA / "good" / "full" / "agents.yaml"
REPO = Path(__file__).parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/agents.yaml"))

# file, line, column, field path, a fragment of the message. Every file holds one mistake.
BAD_FILES = [
    ("syntax_error.yaml", 6, 15, "", "expected ',' or ']'"),
    ("empty.yaml", 1, 1, "", "the file is empty"),
    ("top_level_list.yaml", 1, 1, "(top level)", "the top level must be a mapping, got a list"),
    ("wrong_version.yaml", 1, 10, "version", "unsupported version: got the number 2"),
    ("missing_version.yaml", 1, 1, "(top level)", "missing required key 'version'"),
    ("duplicate_agent.yaml", 7, 3, "agents.support", "duplicate key 'support' (first defined on line 3)"),
    ("non_string_key.yaml", 4, 3, "agents", "mapping keys must be text, got '404'"),
    ("unknown_top_key.yaml", 2, 1, "agent", "unknown key 'agent' (did you mean 'agents'?)"),
    ("unknown_agent_key.yaml", 4, 5, "agents.support.instruction", "did you mean 'instructions'?"),
    ("bad_agent_name.yaml", 3, 3, 'agents["support desk!"]', "invalid name 'support desk!'"),
    ("instructions_twice.yaml", 4, 5, "agents.support", "'instructions' and 'instructions_file' cannot be given together"),
    ("voice_twice.yaml", 7, 7, "agents.support.settings.voice", "the voice is given twice"),
    ("tools_not_a_list.yaml", 7, 12, "agents.support.tools", "expected a list, got the text 'lookup_order'"),
    ("handoff_unknown_agent.yaml", 7, 16, "agents.sales.handoffs[1].agent", "unknown agent 'suport' (did you mean 'support'?)"),
    ("handoff_bad_key.yaml", 6, 10, "agents.sales.handoffs[0].agnt", "unknown key 'agnt' (did you mean 'agent'?)"),
    ("self_handoff.yaml", 5, 23, "agents.support.handoffs[1]", "hands off to itself"),
    ("unknown_tool_ref.yaml", 7, 13, "agents.support.tools[0]", "unknown tool 'lookup_ordr' (did you mean 'lookup_order'?)"),
    ("unknown_guardrail_ref.yaml", 7, 31, "agents.support.input_guardrails[1]", "unknown guardrail 'polite'"),
    ("duplicate_tool_per_agent.yaml", 9, 9, "agents.support.tools[1]", "listed twice (first at agents.support.tools[0])"),
    ("tool_handoff_name_clash.yaml", 8, 16, "agents.support.handoffs[0]", "'transfer_to_sales' is already used by agents.support.tools[0]"),
    ("missing_starting_agent.yaml", 2, 1, "agents", "missing 'starting_agent'"),
    ("unknown_starting_agent.yaml", 5, 17, "starting_agent", "unknown agent 'suport' (did you mean 'support'?)"),
    ("module_not_found.yaml", 4, 15, "tools.lookup_order.function", "module 'no_such_module' not found"),
    ("attribute_not_found.yaml", 4, 15, "tools.lookup_order.function", "has no attribute 'lookup_ordr' (did you mean 'lookup_order'?)"),
    ("not_callable.yaml", 4, 15, "tools.lookup_order.function", "helpers:NOT_CALLABLE is the int value 42, not a function"),
    ("import_raises.yaml", 4, 15, "tools.lookup_order.function", "importing 'broken' failed: KeyError: 'database_url'"),
    ("bad_import_path.yaml", 3, 28, "tools.lookup_order.function", "expected 'module:attribute'"),
    ("tool_without_type_hints.yaml", 4, 15, "tools.lookup_order.function", "parameter 'order_number' needs a type hint"),
    ("tool_function_and_plugin.yaml", 4, 5, "tools.escalate", "'function' and 'plugin' cannot be given together"),
    ("tool_without_source.yaml", 4, 5, "tools.escalate", "none of 'function' or 'plugin' is given"),
    ("unknown_plugin.yaml", 4, 13, "tools.escalate.plugin", "no plugin named 'escalate_to_humans' in entry-point group 'agentkit.tools' (did you mean 'escalate_to_human'?)"),
    ("plugin_package_unknown_tool.yaml", 5, 11, "tools.status.tool", "plugin 'helpdesk' has no tool 'ticket_stat' (did you mean 'ticket_status'?)"),
    ("setting_out_of_range.yaml", 4, 10, "settings.speed", "expected a number <= 1.5, got the number 3"),
    ("max_output_tokens.yaml", 3, 22, "settings.max_output_tokens", "expected a whole number <= 4096, got the number 5000"),
    ("turn_detection_typo.yaml", 3, 26, "settings.turn_detection.type", "got the text 'server_vda' (did you mean 'server_vad'?)"),
    ("pcm_rate.yaml", 3, 23, "settings.input_audio_format", "PCM audio must be 24000 Hz"),
    ("semantic_vad_threshold.yaml", 8, 9, "agents.support.settings.turn_detection.threshold", "unknown key 'threshold': not a setting of semantic_vad"),
    ("unknown_builtin.yaml", 4, 14, "guardrails.civil.builtin", "got the text 'blocked_term' (did you mean 'blocked_terms'?)"),
    ("builtin_missing_argument.yaml", 4, 5, "guardrails.civil", "missing required key 'terms'"),
    ("builtin_wrong_argument.yaml", 6, 5, "guardrails.civil.pattern", "unknown key 'pattern'"),
    ("bad_regex.yaml", 5, 14, "guardrails.injection.pattern", "blocked_regex: invalid pattern 'ignore (all'"),
    ("guardrail_wrong_signature.yaml", 3, 19, "guardrails.pii.function", "must accept (ctx, text)"),
    ("unset_env.yaml", 4, 10, "settings.voice", "environment variable 'AGENT_VOICE' is not set"),
    ("malformed_variable.yaml", 4, 19, "agents.support.instructions", "malformed variable"),
    ("script_missing.yaml", 4, 9, "script", "conversations/missing.yaml' does not exist"),
]


def load_error(path: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_definitions(path, env={} if env is None else env)
    return info.value


@pytest.mark.parametrize(
    ("name", "line", "column", "field", "fragment"), BAD_FILES, ids=[row[0] for row in BAD_FILES]
)
def test_bad_file_is_located_and_explained(
    name: str, line: int, column: int, field: str, fragment: str
) -> None:
    error = load_error(BAD / name)
    assert error.location is not None
    assert (error.location.file, error.location.line, error.location.column) == (
        str(BAD / name),
        line,
        column,
    )
    assert error.path == field
    assert fragment in error.detail
    # What was expected is always said, in the message itself, not only in a field.
    assert error.expected
    assert "expected" in error.detail or error.expected in error.detail
    text = str(error)
    assert text.startswith(f"{BAD / name}:{line}:{column}: ")
    if field:
        assert f": {field}: " in text


def test_every_bad_file_is_covered() -> None:
    on_disk = {p.name for p in BAD.glob("*.yaml")}
    assert on_disk == {row[0] for row in BAD_FILES}
    assert len(on_disk) >= 25


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nope.yaml")
    assert "file not found" in str(error)


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


# -- the all-features file ------------------------------------------------------------------


@pytest.fixture(scope="module")
def full() -> Definitions:
    return load_definitions(FULL, env={"LOOKUP_TIMEOUT": "2.5", "REGION": "eu"})


def test_full_file_agents_and_start(full: Definitions) -> None:
    assert list(full.agents) == ["support", "sales", "human"]
    assert full.starting_agent is full.agents["support"]
    assert full.path == FULL
    assert full.script == FULL.parent / "conversations" / "demo.yaml"
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.script = None  # type: ignore[misc]


def test_full_file_settings(full: Definitions) -> None:
    assert full.settings.input_audio_format == "g711_ulaw"
    assert full.settings.output_audio_format == "g711_ulaw"  # `pcmu` is an accepted alias
    assert full.settings.turn_detection is not None
    assert full.settings.turn_detection.type == "server_vad"
    sales = full.agents["sales"]
    assert sales.voice == "cedar"
    assert sales.settings is not None and sales.settings.model_fields_set == {"turn_detection"}
    merged = full.settings.merged(sales.settings)
    assert merged.turn_detection is not None and merged.turn_detection.type == "semantic_vad"
    assert merged.input_audio_format == "g711_ulaw"


def test_full_file_tools(full: Definitions) -> None:
    lookup = full.tools["lookup_order"]
    assert lookup.timeout == 2.5  # unquoted ${LOOKUP_TIMEOUT:-5} read as a number
    assert lookup.context_param == "ctx"
    assert lookup.parameters["required"] == ["order_number"]
    assert "order number the caller reads out" in json.dumps(lookup.parameters)
    note = full.tools["add_note"]
    assert note.timeout == 3  # kept from @tool(timeout=3)
    assert note.description == "Add a note for the next person."
    stock = full.tools["check_stock"]
    assert stock.parameters["properties"] == {"sku": {"type": "string"}}
    assert stock.parse_arguments('{"sku": "X1"}') == {"sku": "X1"}
    assert stock.bind(None, {"sku": "X1"})() == {"in_stock": True, "sku": "X1"}
    support = full.agents["support"]
    assert [t.name for t in support.tools] == ["lookup_order", "add_note", "check_stock"]


def test_full_file_tools_run_with_the_context_factory(full: Definitions) -> None:
    assert full.context_factory is not None
    context = full.context_factory()
    ctx = RunContext(context)
    assert full.tools["lookup_order"].bind(ctx, {"order_number": "a-1001"})() == {
        "order": "A1001",  # normalized by `.shared`, imported relatively
        "status": "shipped",
    }
    assert context.notes == ["a-1001"]


def test_full_file_plugins(full: Definitions) -> None:
    escalate = full.tools["escalate"]
    assert escalate.name == "escalate"  # the YAML key is the name the model sees
    assert escalate.needs_approval
    assert escalate.func.__module__ == "agentkit_helpdesk.tools"
    # From the `helpdesk` package: picked by the key, or by `tool:`.
    assert full.tools["ticket_status"].func is full.tools["status_lookup"].func
    assert full.tools["status_lookup"].name == "status_lookup"


def test_full_file_guardrails(full: Definitions) -> None:
    support = full.agents["support"]
    assert [g.name for g in support.input_guardrails] == ["civil", "injection"]
    assert [g.stage for g in support.input_guardrails] == ["input", "input"]
    assert [g.name for g in support.output_guardrails] == ["digits", "short"]
    assert [g.stage for g in support.output_guardrails] == ["output", "output"]
    assert support.output_guardrails[0].safe_reply == "No numbers, please."
    sales = full.agents["sales"]
    assert [g.name for g in sales.input_guardrails] == ["civil"]  # overrides the merged list
    assert sales.output_guardrails[0].safe_reply == "Please."  # from the Guardrail object
    assert set(full.guardrails) == {"civil", "injection", "short", "digits", "polite"}


async def test_full_file_guardrails_check(full: Definitions) -> None:
    ctx = RunContext(None)
    civil = full.agents["support"].input_guardrails[0]
    assert (await civil.run(ctx, "you idiot")).tripwire_triggered
    assert not (await civil.run(ctx, "thanks")).tripwire_triggered
    short = full.agents["support"].output_guardrails[1]
    assert (await short.run(ctx, "x" * 501)).tripwire_triggered


def test_full_file_handoffs(full: Definitions) -> None:
    support, sales, human = (full.agents[n] for n in ("support", "sales", "human"))
    handoffs = support.handoff_list()
    assert [h.tool_name for h in handoffs] == ["transfer_to_sales", "get_a_person"]
    assert handoffs[0].target is sales
    assert handoffs[1].target is human
    assert handoffs[1].description == "When the caller asks for a person."
    assert handoffs[1].input_type is not None
    assert handoffs[1].parameters["required"] == ["reason"]
    assert sales.handoff_list()[0].target is support  # cycles are fine


def test_instructions_interpolation_and_files(full: Definitions) -> None:
    assert full.agents["support"].instructions == "Help the caller. Costs are in $ (dollars) for eu."
    assert full.agents["sales"].instructions == "You are the sales agent. Keep it short."


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


# -- the schema -----------------------------------------------------------------------------


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


def test_modules_next_to_different_files_do_not_collide(full: Definitions) -> None:
    other = load_definitions(DATA / "good" / "other" / "agents.yaml")
    assert other.starting_agent.name == "only"  # the only agent starts
    assert other.tools["lookup_order"].func("7") == "other:7"
    assert full.tools["lookup_order"].func.__module__ != other.tools["lookup_order"].func.__module__


def test_string_loading_resolves_from_base_dir() -> None:
    text = (FULL.parent.parent / "other" / "agents.yaml").read_text()
    loaded = load_definitions_from_string(text, filename="inline.yaml", base_dir=FULL.parent.parent / "other")
    assert loaded.tools["lookup_order"].func("1") == "other:1"
    with pytest.raises(ConfigError) as info:
        load_definitions_from_string("version: 1\nagents: 3\n", filename="inline.yaml")
    error = info.value
    assert str(error).startswith("inline.yaml:2:9: agents: expected a mapping")
