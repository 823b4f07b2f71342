"""The client side of the Realtime wire protocol: decode server frames, encode client frames.

Pure functions and typed data, no I/O. The supervisor calls `decode_server_event` on every
inbound frame and sends whatever the `encode_*` functions return. Every name below is
importable from `agentkit.protocol`; each lives in the module of its one concept:

| module | what it holds |
| --- | --- |
| `protocol/decode.py` | `decode_server_event`: a wire event is decoded here (its hot path too) |
| `protocol/server_events.py` | the typed server events and their union, `ServerEvent` |
| `protocol/items.py` | conversation items: the typed `FunctionCallItem`, the client's items |
| `protocol/encode.py` | the `encode_*` functions: one client event, one text frame |
| `protocol/dialects.py` | GA vs beta: event names and whole events (`Dialect`) |
| `protocol/dialect_sessions.py` | GA vs beta: session settings and session objects |
| `protocol/dialect_items.py` | GA vs beta: items, responses, `response.create` options |
| `protocol/mcp.py` | hosted MCP: the `type: "mcp"` tool, its events, the approval answer |
| `protocol/wire_types.py` | the id NewTypes (`ItemId`, `CallId`, `ResponseId`), the JSON aliases |
| `protocol/sealed.py` | typed constructors of frozen events at the cost of a plain object |

The names load on first use (the table at the end): defining and compiling agents imports
`wire_types` and the dialect modules, not the decoder.

**Policy: decoding never raises**; a bad frame becomes a `MalformedServerEvent` (see
`protocol/decode.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .wire_types import (
    CallId,
    Dialect,
    ItemId,
    JsonMapping,
    JsonObject,
    ResponseId,
)

if TYPE_CHECKING:
    from .decode import decode_server_event
    from .encode import (
        ImageDetail,
        encode_client_event,
        encode_function_call_output,
        encode_input_audio_append,
        encode_input_audio_clear,
        encode_input_audio_commit,
        encode_item_create,
        encode_item_delete,
        encode_item_retrieve,
        encode_item_truncate,
        encode_output_audio_clear,
        encode_response_cancel,
        encode_response_create,
        encode_session_update,
        encode_user_image,
        encode_user_message,
        image_data_url,
    )
    from .items import (
        FunctionCallItem,
        function_call_item,
        function_call_output_item,
        user_message_item,
    )
    from .server_events import (
        ConversationItemAdded,
        ConversationItemCreated,
        ConversationItemDeleted,
        ConversationItemDone,
        ConversationItemRetrieved,
        ConversationItemTruncated,
        InputAudioBufferCleared,
        InputAudioBufferCommitted,
        InputAudioBufferDtmfEventReceived,
        InputAudioBufferSpeechStarted,
        InputAudioBufferSpeechStopped,
        InputAudioBufferTimeoutTriggered,
        InputAudioTranscriptionCompleted,
        InputAudioTranscriptionDelta,
        InputAudioTranscriptionFailed,
        MalformedServerEvent,
        McpEvent,
        OutputAudioBufferCleared,
        OutputAudioBufferStarted,
        OutputAudioBufferStopped,
        RateLimitsUpdated,
        ResponseContentPartAdded,
        ResponseContentPartDone,
        ResponseCreated,
        ResponseDone,
        ResponseFunctionCallArgumentsDelta,
        ResponseFunctionCallArgumentsDone,
        ResponseOutputAudioDelta,
        ResponseOutputAudioDone,
        ResponseOutputAudioTranscriptDelta,
        ResponseOutputAudioTranscriptDone,
        ResponseOutputItemAdded,
        ResponseOutputItemDone,
        ResponseOutputTextDelta,
        ResponseOutputTextDone,
        ServerError,
        ServerEvent,
        SessionCreated,
        SessionUpdated,
        UnknownServerEvent,
    )

__all__ = [
    "CallId",
    "ConversationItemAdded",
    "ConversationItemCreated",
    "ConversationItemDeleted",
    "ConversationItemDone",
    "ConversationItemRetrieved",
    "ConversationItemTruncated",
    "Dialect",
    "FunctionCallItem",
    "ImageDetail",
    "InputAudioBufferCleared",
    "InputAudioBufferCommitted",
    "InputAudioBufferDtmfEventReceived",
    "InputAudioBufferSpeechStarted",
    "InputAudioBufferSpeechStopped",
    "InputAudioBufferTimeoutTriggered",
    "InputAudioTranscriptionCompleted",
    "InputAudioTranscriptionDelta",
    "InputAudioTranscriptionFailed",
    "ItemId",
    "JsonMapping",
    "JsonObject",
    "MalformedServerEvent",
    "McpEvent",
    "OutputAudioBufferCleared",
    "OutputAudioBufferStarted",
    "OutputAudioBufferStopped",
    "RateLimitsUpdated",
    "ResponseContentPartAdded",
    "ResponseContentPartDone",
    "ResponseCreated",
    "ResponseDone",
    "ResponseFunctionCallArgumentsDelta",
    "ResponseFunctionCallArgumentsDone",
    "ResponseId",
    "ResponseOutputAudioDelta",
    "ResponseOutputAudioDone",
    "ResponseOutputAudioTranscriptDelta",
    "ResponseOutputAudioTranscriptDone",
    "ResponseOutputItemAdded",
    "ResponseOutputItemDone",
    "ResponseOutputTextDelta",
    "ResponseOutputTextDone",
    "ServerError",
    "ServerEvent",
    "SessionCreated",
    "SessionUpdated",
    "UnknownServerEvent",
    "decode_server_event",
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
    "function_call_item",
    "function_call_output_item",
    "image_data_url",
    "user_message_item",
]

# Imported on first use: `agentkit.protocol.wire_types` (which every layer imports) must not
# load the decoder and its ~80 event classes; the supervisor imports them when it runs.
_LAZY = {
    "decode_server_event": ".decode",
    "ImageDetail": ".encode",
    "encode_client_event": ".encode",
    "encode_function_call_output": ".encode",
    "encode_input_audio_append": ".encode",
    "encode_input_audio_clear": ".encode",
    "encode_input_audio_commit": ".encode",
    "encode_item_create": ".encode",
    "encode_item_delete": ".encode",
    "encode_item_retrieve": ".encode",
    "encode_item_truncate": ".encode",
    "encode_output_audio_clear": ".encode",
    "encode_response_cancel": ".encode",
    "encode_response_create": ".encode",
    "encode_session_update": ".encode",
    "encode_user_image": ".encode",
    "encode_user_message": ".encode",
    "image_data_url": ".encode",
    "FunctionCallItem": ".items",
    "function_call_item": ".items",
    "function_call_output_item": ".items",
    "user_message_item": ".items",
    "ConversationItemAdded": ".server_events",
    "ConversationItemCreated": ".server_events",
    "ConversationItemDeleted": ".server_events",
    "ConversationItemDone": ".server_events",
    "ConversationItemRetrieved": ".server_events",
    "ConversationItemTruncated": ".server_events",
    "InputAudioBufferCleared": ".server_events",
    "InputAudioBufferCommitted": ".server_events",
    "InputAudioBufferDtmfEventReceived": ".server_events",
    "InputAudioBufferSpeechStarted": ".server_events",
    "InputAudioBufferSpeechStopped": ".server_events",
    "InputAudioBufferTimeoutTriggered": ".server_events",
    "InputAudioTranscriptionCompleted": ".server_events",
    "InputAudioTranscriptionDelta": ".server_events",
    "InputAudioTranscriptionFailed": ".server_events",
    "MalformedServerEvent": ".server_events",
    "McpEvent": ".server_events",
    "OutputAudioBufferCleared": ".server_events",
    "OutputAudioBufferStarted": ".server_events",
    "OutputAudioBufferStopped": ".server_events",
    "RateLimitsUpdated": ".server_events",
    "ResponseContentPartAdded": ".server_events",
    "ResponseContentPartDone": ".server_events",
    "ResponseCreated": ".server_events",
    "ResponseDone": ".server_events",
    "ResponseFunctionCallArgumentsDelta": ".server_events",
    "ResponseFunctionCallArgumentsDone": ".server_events",
    "ResponseOutputAudioDelta": ".server_events",
    "ResponseOutputAudioDone": ".server_events",
    "ResponseOutputAudioTranscriptDelta": ".server_events",
    "ResponseOutputAudioTranscriptDone": ".server_events",
    "ResponseOutputItemAdded": ".server_events",
    "ResponseOutputItemDone": ".server_events",
    "ResponseOutputTextDelta": ".server_events",
    "ResponseOutputTextDone": ".server_events",
    "ServerError": ".server_events",
    "ServerEvent": ".server_events",
    "SessionCreated": ".server_events",
    "SessionUpdated": ".server_events",
    "UnknownServerEvent": ".server_events",
}

__getattr__ = lazy_exports(__name__, _LAZY)
