"""What the tracer reads of wire payloads: a response's token usage, and the silence server
VAD waits for. Pure functions over the decoded JSON, each field checked for its type (a
payload is the service's, not ours).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from .conventions import (
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    is_object,
)

__all__ = ["usage_attributes", "vad_silence_ms"]


def usage_attributes(usage: Any, attributes: dict[str, AttributeValue]) -> None:
    """Add the token counts of `response.done`'s `usage` to a response span's `attributes`."""
    if not is_object(usage):
        return
    value = usage.get("input_tokens")
    if type(value) is int:
        attributes[GEN_AI_USAGE_INPUT_TOKENS] = value
    value = usage.get("output_tokens")
    if type(value) is int:
        attributes[GEN_AI_USAGE_OUTPUT_TOKENS] = value
    input_details = usage.get("input_token_details")
    if is_object(input_details):
        value = input_details.get("cached_tokens")
        if type(value) is int:
            attributes[GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = value
        value = input_details.get("audio_tokens")
        if type(value) is int:
            attributes["agentkit.usage.input_audio_tokens"] = value
    output_details = usage.get("output_token_details")
    if is_object(output_details):
        value = output_details.get("audio_tokens")
        if type(value) is int:
            attributes["agentkit.usage.output_audio_tokens"] = value


def vad_silence_ms(session: Mapping[str, Any]) -> float:
    """The silence server VAD waits for before it ends a turn, in a `session.created` or
    `session.updated` configuration (0 when there is none: no VAD, or semantic VAD)."""
    # Included in `speech_stopped.audio_end_ms` (see `ResponseLatency.speech_stopped`).
    # The GA shape, else beta's.
    audio = session.get("audio")
    audio_input = audio.get("input") if is_object(audio) else None
    detection = (
        audio_input.get("turn_detection")
        if is_object(audio_input)
        else session.get("turn_detection")
    )
    silence = detection.get("silence_duration_ms") if is_object(detection) else None
    return float(silence) if isinstance(silence, int | float) else 0.0
