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

Everything here is a pure function over plain JsonObject dicts: no I/O, no validation of fields the
two dialects share. The converters never fill in defaults, so a *partial* `session.update`
stays partial and `null` (which clears a field) stays `null`. A field the target dialect
cannot express raises `CompileError` with its dotted path instead of being dropped.

Where each part lives: the event names and whole events are here; session settings (audio
formats, modalities, tools, turn detection, sessions) in `protocol/dialect_sessions.py`;
items, responses and `response.create` options in `protocol/dialect_items.py`. Every
converter is importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .dialect_items import (
    item_beta_to_ga,
    item_ga_to_beta,
    response_beta_to_ga,
    response_ga_to_beta,
    response_params_beta_to_ga,
    response_params_ga_to_beta,
)
from .dialect_sessions import (
    AUDIO_FORMAT_BETA_TO_GA,
    audio_format_beta_to_ga,
    audio_format_ga_to_beta,
    session_beta_to_ga,
    session_ga_to_beta,
)
from .wire_types import Dialect, JsonMapping, JsonObject

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


def server_event_ga_to_beta(event: JsonMapping) -> JsonObject | None:
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


def server_event_beta_to_ga(event: JsonMapping) -> JsonObject:
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


def _without(mapping: JsonMapping, keys: tuple[str, ...]) -> JsonObject:
    return {k: v for k, v in mapping.items() if k not in keys}


def client_event_ga_to_beta(event: JsonMapping) -> JsonObject:
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


def client_event_beta_to_ga(event: JsonMapping) -> JsonObject:
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
