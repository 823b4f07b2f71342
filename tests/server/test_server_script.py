"""Script loading and validation, and the scripted model's turn logic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import ConfigError
from agentkit.runtime.policy import SAFE_REPLY_INSTRUCTIONS
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
from agentkit.server.model import spoken_directive

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
  - {at_event: response.done, action: close, sessions: [1, 3]}
  - {at_event: response.created, action: error, sessions: 2}
"""


def test_parse_good_script(tmp_path: Path) -> None:
    script = parse_script(GOOD, file="demo.yaml")
    assert script.name == "demo" and len(script.turns) == 2
    assert script.turns[0].mode == "text" and script.turns[1].mode == "audio"
    assert script.turns[0].steps == (Say("Hello!"), CallTool("lookup", {"q": "x"}))
    assert isinstance(script.turns[1].alternatives[0].steps[0], Handoff)
    assert script.turns[1].alternatives[0].steps[0].tool_name == "transfer_to_billing"  # type: ignore[union-attr]
    assert script.faults[0].after_events == 5
    assert [f.sessions for f in script.faults] == [None, (1, 3), (2,)]
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
        ("turns: []\nfaults:\n  - action: drop\n    after_events: 1\n    sessions: [1, 0]\n", "5:19", "faults[0].sessions[1]"),
        ("turns: []\nfaults:\n  - {action: drop, after_events: 1, sessions: first}\n", "3:47", "faults[0].sessions"),
        ("turns: []\nfaults:\n  - {action: drop, after_events: 1, sessions: []}\n", "3:47", "faults[0].sessions"),
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
    hi = ConversationEntry("user", "hi THERE!")
    out = model.respond(_request(hi))
    assert out == [Message("Hello!"), FunctionCall("lookup", '{"q":"x"}')]
    # The continuation after the tool output has no steps left: a short acknowledgement.
    first_turn = (hi, ConversationEntry("assistant", "Hello!"), _call("lookup", "c1"), _output("c1", "{}"))
    assert model.respond(_request(*first_turn)) == [Message("Done.")]
    # The next caller line is read off the conversation (nothing is kept between calls).
    assert model.transcribe(1000, first_turn) == "Refund please"
    assert model.transcribe(1000, (hi,)) == "Refund please"
    refund = (*first_turn, ConversationEntry("user", "Refund please"))
    tools = ("transfer_to_billing",)
    out = model.respond(_request(*refund, tools=tools, instructions="Triage"))
    assert out == [FunctionCall("transfer_to_billing", "{}")]
    # After the handoff the new agent lacks the transfer tool: the turn still resumes in the
    # alternative whose call is in the conversation, not in the default steps.
    handed_off = (*refund, _call("transfer_to_billing", "c2"), _output("c2", '{"msg": "ok"}'))
    assert model.respond(_request(*handed_off, instructions="You are Billing.")) == [Message("Billing: ok")]
    assert model.transcribe(1000, handed_off) == ""  # script exhausted


def test_scripted_model_alternative_not_taken_and_fallback() -> None:
    model = ScriptedModel(parse_script(GOOD))
    assert model.respond(_request(ConversationEntry("user", "Refund please"))) == [Message("No refunds.")]
    assert model.respond(_request(ConversationEntry("user", "What?"))) == [Message("Sorry, I can't help with that. You said: What?")]
    # An answered turn asked to respond again gets the fallback, not a replay of the turn.
    answered = (ConversationEntry("user", "Refund please"), ConversationEntry("assistant", "No refunds."))
    assert model.respond(_request(*answered)) == [Message("Sorry, I can't help with that. You said: Refund please")]


RESUME = """\
greeting:
  - say: Welcome.
turns:
  - user: Where is my order?
    steps:
      - say: Let me check.
      - call: lookup_order
        arguments: {order_id: "42"}
      - say: "It is {{ output.status }}."
      - call: send_sms
        arguments: {text: status}
      - say: I texted you the details.
  - user: Thanks
    steps:
      - say: Bye!
"""


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # nothing yet: the greeting; once greeted, a bare response.create is unscripted
        ((), [Message("Welcome.")]),
        ((("assistant", "Welcome."),), [Message("Sorry, I didn't catch that. Could you say it again?")]),
        # the turn's first response, and again after it was cut off (not replayed)
        ((("user", "where is my ORDER"),), [Message("Let me check."), FunctionCall("lookup_order", '{"order_id":"42"}')]),
        # the call and its output replayed into a fresh session: the follow-up, up to the next call
        (
            (("user", "Where is my order?"), ("assistant", "Let me check."), ("call", "lookup_order"), ("output", '{"status": "shipped"}')),
            [Message("It is shipped."), FunctionCall("send_sms", '{"text":"status"}')],
        ),
        # two calls done: the last part
        (
            (("user", "Where is my order?"), ("call", "lookup_order"), ("output", "{}"), ("assistant", "It is unknown."), ("call", "send_sms"), ("output", "{}")),
            [Message("I texted you the details.")],
        ),
        # the follow-up was already spoken: nothing left of the turn
        (
            (("user", "Where is my order?"), ("call", "lookup_order"), ("output", "{}"), ("call", "send_sms"), ("output", "{}"), ("assistant", "I texted you the details.")),
            [Message("Sorry, I can't help with that. You said: Where is my order?")],
        ),
        # a filler the client dictated does not consume the turn's words
        ((("user", "Where is my order?"), ("assistant", "One moment.")), [Message("Let me check."), FunctionCall("lookup_order", '{"order_id":"42"}')]),
        # a call still waiting for its output: that part was played
        ((("user", "Where is my order?"), ("call", "lookup_order")), [Message("Sorry, I can't help with that. You said: Where is my order?")]),
        # a call the script does not know: a short acknowledgement
        ((("user", "Where is my order?"), ("call", "refund"), ("output", "{}")), [Message("Done.")]),
        # later turns match after earlier ones; unscripted lines do not move the position
        ((("user", "Where is my order?"), ("user", "Hmm?"), ("user", "Thanks")), [Message("Bye!")]),
    ],
)
def test_scripted_model_position_comes_from_the_conversation(entries: tuple[tuple[str, str], ...], expected: list[Any]) -> None:
    built: list[ConversationEntry] = []
    for n, (kind, text) in enumerate(entries):
        if kind == "call":
            built.append(_call(text, f"call_{n}"))
        elif kind == "output":
            built.append(_output(f"call_{n - 1}", text))
        else:
            built.append(ConversationEntry(kind, text))  # type: ignore[arg-type]
    # A fresh model each time: the answer depends on the conversation alone.
    assert ScriptedModel(parse_script(RESUME)).respond(_request(*built)) == expected


@pytest.mark.parametrize(
    ("instructions", "said"),
    [
        # the runtime's guardrail wording (agentkit/_policy.py)
        (SAFE_REPLY_INSTRUCTIONS.format(reply="I can't help with that."), "I can't help with that."),
        ('Say exactly: "Hello there." Nothing else.', "Hello there."),
        ("Say: Your ticket is 7", "Your ticket is 7"),
        ("Be brief.\nRespond with exactly: 'I'm on it'", "I'm on it"),
        ("You are kind. Say \u201cCurly quotes\u201d.", "Curly quotes"),
        ("Say hello to the caller.", None),
        ("Tell the caller you cannot help with that, and offer other help.", None),
        ('Say: ""', None),
    ],
)
def test_spoken_directive(instructions: str, said: str | None) -> None:
    assert spoken_directive(instructions) == said


def test_response_instructions_directive_wins_over_the_script() -> None:
    model = ScriptedModel(parse_script(RESUME))
    turn = (ConversationEntry("user", "Where is my order?"),)
    say = 'Say exactly: "One moment."'
    request = ResponseRequest(instructions=say, tools=(), entries=turn, response_instructions=say)
    assert model.respond(request) == [Message("One moment.")]
    # The same words in the session's instructions are the agent's persona, not a directive.
    assert model.respond(ResponseRequest(instructions=say, tools=(), entries=turn))[0] == Message("Let me check.")
    # Out of band too (e.g. a summary request that dictates its answer).
    oob = ResponseRequest(instructions="Say: Summary done", tools=(), entries=turn, out_of_band=True, response_instructions="Say: Summary done")
    assert model.respond(oob) == [Message("Summary done")]


def _call(name: str, call_id: str) -> ConversationEntry:
    return ConversationEntry("function_call", name=name, call_id=call_id)


def _output(call_id: str, output: str) -> ConversationEntry:
    return ConversationEntry("function_call_output", call_id=call_id, output=output)
