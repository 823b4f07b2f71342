"""`ConsoleRenderer`: what a person watching a run sees."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rich.console import Console

from agentkit.caller import CallerTurn
from agentkit.cli.console import ConsoleRenderer
from agentkit.cli.latency import LatencyMeter
from agentkit.events import (
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioOut,
    GuardrailTripped,
    ToolEnd,
    ToolStart,
    UserTranscript,
)


def renderer(*, color: bool = False, live: bool = False) -> tuple[ConsoleRenderer, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=color, no_color=not color, width=120)
    return ConsoleRenderer(console, agents=["support", "billing"], live=live), out


def test_lines_are_attributed_and_text_is_never_markup() -> None:
    view, out = renderer()
    view.caller_turn(CallerTurn("Is [bold]this[/bold] literal?", "voice", 0.0))
    view.observe(AgentStart("billing", "r1"), 1.0)
    view.observe(AssistantTranscriptDelta("i1", "r1", "Yes"), 1.1)
    view.observe(AssistantTranscript("i1", "Yes, [red]exactly[/red]."), 1.2)
    lines = out.getvalue().splitlines()
    assert lines == [
        "caller   Is [bold]this[/bold] literal?  (voice)",
        "billing  Yes, [red]exactly[/red].",
    ]


def test_live_mode_streams_words_and_colors_speakers() -> None:
    view, out = renderer(color=True, live=True)
    view.observe(AgentStart("support", "r1"), 1.0)
    for word in ("Hello", " there"):
        view.observe(AssistantTranscriptDelta("i1", "r1", word), 1.1)
    view.observe(AssistantTranscript("i1", "Hello there"), 1.2)
    text = out.getvalue()
    assert "\x1b[" in text  # styled
    assert re.sub(r"\x1b\[[0-9;]*m", "", text) == "support  Hello there\n"  # one line, once


def test_live_line_interrupted_by_a_tool_call_is_not_printed_twice() -> None:
    view, out = renderer(live=True)
    view.observe(AgentStart("support", "r1"), 1.0)
    view.observe(AssistantTranscriptDelta("i1", "r1", "Let me check."), 1.1)
    view.observe(ToolStart("c1", "lookup", "{}", "support"), 1.2)
    # Output guardrails release the final transcript after the call started.
    view.observe(AssistantTranscript("i1", "Let me check."), 1.3)
    assert out.getvalue().count("Let me check.") == 1
    assert out.getvalue().splitlines()[0] == "support  Let me check."


def test_tool_calls_show_arguments_output_and_time() -> None:
    view, out = renderer()
    view.observe(ToolStart("c1", "lookup_order", '{"order_id": "42", "rush": true}', "support"), 1.0)
    view.observe(ToolEnd("c1", "lookup_order", '{"status": "shipped"}', "support"), 1.012)
    view.observe(ToolStart("c2", "refund", "{}", "support"), 2.0)
    view.observe(ToolEnd("c2", "refund", '{"error": "x"}', "support", error="timed out"), 7.0)
    lines = [line.strip() for line in out.getvalue().splitlines()]
    assert lines == [
        '⚙ lookup_order(order_id="42", rush=true)  [support]',
        '↳ {"status":"shipped"}  12 ms',
        "⚙ refund()  [support]",
        "✗ tool refund failed: timed out  5,000 ms",
    ]
    assert view.failed_tools == ["refund"]


def test_a_failed_tool_is_one_line_with_its_reason() -> None:
    view, out = renderer()
    view.observe(ToolStart("c1", "lookup_order", '{"order": "43"}', "support"), 1.0)
    view.observe(
        ToolEnd(
            "c1",
            "lookup_order",
            '{"error": "invalid_arguments"}',
            "support",
            error="invalid_arguments",
            message="unexpected field 'order'; missing required field 'order_id'",
        ),
        1.0,
    )
    view.observe(ToolStart("c2", "lookup_order", '{"order_id": "42"}', "support"), 2.0)
    view.observe(
        ToolEnd("c2", "lookup_order", "{}", "support", error="error", message="ValueError: no order 42"),
        2.002,
    )
    lines = [line.strip() for line in out.getvalue().splitlines()]
    assert lines[1] == (
        "✗ tool lookup_order failed: unexpected field 'order'; missing required field "
        "'order_id'  (invalid_arguments)  0 ms"
    )
    assert lines[3] == "✗ tool lookup_order failed: ValueError: no order 42  2 ms"
    assert view.failed_tools == ["lookup_order", "lookup_order"]


def test_guardrail_trips_are_shown() -> None:
    view, out = renderer()
    view.observe(
        GuardrailTripped(
            "no_card_numbers", "output", {"last4": "1111"}, "It is 4111 1111 1111 1111", "i1", "r1",
            "For your security I won't read card numbers aloud.",
        ),
        1.0,
    )
    text = out.getvalue()
    assert "⚠ guardrail no_card_numbers tripped on output: 'It is 4111 1111 1111 1111'" in text
    assert '{"last4":"1111"}' in text
    assert "→ says \"For your security I won't read card numbers aloud.\"" in text


@dataclass(frozen=True, slots=True)
class GuardrailWarning:
    """An event kind newer than the renderer."""

    type: ClassVar[Literal["guardrail_warning"]] = "guardrail_warning"
    guardrail_name: str
    text: str


def test_unknown_guardrail_events_are_still_shown() -> None:
    view, out = renderer()
    event: Any = GuardrailWarning("civil_language", "you useless bot")
    view.observe(event, 1.0)
    assert "⚠ guardrail civil_language tripped on guardrail_warning: 'you useless bot'" in out.getvalue()


def test_heard_transcript_is_shown_only_when_it_differs() -> None:
    view, out = renderer()
    view.caller_turn(CallerTurn("Where's my order?", "voice", 0.0))
    view.observe(UserTranscript("u1", "where's my order"), 1.0)
    view.observe(UserTranscript("u2", "and a refund"), 2.0)
    assert out.getvalue().splitlines()[1:] == ["caller   and a refund  (heard)"]


def test_summary_tables() -> None:
    view, out = renderer()
    meter = LatencyMeter()
    for n, took in enumerate((0.4, 0.8)):
        meter.caller_turn(CallerTurn(f"turn {n}", "text", n))
        meter.turn_ended(n)
        meter.observe(AgentStart("support", f"r{n}"), n + 0.1)
        meter.observe(ToolStart(f"c{n}", "lookup", "{}", "support"), n + 0.1)
        meter.observe(ToolEnd(f"c{n}", "lookup", "{}", "support"), n + 0.15)
        meter.observe(AudioOut(b"", "i", 0, f"r{n}"), n + took)
    view.summary(meter)
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert ["1", "turn", "0", "typed", "support", "400", "ms"] in rows
    assert ["2", "turn", "1", "typed", "support", "800", "ms"] in rows
    assert ["p50", "600", "ms"] in rows
    assert ["p95", "780", "ms"] in rows
    assert ["lookup", "2", "50", "ms", "50", "ms", "50", "ms"] in rows
