"""`loader.definitions`: good files become agents, tools, guardrails and handoffs; every
mistake in any pass is located to its line and column and explained."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from agentkit import ConfigError, RunContext
from agentkit.loader import Definitions, load_definitions, load_definitions_from_string

DATA = Path(__file__).parents[1] / "data"
BAD = DATA / "bad_yaml"
FULL = DATA / "good" / "full" / "agents.yaml"

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
    ("tool_bad_parameter_type.yaml", 4, 15, "tools.send_file.function", "parameter 'connection' has type socket.socket, which has no JSON Schema"),
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


def test_a_parameter_type_without_a_schema_is_one_line_naming_tool_parameter_and_type() -> None:
    # Not pydantic's three paragraphs about `arbitrary_types_allowed` and core schemas.
    text = str(load_error(BAD / "tool_bad_parameter_type.yaml"))
    assert "\n" not in text and "arbitrary_types_allowed" not in text
    assert "tool 'send_file'" in text and "'connection'" in text and "socket.socket" in text


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nope.yaml")
    assert "file not found" in str(error)


# -- the all-features file ------------------------------------------------------------------


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


def test_string_loading_resolves_from_base_dir() -> None:
    text = (FULL.parent.parent / "other" / "agents.yaml").read_text()
    loaded = load_definitions_from_string(text, filename="inline.yaml", base_dir=FULL.parent.parent / "other")
    assert loaded.tools["lookup_order"].func("1") == "other:1"
    with pytest.raises(ConfigError) as info:
        load_definitions_from_string("version: 1\nagents: 3\n", filename="inline.yaml")
    error = info.value
    assert str(error).startswith("inline.yaml:2:9: agents: expected a mapping")
