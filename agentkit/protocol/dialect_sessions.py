"""Session settings between the dialects: audio formats, modalities, tools, tool choice,
turn detection, and whole session objects (GA nested `audio.input` / `audio.output` vs beta's
flat fields).

`response.create` options reuse the pieces here (`protocol/dialect_items.py`); the overview of
the two dialects is in `protocol/dialects.py`. Pure functions over plain JsonObject dicts; a field
the target dialect cannot express raises `CompileError` with its dotted path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..errors import CompileError
from .wire_types import Dialect, JsonMapping, JsonObject

__all__ = [
    "AUDIO_FORMAT_BETA_TO_GA",
    "audio_format_beta_to_ga",
    "audio_format_ga_to_beta",
    "conversion_error",
    "field_path",
    "modalities_beta_to_ga",
    "modalities_ga_to_beta",
    "session_beta_to_ga",
    "session_ga_to_beta",
    "tool_choice_beta_to_ga",
    "tool_choice_ga_to_beta",
    "tools_beta_to_ga",
    "tools_ga_to_beta",
]

AUDIO_FORMAT_BETA_TO_GA: Final[Mapping[str, JsonObject]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}
"""Beta audio format names → GA audio format objects (PCM16 is 24 kHz mono little-endian)."""

_AUDIO_FORMAT_GA_TO_BETA: Final[Mapping[str, str]] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "g711_ulaw",
    "audio/pcma": "g711_alaw",
}

_TOOL_CHOICE_KEYWORDS: Final[frozenset[str]] = frozenset({"auto", "none", "required"})


def conversion_error(message: str, field: str, dialect: Dialect) -> CompileError:
    """The `CompileError` for a value that `dialect` (the target) cannot express at `field`."""
    return CompileError(message, field=field, dialect=dialect)


def field_path(prefix: str, name: str) -> str:
    """`prefix.name`, the dotted path an error names (just `name` at the top)."""
    return f"{prefix}.{name}" if prefix else name


# --- audio formats ----------------------------------------------------------------------------


def audio_format_beta_to_ga(value: str, *, field: str = "format") -> JsonObject:
    """`"pcm16"` → `{"type": "audio/pcm", "rate": 24000}`, `"g711_ulaw"` → `{"type": "audio/pcmu"}`, ..."""
    try:
        return dict(AUDIO_FORMAT_BETA_TO_GA[value])
    except (KeyError, TypeError):
        raise conversion_error(f"unknown beta audio format {value!r}", field, "ga") from None


def audio_format_ga_to_beta(value: JsonMapping, *, field: str = "format") -> str:
    """`{"type": "audio/pcm", "rate": 24000}` → `"pcm16"`; beta has no PCM rate but 24 kHz."""
    if not isinstance(value, Mapping):
        raise conversion_error(f"expected an audio format object, got {value!r}", field, "beta")
    kind = str(value.get("type"))
    if kind not in _AUDIO_FORMAT_GA_TO_BETA:
        raise conversion_error(
            f"unknown GA audio format type {kind!r}", field_path(field, "type"), "beta"
        )
    if kind == "audio/pcm" and value.get("rate", 24000) != 24000:
        raise conversion_error("beta pcm16 is 24 kHz only", field_path(field, "rate"), "beta")
    extra = set(value) - {"type", "rate"}
    if extra:
        raise conversion_error(f"unknown audio format keys {sorted(extra)}", field, "beta")
    return _AUDIO_FORMAT_GA_TO_BETA[kind]


# --- modalities, tools, tool choice ------------------------------------------------------------


def modalities_beta_to_ga(value: Any, field: str) -> Any:
    """Beta `modalities` → GA `output_modalities` (`["text", "audio"]` → `["audio"]`)."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise conversion_error(
            f"expected a non-empty list of modalities, got {value!r}", field, "ga"
        )
    # GA output is audio XOR text; audio output always carries its transcript, which is what
    # beta's ["text", "audio"] meant.
    return ["audio"] if "audio" in value else ["text"]


def modalities_ga_to_beta(value: Any, field: str) -> Any:
    """GA `output_modalities` → beta `modalities` (`["audio"]` → `["text", "audio"]`)."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise conversion_error(
            f"expected a non-empty list of modalities, got {value!r}", field, "beta"
        )
    if "audio" in value and "text" in value:
        raise conversion_error("GA output_modalities is audio or text, not both", field, "beta")
    return ["text", "audio"] if "audio" in value else ["text"]


def tool_choice_beta_to_ga(value: Any) -> Any:
    """Beta `tool_choice` → GA (a bare function name becomes `{"type": "function", ...}`)."""
    if isinstance(value, str) and value not in _TOOL_CHOICE_KEYWORDS:
        # Beta named a forced function by a bare string.
        return {"type": "function", "name": value}
    return value


def tool_choice_ga_to_beta(value: Any, field: str) -> Any:
    """GA `tool_choice` → beta (a forced function becomes its bare name)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping) and value.get("type") == "function" and "name" in value:
        return value["name"]
    raise conversion_error(
        f"beta tool_choice is a string or function name, got {value!r}", field, "beta"
    )


def tools_ga_to_beta(value: Any, field: str) -> Any:
    """GA `tools` → beta; only function tools exist in beta (MCP tools raise)."""
    if value is None:
        return None
    out: list[JsonObject] = []
    for index, tool in enumerate(value):
        path = f"{field}[{index}]"
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            kind = tool.get("type") if isinstance(tool, Mapping) else tool
            raise conversion_error(
                f"beta sessions offer function tools only, got {kind!r}", path, "beta"
            )
        out.append(dict(tool))
    return out


def tools_beta_to_ga(value: Any, field: str) -> Any:
    """Beta `tools` → GA (each tool gets the `type` GA requires)."""
    if value is None:
        return None
    out: list[JsonObject] = []
    for index, tool in enumerate(value):
        if not isinstance(tool, Mapping):
            raise conversion_error(
                f"expected a tool object, got {tool!r}", f"{field}[{index}]", "ga"
            )
        converted = dict(tool)
        # `type` is optional in beta tools; the GA union is discriminated by it.
        converted.setdefault("type", "function")
        out.append(converted)
    return out


# --- turn detection ----------------------------------------------------------------------------

_SERVER_VAD_KEYS: Final[frozenset[str]] = frozenset(
    {
        "type",
        "threshold",
        "prefix_padding_ms",
        "silence_duration_ms",
        "idle_timeout_ms",
        "create_response",
        "interrupt_response",
    }
)
_SEMANTIC_VAD_KEYS: Final[frozenset[str]] = frozenset(
    {"type", "eagerness", "create_response", "interrupt_response"}
)
_BETA_TURN_DETECTION_KEYS: Final[frozenset[str]] = frozenset(
    {
        "type",
        "threshold",
        "prefix_padding_ms",
        "silence_duration_ms",
        "create_response",
        "interrupt_response",
        "eagerness",
    }
)


def _turn_detection_beta_to_ga(value: Any, field: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise conversion_error(f"expected a turn detection object, got {value!r}", field, "ga")
    converted = dict(value)
    # Beta's `type` is optional and defaults to server VAD; GA's union requires it.
    kind = converted.setdefault("type", "server_vad")
    allowed = {"server_vad": _SERVER_VAD_KEYS, "semantic_vad": _SEMANTIC_VAD_KEYS}.get(kind)
    if allowed is None:
        raise conversion_error(
            f"unknown turn detection type {kind!r}", field_path(field, "type"), "ga"
        )
    for key in converted:
        if key not in allowed:
            raise conversion_error(f"{kind} has no {key!r} in GA", field_path(field, key), "ga")
    return converted


def _turn_detection_ga_to_beta(value: Any, field: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise conversion_error(f"expected a turn detection object, got {value!r}", field, "beta")
    for key, inner in value.items():
        # An unset GA-only knob (`idle_timeout_ms: null`) is beta's behaviour; drop it.
        if key not in _BETA_TURN_DETECTION_KEYS and inner is not None:
            raise conversion_error(
                f"beta turn detection has no {key!r}", field_path(field, key), "beta"
            )
    return {k: v for k, v in value.items() if k in _BETA_TURN_DETECTION_KEYS}


# --- sessions ----------------------------------------------------------------------------------

# Fields spelled alike in both dialects (values copied as they are).
_SHARED_SESSION_KEYS: Final[frozenset[str]] = frozenset(
    {"instructions", "model", "tracing", "id", "object", "expires_at"}
)
_BETA_TRANSCRIPTION_KEYS: Final[frozenset[str]] = frozenset({"model", "language", "prompt"})
_BETA_NOISE_REDUCTION_KEYS: Final[frozenset[str]] = frozenset({"type"})


def session_beta_to_ga(session: JsonMapping) -> JsonObject:
    """Render a beta session object (full or partial) as a GA session object.

    Adds `type: "realtime"` (required in GA); moves the flat audio fields under
    `audio.input` / `audio.output`. Raises `CompileError` for `temperature` and the
    `/realtime/sessions`-only `client_secret`, which GA sessions cannot express.
    """
    out: JsonObject = {"type": "realtime"}
    audio_in: JsonObject = {}
    audio_out: JsonObject = {}
    for key, value in session.items():
        if key in _SHARED_SESSION_KEYS:
            out[key] = value
        elif key == "modalities":
            out["output_modalities"] = modalities_beta_to_ga(value, key)
        elif key == "max_response_output_tokens":
            out["max_output_tokens"] = value
        elif key == "tools":
            out["tools"] = tools_beta_to_ga(value, key)
        elif key == "tool_choice":
            out["tool_choice"] = tool_choice_beta_to_ga(value)
        elif key == "voice":
            audio_out["voice"] = value
        elif key == "speed":
            audio_out["speed"] = value
        elif key == "output_audio_format":
            audio_out["format"] = (
                None if value is None else audio_format_beta_to_ga(value, field=key)
            )
        elif key == "input_audio_format":
            audio_in["format"] = (
                None if value is None else audio_format_beta_to_ga(value, field=key)
            )
        elif key == "input_audio_transcription":
            audio_in["transcription"] = None if value is None else dict(value)
        elif key == "input_audio_noise_reduction":
            audio_in["noise_reduction"] = None if value is None else dict(value)
        elif key == "turn_detection":
            audio_in["turn_detection"] = _turn_detection_beta_to_ga(value, key)
        elif key == "temperature":
            raise conversion_error("GA sessions have no temperature", key, "ga")
        else:
            raise conversion_error(f"unknown beta session field {key!r}", key, "ga")
    if audio_in or audio_out:
        audio: JsonObject = {}
        if audio_in:
            audio["input"] = audio_in
        if audio_out:
            audio["output"] = audio_out
        out["audio"] = audio
    return out


# GA fields beta lacks, with the value that means "beta's fixed behaviour" (dropped silently,
# because rendering it changes nothing).
_GA_ONLY_SESSION_DEFAULTS: Final[Mapping[str, tuple[Any, ...]]] = {
    "truncation": (None, "auto"),
    "include": (None, []),
    "prompt": (None,),
    "reasoning": (None,),
    "parallel_tool_calls": (None,),
}


def session_ga_to_beta(session: JsonMapping) -> JsonObject:
    """Render a GA session object (full or partial) as a flat beta session object.

    Raises `CompileError` for what beta cannot say: transcription sessions, MCP tools, custom
    voice ids, `idle_timeout_ms`, transcription `delay`/`keywords`/`languages`, noise reduction
    `strength`, non-default `truncation`, `prompt`, `include`, `reasoning`, `parallel_tool_calls`.
    """
    out: JsonObject = {}
    for key, value in session.items():
        if key == "type":
            if value != "realtime":
                raise conversion_error(
                    f"beta has no {value!r} session over session.update", key, "beta"
                )
        elif key in _SHARED_SESSION_KEYS:
            out[key] = value
        elif key == "output_modalities":
            out["modalities"] = modalities_ga_to_beta(value, key)
        elif key == "max_output_tokens":
            out["max_response_output_tokens"] = value
        elif key == "tools":
            out["tools"] = tools_ga_to_beta(value, key)
        elif key == "tool_choice":
            out["tool_choice"] = tool_choice_ga_to_beta(value, key)
        elif key == "audio":
            _audio_ga_to_beta(value, out)
        elif key in _GA_ONLY_SESSION_DEFAULTS:
            if value not in _GA_ONLY_SESSION_DEFAULTS[key]:
                raise conversion_error(f"beta sessions have no {key}", key, "beta")
        else:
            raise conversion_error(f"unknown GA session field {key!r}", key, "beta")
    return out


def _audio_ga_to_beta(audio: Any, out: JsonObject) -> None:
    if audio is None:
        return
    for direction, block in audio.items():
        if direction not in ("input", "output"):
            raise conversion_error(
                f"unknown audio direction {direction!r}", f"audio.{direction}", "beta"
            )
        if block is None:
            continue
        for key, value in block.items():
            path = f"audio.{direction}.{key}"
            if key == "format":
                name = f"{direction}_audio_format"
                out[name] = None if value is None else audio_format_ga_to_beta(value, field=path)
            elif direction == "output" and key == "voice":
                if isinstance(value, Mapping):
                    raise conversion_error("beta has no custom voice ids", path, "beta")
                out["voice"] = value
            elif direction == "output" and key == "speed":
                out["speed"] = value
            elif direction == "input" and key == "transcription":
                out["input_audio_transcription"] = _restricted(
                    value, _BETA_TRANSCRIPTION_KEYS, path
                )
            elif direction == "input" and key == "noise_reduction":
                out["input_audio_noise_reduction"] = _restricted(
                    value, _BETA_NOISE_REDUCTION_KEYS, path
                )
            elif direction == "input" and key == "turn_detection":
                out["turn_detection"] = _turn_detection_ga_to_beta(value, path)
            else:
                raise conversion_error(f"beta has no {key!r} here", path, "beta")


def _restricted(value: Any, allowed: frozenset[str], field: str) -> Any:
    if value is None:
        return None
    for key, inner in value.items():
        if key not in allowed and inner is not None:
            raise conversion_error(f"beta has no {key!r} here", field_path(field, key), "beta")
    return {k: v for k, v in value.items() if k in allowed}


