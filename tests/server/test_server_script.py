"""Script loading and validation, and the scripted model's turn logic."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.errors import ConfigError
from agentkit.server import (
    CallTool,
    ConversationEntry,
    FunctionCall,
    Handoff,
    Message,
    ResponseRequest,
    Say,
    ScriptedModel,
    load_script,
    parse_script,
)

GOOD = """\
name: demo
turns:
  - user: Hi there
    mode: text
    steps:
      - say: Hello!
      - call: lookup
        arguments: {q: x}
  - user: Refund please
    alternatives:
      - when: {has_tool: transfer_to_billing}
        steps:
          - handoff: billing
          - say: "Billing: {{ output.msg }}"
            when: {instructions_contain: Billing}
    steps:
      - say: No refunds.
faults:
  - {after_events: 5, action: drop}
"""


def test_parse_good_script(tmp_path: Path) -> None:
    script = parse_script(GOOD, file="demo.yaml")
    assert script.name == "demo" and len(script.turns) == 2
    assert script.turns[0].mode == "text" and script.turns[1].mode == "audio"
    assert script.turns[0].steps == (Say("Hello!"), CallTool("lookup", {"q": "x"}))
    assert isinstance(script.turns[1].alternatives[0].steps[0], Handoff)
    assert script.turns[1].alternatives[0].steps[0].tool_name == "transfer_to_billing"  # type: ignore[union-attr]
    assert script.faults[0].after_events == 5
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    assert load_script(path).turns == script.turns
    assert load_script(str(path)).source == str(path)


@pytest.mark.parametrize(
    ("text", "where", "path"),
    [
        ("turns:\n  - user: hi\n    steps:\n      - say: a\n        call: b\n", "4:9", "turns[0].steps[0]"),
        ("turns:\n  - user: hi\n    mode: video\n", "3:11", "turns[0].mode"),
        ("turns:\n  - steps: []\n", "2:5", "turns[0]"),
        ("turns:\n  - user: hi\n    steps:\n      - say: a\n        when: {has_tools: x}\n", "5:27", "turns[0].steps[0].when.has_tools"),
        ("turnz: []\n", "1:8", "turnz"),
        ("turns: []\nfaults:\n  - {action: explode, after_events: 1}\n", "3:14", "faults[0].action"),
        ("turns: []\nfaults:\n  - {action: drop}\n", "3:5", "faults[0]"),
        ("turns:\n  - user: [1, 2]\n", "2:11", "turns[0].user"),
        ("turns: [\n", "2:1", ""),
    ],
)
def test_errors_name_file_line_and_field(text: str, where: str, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_script(text, file="conv.yaml")
    message = str(info.value)
    assert message.startswith(f"conv.yaml:{where}"), message
    assert info.value.path == path


def _request(*entries: ConversationEntry, tools: tuple[str, ...] = (), instructions: str = "") -> ResponseRequest:
    return ResponseRequest(instructions=instructions, tools=tools, entries=entries)


def test_scripted_model_follows_turns_and_handoff() -> None:
    model = ScriptedModel(parse_script(GOOD))
    assert model.transcribe(1000) == "Hi there"
    out = model.respond(_request(ConversationEntry("user", "hi THERE!")))
    assert out == [Message("Hello!"), FunctionCall("lookup", '{"q":"x"}')]
    # The continuation after the tool output has no steps left: a short acknowledgement.
    out = model.respond(_request(ConversationEntry("user", "hi there"), ConversationEntry("function_call_output", output="{}")))
    assert out == [Message("Done.")]
    assert model.transcribe(1000) == "Refund please"
    tools = ("transfer_to_billing",)
    out = model.respond(_request(ConversationEntry("user", "Refund please"), tools=tools, instructions="Triage"))
    assert out == [FunctionCall("transfer_to_billing", "{}")]
    out = model.respond(
        _request(ConversationEntry("user", "Refund please"), ConversationEntry("function_call_output", output='{"msg": "ok"}'), instructions="You are Billing.")
    )
    assert out == [Message("Billing: ok")]


def test_scripted_model_alternative_not_taken_and_fallback() -> None:
    model = ScriptedModel(parse_script(GOOD))
    assert model.respond(_request(ConversationEntry("user", "Refund please"))) == [Message("No refunds.")]
    assert model.respond(_request(ConversationEntry("user", "What?"))) == [Message("Sorry, I can't help with that. You said: What?")]
    assert model.transcribe(10) == ""  # script exhausted
