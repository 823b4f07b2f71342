"""GPT-Live's client events, built as plain JSON, and `LiveOptions`, the knobs of the dialect.

GPT-Live (`gpt-live-1`, `wss://api.openai.com/v1/live/sessions`) splits an agent in two: a
*voice layer* that listens and speaks (its instructions, voice and audio format are fixed
when the session starts) and a *backend* Responses model that does the work the voice layer
delegates to it (instructions, function tools, tool choice, reasoning). The shapes here follow
`openai.types.live` (`SessionStartEvent`, `SessionUpdateEvent`, `InstructionsAppendEvent`,
`ResponseItemCreateEvent`, ...); `tests/live/test_live_conformance.py` checks every builder
against them, extra keys rejected.

Pure functions over plain dicts, no I/O, no agents: the compiler (`agentkit.compiler`) decides
*what* goes in (and refuses what Live cannot express); this module only lays it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from .wire_types import JsonMapping, JsonObject

__all__ = [
    "DEGRADABLE",
    "LIVE_AUDIO_FORMATS",
    "LIVE_MAX_INPUT_ITEMS",
    "LiveOptions",
    "live_delegation",
    "live_event",
    "live_input_items",
    "live_instructions_append",
    "live_response_create",
    "live_response_item",
    "live_session_start",
    "live_session_update",
]

DEGRADABLE: Final[frozenset[str]] = frozenset(
    {
        "model",
        "turn_detection",
        "input_transcription",
        "noise_reduction",
        "speed",
        "temperature",
        "tracing",
        "truncation",
        "voice",
    }
)
"""The settings `LiveOptions.degrade` may name: what Live has no field for (or, for `voice`,
cannot change after startup). Anything else Live cannot express is always a `CompileError`."""

LIVE_AUDIO_FORMATS: Final[Mapping[str, JsonMapping]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu", "rate": 8000},
    "g711_alaw": {"type": "audio/pcma", "rate": 8000},
}
"""agentkit's audio format names → Live's `audio.format` (one format, both directions)."""

LIVE_MAX_INPUT_ITEMS: Final = 128
"""The most startup `input` messages a Live session takes (`SessionConfig.input`)."""

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How an agent graph runs on GPT-Live (the `live` dialect).

    Attributes:
        model: The Live (voice) model.
        backend_model: The Responses model the voice layer delegates work to; the current
            agent's instructions, tools and tool choice configure it.
        voice_instructions: The voice layer's instructions (voice, tone, when to delegate).
            Fixed for the whole session; `None` leaves the service's default.
        reasoning_effort: The backend's reasoning effort (`None`: the model's default).
        acknowledgement_delay_ms: How long the voice layer waits before a spoken
            acknowledgement of delegated work (`None`: the service's default).
        degrade: Settings the agents set that Live cannot express and that you accept to
            lose, by name (see `DEGRADABLE`): without it, each is a `CompileError`. `voice`
            here keeps the session's first voice when a handoff asks for another.
        turn_end_ms: How long the voice layer must stay silent (no output fragment) before
            its turn counts as ended: Live sends no "done" event, so this is when the agent's
            final transcript and `AgentEnd` are reported.
    """

    model: str = "gpt-live-1"
    backend_model: str = "gpt-5.4-mini"
    voice_instructions: str | None = None
    reasoning_effort: ReasoningEffort | None = None
    acknowledgement_delay_ms: int | None = None
    degrade: frozenset[str] = field(default_factory=frozenset)
    turn_end_ms: int = 700

    def __post_init__(self) -> None:
        unknown = set(self.degrade) - DEGRADABLE
        if unknown:
            raise ValueError(
                f"LiveOptions.degrade: {sorted(unknown)} cannot be degraded; choose from "
                f"{sorted(DEGRADABLE)}"
            )
        if self.acknowledgement_delay_ms is not None and self.acknowledgement_delay_ms < 0:
            raise ValueError("LiveOptions.acknowledgement_delay_ms must be 0 or more")
        if self.turn_end_ms < 0:
            raise ValueError("LiveOptions.turn_end_ms must be 0 or more")
        object.__setattr__(self, "degrade", frozenset(self.degrade))


def live_event(
    kind: str, body: JsonMapping | None = None, event_id: str | None = None
) -> JsonObject:
    """One Live client event (`encode_client_event` makes it a frame)."""
    event: JsonObject = {"type": kind}
    if event_id is not None:
        event["event_id"] = event_id
    if body:
        event.update(body)
    return event


def live_delegation(
    *,
    backend_model: str | None,
    instructions: str,
    tools: Sequence[JsonMapping],
    tool_choice: object = None,
    max_output_tokens: int | None = None,
    reasoning_effort: str | None = None,
    acknowledgement_delay_ms: int | None = None,
) -> JsonObject:
    """The `delegation` object: Responses delegation with the backend's configuration.

    `backend_model=None` is the update form (`ResponsesDelegationUpdateConfig`: the model
    stays what it was).
    """
    responses: JsonObject = {}
    if backend_model is not None:
        responses["model"] = backend_model
    responses["instructions"] = instructions
    responses["tools"] = [dict(t) for t in tools]
    if tool_choice is not None:
        responses["tool_choice"] = tool_choice
    if max_output_tokens is not None:
        responses["max_output_tokens"] = max_output_tokens
    if reasoning_effort is not None:
        responses["reasoning"] = {"effort": reasoning_effort}
    delegation: JsonObject = {"type": "responses", "responses": responses}
    if acknowledgement_delay_ms is not None:
        delegation["acknowledgement_delay_ms"] = acknowledgement_delay_ms
    return delegation


def live_input_items(messages: Iterable[tuple[str, str]]) -> list[JsonObject]:
    """Startup `input` history from `(role, text)` pairs (`user`, `assistant`, `developer`),
    one text part each, the last `LIVE_MAX_INPUT_ITEMS` of them."""
    items: list[JsonObject] = []
    for role, text in messages:
        part = "output_text" if role == "assistant" else "input_text"
        items.append({"type": "message", "role": role, "content": [{"type": part, "text": text}]})
    return items[-LIVE_MAX_INPUT_ITEMS:]


def live_session_start(
    *,
    model: str,
    audio_format: JsonMapping | None,
    voice: str | None,
    instructions: str | None,
    delegation: JsonMapping,
    input_items: Sequence[JsonMapping] = (),
    event_id: str | None = None,
) -> JsonObject:
    """`session.start`: the whole startup configuration (`audio_format=None` for WebRTC and
    SIP, which negotiate their media)."""
    session: JsonObject = {"model": model}
    if instructions is not None:
        session["instructions"] = instructions
    audio: JsonObject = {}
    if audio_format is not None:
        audio["format"] = dict(audio_format)
    if voice is not None:
        audio["output"] = {"voice": voice}
    if audio:
        session["audio"] = audio
    session["delegation"] = dict(delegation)
    if input_items:
        session["input"] = [dict(i) for i in input_items]
    return live_event("session.start", {"session": session}, event_id)


def live_session_update(delegation: JsonMapping, event_id: str | None = None) -> JsonObject:
    """`session.update` of the delegation (the only thing of a Live session that changes)."""
    return live_event("session.update", {"session": {"delegation": dict(delegation)}}, event_id)


def live_instructions_append(content: str, event_id: str | None = None) -> JsonObject:
    """`session.instructions.append` of general session context (`delegation_id: null`:
    non-null ids are refused with Responses delegation)."""
    return live_event(
        "session.instructions.append", {"content": content, "delegation_id": None}, event_id
    )


def live_response_item(item: JsonMapping, event_id: str | None = None) -> JsonObject:
    """`response.item.create`: an input item for the backend (a call's output, a typed
    user message), as a Responses input item."""
    return live_event("response.item.create", {"item": dict(item)}, event_id)


def live_response_create(event_id: str | None = None) -> JsonObject:
    """`response.create`: ask the backend to respond, or to continue a delegated response
    that waits for its tool results."""
    return live_event("response.create", None, event_id)
