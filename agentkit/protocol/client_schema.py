"""The schema of every client event, GA and beta, as pydantic models: validation at the door.

`check_client_event(event, dialect)` validates one decoded client event against the schema of
its dialect (a discriminated union on `type`, one `TypeAdapter` per dialect, built once) and
raises `InvalidClientEvent` for the first bad field, named as the service names it
(`session.audio.input.turn_detection.threshold`, `item.content[0].text`), with the service's
error code (`invalid_type`, `invalid_value`, `unknown_parameter`, `decimal_above_max_value`,
...). A server checks an event with it before any handler reads a field, so handlers may
trust the types; what the schema cannot know (an item id that exists, a voice that may no
longer change) stays with the handlers.

The shapes and field names follow the `openai` package's types (`openai.types.realtime`,
`openai.types.beta.realtime`); the ranges are the service's: VAD `threshold` 0..1,
`prefix_padding_ms` / `silence_duration_ms` / `idle_timeout_ms` >= 0, `speed` 0.25..1.5,
`max_output_tokens` 1..4096 or `"inf"`, beta `temperature` 0.6..1.2, `metadata` at most 16
string pairs (keys <= 64, values <= 512 characters), `event_id` <= 512 characters. Unknown
parameters are refused (`unknown_parameter`), as the service does, tool definitions included
(whatever the server accepts it echoes in `session.updated`, which must stay valid); only the
free-form objects (a tool's `parameters` schema, `tracing.metadata`) are open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
)

from .client_errors import InvalidClientEvent, first_error
from .wire_types import Dialect

__all__ = [
    "MAX_EVENT_ID_LENGTH",
    "InvalidClientEvent",
    "check_client_event",
    "check_session",
]

MAX_EVENT_ID_LENGTH: Final = 512
"""The longest client `event_id` the service accepts."""


class _Strict(BaseModel):
    """No coercion (`"5"` is not 5, `true` is not 1) and no unknown parameters."""

    model_config = ConfigDict(strict=True, extra="forbid")


EventId = Annotated[str, Field(max_length=MAX_EVENT_ID_LENGTH)] | None
Millis = Annotated[int, Field(ge=0)]
Threshold = Annotated[float, Field(ge=0.0, le=1.0)]
Speed = Annotated[float, Field(ge=0.25, le=1.5)]
MaxTokens = Annotated[int, Field(ge=1, le=4096)] | Literal["inf"]
Modalities = Annotated[list[Literal["text", "audio"]], Field(min_length=1, max_length=2)]
Metadata = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]],
    Field(max_length=16),
]
Conversation = Literal["auto", "none"]
Eagerness = Literal["low", "medium", "high", "auto"]
ItemStatus = Literal["completed", "incomplete", "in_progress"]


def _kind(default: str | None) -> Any:
    """A callable discriminator: an object's `type` (`default` when absent)."""

    def kind(value: Any) -> str | None:
        if isinstance(value, Mapping):
            found = value.get("type", default)
            return found if isinstance(found, str) else None
        return None

    return Discriminator(kind)


# --- shared by both dialects ---------------------------------------------------------------


class VoiceId(_Strict):
    """A custom voice (`{"id": "voice_1234"}`)."""

    id: str


Voice = str | VoiceId


class FunctionTool(_Strict):
    """A function tool (`type` may be left out)."""

    type: Literal["function"] = "function"
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class McpTool(_Strict):
    """An MCP tool: the fields of the `openai` package's `Mcp` tool config (the nested
    filters and approval rules are the service's to check)."""

    type: Literal["mcp"]
    server_label: str
    allowed_callers: list[Literal["direct", "programmatic"]] | None = None
    allowed_tools: list[str] | dict[str, Any] | None = None
    authorization: str | None = None
    connector_id: str | None = None
    defer_loading: bool | None = None
    headers: dict[str, str] | None = None
    require_approval: str | dict[str, Any] | None = None
    server_description: str | None = None
    server_url: str | None = None
    tunnel_id: str | None = None


Tool = Annotated[
    Annotated[FunctionTool, Tag("function")] | Annotated[McpTool, Tag("mcp")],
    _kind("function"),
]


class TracingConfiguration(_Strict):
    """`tracing` as an object."""

    group_id: str | None = None
    metadata: dict[str, Any] | None = None
    workflow_name: str | None = None


Tracing = Literal["auto"] | TracingConfiguration


class Transcription(_Strict):
    """Input audio transcription settings (GA fields; beta uses the first three)."""

    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    languages: list[str] | None = None
    keywords: list[str] | None = None
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


class NoiseReduction(_Strict):
    """Input noise reduction."""

    type: Literal["near_field", "far_field"] | None = None
    strength: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


# --- GA: the session -----------------------------------------------------------------------


class AudioPcm(_Strict):
    type: Literal["audio/pcm"]
    rate: Literal[24000] | None = None


class AudioPcmu(_Strict):
    type: Literal["audio/pcmu"]


class AudioPcma(_Strict):
    type: Literal["audio/pcma"]


AudioFormat = Annotated[AudioPcm | AudioPcmu | AudioPcma, Field(discriminator="type")]


class ServerVad(_Strict):
    type: Literal["server_vad"]
    threshold: Threshold | None = None
    prefix_padding_ms: Millis | None = None
    silence_duration_ms: Millis | None = None
    idle_timeout_ms: Millis | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


class SemanticVad(_Strict):
    type: Literal["semantic_vad"]
    eagerness: Eagerness | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


TurnDetection = Annotated[ServerVad | SemanticVad, Field(discriminator="type")]


class AudioInput(_Strict):
    format: AudioFormat | None = None
    transcription: Transcription | None = None
    noise_reduction: NoiseReduction | None = None
    turn_detection: TurnDetection | None = None


class AudioOutput(_Strict):
    format: AudioFormat | None = None
    voice: Voice | None = None
    speed: Speed | None = None


class AudioConfig(_Strict):
    input: AudioInput | None = None
    output: AudioOutput | None = None


class ToolChoiceFunction(_Strict):
    type: Literal["function"]
    name: str


class ToolChoiceMcp(_Strict):
    type: Literal["mcp"]
    server_label: str
    name: str | None = None


ToolChoice = Literal["none", "auto", "required"] | ToolChoiceFunction | ToolChoiceMcp


class TokenLimits(_Strict):
    post_instructions: Annotated[int, Field(ge=0)] | None = None


class RetentionRatio(_Strict):
    type: Literal["retention_ratio"]
    retention_ratio: Annotated[float, Field(ge=0.0, le=1.0)]
    token_limits: TokenLimits | None = None


Truncation = Literal["auto", "disabled"] | RetentionRatio


class PromptText(_Strict):
    type: Literal["input_text"]
    text: str


class PromptFile(_Strict):
    """An image or file prompt variable (the fields of the `openai` package's
    `ResponseInputImage` and `ResponseInputFile`)."""

    type: Literal["input_image", "input_file"]
    detail: Literal["low", "high", "auto"] | None = None
    file_id: str | None = None
    image_url: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    filename: str | None = None


class Prompt(_Strict):
    id: str
    version: str | None = None
    variables: dict[str, str | Annotated[PromptText | PromptFile, Field(discriminator="type")]] | None = None


class Reasoning(_Strict):
    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


class RealtimeSession(_Strict):
    """The GA session of `session.update` (partial: only `type` is expected)."""

    type: Literal["realtime"] = "realtime"
    model: str | None = None
    instructions: str | None = None
    output_modalities: Modalities | None = None
    audio: AudioConfig | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    max_output_tokens: MaxTokens | None = None
    tracing: Tracing | None = None
    truncation: Truncation | None = None
    prompt: Prompt | None = None
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None = None
    reasoning: Reasoning | None = None
    parallel_tool_calls: bool | None = None


# --- GA: items -----------------------------------------------------------------------------


class InputText(_Strict):
    type: Literal["input_text"]
    text: str


class InputAudio(_Strict):
    type: Literal["input_audio"]
    audio: str | None = None
    transcript: str | None = None


class InputImage(_Strict):
    type: Literal["input_image"]
    image_url: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class OutputText(_Strict):
    type: Literal["output_text"]
    text: str | None = None


class OutputAudio(_Strict):
    type: Literal["output_audio"]
    audio: str | None = None
    transcript: str | None = None


class _Item(_Strict):
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None


class SystemMessage(_Item):
    type: Literal["message"]
    role: Literal["system"]
    content: list[InputText]


class UserMessage(_Item):
    type: Literal["message"]
    role: Literal["user"]
    content: list[Annotated[InputText | InputAudio | InputImage, Field(discriminator="type")]]


class AssistantMessage(_Item):
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[Annotated[OutputText | OutputAudio, Field(discriminator="type")]]


class FunctionCall(_Item):
    type: Literal["function_call"]
    name: str
    arguments: str
    call_id: str | None = None


class FunctionCallOutput(_Item):
    type: Literal["function_call_output"]
    call_id: str
    output: str


class McpApprovalResponse(_Item):
    """The app's answer to a hosted MCP approval request (GA only)."""

    type: Literal["mcp_approval_response"]
    approval_request_id: str
    approve: bool
    reason: str | None = None


class ItemReference(_Strict):
    type: Literal["item_reference"]
    id: str


Message = Annotated[SystemMessage | UserMessage | AssistantMessage, Field(discriminator="role")]
Item = Annotated[
    Message | FunctionCall | FunctionCallOutput | McpApprovalResponse, Field(discriminator="type")
]
InputItem = Annotated[
    Message | FunctionCall | FunctionCallOutput | McpApprovalResponse | ItemReference,
    Field(discriminator="type"),
]


# --- GA: events ----------------------------------------------------------------------------


class ResponseAudioOutput(_Strict):
    format: AudioFormat | None = None
    voice: Voice | None = None


class ResponseAudio(_Strict):
    output: ResponseAudioOutput | None = None


class ResponseParams(_Strict):
    """GA `response.create` options."""

    audio: ResponseAudio | None = None
    conversation: Conversation | None = None
    input: list[InputItem] | None = None
    instructions: str | None = None
    max_output_tokens: MaxTokens | None = None
    metadata: Metadata | None = None
    output_modalities: Modalities | None = None
    parallel_tool_calls: bool | None = None
    prompt: Prompt | None = None
    reasoning: Reasoning | None = None
    tool_choice: ToolChoice | None = None
    tools: list[Tool] | None = None


class _Event(_Strict):
    event_id: EventId = None


class SessionUpdate(_Event):
    type: Literal["session.update"]
    session: RealtimeSession


class Append(_Event):
    type: Literal["input_audio_buffer.append"]
    audio: str


class Commit(_Event):
    type: Literal["input_audio_buffer.commit"]


class Clear(_Event):
    type: Literal["input_audio_buffer.clear"]


class OutputClear(_Event):
    type: Literal["output_audio_buffer.clear"]


class ItemCreate(_Event):
    type: Literal["conversation.item.create"]
    item: Item
    previous_item_id: str | None = None


class ItemRetrieve(_Event):
    type: Literal["conversation.item.retrieve"]
    item_id: str


class ItemDelete(_Event):
    type: Literal["conversation.item.delete"]
    item_id: str


class ItemTruncate(_Event):
    type: Literal["conversation.item.truncate"]
    item_id: str
    content_index: Annotated[int, Field(ge=0)]
    audio_end_ms: Millis


class ResponseCreate(_Event):
    type: Literal["response.create"]
    response: ResponseParams | None = None


class ResponseCancel(_Event):
    type: Literal["response.cancel"]
    response_id: str | None = None


GaClientEvent = Annotated[
    SessionUpdate | ItemCreate | ResponseCreate | Append | Commit | Clear | OutputClear
    | ItemRetrieve | ItemDelete | ItemTruncate | ResponseCancel,
    Field(discriminator="type"),
]


# --- beta ----------------------------------------------------------------------------------

BetaAudioFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]


class BetaTurnDetection(_Strict):
    type: Literal["server_vad", "semantic_vad"] | None = None
    threshold: Threshold | None = None
    prefix_padding_ms: Millis | None = None
    silence_duration_ms: Millis | None = None
    idle_timeout_ms: Millis | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None
    eagerness: Eagerness | None = None


class BetaNoiseReduction(_Strict):
    type: Literal["near_field", "far_field"] | None = None


class BetaSession(_Strict):
    """The flat beta session of `session.update`."""

    model: str | None = None
    instructions: str | None = None
    modalities: Modalities | None = None
    voice: Voice | None = None
    speed: Speed | None = None
    input_audio_format: BetaAudioFormat | None = None
    output_audio_format: BetaAudioFormat | None = None
    input_audio_transcription: Transcription | None = None
    input_audio_noise_reduction: BetaNoiseReduction | None = None
    turn_detection: BetaTurnDetection | None = None
    tools: list[Tool] | None = None
    tool_choice: str | None = None
    temperature: Annotated[float, Field(ge=0.6, le=1.2)] | None = None
    max_response_output_tokens: MaxTokens | None = None
    tracing: Tracing | None = None


class BetaContent(_Strict):
    type: Literal["input_text", "input_audio", "item_reference", "text", "audio"] | None = None
    text: str | None = None
    id: str | None = None
    audio: str | None = None
    transcript: str | None = None


class BetaItem(_Item):
    """The one flat beta conversation item."""

    type: Literal["message", "function_call", "function_call_output", "item_reference"] | None = None
    role: Literal["user", "assistant", "system"] | None = None
    content: list[BetaContent] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None


class BetaResponseParams(_Strict):
    """Beta `response.create` options."""

    conversation: Conversation | None = None
    input: list[BetaItem] | None = None
    instructions: str | None = None
    max_response_output_tokens: MaxTokens | None = None
    metadata: Metadata | None = None
    modalities: Modalities | None = None
    output_audio_format: BetaAudioFormat | None = None
    temperature: Annotated[float, Field(ge=0.6, le=1.2)] | None = None
    tool_choice: str | None = None
    tools: list[Tool] | None = None
    voice: Voice | None = None


class BetaSessionUpdate(_Event):
    type: Literal["session.update"]
    session: BetaSession


class BetaItemCreate(_Event):
    type: Literal["conversation.item.create"]
    item: BetaItem
    previous_item_id: str | None = None


class BetaResponseCreate(_Event):
    type: Literal["response.create"]
    response: BetaResponseParams | None = None


BetaClientEvent = Annotated[
    BetaSessionUpdate | BetaItemCreate | BetaResponseCreate | Append | Commit | Clear
    | OutputClear | ItemRetrieve | ItemDelete | ItemTruncate | ResponseCancel,
    Field(discriminator="type"),
]

_ADAPTERS: Final[Mapping[Dialect, TypeAdapter[Any]]] = {
    "ga": TypeAdapter(GaClientEvent),
    "beta": TypeAdapter(BetaClientEvent),
}
_SESSIONS: Final[Mapping[Dialect, TypeAdapter[Any]]] = {
    "ga": TypeAdapter(RealtimeSession),
    "beta": TypeAdapter(BetaSession),
}


# --- checking ----------------------------------------------------------------------------


def check_client_event(event: Mapping[str, Any], dialect: Dialect = "ga") -> None:
    """Raise `InvalidClientEvent` unless `event` is a valid client event of `dialect`."""
    try:
        _ADAPTERS[dialect].validate_python(event)
    except ValidationError as exc:
        raise first_error(exc, event, top_level=True) from None


def check_session(session: Mapping[str, Any], dialect: Dialect = "ga", param: str = "session") -> None:
    """Raise `InvalidClientEvent` unless `session` is a valid session object of `dialect`
    (`param`: how errors name it)."""
    try:
        _SESSIONS[dialect].validate_python(session)
    except ValidationError as exc:
        raise first_error(exc, session, prefix=(param,)) from None
