"""Encoding for GPT-Live: the supervisor's client frames rendered as Live client events.

The supervisor writes its frames once, in Realtime terms (`protocol/encode.py`); on a Live
session each one is rendered here on its way out (`live_frames`), as the beta dialect is:

| the supervisor sends | Live gets |
| --- | --- |
| `input_audio_buffer.append` | `session.input_audio.append` (same `audio`) |
| `conversation.item.create` of a `function_call_output` | `response.item.create` of it |
| `conversation.item.create` of a typed user message | `response.item.create` of it (for the backend) |
| `response.create` | `response.create` (continue the delegated response, or answer the typed message) |
| `response.create` with `instructions` (a safe reply, a directed turn) | `session.instructions.append` of them, same `event_id` (the runtime matches its ack) |

What Live does itself, and so has no client event for, is not sent: `response.cancel` and
`output_audio_buffer.clear` (the service handles barge-in and stops its own speech),
`conversation.item.truncate` (it knows what was played), `conversation.item.delete` (the
voice layer's context cannot be edited: a guardrail trip steers it instead) and
`input_audio_buffer.commit` / `.clear` (its turn detection is built in; the runtime refuses
push-to-talk on Live before anything is sent). Every other frame, Live's own
events included, goes out as it is: a Realtime event the app sends raw reaches the service,
which answers it with an `error`, never dropped here.

The handoff's `session.update` and the reconnect's replay are built as Live events by the
compiler (`agentkit.compiler.compile_live_start` / `compile_live_swap`), not rendered here.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from .live_config import live_instructions_append, live_response_create, live_response_item
from .wire_types import JsonObject

_dumps = orjson.dumps

__all__ = ["live_frames"]

_APPEND: Final = '{"type":"input_audio_buffer.append",'
_LIVE_APPEND: Final = '{"type":"session.input_audio.append",'
_NOT_SENT: Final = frozenset(
    {
        "response.cancel",
        "output_audio_buffer.clear",
        "conversation.item.truncate",
        "conversation.item.delete",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
    }
)


def live_frames(frame: str) -> list[str]:
    """`frame` (a Realtime client event) as the Live client events that carry it (see the
    module docs); `[]` for what Live does itself."""
    if frame.startswith(_APPEND):
        # The hot path (10-50 a second): the same event under Live's name, no parsing.
        return [_LIVE_APPEND + frame[len(_APPEND) :]]
    try:
        event = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return [frame]
    if not isinstance(event, dict):
        return [frame]
    kind = event.get("type")
    if kind in _NOT_SENT:
        return []
    event_id = event.get("event_id") if type(event.get("event_id")) is str else None
    if kind == "conversation.item.create":
        item = _backend_item(event.get("item"))
        return [frame] if item is None else [_dumps(live_response_item(item, event_id)).decode()]
    if kind == "response.create":
        params = event.get("response")
        if not params:
            return [_dumps(live_response_create(event_id)).decode()]
        instructions = params.get("instructions") if isinstance(params, dict) else None
        if isinstance(instructions, str) and set(params) == {"instructions"}:
            return [_dumps(live_instructions_append(instructions, event_id)).decode()]
    return [frame]


def _backend_item(item: Any) -> JsonObject | None:
    """A Realtime item as a Responses input item (`None`: no Live equivalent)."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind == "function_call_output":
        return {"type": "function_call_output", "call_id": item.get("call_id"), "output": item.get("output")}
    if kind == "message" and item.get("role") == "user":
        content = item.get("content")
        if isinstance(content, list) and all(
            isinstance(part, dict) and part.get("type") == "input_text" for part in content
        ):
            parts = [{"type": "input_text", "text": part.get("text", "")} for part in content]
            return {"type": "message", "role": "user", "content": parts}
    return None
