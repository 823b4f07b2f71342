"""The session object: its defaults, the server-side options, and `session.update` merging.

Everything here is pure: `default_session` builds the full effective GA session a connection
starts with, and `merge_session` validates a (partial) `session.update` and merges it into a
copy, raising `ClientError` for what the service would reject. `SessionOptions` holds the
knobs that are not part of the wire session (pacing, voice synthesis, limits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

from ..audio import AudioFormat, SpeechEngine
from ..protocol.wire_types import JsonObject
from .errors import ClientError

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "FORMAT_OBJECTS",
    "REALTIME_RESPONSE_LATENCY",
    "Pace",
    "ResponseLatency",
    "SessionOptions",
    "check_modalities",
    "check_tools",
    "default_session",
    "format_name",
    "merge_session",
    "turn_detection_defaults",
    "without_type",
]

Pace = Literal["realtime", "fast"]

DEFAULT_INSTRUCTIONS: Final = (
    "You are a helpful, concise voice assistant running on agentkit's local realtime server."
)
_FORMAT_NAMES: Final[dict[str, AudioFormat]] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "g711_ulaw",
    "audio/pcma": "g711_alaw",
}
FORMAT_OBJECTS: Final[dict[AudioFormat, JsonObject]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}
"""The wire format object of each audio format (as `response.audio.output.format` says it)."""

_SESSION_KEYS: Final[frozenset[str]] = frozenset(
    {
        "type",
        "model",
        "instructions",
        "output_modalities",
        "audio",
        "tools",
        "tool_choice",
        "max_output_tokens",
        "tracing",
        "truncation",
        "prompt",
        "include",
        "reasoning",
        "parallel_tool_calls",
    }
)


@dataclass(frozen=True)
class ResponseLatency:
    """How long the model takes to start answering: from a committed turn or a
    `response.create` to the response's first output (`response.created` goes out at once,
    as the service sends it). A fixed delay (`min_ms == max_ms`) or a uniform draw between
    `min_ms` and `max_ms`, from a generator seeded with `seed` per session, so a run is
    repeatable. The delay is on the session's clock: a test that drives the clock stays
    deterministic.

    Why: a real model takes hundreds of milliseconds; a scripted one answering at once hides
    (or exposes by chance) races in clients between their own events and the answer.
    """

    min_ms: float = 0.0
    max_ms: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.min_ms <= self.max_ms:
            raise ValueError(f"response latency needs 0 <= min <= max, got {self.min_ms}..{self.max_ms} ms")

    @classmethod
    def fixed(cls, ms: float) -> ResponseLatency:
        """Always `ms` milliseconds."""
        return cls(ms, ms)

    @classmethod
    def parse(cls, text: str) -> ResponseLatency:
        """`MS` (fixed) or `MIN-MAX` or `MIN-MAX:SEED` (the `--response-latency` option);
        `ValueError` otherwise."""
        spec, _, seed = text.strip().partition(":")
        low, dash, high = spec.partition("-")
        try:
            if not dash:
                return cls.fixed(float(low)) if not seed else cls(float(low), float(low), int(seed))
            return cls(float(low), float(high), int(seed) if seed else 0)
        except ValueError as exc:
            raise ValueError(f"expected MS, MIN-MAX or MIN-MAX:SEED (milliseconds), got {text!r}: {exc}") from None


REALTIME_RESPONSE_LATENCY: Final = ResponseLatency(300.0, 700.0)
"""The default at real-time pace: roughly a hosted realtime model's time to first audio."""


@dataclass(frozen=True)
class SessionOptions:
    """Server-side knobs of a session (not part of the wire session object)."""

    pace: Pace = "realtime"
    max_duration_s: float = 3600.0
    audio_chunk_ms: int = 100
    words_per_minute: int = 165
    speech_engine: SpeechEngine = "auto"
    """`auto`: espeak-ng when installed (intelligible), else the synthetic voice, whose
    durations are exact (`synthetic`: always, for tests that check audio arithmetic)."""
    model: str = "gpt-realtime"
    voice: str = "marin"
    request_limit: int = 5000
    token_limit: int = 400_000
    response_latency: ResponseLatency | None = None
    """`None`: `REALTIME_RESPONSE_LATENCY` at real-time pace, none at fast pace."""

    def effective_latency(self) -> ResponseLatency:
        """The response latency in force (the pace's default when none was set)."""
        if self.response_latency is not None:
            return self.response_latency
        return REALTIME_RESPONSE_LATENCY if self.pace == "realtime" else ResponseLatency()


def default_session(session_id: str, model: str, voice: str, expires_at: int) -> JsonObject:
    """The full effective GA session a new connection starts with."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": turn_detection_defaults({"type": "server_vad"}),
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": voice, "speed": 1.0},
        },
    }


def turn_detection_defaults(value: Mapping[str, Any]) -> JsonObject:
    """`value` (a `turn_detection` object) with the service's defaults filled in."""
    if value.get("type") == "semantic_vad":
        base: JsonObject = {"type": "semantic_vad", "eagerness": "auto", "create_response": True, "interrupt_response": True}
    else:
        base = {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "idle_timeout_ms": None,
            "create_response": True,
            "interrupt_response": True,
        }
    base.update({key: inner for key, inner in value.items() if inner is not None})
    return base


def format_name(value: Any, param: str) -> AudioFormat:
    """The audio format a wire format object names (`None`: PCM16); `ClientError` otherwise."""
    if value is None:
        return "pcm16"
    if not isinstance(value, dict) or value.get("type") not in _FORMAT_NAMES:
        raise ClientError(f"Invalid value for '{param}': expected an audio format object.", "invalid_value", param)
    if value.get("type") == "audio/pcm" and value.get("rate", 24000) != 24000:
        raise ClientError(f"Invalid value for '{param}.rate': only 24000 is supported.", "invalid_value", f"{param}.rate")
    return _FORMAT_NAMES[value["type"]]


def merge_session(current: JsonObject, update: JsonObject, *, audio_produced: bool) -> JsonObject:
    """`current` with the partial GA session `update` merged in (a new dict); `ClientError`
    for an unknown or invalid field. `audio_produced`: assistant audio was already sent, so
    the voice can no longer change."""
    for key in update:
        if key not in _SESSION_KEYS:
            raise ClientError(f"Unknown parameter: 'session.{key}'.", "unknown_parameter", f"session.{key}")
    merged: JsonObject = orjson.loads(orjson.dumps(current))
    for key, value in update.items():
        if key == "audio":
            _merge_audio(merged, value, audio_produced)
        elif key == "model":
            # The reference says the model cannot change mid-session, but the service accepts
            # a `model` in session.update (the Agents SDK always sends one, often not the
            # URL's); the scripted model is the same whatever the name, so record it.
            if value is not None and not isinstance(value, str):
                raise ClientError("Invalid type for 'session.model'.", "invalid_type", "session.model")
            if value:
                merged["model"] = value
        elif key in ("instructions",):
            if value is not None and not isinstance(value, str):
                raise ClientError("Invalid type for 'session.instructions'.", "invalid_type", "session.instructions")
            merged[key] = value or ""
        elif key == "tools":
            merged[key] = check_tools(value, "session.tools")
        elif key == "output_modalities":
            merged[key] = check_modalities(value, "session.output_modalities") or ["audio"]
        elif key != "type":
            merged[key] = value
    return merged


def _merge_audio(merged: JsonObject, value: Any, audio_produced: bool) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ClientError("Invalid type for 'session.audio'.", "invalid_type", "session.audio")
    for direction, block in value.items():
        if direction not in ("input", "output"):
            raise ClientError(f"Unknown parameter: 'session.audio.{direction}'.", "unknown_parameter", f"session.audio.{direction}")
        if block is None:
            continue
        target = merged["audio"][direction]
        allowed = ("format", "transcription", "noise_reduction", "turn_detection") if direction == "input" else ("format", "voice", "speed")
        for key, inner in block.items():
            param = f"session.audio.{direction}.{key}"
            if key not in allowed:
                raise ClientError(f"Unknown parameter: '{param}'.", "unknown_parameter", param)
            if key == "format":
                format_name(inner, param)
                target[key] = inner if inner is not None else {"type": "audio/pcm", "rate": 24000}
            elif key == "turn_detection":
                if inner is not None:
                    if not isinstance(inner, dict) or inner.get("type") not in ("server_vad", "semantic_vad"):
                        raise ClientError(f"Invalid value for '{param}.type'.", "invalid_value", f"{param}.type")
                    inner = turn_detection_defaults(inner)
                target[key] = inner
            elif key == "voice":
                if inner != target.get("voice") and audio_produced:
                    raise ClientError("Cannot update a conversation's voice if assistant audio is present.", "cannot_update_voice", param)
                target[key] = inner
            else:
                target[key] = inner


def check_tools(value: Any, param: str) -> list[JsonObject]:
    """`value` as a list of tool definitions (`None`: none); `ClientError` when malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ClientError(f"Invalid type for '{param}'.", "invalid_type", param)
    for index, tool in enumerate(value):
        if not isinstance(tool, dict) or tool.get("type", "function") not in ("function", "mcp"):
            raise ClientError(f"Invalid value for '{param}[{index}]'.", "invalid_value", f"{param}[{index}]")
        if tool.get("type", "function") == "function" and not isinstance(tool.get("name"), str):
            raise ClientError(f"Missing required parameter: '{param}[{index}].name'.", "missing_required_parameter", f"{param}[{index}].name")
    return value


def check_modalities(value: Any, param: str) -> list[str] | None:
    """`value` as output modalities (`None` when unset); `ClientError` unless one of
    `["audio"]` or `["text"]`."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ("audio", "text"):
        raise ClientError(f"Invalid value for '{param}': expected ['audio'] or ['text'].", "invalid_value", param)
    return list(value)


def without_type(session: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A client-given session object minus the fields the server sets itself (`type`,
    `object`, `id`, `expires_at`), ready for `merge_session`."""
    if session is None:
        return None
    return {k: v for k, v in session.items() if k not in ("type", "object", "id", "expires_at")}
