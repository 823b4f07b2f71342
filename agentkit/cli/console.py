"""A live, human-readable view of a session: who says what, tool calls, handoffs, guardrail
trips, errors, and a latency summary at the end.

`ConsoleRenderer` is a `Caller` observer (see `agentkit.caller`) that prints through a
`rich.Console`: one color per speaker on a terminal, plain text when the output is a file or
a pipe (or `no_color`). Every printed piece of model or caller text goes through `rich.Text`,
never markup, so a transcript containing `[brackets]` prints as written.

Adding a new event kind is one `case` in `ConsoleRenderer.observe`; the dispatch ends in a
`Never`-typed fallback, so mypy points at this file when `SessionEvent` grows, and at run time
an event the renderer does not know yet is still shown (generically, or as a guardrail trip
when its type says so) instead of crashing the run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from typing import Any, Never

import orjson
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..caller import CallerTurn
from ..events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioEnd,
    AudioInterrupted,
    AudioOut,
    Breadcrumb,
    CodecChanged,
    ConnectionQuality,
    DtmfReceived,
    ErrorEvent,
    EventsDropped,
    GuardrailTripped,
    HandoffEvent,
    HistoryAdded,
    HistoryUpdated,
    InputAudioDropped,
    McpToolsListed,
    QualityDegraded,
    QualityRecovered,
    RawServerEvent,
    Reconnected,
    Reconnecting,
    SessionEvent,
    SessionLimitReached,
    SessionStatus,
    StatusChanged,
    StoreCaughtUp,
    StoreLagging,
    TextFallback,
    ToolApprovalRequired,
    ToolApprovalResolved,
    ToolCallProgress,
    ToolEnd,
    ToolStart,
    UserTranscript,
    UserTranscriptDelta,
)
from .latency import LatencyMeter, percentile

__all__ = ["CALLER", "ConsoleRenderer"]

CALLER = "caller"
"""The name the caller's lines are shown under."""

_AGENT_STYLES = ("bold cyan", "bold magenta", "bold green", "bold yellow", "bold blue", "bold red")
_CALLER_STYLE = "bold white"
_TOOL_STYLE = "yellow"
_HANDOFF_STYLE = "bold blue"
_ERROR_STYLE = "bold red"
_DIM = "dim"
_MODE_TAGS = {"text": "typed", "voice": "voice", "push_to_talk": "push-to-talk", "recording": "recording"}
_SPACES = re.compile(r"\s+")
_NOT_WORDS = re.compile(r"[^\w]+")


def _normalize(text: str) -> str:
    return _NOT_WORDS.sub(" ", text.lower()).strip()


class ConsoleRenderer:
    """Prints a conversation as it happens.

    Args:
        console: Where to print (`rich.Console(no_color=True)` for plain text).
        agents: The agents' names, so the speaker column is wide enough from the first line
            and each agent keeps its color.
        live: Stream the agent's words as they arrive (a person watching in real time)
            instead of printing each finished line.
        max_output_chars: Tool outputs longer than this are cut (`…`).

    Attributes:
        echo_typed: Print typed caller lines (off when the person typed them at a prompt
            just above).
    """

    def __init__(
        self,
        console: Console,
        *,
        agents: Iterable[str] = (),
        live: bool = False,
        max_output_chars: int = 240,
    ) -> None:
        self.console = console
        self.live = live
        self.echo_typed = True
        self.max_output_chars = max_output_chars
        self._styles: dict[str, str] = {}
        self._width = len(CALLER)
        for name in agents:
            self._style_of(name)
        self._agent: str | None = None
        self._response_agents: dict[str, str] = {}
        self._item_agents: dict[str, str] = {}
        self._tool_started: dict[str, float] = {}
        self._open_item: str | None = None  # the item whose words are being streamed
        self._streamed: set[str] = set()  # items whose words were shown as they came
        self._last_caller = ""
        self.handoffs: list[tuple[str, str]] = []
        self.failed_tools: list[str] = []  # the tools whose calls failed, in order
        self.errors = 0

    # -- CallObserver -----------------------------------------------------------------------

    def caller_turn(self, turn: CallerTurn) -> None:
        """Print the caller's line as they start saying it."""
        text = turn.label or ""
        if turn.mode != "recording":
            self._last_caller = _normalize(text)
        if turn.mode == "text" and not self.echo_typed:
            return
        tag = _MODE_TAGS.get(turn.mode, turn.mode)
        line = Text(text)
        line.append(f"  ({tag})", style=_DIM)
        self._line(CALLER, line)

    def turn_ended(self, at: float) -> None:
        """Nothing to show: the caller's line was printed when the turn started."""

    def audio_sent(self, end_ms: float, at: float) -> None:
        """Nothing to show per audio chunk."""

    def observe(self, event: SessionEvent, at: float) -> None:
        """Render one session event (most audio and bookkeeping events print nothing)."""
        if "guardrail" in event.type and not isinstance(event, GuardrailTripped):
            self._guardrail_like(event)
            return
        match event:
            case AudioOut() | AudioEnd() | UserTranscriptDelta() | HistoryAdded() | HistoryUpdated():
                pass
            case RawServerEvent():
                pass
            case AgentStart():
                self._agent = event.agent_name
                self._response_agents[event.response_id] = event.agent_name
            case AgentEnd():
                if event.status not in ("completed", "cancelled"):
                    self._note(f"response of {event.agent_name} ended: {event.status}", _ERROR_STYLE)
            case AssistantTranscriptDelta():
                self._delta(event)
            case AssistantTranscript():
                self._assistant_done(event)
            case UserTranscript():
                self._user_transcript(event)
            case AudioInterrupted():
                self._close_open_line(f" … (cut at {event.played_ms / 1000:.1f} s)")
            case ToolStart():
                self._tool_started[event.call_id] = at
                self._indented(self._call_text(event.tool_name, event.arguments, event.agent_name))
            case ToolEnd():
                self._tool_end(event, at)
            case HandoffEvent():
                self.handoffs.append((event.from_agent, event.to_agent))
                self._agent = event.to_agent
                line = Text("⇄ handoff ", style=_HANDOFF_STYLE)
                line.append(event.from_agent, style=self._style_of(event.from_agent))
                line.append(" → ", style=_HANDOFF_STYLE)
                line.append(event.to_agent, style=self._style_of(event.to_agent))
                self._indented(line)
            case GuardrailTripped():
                self._guardrail(
                    event.guardrail_name, event.stage, event.text, event.safe_reply, event.details
                )
            case Breadcrumb():
                self._indented(Text(f"· {event.text}", style=_DIM))
            case ErrorEvent():
                self.errors += 1
                code = f" [{event.code}]" if event.code else ""
                self._indented(Text(f"✗ error{code}: {event.error}", style=_ERROR_STYLE))
            case StatusChanged():
                if event.new is SessionStatus.RECONNECTING:
                    self._note("connection lost, reconnecting…", _ERROR_STYLE)
            case ToolApprovalRequired():
                self._indented(
                    Text(
                        f"? {event.tool_name} needs approval "
                        f"(default {event.default} after {event.timeout_s or '∞'} s)",
                        style=_TOOL_STYLE,
                    )
                )
            case ToolApprovalResolved():
                verdict = "approved" if event.approved else "rejected"
                self._indented(Text(f"? {event.tool_name} {verdict} ({event.by})", style=_DIM))
            case Reconnecting():
                self._note(
                    f"reconnecting (attempt {event.attempt}, in {event.delay_s:.1f} s): {event.reason}",
                    _ERROR_STYLE,
                )
            case Reconnected():
                self._note(f"reconnected; {event.replayed_items} items replayed", _DIM)
            case TextFallback():
                self._note("reconnecting failed: continuing text-only", _ERROR_STYLE)
            case InputAudioDropped():
                self._note(f"{event.bytes} bytes of caller audio dropped: {event.reason}", _ERROR_STYLE)
            case EventsDropped():
                self._note(f"{event.count} events dropped (the console fell behind)", _ERROR_STYLE)
            case SessionLimitReached():
                self._note(f"session ended: {event.limit} ({event.seconds:g} s)", _ERROR_STYLE)
            case ConnectionQuality() | ToolCallProgress():
                pass  # the call is shown once it starts (ToolStart)
            case QualityDegraded():
                self._note(f"connection degraded: {event.reason}", _ERROR_STYLE)
            case QualityRecovered():
                self._note(f"connection recovered: {event.reason}", _DIM)
            case CodecChanged():
                self._note(f"codec {event.old} → {event.new} ({event.reason})", _DIM)
            case McpToolsListed():
                self._note(f"MCP server {event.server_label}: {', '.join(event.tool_names)}", _DIM)
            case DtmfReceived():
                self._note(f"keypad {event.key}" + (f" → {event.sequence}" if event.sequence else ""), _DIM)
            case StoreLagging():
                self._note(f"session store lagging ({event.pending} changes waiting): {event.reason}", _ERROR_STYLE)
            case StoreCaughtUp():
                self._note(f"session store caught up after {event.lagged_s:.1f} s", _DIM)
            case _:
                self._unknown(event)

    # -- messages from the runner ---------------------------------------------------------------

    def info(self, text: str) -> None:
        """A line about the run itself (where it connects, which script)."""
        self._note(text, _DIM)

    def failure(self, text: str) -> None:
        """The run failed: why, in one line."""
        self._close_open_line()
        self.console.print(Text(f"✗ {text}", style=_ERROR_STYLE), soft_wrap=True)

    def success(self, text: str) -> None:
        """The run completed."""
        self._close_open_line()
        self.console.print(Text(f"✓ {text}", style="bold green"), soft_wrap=True)

    def summary(self, meter: LatencyMeter) -> None:
        """The latency tables: per turn with p50/p95, then per tool."""
        self._close_open_line()
        console = self.console
        turns = Table(
            title="Response latency: end of caller speech → first agent audio",
            title_justify="left",
            box=box.SIMPLE_HEAD,
        )
        turns.add_column("#", justify="right")
        turns.add_column("caller")
        turns.add_column("mode")
        turns.add_column("agent")
        turns.add_column("latency", justify="right")
        for number, turn in enumerate(meter.turns, 1):
            agent = turn.agent or "-"
            turns.add_row(
                str(number),
                Text(_shorten(turn.label or "(audio)", 48)),
                _MODE_TAGS.get(turn.mode, turn.mode),
                Text(agent, style=self._style_of(agent) if turn.agent else _DIM),
                _ms(turn.latency_ms),
            )
        latencies = meter.turn_latencies_ms()
        if latencies:
            turns.add_section()
            turns.add_row("", "p50", "", "", _ms(percentile(latencies, 50)))
            turns.add_row("", "p95", "", "", _ms(percentile(latencies, 95)))
        console.print()
        if meter.turns:
            console.print(turns)
        else:
            console.print(Text("No caller turns were measured.", style=_DIM))
        round_trips = meter.tool_round_trips_ms()
        if not round_trips:
            return
        tools = Table(
            title="Tool round trip: call complete → output sent",
            title_justify="left",
            box=box.SIMPLE_HEAD,
        )
        tools.add_column("tool")
        tools.add_column("calls", justify="right")
        tools.add_column("p50", justify="right")
        tools.add_column("p95", justify="right")
        tools.add_column("max", justify="right")
        for name, values in round_trips.items():
            tools.add_row(
                name,
                str(len(values)),
                _ms(percentile(values, 50)),
                _ms(percentile(values, 95)),
                _ms(max(values)),
            )
        console.print(tools)

    # -- rendering ----------------------------------------------------------------------------

    def _style_of(self, name: str) -> str:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = _AGENT_STYLES[len(self._styles) % len(_AGENT_STYLES)]
            self._width = max(self._width, len(name))
        return style

    def _speaker(self, name: str) -> Text:
        style = _CALLER_STYLE if name == CALLER else self._style_of(name)
        return Text(name.ljust(self._width), style=style)

    def _line(self, speaker: str, text: Text) -> None:
        self._close_open_line()
        self.console.print(Text.assemble(self._speaker(speaker), "  ", text), soft_wrap=True)

    def _indented(self, text: Text) -> None:
        self._close_open_line()
        self.console.print(Text.assemble(" " * (self._width + 2), text), soft_wrap=True)

    def _note(self, text: str, style: str) -> None:
        self._indented(Text(text, style=style))

    def _agent_of(self, item_id: str, response_id: str | None = None) -> str:
        agent = self._item_agents.get(item_id)
        if agent is None:
            agent = self._response_agents.get(response_id or "") or self._agent or "agent"
            self._item_agents[item_id] = agent
        return agent

    def _delta(self, event: AssistantTranscriptDelta) -> None:
        agent = self._agent_of(event.item_id, event.response_id)
        if not self.live:
            return
        if self._open_item != event.item_id:
            # A new line, or the rest of one that a tool call or a note interrupted.
            self._close_open_line()
            self.console.print(Text.assemble(self._speaker(agent), "  "), end="")
            self._open_item = event.item_id
            self._streamed.add(event.item_id)
        self.console.print(Text(event.delta), end="", soft_wrap=True)

    def _assistant_done(self, event: AssistantTranscript) -> None:
        if event.item_id in self._streamed:
            # Its words are on screen already (the final transcript may come much later,
            # once output guardrails passed it).
            self._streamed.discard(event.item_id)
            if self._open_item == event.item_id:
                self._close_open_line()
            return
        if not event.transcript:
            return
        self._line(self._agent_of(event.item_id), Text(_SPACES.sub(" ", event.transcript).strip()))

    def _close_open_line(self, suffix: str = "") -> None:
        if self._open_item is not None:
            self._open_item = None
            self.console.print(Text(suffix, style=_DIM), soft_wrap=True)

    def _user_transcript(self, event: UserTranscript) -> None:
        heard = _normalize(event.transcript)
        if not heard or heard == self._last_caller:
            return  # the line was printed when the caller said it
        self._last_caller = heard
        line = Text(event.transcript)
        line.append("  (heard)", style=_DIM)
        self._line(CALLER, line)

    def _call_text(self, name: str, arguments: str, agent: str) -> Text:
        text = Text("⚙ ", style=_TOOL_STYLE)
        text.append(name, style=f"bold {_TOOL_STYLE}")
        text.append(f"({_format_arguments(arguments)})", style=_TOOL_STYLE)
        text.append(f"  [{agent}]", style=_DIM)
        return text

    def _tool_end(self, event: ToolEnd, at: float) -> None:
        started = self._tool_started.pop(event.call_id, None)
        took = f"  {_ms((at - started) * 1000)}" if started is not None else ""
        if event.error is not None:
            self.failed_tools.append(event.tool_name)
            why = event.message or event.error
            line = Text(f"✗ tool {event.tool_name} failed: {why}", style=_ERROR_STYLE)
            if event.message and event.error not in ("error", "timeout"):
                line.append(f"  ({event.error})", style=_DIM)
        else:
            line = Text("↳ ", style=_DIM)
            line.append(_shorten(_compact_json(event.output), self.max_output_chars))
        line.append(took, style=_DIM)
        self._indented(line)

    def _guardrail(
        self, name: str, stage: str, text: str, safe_reply: str | None, details: Any
    ) -> None:
        line = Text(f"⚠ guardrail {name} tripped on {stage}", style=_ERROR_STYLE)
        if text:
            line.append(f": {_shorten(text, 80)!r}", style=_ERROR_STYLE)
        if details:
            line.append(f"  {_compact_json(orjson.dumps(details, default=str).decode())}", style=_DIM)
        if safe_reply:
            line.append(f"  → says {safe_reply!r}", style=_DIM)
        self._indented(line)

    def _guardrail_like(self, event: object) -> None:
        """A guardrail event of a shape this renderer predates: show what it carries."""
        values = _fields(event)
        name = str(values.pop("guardrail_name", values.pop("name", "?")))
        stage = str(values.pop("stage", getattr(event, "type", "guardrail")))
        text = str(values.pop("text", "") or "")
        reply = values.pop("safe_reply", None)
        self._guardrail(name, stage, text, reply if isinstance(reply, str) else None, values)

    def _unknown(self, event: Never) -> None:
        """An event kind newer than this renderer: shown by its fields, never a crash."""
        values = _fields(event)
        shown = ", ".join(f"{k}={_shorten(repr(v), 60)}" for k, v in values.items())
        self._note(f"{getattr(event, 'type', type(event).__name__)}: {shown}", _DIM)


def _fields(event: object) -> dict[str, Any]:
    if is_dataclass(event):
        return {f.name: getattr(event, f.name) for f in fields(event)}
    return {}


def _format_arguments(arguments: str) -> str:
    """`{"a": 1, "b": "x"}` → `a=1, b="x"`: a call as a person reads it."""
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return arguments
    if not isinstance(parsed, Mapping):
        return arguments
    return ", ".join(f"{key}={orjson.dumps(value).decode()}" for key, value in parsed.items())


def _compact_json(text: str) -> str:
    try:
        return orjson.dumps(orjson.loads(text)).decode()
    except orjson.JSONDecodeError:
        return text


def _shorten(text: str, limit: int) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} ms"

