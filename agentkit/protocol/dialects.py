"""The two dialects of the Realtime protocol, GA and beta, and pure functions between them.

The GA protocol (model `gpt-realtime`, no `OpenAI-Beta` header) and the beta/preview protocol
(`OpenAI-Beta: realtime=v1`) carry the same conversation model with different names and shapes:

| beta | GA |
| --- | --- |
| `response.audio.delta` / `.done` | `response.output_audio.delta` / `.done` |
| `response.text.delta` / `.done` | `response.output_text.delta` / `.done` |
| `response.audio_transcript.delta` / `.done` | `response.output_audio_transcript.delta` / `.done` |
| `conversation.item.created` | `conversation.item.added` (+ `conversation.item.done`, GA only) |
| flat `voice`, `input_audio_format`, `turn_detection`, ... | nested `audio.input` / `audio.output` |
| `"pcm16"` / `"g711_ulaw"` / `"g711_alaw"` | `{"type": "audio/pcm", "rate": 24000}` / `audio/pcmu` / `audio/pcma` |
| `modalities: ["text", "audio"]` | `output_modalities: ["audio"]` |
| `max_response_output_tokens` | `max_output_tokens` |
| assistant content `text` / `audio` | `output_text` / `output_audio` |

Everything here is a pure function over plain JSON dicts: no I/O, no validation of fields the
two dialects share. The converters never fill in defaults, so a *partial* `session.update`
stays partial and `null` (which clears a field) stays `null`. A field the target dialect
cannot express raises `CompileError` with its dotted path instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from ..errors import CompileError

__all__ = [
    "AUDIO_FORMAT_BETA_TO_GA",
    "GA_ONLY_SERVER_EVENTS",
    "SERVER_EVENT_BETA_TO_GA",
    "SERVER_EVENT_GA_TO_BETA",
    "Dialect",
    "audio_format_beta_to_ga",
    "audio_format_ga_to_beta",
    "client_event_beta_to_ga",
    "client_event_ga_to_beta",
    "item_beta_to_ga",
    "item_ga_to_beta",
    "response_beta_to_ga",
    "response_ga_to_beta",
    "response_params_beta_to_ga",
    "response_params_ga_to_beta",
    "server_event_beta_to_ga",
    "server_event_ga_to_beta",
    "session_beta_to_ga",
    "session_ga_to_beta",
]

Dialect = Literal["ga", "beta"]
"""Which protocol a connection speaks: `"ga"` (default) or `"beta"` (`OpenAI-Beta: realtime=v1`)."""

JSON = dict[str, Any]

SERVER_EVENT_GA_TO_BETA: Final[Mapping[str, str]] = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "conversation.item.added": "conversation.item.created",
}
"""Server event types renamed between GA and beta (GA name → beta name).

Types not listed keep their name, except those in `GA_ONLY_SERVER_EVENTS`, which beta lacks.
"""

SERVER_EVENT_BETA_TO_GA: Final[Mapping[str, str]] = {
    beta: ga for ga, beta in SERVER_EVENT_GA_TO_BETA.items()
}
"""Server event types renamed between beta and GA (beta name → GA name). Client event names
are alike in both dialects."""

GA_ONLY_SERVER_EVENTS: Final[frozenset[str]] = frozenset(
    {
        # Beta announced an item once (`created`); GA announces it twice (`added`, then `done`).
        "conversation.item.done",
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.dtmf_event_received",
        "conversation.item.input_audio_transcription.segment",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
    }
)
"""GA server events with no beta counterpart; a beta connection never sees them."""

AUDIO_FORMAT_BETA_TO_GA: Final[Mapping[str, JSON]] = {
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


def _fail(message: str, field: str, dialect: Dialect) -> CompileError:
    return CompileError(message, field=field, dialect=dialect)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --- audio formats ----------------------------------------------------------------------------


def audio_format_beta_to_ga(value: str, *, field: str = "format") -> JSON:
    """`"pcm16"` → `{"type": "audio/pcm", "rate": 24000}`, `"g711_ulaw"` → `{"type": "audio/pcmu"}`, ..."""
    try:
        return dict(AUDIO_FORMAT_BETA_TO_GA[value])
    except (KeyError, TypeError):
        raise _fail(f"unknown beta audio format {value!r}", field, "ga") from None


def audio_format_ga_to_beta(value: Mapping[str, Any], *, field: str = "format") -> str:
    """`{"type": "audio/pcm", "rate": 24000}` → `"pcm16"`; beta has no PCM rate but 24 kHz."""
    if not isinstance(value, Mapping):
        raise _fail(f"expected an audio format object, got {value!r}", field, "beta")
    kind = str(value.get("type"))
    if kind not in _AUDIO_FORMAT_GA_TO_BETA:
        raise _fail(f"unknown GA audio format type {kind!r}", _join(field, "type"), "beta")
    if kind == "audio/pcm" and value.get("rate", 24000) != 24000:
        raise _fail("beta pcm16 is 24 kHz only", _join(field, "rate"), "beta")
    extra = set(value) - {"type", "rate"}
    if extra:
        raise _fail(f"unknown audio format keys {sorted(extra)}", field, "beta")
    return _AUDIO_FORMAT_GA_TO_BETA[kind]


# --- modalities, tools, tool choice ------------------------------------------------------------


def _modalities_beta_to_ga(value: Any, field: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise _fail(f"expected a non-empty list of modalities, got {value!r}", field, "ga")
    # GA output is audio XOR text; audio output always carries its transcript, which is what
    # beta's ["text", "audio"] meant.
    return ["audio"] if "audio" in value else ["text"]


def _modalities_ga_to_beta(value: Any, field: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise _fail(f"expected a non-empty list of modalities, got {value!r}", field, "beta")
    if "audio" in value and "text" in value:
        raise _fail("GA output_modalities is audio or text, not both", field, "beta")
    return ["text", "audio"] if "audio" in value else ["text"]


def _tool_choice_beta_to_ga(value: Any) -> Any:
    if isinstance(value, str) and value not in _TOOL_CHOICE_KEYWORDS:
        # Beta named a forced function by a bare string.
        return {"type": "function", "name": value}
    return value


def _tool_choice_ga_to_beta(value: Any, field: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping) and value.get("type") == "function" and "name" in value:
        return value["name"]
    raise _fail(f"beta tool_choice is a string or function name, got {value!r}", field, "beta")


def _tools_ga_to_beta(value: Any, field: str) -> Any:
    if value is None:
        return None
    out: list[JSON] = []
    for index, tool in enumerate(value):
        path = f"{field}[{index}]"
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            kind = tool.get("type") if isinstance(tool, Mapping) else tool
            raise _fail(f"beta sessions offer function tools only, got {kind!r}", path, "beta")
        out.append(dict(tool))
    return out


def _tools_beta_to_ga(value: Any, field: str) -> Any:
    if value is None:
        return None
    out: list[JSON] = []
    for index, tool in enumerate(value):
        if not isinstance(tool, Mapping):
            raise _fail(f"expected a tool object, got {tool!r}", f"{field}[{index}]", "ga")
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
        raise _fail(f"expected a turn detection object, got {value!r}", field, "ga")
    converted = dict(value)
    # Beta's `type` is optional and defaults to server VAD; GA's union requires it.
    kind = converted.setdefault("type", "server_vad")
    allowed = {"server_vad": _SERVER_VAD_KEYS, "semantic_vad": _SEMANTIC_VAD_KEYS}.get(kind)
    if allowed is None:
        raise _fail(f"unknown turn detection type {kind!r}", _join(field, "type"), "ga")
    for key in converted:
        if key not in allowed:
            raise _fail(f"{kind} has no {key!r} in GA", _join(field, key), "ga")
    return converted


def _turn_detection_ga_to_beta(value: Any, field: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(f"expected a turn detection object, got {value!r}", field, "beta")
    for key, inner in value.items():
        # An unset GA-only knob (`idle_timeout_ms: null`) is beta's behaviour; drop it.
        if key not in _BETA_TURN_DETECTION_KEYS and inner is not None:
            raise _fail(f"beta turn detection has no {key!r}", _join(field, key), "beta")
    return {k: v for k, v in value.items() if k in _BETA_TURN_DETECTION_KEYS}


# --- sessions ----------------------------------------------------------------------------------

# Fields spelled alike in both dialects (values copied as they are).
_SHARED_SESSION_KEYS: Final[frozenset[str]] = frozenset(
    {"instructions", "model", "tracing", "id", "object", "expires_at"}
)
_BETA_TRANSCRIPTION_KEYS: Final[frozenset[str]] = frozenset({"model", "language", "prompt"})
_BETA_NOISE_REDUCTION_KEYS: Final[frozenset[str]] = frozenset({"type"})


def session_beta_to_ga(session: Mapping[str, Any]) -> JSON:
    """Render a beta session object (full or partial) as a GA session object.

    Adds `type: "realtime"` (required in GA); moves the flat audio fields under
    `audio.input` / `audio.output`. Raises `CompileError` for `temperature` and the
    `/realtime/sessions`-only `client_secret`, which GA sessions cannot express.
    """
    out: JSON = {"type": "realtime"}
    audio_in: JSON = {}
    audio_out: JSON = {}
    for key, value in session.items():
        if key in _SHARED_SESSION_KEYS:
            out[key] = value
        elif key == "modalities":
            out["output_modalities"] = _modalities_beta_to_ga(value, key)
        elif key == "max_response_output_tokens":
            out["max_output_tokens"] = value
        elif key == "tools":
            out["tools"] = _tools_beta_to_ga(value, key)
        elif key == "tool_choice":
            out["tool_choice"] = _tool_choice_beta_to_ga(value)
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
            raise _fail("GA sessions have no temperature", key, "ga")
        else:
            raise _fail(f"unknown beta session field {key!r}", key, "ga")
    if audio_in or audio_out:
        audio: JSON = {}
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


def session_ga_to_beta(session: Mapping[str, Any]) -> JSON:
    """Render a GA session object (full or partial) as a flat beta session object.

    Raises `CompileError` for what beta cannot say: transcription sessions, MCP tools, custom
    voice ids, `idle_timeout_ms`, transcription `delay`/`keywords`/`languages`, noise reduction
    `strength`, non-default `truncation`, `prompt`, `include`, `reasoning`, `parallel_tool_calls`.
    """
    out: JSON = {}
    for key, value in session.items():
        if key == "type":
            if value != "realtime":
                raise _fail(f"beta has no {value!r} session over session.update", key, "beta")
        elif key in _SHARED_SESSION_KEYS:
            out[key] = value
        elif key == "output_modalities":
            out["modalities"] = _modalities_ga_to_beta(value, key)
        elif key == "max_output_tokens":
            out["max_response_output_tokens"] = value
        elif key == "tools":
            out["tools"] = _tools_ga_to_beta(value, key)
        elif key == "tool_choice":
            out["tool_choice"] = _tool_choice_ga_to_beta(value, key)
        elif key == "audio":
            _audio_ga_to_beta(value, out)
        elif key in _GA_ONLY_SESSION_DEFAULTS:
            if value not in _GA_ONLY_SESSION_DEFAULTS[key]:
                raise _fail(f"beta sessions have no {key}", key, "beta")
        else:
            raise _fail(f"unknown GA session field {key!r}", key, "beta")
    return out


def _audio_ga_to_beta(audio: Any, out: JSON) -> None:
    if audio is None:
        return
    for direction, block in audio.items():
        if direction not in ("input", "output"):
            raise _fail(f"unknown audio direction {direction!r}", f"audio.{direction}", "beta")
        if block is None:
            continue
        for key, value in block.items():
            path = f"audio.{direction}.{key}"
            if key == "format":
                name = f"{direction}_audio_format"
                out[name] = None if value is None else audio_format_ga_to_beta(value, field=path)
            elif direction == "output" and key == "voice":
                if isinstance(value, Mapping):
                    raise _fail("beta has no custom voice ids", path, "beta")
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
                raise _fail(f"beta has no {key!r} here", path, "beta")


def _restricted(value: Any, allowed: frozenset[str], field: str) -> Any:
    if value is None:
        return None
    for key, inner in value.items():
        if key not in allowed and inner is not None:
            raise _fail(f"beta has no {key!r} here", _join(field, key), "beta")
    return {k: v for k, v in value.items() if k in allowed}


# --- items -------------------------------------------------------------------------------------

_ASSISTANT_CONTENT_BETA_TO_GA: Final[Mapping[str, str]] = {
    "text": "output_text",
    "audio": "output_audio",
}
_ASSISTANT_CONTENT_GA_TO_BETA: Final[Mapping[str, str]] = {
    ga: beta for beta, ga in _ASSISTANT_CONTENT_BETA_TO_GA.items()
}
_GA_ONLY_ITEM_TYPES: Final[frozenset[str]] = frozenset(
    {"mcp_list_tools", "mcp_call", "mcp_approval_request", "mcp_approval_response"}
)


def item_beta_to_ga(item: Mapping[str, Any], *, field: str = "item") -> JSON:
    """Render a beta conversation item as a GA one (assistant `text`/`audio` parts become
    `output_text`/`output_audio`; everything else is spelled alike)."""
    out = dict(item)
    content = item.get("content")
    if content is not None:
        assistant = item.get("role") == "assistant"
        parts: list[JSON] = []
        for index, part in enumerate(content):
            path = f"{field}.content[{index}]"
            converted = dict(part)
            kind = str(converted.get("type"))
            if kind == "item_reference" or "id" in converted:
                raise _fail("GA content parts cannot reference items", path, "ga")
            if assistant and kind in _ASSISTANT_CONTENT_BETA_TO_GA:
                converted["type"] = _ASSISTANT_CONTENT_BETA_TO_GA[kind]
            elif not assistant and kind in _ASSISTANT_CONTENT_BETA_TO_GA:
                # Beta accepted `text` parts on user/system items; GA names them input_text.
                if kind == "audio":
                    raise _fail("only assistant items carry output audio", path, "ga")
                converted["type"] = "input_text"
            parts.append(converted)
        out["content"] = parts
    return out


def item_ga_to_beta(item: Mapping[str, Any], *, field: str = "item") -> JSON:
    """Render a GA conversation item as a beta one; MCP items and images raise `CompileError`."""
    kind = item.get("type")
    if kind in _GA_ONLY_ITEM_TYPES:
        raise _fail(f"beta has no {kind} items", _join(field, "type"), "beta")
    out = dict(item)
    content = item.get("content")
    if content is not None:
        parts: list[JSON] = []
        for index, part in enumerate(content):
            path = f"{field}.content[{index}]"
            converted = dict(part)
            part_kind = str(converted.get("type"))
            if part_kind == "input_image":
                raise _fail("beta items cannot carry images", path, "beta")
            if part_kind in _ASSISTANT_CONTENT_GA_TO_BETA:
                converted["type"] = _ASSISTANT_CONTENT_GA_TO_BETA[part_kind]
            parts.append(converted)
        out["content"] = parts
    return out


# --- responses ---------------------------------------------------------------------------------


def response_ga_to_beta(response: Mapping[str, Any]) -> JSON:
    """Render a GA `response` object (of `response.created`/`.done`) in beta's shape."""
    out: JSON = {}
    for key, value in response.items():
        if key == "output_modalities":
            out["modalities"] = _modalities_ga_to_beta(value, f"response.{key}")
        elif key == "audio":
            output = (value or {}).get("output") or {}
            if output.get("format") is not None:
                out["output_audio_format"] = audio_format_ga_to_beta(
                    output["format"], field="response.audio.output.format"
                )
            if output.get("voice") is not None:
                out["voice"] = output["voice"]
        elif key == "output" and value is not None:
            out["output"] = [
                item_ga_to_beta(item, field=f"response.output[{i}]") for i, item in enumerate(value)
            ]
        elif key == "usage" and isinstance(value, Mapping):
            out["usage"] = _usage_ga_to_beta(value)
        else:
            out[key] = value
    return out


def _usage_ga_to_beta(usage: Mapping[str, Any]) -> JSON:
    # Beta usage predates image inputs and the cached-token breakdown.
    out = dict(usage)
    details = usage.get("input_token_details")
    if isinstance(details, Mapping):
        out["input_token_details"] = {
            k: v for k, v in details.items() if k in ("text_tokens", "audio_tokens", "cached_tokens")
        }
    return out


def response_beta_to_ga(response: Mapping[str, Any]) -> JSON:
    """Render a beta `response` object (of `response.created`/`.done`) in GA's shape."""
    out: JSON = {}
    output: JSON = {}
    for key, value in response.items():
        if key == "modalities":
            out["output_modalities"] = _modalities_beta_to_ga(value, f"response.{key}")
        elif key == "output_audio_format":
            if value is not None:
                output["format"] = audio_format_beta_to_ga(value, field=f"response.{key}")
        elif key == "voice":
            if value is not None:
                output["voice"] = value
        elif key == "temperature":
            continue  # an echo of a sampling setting GA no longer reports
        elif key == "output" and value is not None:
            out["output"] = [
                item_beta_to_ga(item, field=f"response.output[{i}]") for i, item in enumerate(value)
            ]
        else:
            out[key] = value
    if output:
        out["audio"] = {"output": output}
    return out


def response_params_ga_to_beta(params: Mapping[str, Any]) -> JSON:
    """Render GA `response.create` options as beta options."""
    out: JSON = {}
    for key, value in params.items():
        path = f"response.{key}"
        if key == "output_modalities":
            out["modalities"] = _modalities_ga_to_beta(value, path)
        elif key == "max_output_tokens":
            out["max_response_output_tokens"] = value
        elif key == "audio":
            output = (value or {}).get("output") or {}
            for inner, inner_value in output.items():
                if inner == "format":
                    out["output_audio_format"] = (
                        None
                        if inner_value is None
                        else audio_format_ga_to_beta(inner_value, field=f"{path}.output.format")
                    )
                elif inner == "voice":
                    if isinstance(inner_value, Mapping):
                        raise _fail("beta has no custom voice ids", f"{path}.output.voice", "beta")
                    out["voice"] = inner_value
                else:
                    raise _fail(f"beta has no {inner!r} here", f"{path}.output.{inner}", "beta")
        elif key == "tools":
            out["tools"] = _tools_ga_to_beta(value, path)
        elif key == "tool_choice":
            out["tool_choice"] = _tool_choice_ga_to_beta(value, path)
        elif key == "input" and value is not None:
            out["input"] = [
                item_ga_to_beta(item, field=f"{path}[{i}]") for i, item in enumerate(value)
            ]
        elif key in ("conversation", "instructions", "metadata"):
            out[key] = value
        elif key in ("prompt", "reasoning", "parallel_tool_calls"):
            if value is not None:
                raise _fail(f"beta responses have no {key}", path, "beta")
        else:
            raise _fail(f"unknown GA response option {key!r}", path, "beta")
    return out


def response_params_beta_to_ga(params: Mapping[str, Any]) -> JSON:
    """Render beta `response.create` options as GA options (`temperature` raises)."""
    out: JSON = {}
    output: JSON = {}
    for key, value in params.items():
        path = f"response.{key}"
        if key == "modalities":
            out["output_modalities"] = _modalities_beta_to_ga(value, path)
        elif key == "max_response_output_tokens":
            out["max_output_tokens"] = value
        elif key == "output_audio_format":
            output["format"] = None if value is None else audio_format_beta_to_ga(value, field=path)
        elif key == "voice":
            output["voice"] = value
        elif key == "tools":
            out["tools"] = _tools_beta_to_ga(value, path)
        elif key == "tool_choice":
            out["tool_choice"] = _tool_choice_beta_to_ga(value)
        elif key == "input" and value is not None:
            out["input"] = [
                _input_item_beta_to_ga(item, f"{path}[{i}]") for i, item in enumerate(value)
            ]
        elif key in ("conversation", "instructions", "metadata"):
            out[key] = value
        elif key == "temperature":
            raise _fail("GA responses have no temperature", path, "ga")
        else:
            raise _fail(f"unknown beta response option {key!r}", path, "ga")
    if output:
        out["audio"] = {"output": output}
    return out


def _input_item_beta_to_ga(item: Mapping[str, Any], field: str) -> JSON:
    if item.get("type") == "item_reference":
        return {"type": "item_reference", "id": item.get("id")}
    return item_beta_to_ga(item, field=field)


# --- whole events ------------------------------------------------------------------------------

_ITEM_EVENTS: Final[frozenset[str]] = frozenset(
    {
        "conversation.item.added",
        "conversation.item.created",
        "conversation.item.done",
        "conversation.item.retrieved",
        "response.output_item.added",
        "response.output_item.done",
    }
)


def server_event_ga_to_beta(event: Mapping[str, Any]) -> JSON | None:
    """Render one GA server event for a beta connection.

    Returns `None` for events beta never sends (`GA_ONLY_SERVER_EVENTS`, e.g.
    `conversation.item.done`). Only the fields that differ are rebuilt, so this is cheap for
    the hot audio-delta events (a dict copy and a rename).
    """
    kind = event.get("type")
    if not isinstance(kind, str) or kind in GA_ONLY_SERVER_EVENTS:
        return None
    out = dict(event)
    out["type"] = SERVER_EVENT_GA_TO_BETA.get(kind, kind)
    if kind in ("session.created", "session.updated"):
        out["session"] = session_ga_to_beta(event["session"])
    elif kind in _ITEM_EVENTS:
        out["item"] = item_ga_to_beta(event["item"])
    elif kind in ("response.created", "response.done"):
        out["response"] = response_ga_to_beta(event["response"])
    elif kind == "response.function_call_arguments.done":
        # Beta named the function on the output item only, not on this event.
        out.pop("name", None)
    return out


def server_event_beta_to_ga(event: Mapping[str, Any]) -> JSON:
    """Render one beta server event in GA terms (for clients that speak beta on the wire but
    want one event vocabulary inside). `conversation.item.created` becomes
    `conversation.item.added`. Beta's `response.function_call_arguments.done` has no `name`
    (GA requires one); take it from the `response.output_item.added` of the same item."""
    kind = event.get("type")
    out = dict(event)
    if not isinstance(kind, str):
        return out
    out["type"] = SERVER_EVENT_BETA_TO_GA.get(kind, kind)
    if kind in ("session.created", "session.updated"):
        out["session"] = session_beta_to_ga(_without(event["session"], ("temperature",)))
    elif kind in _ITEM_EVENTS:
        out["item"] = item_beta_to_ga(event["item"])
    elif kind in ("response.created", "response.done"):
        out["response"] = response_beta_to_ga(event["response"])
    return out


def _without(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> JSON:
    return {k: v for k, v in mapping.items() if k not in keys}


def client_event_ga_to_beta(event: Mapping[str, Any]) -> JSON:
    """Render one GA client event for a beta server."""
    kind = event.get("type")
    out = dict(event)
    if kind == "session.update":
        out["session"] = session_ga_to_beta(event["session"])
    elif kind == "conversation.item.create":
        out["item"] = item_ga_to_beta(event["item"])
    elif kind == "response.create" and event.get("response") is not None:
        out["response"] = response_params_ga_to_beta(event["response"])
    return out


def client_event_beta_to_ga(event: Mapping[str, Any]) -> JSON:
    """Render one beta client event in GA terms (what the local server does for beta clients).

    `temperature` raises `CompileError`; a caller that wants to tolerate it removes it first.
    """
    kind = event.get("type")
    out = dict(event)
    # Client event names are alike in both dialects (beta's `transcription_session.update`
    # has no GA counterpart over this path and is left for the caller to refuse).
    if kind == "session.update" and isinstance(event.get("session"), Mapping):
        out["session"] = session_beta_to_ga(event["session"])
    elif kind == "conversation.item.create" and isinstance(event.get("item"), Mapping):
        out["item"] = item_beta_to_ga(event["item"])
    elif kind == "response.create" and isinstance(event.get("response"), Mapping):
        out["response"] = response_params_beta_to_ga(event["response"])
    return out
