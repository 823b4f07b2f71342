"""The schema of every GPT-Live client event, as strict pydantic models: validation at the door.

`check_live_event(event)` validates one decoded Live client event (a discriminated union on
`type`, built once) and returns it typed, or raises `InvalidClientEvent` for the first bad
field, named as the service names it (`session.audio.format.rate`,
`session.delegation.responses.tools[0].name`) with the service's codes (`unknown_parameter`,
`invalid_type`, `invalid_value`, `missing_required_parameter`), the same reporting as the
Realtime schema (`protocol/client_errors.py`). The local server checks every event with it
before a handler reads a field.

Shapes and names follow `openai.types.live` (`SessionConfig`, `ResponsesDelegationConfig`,
`InitialItem`, the event classes); limits are the documented ones: at most 128 startup `input`
messages of one text part each, `event_id` at most 512 characters. Unknown parameters are
refused; only free-form objects (a function's `parameters` schema, a hosted tool's settings,
a Decisions configuration) are open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .client_errors import first_error
from .client_schema import MAX_EVENT_ID_LENGTH

__all__ = [
    "LiveClientEvent",
    "LiveResponses",
    "LiveSession",
    "check_live_event",
]


class _Strict(BaseModel):
    """No coercion and no unknown parameters."""

    model_config = ConfigDict(strict=True, extra="forbid")


class _Open(BaseModel):
    """An object whose fields are the service's to check (a hosted tool, Decisions)."""

    model_config = ConfigDict(strict=True, extra="allow")


EventId = Annotated[str, Field(max_length=MAX_EVENT_ID_LENGTH)] | None
NonNegative = Annotated[int, Field(ge=0)]


class AudioPcm(_Strict):
    type: Literal["audio/pcm"]
    rate: Literal[16000, 24000]


class AudioG711(_Strict):
    type: Literal["audio/pcmu", "audio/pcma"]
    rate: Literal[8000]


class CustomVoice(_Strict):
    id: str


class AudioOutput(_Strict):
    voice: str | CustomVoice | None = None


class Audio(_Strict):
    format: Annotated[AudioPcm | AudioG711, Field(discriminator="type")] | None = None
    output: AudioOutput | None = None


class FunctionTool(_Strict):
    type: Literal["function"]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class HostedTool(_Open):
    type: Literal[
        "web_search", "file_search", "code_interpreter", "shell", "image_generation", "mcp",
        "custom", "namespace", "tool_search", "programmatic_tool_calling", "computer",
        "apply_patch",
    ]


class FunctionChoice(_Strict):
    type: Literal["function"]
    name: str


class Reasoning(_Strict):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["concise", "detailed", "auto"] | None = None


class Text(_Strict):
    verbosity: Literal["low", "medium", "high"] | None = None


ToolChoice = Literal["auto", "none", "required"] | FunctionChoice | _Open
Tool = Annotated[FunctionTool | HostedTool, Field(discriminator="type")]


class LiveResponses(_Strict):
    """`ResponsesDelegationConfig` (`model` optional: the update form)."""

    model: str | None = None
    instructions: str | None = None
    max_output_tokens: Annotated[int, Field(ge=1)] | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    service_tier: Literal["auto", "default", "fast_tier_temp_pilot", "flex", "priority", "ultrafast"] | None = None
    text: Text | None = None
    tool_choice: ToolChoice | None = None
    tools: list[Tool] | None = None


class ResponsesDelegation(_Strict):
    type: Literal["responses"]
    responses: LiveResponses | None = None
    acknowledgement_delay_ms: NonNegative | None = None


class ClientDelegation(_Strict):
    type: Literal["client"]
    acknowledgement_delay_ms: NonNegative | None = None


class DecisionsDelegation(_Strict):
    type: Literal["decisions"]
    decisions: _Open | None = None
    acknowledgement_delay_ms: NonNegative | None = None


Delegation = Annotated[
    ResponsesDelegation | ClientDelegation | DecisionsDelegation, Field(discriminator="type")
]


class InputText(_Strict):
    text: str
    type: Literal["input_text", "text", "output_text"] | None = None


class InitialItem(_Strict):
    role: Literal["developer", "user", "assistant"]
    content: Annotated[list[InputText], Field(min_length=1, max_length=1)]
    id: str | None = None
    status: Literal["incomplete", "completed"] | None = None
    type: Literal["message"] | None = None


class LiveSession(_Strict):
    """`SessionConfig`: what `session.start` carries."""

    model: str
    audio: Audio | None = None
    client: _Open | None = None
    delegation: Delegation | None = None
    input: Annotated[list[InitialItem], Field(max_length=128)] | None = None
    instructions: str | None = None
    safety_identifier: str | None = None
    store: bool | None = None
    triggers: list[_Open] | None = None


class LiveSessionUpdate(_Strict):
    """`SessionUpdateConfig`: the delegation and triggers only."""

    delegation: Delegation | None = None
    triggers: list[_Open] | None = None


class _Event(_Strict):
    event_id: EventId = None


class SessionStart(_Event):
    type: Literal["session.start"]
    session: LiveSession


class SessionUpdate(_Event):
    type: Literal["session.update"]
    session: LiveSessionUpdate


class AudioAppend(_Event):
    type: Literal["session.input_audio.append"]
    audio: str


class Mute(_Event):
    type: Literal["session.input_audio.mute", "session.input_audio.unmute"]


class FixturePlay(_Event):
    type: Literal["session.output_audio.fixture.play"]
    audio: str


class Append(_Event):
    """`session.instructions.append`, `.thinking.append`, `.commentary.append`
    (`delegation_id` is required and nullable)."""

    type: Literal[
        "session.instructions.append", "session.thinking.append", "session.commentary.append"
    ]
    content: str
    delegation_id: str | None


class OutputText(_Strict):
    type: Literal["input_text"]
    text: str


class FunctionCallOutput(_Strict):
    type: Literal["function_call_output"]
    call_id: str
    output: str
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class UserMessage(_Strict):
    type: Literal["message"] = "message"
    role: Literal["user", "developer", "system"]
    content: list[OutputText] | str
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class ResponseItemCreate(_Event):
    type: Literal["response.item.create"]
    item: Annotated[FunctionCallOutput | UserMessage, Field(union_mode="left_to_right")]


class Simple(_Event):
    type: Literal["response.create", "session.close"]


class Decision(_Event):
    """`decision.create`, `decision.item.create`, `decision.item.delete`: Decisions sessions."""

    model_config = ConfigDict(strict=True, extra="allow")
    type: Literal["decision.create", "decision.item.create", "decision.item.delete"]


LiveClientEvent = Annotated[
    SessionStart | SessionUpdate | AudioAppend | Mute | FixturePlay | Append
    | ResponseItemCreate | Simple | Decision,
    Field(discriminator="type"),
]
"""Every client event of a primary Live WebSocket."""

_ADAPTER: Final[TypeAdapter[Any]] = TypeAdapter(LiveClientEvent)


def check_live_event(event: Mapping[str, Any]) -> Any:
    """`event` validated (a model of `LiveClientEvent`); `InvalidClientEvent` for the first
    bad field, named by its path."""
    try:
        return _ADAPTER.validate_python(event)
    except ValidationError as exc:
        raise first_error(exc, event, top_level=True) from None
