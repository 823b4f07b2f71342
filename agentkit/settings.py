"""Typed, range-checked session settings: the voice and model knobs of a realtime session.

`SessionSettings` is dialect-neutral. The compiler renders it into the GA (`gpt-realtime`) or the
beta (Azure preview) shape of `session.update`; a field a dialect cannot express is a
`CompileError` there, never a silently dropped key.

Only the fields a developer sets are sent: `SessionSettings()` leaves the service's defaults
alone, and `merged()` lays an agent's overrides over the runner's base settings by the same rule.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

__all__ = [
    "AudioFormatName",
    "InputTranscription",
    "NoiseReduction",
    "RealtimeTracingConfig",
    "RetentionRatioTruncation",
    "SemanticVad",
    "ServerVad",
    "SessionSettings",
    "ToolChoice",
    "ToolChoiceFunction",
    "TurnDetection",
]

AudioFormatName = Literal["pcm16", "g711_ulaw", "g711_alaw"]
"""PCM16 24 kHz mono little-endian, or G.711 μ-law / A-law at 8 kHz (telephony)."""

_FORMAT_ALIASES: dict[str, AudioFormatName] = {
    "pcm16": "pcm16",
    "pcm": "pcm16",
    "audio/pcm": "pcm16",
    "g711_ulaw": "g711_ulaw",
    "pcmu": "g711_ulaw",
    "ulaw": "g711_ulaw",
    "audio/pcmu": "g711_ulaw",
    "g711_alaw": "g711_alaw",
    "pcma": "g711_alaw",
    "alaw": "g711_alaw",
    "audio/pcma": "g711_alaw",
}


def _normalize_audio_format(value: object) -> object:
    """Accept the spellings users copy from either dialect's docs, and the GA format object."""
    if isinstance(value, dict):
        fmt_type = value.get("type")
        rate = value.get("rate", 24000)
        if fmt_type == "audio/pcm" and rate != 24000:
            raise ValueError("PCM audio must be 24000 Hz (the only rate the protocol allows)")
        value = fmt_type
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _FORMAT_ALIASES:
            return _FORMAT_ALIASES[key]
    return value


_AudioFormatField = Annotated[AudioFormatName, BeforeValidator(_normalize_audio_format)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerVad(_Model):
    """Voice activity detection by audio energy on the server; the turn ends after silence."""

    type: Literal["server_vad"] = "server_vad"
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    prefix_padding_ms: Annotated[int, Field(ge=0, le=10_000)] = 300
    silence_duration_ms: Annotated[int, Field(ge=0, le=10_000)] = 500
    idle_timeout_ms: Annotated[int, Field(ge=5_000, le=30_000)] | None = None
    create_response: bool = True
    interrupt_response: bool = True


class SemanticVad(_Model):
    """Turn detection by a model that judges whether the caller has finished."""

    type: Literal["semantic_vad"] = "semantic_vad"
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"
    create_response: bool = True
    interrupt_response: bool = True


TurnDetection = Annotated[ServerVad | SemanticVad, Field(discriminator="type")]
"""`server_vad` or `semantic_vad`; `None` in `SessionSettings` means push-to-talk."""


class InputTranscription(_Model):
    """Transcription of the caller's audio, delivered as its own events."""

    model: str = "gpt-4o-mini-transcribe"
    language: str | None = None
    prompt: str | None = None


NoiseReduction = Literal["near_field", "far_field"]


class RealtimeTracingConfig(_Model):
    """The service's own tracing of the session (OpenAI dashboard), not OpenTelemetry."""

    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None


class RetentionRatioTruncation(_Model):
    """Drop the oldest part of the context once it is full, keeping this share of it."""

    type: Literal["retention_ratio"] = "retention_ratio"
    retention_ratio: Annotated[float, Field(ge=0.0, le=1.0)]
    post_instructions_token_limit: Annotated[int, Field(ge=0)] | None = None


class ToolChoiceFunction(_Model):
    """Force the model to call this one function."""

    type: Literal["function"] = "function"
    name: str


ToolChoice = Literal["auto", "none", "required"] | ToolChoiceFunction


class SessionSettings(_Model):
    """The voice and model settings of a session, checked when built.

    Every field left unset stays out of the payload, so the service keeps its default.
    `turn_detection=None` set explicitly means push-to-talk (manual commit).
    """

    model: str = "gpt-realtime"
    voice: str | None = None
    input_audio_format: _AudioFormatField = "pcm16"
    output_audio_format: _AudioFormatField = "pcm16"
    turn_detection: TurnDetection | None = Field(default_factory=ServerVad)
    input_transcription: InputTranscription | None = None
    noise_reduction: NoiseReduction | None = None
    speed: Annotated[float, Field(ge=0.25, le=1.5)] | None = None
    output_modalities: tuple[Literal["audio", "text"], ...] = ("audio",)
    max_output_tokens: Annotated[int, Field(ge=1, le=4096)] | Literal["inf"] | None = None
    tool_choice: ToolChoice | None = None
    tracing: Literal["auto"] | RealtimeTracingConfig | None = None
    truncation: Literal["auto", "disabled"] | RetentionRatioTruncation | None = None
    temperature: Annotated[float, Field(ge=0.6, le=1.2)] | None = None
    """Sampling temperature; only the beta dialect has it (GA removed it)."""

    @field_validator("output_modalities")
    @classmethod
    def _one_modality(
        cls, value: tuple[Literal["audio", "text"], ...]
    ) -> tuple[Literal["audio", "text"], ...]:
        # GA: "audio" (which includes its transcript) or "text", never both.
        if len(value) != 1:
            raise ValueError("give exactly one of 'audio' or 'text' (audio output includes a transcript)")
        return value

    @property
    def audio_output(self) -> bool:
        """True when the model answers in audio (with a transcript), False for text only."""
        return self.output_modalities[0] == "audio"

    def merged(self, override: SessionSettings | None) -> SessionSettings:
        """These settings with the fields that `override` sets explicitly laid on top."""
        if override is None or not override.model_fields_set:
            return self
        data = {name: getattr(self, name) for name in self.model_fields_set}
        data.update({name: getattr(override, name) for name in override.model_fields_set})
        return SessionSettings.model_validate(data)

    def explicitly_set(self, name: str) -> bool:
        """Whether `name` was given by the developer rather than left at its default."""
        return name in self.model_fields_set
