"""Conversation items, responses and `response.create` options between the dialects
(assistant `text` / `audio` parts vs GA `output_text` / `output_audio`; `modalities` vs
`output_modalities`; ...).

The settings a response shares with the session (audio formats, modalities, tools) are
converted by `protocol/dialect_sessions.py`; the overview is in `protocol/dialects.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .dialect_sessions import (
    audio_format_beta_to_ga,
    audio_format_ga_to_beta,
    conversion_error,
    field_path,
    modalities_beta_to_ga,
    modalities_ga_to_beta,
    tool_choice_beta_to_ga,
    tool_choice_ga_to_beta,
    tools_beta_to_ga,
    tools_ga_to_beta,
)
from .wire_types import JsonMapping, JsonObject

__all__ = [
    "item_beta_to_ga",
    "item_ga_to_beta",
    "response_beta_to_ga",
    "response_ga_to_beta",
    "response_params_beta_to_ga",
    "response_params_ga_to_beta",
]

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


def item_beta_to_ga(item: JsonMapping, *, field: str = "item") -> JsonObject:
    """Render a beta conversation item as a GA one (assistant `text`/`audio` parts become
    `output_text`/`output_audio`; everything else is spelled alike)."""
    out = dict(item)
    content = item.get("content")
    if content is not None:
        assistant = item.get("role") == "assistant"
        parts: list[JsonObject] = []
        for index, part in enumerate(content):
            path = f"{field}.content[{index}]"
            converted = dict(part)
            kind = str(converted.get("type"))
            if kind == "item_reference" or "id" in converted:
                raise conversion_error("GA content parts cannot reference items", path, "ga")
            if assistant and kind in _ASSISTANT_CONTENT_BETA_TO_GA:
                converted["type"] = _ASSISTANT_CONTENT_BETA_TO_GA[kind]
            elif not assistant and kind in _ASSISTANT_CONTENT_BETA_TO_GA:
                # Beta accepted `text` parts on user/system items; GA names them input_text.
                if kind == "audio":
                    raise conversion_error("only assistant items carry output audio", path, "ga")
                converted["type"] = "input_text"
            parts.append(converted)
        out["content"] = parts
    return out


def item_ga_to_beta(item: JsonMapping, *, field: str = "item") -> JsonObject:
    """Render a GA conversation item as a beta one; MCP items and images raise `CompileError`."""
    kind = item.get("type")
    if kind in _GA_ONLY_ITEM_TYPES:
        raise conversion_error(f"beta has no {kind} items", field_path(field, "type"), "beta")
    out = dict(item)
    content = item.get("content")
    if content is not None:
        parts: list[JsonObject] = []
        for index, part in enumerate(content):
            path = f"{field}.content[{index}]"
            converted = dict(part)
            part_kind = str(converted.get("type"))
            if part_kind == "input_image":
                raise conversion_error(
                    "the beta dialect cannot send images; use the GA protocol (dialect='ga')",
                    path,
                    "beta",
                )
            if part_kind in _ASSISTANT_CONTENT_GA_TO_BETA:
                converted["type"] = _ASSISTANT_CONTENT_GA_TO_BETA[part_kind]
            parts.append(converted)
        out["content"] = parts
    return out


# --- responses ---------------------------------------------------------------------------------


def response_ga_to_beta(response: JsonMapping) -> JsonObject:
    """Render a GA `response` object (of `response.created`/`.done`) in beta's shape."""
    out: JsonObject = {}
    for key, value in response.items():
        if key == "output_modalities":
            out["modalities"] = modalities_ga_to_beta(value, f"response.{key}")
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


def _usage_ga_to_beta(usage: JsonMapping) -> JsonObject:
    # Beta usage predates image inputs and the cached-token breakdown.
    out = dict(usage)
    details = usage.get("input_token_details")
    if isinstance(details, Mapping):
        out["input_token_details"] = {
            k: v for k, v in details.items() if k in ("text_tokens", "audio_tokens", "cached_tokens")
        }
    return out


def response_beta_to_ga(response: JsonMapping) -> JsonObject:
    """Render a beta `response` object (of `response.created`/`.done`) in GA's shape."""
    out: JsonObject = {}
    output: JsonObject = {}
    for key, value in response.items():
        if key == "modalities":
            out["output_modalities"] = modalities_beta_to_ga(value, f"response.{key}")
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


def response_params_ga_to_beta(params: JsonMapping) -> JsonObject:
    """Render GA `response.create` options as beta options."""
    out: JsonObject = {}
    for key, value in params.items():
        path = f"response.{key}"
        if key == "output_modalities":
            out["modalities"] = modalities_ga_to_beta(value, path)
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
                        raise conversion_error(
                            "beta has no custom voice ids", f"{path}.output.voice", "beta"
                        )
                    out["voice"] = inner_value
                else:
                    raise conversion_error(
                        f"beta has no {inner!r} here", f"{path}.output.{inner}", "beta"
                    )
        elif key == "tools":
            out["tools"] = tools_ga_to_beta(value, path)
        elif key == "tool_choice":
            out["tool_choice"] = tool_choice_ga_to_beta(value, path)
        elif key == "input" and value is not None:
            out["input"] = [
                item_ga_to_beta(item, field=f"{path}[{i}]") for i, item in enumerate(value)
            ]
        elif key in ("conversation", "instructions", "metadata"):
            out[key] = value
        elif key in ("prompt", "reasoning", "parallel_tool_calls"):
            if value is not None:
                raise conversion_error(f"beta responses have no {key}", path, "beta")
        else:
            raise conversion_error(f"unknown GA response option {key!r}", path, "beta")
    return out


def response_params_beta_to_ga(params: JsonMapping) -> JsonObject:
    """Render beta `response.create` options as GA options (`temperature` raises)."""
    out: JsonObject = {}
    output: JsonObject = {}
    for key, value in params.items():
        path = f"response.{key}"
        if key == "modalities":
            out["output_modalities"] = modalities_beta_to_ga(value, path)
        elif key == "max_response_output_tokens":
            out["max_output_tokens"] = value
        elif key == "output_audio_format":
            output["format"] = None if value is None else audio_format_beta_to_ga(value, field=path)
        elif key == "voice":
            output["voice"] = value
        elif key == "tools":
            out["tools"] = tools_beta_to_ga(value, path)
        elif key == "tool_choice":
            out["tool_choice"] = tool_choice_beta_to_ga(value)
        elif key == "input" and value is not None:
            out["input"] = [
                _input_item_beta_to_ga(item, f"{path}[{i}]") for i, item in enumerate(value)
            ]
        elif key in ("conversation", "instructions", "metadata"):
            out[key] = value
        elif key == "temperature":
            raise conversion_error("GA responses have no temperature", path, "ga")
        else:
            raise conversion_error(f"unknown beta response option {key!r}", path, "ga")
    if output:
        out["audio"] = {"output": output}
    return out


def _input_item_beta_to_ga(item: JsonMapping, field: str) -> JsonObject:
    if item.get("type") == "item_reference":
        return {"type": "item_reference", "id": item.get("id")}
    return item_beta_to_ga(item, field=field)


