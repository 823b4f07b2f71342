"""Encoding: the client events, each written as one text frame (`encode_*`).

Every `encode_*` function returns one client frame as a `str` (JSON by orjson), for either
dialect. Items and `response.create` options are written in GA terms and rendered for beta by
`protocol/dialect_sessions.py` and `protocol/dialect_items.py`; the items themselves are built
in `protocol/items.py`. Pure functions, no I/O: the caller sends what they return.
"""

from __future__ import annotations

import binascii
from typing import Literal

import orjson
import pybase64

from ..errors import UserError
from .dialect_items import item_ga_to_beta, response_params_ga_to_beta
from .dialect_sessions import session_ga_to_beta
from .items import function_call_output_item, user_message_item
from .wire_types import Dialect, JsonMapping, JsonObject

__all__ = [
    "encode_client_event",
    "encode_function_call_output",
    "encode_input_audio_append",
    "encode_input_audio_clear",
    "encode_input_audio_commit",
    "encode_item_create",
    "encode_item_delete",
    "encode_item_retrieve",
    "encode_item_truncate",
    "encode_output_audio_clear",
    "encode_response_cancel",
    "encode_response_create",
    "encode_session_update",
    "encode_user_image",
    "encode_user_message",
    "image_data_url",
]

ImageDetail = Literal["auto", "low", "high"]
"""How closely the model looks at an image (`auto` is `high` on the service)."""

_dumps = orjson.dumps
_b64encode = pybase64.b64encode


def _frame(event: JsonObject, event_id: str | None) -> str:
    if event_id is not None:
        event["event_id"] = event_id
    return _dumps(event).decode()


def encode_client_event(event: JsonMapping) -> str:
    """Send any client event as it is (a raw passthrough for what has no helper)."""
    return _dumps(dict(event)).decode()


def encode_session_update(
    session: JsonMapping, *, dialect: Dialect = "ga", event_id: str | None = None
) -> str:
    """`session.update` with a GA session object, rendered flat for beta."""
    body = session_ga_to_beta(session) if dialect == "beta" else dict(session)
    return _frame({"type": "session.update", "session": body}, event_id)


def encode_input_audio_append(
    audio: bytes | bytearray | memoryview, *, event_id: str | None = None
) -> str:
    """`input_audio_buffer.append` with the audio base64-encoded (same in both dialects)."""
    # Sent 10-50 times a second: concatenate instead of building and dumping a dict. The
    # base64 alphabet needs no JSON escaping.
    encoded = _b64encode(audio).decode("ascii")
    if event_id is None:
        return '{"type":"input_audio_buffer.append","audio":"' + encoded + '"}'
    return _frame({"type": "input_audio_buffer.append", "audio": encoded}, event_id)


def encode_input_audio_commit(*, event_id: str | None = None) -> str:
    """`input_audio_buffer.commit`: the buffer becomes a user item (push-to-talk end)."""
    return _frame({"type": "input_audio_buffer.commit"}, event_id)


def encode_input_audio_clear(*, event_id: str | None = None) -> str:
    """`input_audio_buffer.clear`: drop uncommitted input audio (push-to-talk start)."""
    return _frame({"type": "input_audio_buffer.clear"}, event_id)


def encode_output_audio_clear(*, event_id: str | None = None) -> str:
    """`output_audio_buffer.clear` (WebRTC/SIP only; send `response.cancel` first)."""
    return _frame({"type": "output_audio_buffer.clear"}, event_id)


def encode_item_create(
    item: JsonMapping,
    *,
    previous_item_id: str | None = None,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`conversation.item.create` with a GA item, rendered for beta (`output_text` → `text`).

    `previous_item_id` places the item after that one; absent, it is appended.
    """
    body = item_ga_to_beta(item) if dialect == "beta" else dict(item)
    event: JsonObject = {"type": "conversation.item.create", "item": body}
    if previous_item_id is not None:
        event["previous_item_id"] = previous_item_id
    return _frame(event, event_id)


def encode_user_message(
    text: str,
    *,
    previous_item_id: str | None = None,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`conversation.item.create` of a user text message."""
    return encode_item_create(
        user_message_item(text),
        previous_item_id=previous_item_id,
        dialect=dialect,
        event_id=event_id,
    )


def image_data_url(data: bytes | str, mime_type: str = "image/png") -> str:
    """The `data:` URL an `input_image` part carries (GA: `data:image/png;base64,...`).

    `data` is the image's bytes, or a `str` that is already a `data:` URL (kept as it is)
    or the image's base64 text. `UserError` for what the service would refuse: a MIME type
    that is not an image, base64 that does not decode.
    """
    if isinstance(data, str) and data.startswith("data:"):
        if not data.startswith("data:image/"):
            raise UserError(f"an image data URL must be data:image/...; got {data[:30]!r}")
        return data
    if not mime_type.startswith("image/"):
        raise UserError(f"mime_type must be an image type (image/png, image/jpeg); got {mime_type!r}")
    if isinstance(data, str):
        try:
            pybase64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise UserError("image data given as str must be base64 or a data: URL") from None
        encoded = data
    else:
        encoded = _b64encode(data).decode()
    return f"data:{mime_type};base64,{encoded}"


def encode_user_image(
    image_url: str,
    *,
    text: str | None = None,
    detail: ImageDetail | None = None,
    item_id: str | None = None,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`conversation.item.create` of a user message with an `input_image` part (then an
    `input_text` part with `text`, if given).

    GA only: the beta dialect has no image parts, so `dialect="beta"` raises `CompileError`.
    """
    image: JsonObject = {"type": "input_image", "image_url": image_url}
    if detail is not None:
        image["detail"] = detail
    content: list[JsonObject] = [image]
    if text:
        content.append({"type": "input_text", "text": text})
    item: JsonObject = {"type": "message", "role": "user", "content": content}
    if item_id is not None:
        item["id"] = item_id
    return encode_item_create(item, dialect=dialect, event_id=event_id)


def encode_function_call_output(
    call_id: str,
    output: str,
    *,
    previous_item_id: str | None = None,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`conversation.item.create` of a `function_call_output` for `call_id`."""
    return encode_item_create(
        function_call_output_item(call_id, output),
        previous_item_id=previous_item_id,
        dialect=dialect,
        event_id=event_id,
    )


def encode_item_truncate(
    item_id: str, content_index: int, audio_end_ms: int, *, event_id: str | None = None
) -> str:
    """`conversation.item.truncate`: the caller heard `audio_end_ms` of this assistant audio."""
    return _frame(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": content_index,
            "audio_end_ms": audio_end_ms,
        },
        event_id,
    )


def encode_item_delete(item_id: str, *, event_id: str | None = None) -> str:
    """`conversation.item.delete`."""
    return _frame({"type": "conversation.item.delete", "item_id": item_id}, event_id)


def encode_item_retrieve(item_id: str, *, event_id: str | None = None) -> str:
    """`conversation.item.retrieve` (the server answers with the item, audio included)."""
    return _frame({"type": "conversation.item.retrieve", "item_id": item_id}, event_id)


def encode_response_create(
    params: JsonMapping | None = None,
    *,
    dialect: Dialect = "ga",
    event_id: str | None = None,
) -> str:
    """`response.create`, with optional GA options (`instructions`, `output_modalities`,
    `max_output_tokens`, `metadata`, ...) renamed for beta (`modalities`,
    `max_response_output_tokens`, ...)."""
    event: JsonObject = {"type": "response.create"}
    if params:
        event["response"] = (
            response_params_ga_to_beta(params) if dialect == "beta" else dict(params)
        )
    return _frame(event, event_id)


def encode_response_cancel(response_id: str | None = None, *, event_id: str | None = None) -> str:
    """`response.cancel`, of `response_id` or of the active response."""
    event: JsonObject = {"type": "response.cancel"}
    if response_id is not None:
        event["response_id"] = response_id
    return _frame(event, event_id)
