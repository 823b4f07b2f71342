"""The sans-I/O session façade, driven with made-up timestamps: no sockets, no sleeping."""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

import orjson
import pytest
from session_harness import Harness

from agentkit.server import (
    CloseConnection,
    errors,
    faults,
    input_audio,
    items,
    outbox,
    responses,
    session_config,
    vad,
)
from agentkit.server import session as session_module

# The sans-I/O core: the façade and every part it is made of.
CORE_MODULES = [
    session_module, session_config, items, input_audio, responses, outbox, errors, faults, vad,
]


@pytest.mark.parametrize("module", CORE_MODULES, ids=lambda m: m.__name__)
def test_core_has_no_io(module: ModuleType) -> None:
    tree = ast.parse(inspect.getsource(module))
    imported = {n.names[0].name for n in ast.walk(tree) if isinstance(n, ast.Import)} | {
        n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert not imported & {"asyncio", "socket", "websockets", "time", "threading", "trio", "anyio"}


def test_text_turn_with_tool_call_and_continuation() -> None:
    h = Harness()
    h.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
    h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "where is my order 42"}]}})
    out = h.send({"type": "response.create"})
    assert h.types(out) == [
        "response.created", "rate_limits.updated",
        "response.output_item.added", "conversation.item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "conversation.item.done",
        "response.output_item.added", "conversation.item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done", "conversation.item.done",
        "response.done",
    ]
    done = out[-1]["response"]
    assert done["status"] == "completed" and done["usage"]["total_tokens"] > 0
    call = done["output"][1]
    assert call["name"] == "lookup_order" and orjson.loads(call["arguments"]) == {"order_id": "42"}
    h.send({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call["call_id"], "output": '{"order_id": "42", "status": "shipped"}'}})
    out = h.send({"type": "response.create"})
    text = next(e for e in out if e["type"] == "response.output_text.done")["text"]
    assert text == "Order 42 is shipped."


def test_greeting_and_fallback() -> None:
    h = Harness()
    out = h.send({"type": "response.create"})
    assert next(e for e in out if e["type"] == "response.output_audio_transcript.done")["transcript"] == "Hello, how can I help?"
    h.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Sing me a song"}]}})
    out = h.send({"type": "response.create"})
    transcript = next(e for e in out if e["type"] == "response.output_audio_transcript.done")["transcript"]
    assert transcript == "Sorry, I can't help with that. You said: Sing me a song"


@pytest.mark.parametrize(
    ("raw", "code", "param"),
    [
        (b"{not json", "invalid_event", None),
        (b'{"event_id": "x"}', "invalid_event", "type"),
        (b'{"type": "response.make_it_so"}', "invalid_event", "type"),
        (b'{"type": "input_audio_buffer.append"}', "invalid_event", "audio"),
        (b'{"type": "input_audio_buffer.append", "audio": "%%%"}', "invalid_event", "audio"),
        (b'{"type": "conversation.item.create"}', "invalid_event", "item"),
        (b'{"type": "conversation.item.retrieve"}', "invalid_event", "item_id"),
        (b'{"type": "input_audio_buffer.commit"}', "input_audio_buffer_commit_empty", None),
        (b'{"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}}', "invalid_value", "session.audio.input.format.rate"),
        (b'{"type": "session.update", "session": {"type": "realtime", "model": 42}}', "invalid_type", "session.model"),
    ],
)
def test_error_codes_and_session_goes_on(raw: bytes, code: str, param: str | None) -> None:
    h = Harness()
    h.core.receive(raw, h.now)
    error = h.error(h.drain())
    assert error["code"] == code and error["param"] == param
    assert error["type"] == "invalid_request_error"
    out = h.send({"type": "input_audio_buffer.clear"})
    assert h.types(out) == ["input_audio_buffer.cleared"]


def test_session_expires() -> None:
    h = Harness(max_duration_s=5)
    assert h.core.next_deadline() == pytest.approx(h.now + 5)
    out = h.advance(5)
    assert h.error(out)["code"] == "session_expired"
    assert h.closes == [CloseConnection(1001, "session expired")]
    assert h.core.next_deadline() is None
