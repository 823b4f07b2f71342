"""`loader.lint`: a definition file that loads but probably says something else than meant
gets warnings, located like errors, in `Definitions.warnings`."""

from __future__ import annotations

from pathlib import Path

from agentkit.loader import load_definitions, load_definitions_from_string

WARNINGS = Path(__file__).parents[1] / "data" / "warnings" / "agents.yaml"
GOOD = Path(__file__).parents[1] / "data" / "good"


def test_an_over_indented_key_and_what_it_left_unused_are_warned_about() -> None:
    definitions = load_definitions(WARNINGS)
    assert definitions.agents["support"].tools == []  # what the user did not mean
    assert [str(w) for w in definitions.warnings] == [
        f"{WARNINGS}:4:3: tools.lookup_order: tool 'lookup_order' is declared but no agent uses "
        "it (list it under an agent's 'tools', or remove it)",
        f"{WARNINGS}:6:3: guardrails.civil: guardrail 'civil' is declared but no agent uses it "
        "(list it under an agent's 'input_guardrails' or 'output_guardrails', or remove it)",
        f"{WARNINGS}:11:7: agents.support.instructions: 'tools:' is part of the instructions "
        "text, not a key (over-indented?); indent it like 'instructions:' to make it a key",
    ]


def test_key_like_lines_count_only_inside_block_text_and_only_for_known_keys() -> None:
    text = (
        "version: 1\n"
        "agents:\n"
        "  a:\n"
        "    instructions: >\n"
        "      Steps:\n"                       # not a key of the schema
        "        handoffs: are explained below\n"  # a key of the agent, indented two levels in
        "      note: tools are listed below\n"     # not a key of the schema either
        "    handoff_description: |\n"
        "      Orders.\n"
        "      starting_agent: a\n"           # a top-level section, indented into the text
        "    tools: []\n"                     # the real key, right after the text
    )
    warnings = load_definitions_from_string(text, filename="a.yaml").warnings
    assert [(w.location.line, w.path) for w in warnings] == [
        (6, "agents.a.instructions"),
        (10, "agents.a.handoff_description"),
    ]
    assert "'starting_agent:' is part of the handoff_description text" in warnings[1].message


def test_files_without_mistakes_have_no_warnings() -> None:
    for path in GOOD.glob("*/agents.yaml"):
        env = {"LOOKUP_TIMEOUT": "2.5", "REGION": "eu"}
        assert load_definitions(path, env=env).warnings == (), path
