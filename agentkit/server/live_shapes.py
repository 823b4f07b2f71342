"""The shapes the local server's Live endpoint sends: Live server events and the Responses
streaming events nested in `response.event`, as plain dicts.

Pure functions, no state: `live_session.py` decides what to send and when; this module only
lays it out as `openai.types.live` (and, nested, `openai.types.responses`) shape it. The
server's event ids are its own (`event_live_...`); the ids of what the model makes come from
the Realtime core it wraps (`resp_...`, `item_...`, `call_...`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..protocol.wire_types import JsonObject
from .errors import error_body

__all__ = [
    "BACKEND_DONE",
    "backend_item",
    "backend_response",
    "live_error",
    "live_resource",
]

BACKEND_DONE: Final[Mapping[str, str]] = {
    "completed": "response.completed",
    "failed": "response.failed",
    "incomplete": "response.incomplete",
    "cancelled": "response.incomplete",
}
"""A Realtime response's final status → the Responses stream event that ends it."""


def live_error(
    message: str,
    code: str | None,
    *,
    param: str | None = None,
    client_event_id: Any = None,
    kind: str = "invalid_request_error",
) -> JsonObject:
    """An `error` event's body (without `event_id`): `openai.types.live.Error` names the
    client event `client_event_id` (the Realtime body's `event_id`)."""
    body = error_body(message, code, param=param, event_id=client_event_id, kind=kind)
    cid = body.pop("event_id")
    error: JsonObject = {"type": body["type"], "code": code or "server_error", "message": message}
    if param is not None:
        error["param"] = param
    event: JsonObject = {"type": "error", "error": error}
    if cid is not None:
        error["client_event_id"] = cid
        event["client_event_id"] = cid
    return event


def live_resource(
    session_id: str,
    expires_at: int,
    config: Mapping[str, Any],
    delegation: Mapping[str, Any],
    voice: Any,
    audio_format: Mapping[str, Any],
) -> JsonObject:
    """The `SessionResource` of `session.started` / `.updated` / `.closed`: the startup
    configuration with the server's defaults resolved."""
    resource: JsonObject = {
        "id": session_id,
        "expires_at": expires_at,
        "model": config["model"],
        "status": "active",
        "audio": {"format": dict(audio_format), "output": {"voice": voice}},
        "delegation": dict(delegation),
        "store": bool(config.get("store") or False),
    }
    for key in ("instructions", "input", "safety_identifier"):
        if config.get(key) is not None:
            resource[key] = config[key]
    return resource


def backend_response(
    response_id: str, status: str, model: str, created_at: int, tool_choice: Any = "auto"
) -> JsonObject:
    """A Responses lifecycle snapshot (`response.created` / `.completed`): as Live sends them,
    with input left out and instructions, tools and output cleared to keep messages small."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "model": model,
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": tool_choice if tool_choice is not None else "auto",
        "tools": [],
        "instructions": None,
    }


def backend_item(item: Mapping[str, Any]) -> JsonObject | None:
    """A Realtime output item as a Responses output item (`None`: nothing to report)."""
    kind = item.get("type")
    if kind == "function_call":
        return {
            "type": "function_call",
            "id": f"fc_{item.get('id', '')}",
            "call_id": item.get("call_id"),
            "name": item.get("name"),
            "arguments": item.get("arguments") or "{}",
            "status": "completed",
        }
    if kind == "message":
        text = " ".join(
            str(part.get("transcript") or part.get("text") or "")
            for part in item.get("content") or ()
            if isinstance(part, dict)
        ).strip()
        return {
            "type": "message",
            "id": f"msg_{item.get('id', '')}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
    return None
