"""`agentkit.server.model`: the scripted model's choice of turn, alternatives and fallback,
read off the conversation alone, and the directives it obeys first."""

from __future__ import annotations

from typing import Any

import pytest
from test_server_script import GOOD

from agentkit.runtime.policy import SAFE_REPLY_INSTRUCTIONS
from agentkit.server import (
    ConversationEntry,
    FunctionCall,
    Message,
    ResponseRequest,
    ScriptedModel,
    parse_script,
)
from agentkit.server.model import condition_holds, fallback_reply, render_template, spoken_directive
from agentkit.server.script import Condition


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


def test_out_of_band_and_idle_responses_are_not_script_turns() -> None:
    model = ScriptedModel(parse_script(RESUME + "idle_prompt: Hello, anyone?\n"))
    turn = (ConversationEntry("user", "Where is my order?"),)
    oob = ResponseRequest(instructions="Summarize.", tools=(), entries=turn, out_of_band=True)
    assert model.respond(oob) == [Message("Out-of-band reply: Where is my order?.")]
    empty = ResponseRequest(instructions="  ", tools=(), entries=(), out_of_band=True)
    assert model.respond(empty) == [Message("Out-of-band reply: nothing to report.")]
    idle = ResponseRequest(instructions="", tools=(), entries=turn, idle_timeout=True)
    assert model.respond(idle) == [Message("Hello, anyone?")]
    assert ScriptedModel(parse_script(RESUME)).respond(idle) == [Message("Are you still there?")]


def test_the_scripts_own_fallback_replaces_the_default() -> None:
    model = ScriptedModel(parse_script(RESUME + "fallback: Pardon?\n"))
    assert model.respond(_request(ConversationEntry("user", "Sing a song"))) == [Message("Pardon?")]
    assert fallback_reply("  ") == "Sorry, I didn't catch that. Could you say it again?"
    assert fallback_reply(" Sing ") == "Sorry, I can't help with that. You said: Sing"


ALTERNATIVES = """\
turns:
  - user: Help
    alternatives:
      - when: {has_tool: escalate, instructions_contain: VIP}
        steps:
          - say: Right away.
      - when: {lacks_tool: escalate}
        steps:
          - say: I can only take a message.
    steps:
      - say: Let me see.
"""


@pytest.mark.parametrize(
    ("tools", "instructions", "said"),
    [
        (("escalate",), "You serve a vip customer.", "Right away."),  # case ignored
        (("escalate",), "You serve everyone.", "Let me see."),  # no alternative holds: the default
        ((), "You serve a VIP.", "I can only take a message."),  # the first that holds wins
    ],
)
def test_the_first_alternative_whose_condition_holds_is_played(
    tools: tuple[str, ...], instructions: str, said: str
) -> None:
    model = ScriptedModel(parse_script(ALTERNATIVES))
    request = _request(ConversationEntry("user", "help!"), tools=tools, instructions=instructions)
    assert model.respond(request) == [Message(said)]


def test_conditions_and_templates() -> None:
    assert condition_holds(None, "", ())
    vip = Condition(has_tools=("a",), lacks_tools=("b",), instructions_contain=("Vip",), instructions_lack=("banned",))
    assert condition_holds(vip, "a VIP caller", ("a",))
    assert not condition_holds(vip, "a VIP caller", ("a", "b"))
    assert not condition_holds(vip, "a VIP caller, BANNED", ("a",))
    assert not condition_holds(vip, "a caller", ("a",))
    context = {"user": "Ada", "output": {"items": [{"sku": "x1"}], "total": 12.5, "ok": True}}
    assert render_template("Hi {{user}}, {{ output.items.0.sku }}", context) == "Hi Ada, x1"
    assert render_template("{{ output.total }} {{ output.ok }} {{ output.items }}", context) == (
        '12.5 true [{"sku":"x1"}]'
    )
    assert render_template("{{ output.missing }} {{ output.items.5 }} {{ nope }}", context) == (
        "unknown unknown unknown"
    )
