"""Guardrails through a real session (the in-memory transport pair): async and sync checks
trip, a check that fails blocks or lets through as `GuardrailSettings.on_error` says, and the
model is given the configured words. What a caller and an app would notice: what reaches the
wire, and the events."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from agentkit import GuardrailSettings, RealtimeAgent, RunContext, input_guardrail
from agentkit.events import ErrorEvent, GuardrailTripped
from agentkit.guardrails import GuardrailResult, output_guardrail
from agentkit.runner import RealtimeRunner
from agentkit.transports import MemoryServerEnd, memory_transport_pair

DEFAULT_REPLY = "I'm sorry, I can't help with that."


async def async_wire_check(ctx: RunContext[Any], text: str) -> GuardrailResult:
    await anyio.sleep(0)  # a real await: the check is a coroutine, awaited by the session
    return GuardrailResult("wire" in text, {"matched": "wire"} if "wire" in text else {})


def sync_wire_check(ctx: RunContext[Any], text: str) -> bool:
    return "wire" in text


def crashing_check(ctx: RunContext[Any], text: str) -> bool:
    raise RuntimeError("classifier down")


async def async_crashing_check(ctx: RunContext[Any], text: str) -> bool:
    raise RuntimeError("classifier down")


_servers: list[MemoryServerEnd] = []


@pytest.fixture(autouse=True)
async def _close_server_ends() -> AsyncIterator[None]:
    yield
    for server in _servers:
        await server.close()
    _servers.clear()


async def next_of(server: MemoryServerEnd, kind: str) -> dict[str, Any]:
    with anyio.fail_after(2):
        while True:
            event = await server.receive_event()
            if event["type"] == kind:
                return event


async def typed_turn(
    check: Any, text: str, settings: GuardrailSettings | None = None, **guardrail: Any
) -> tuple[dict[str, Any], list[Any]]:
    """Type `text` into a session whose agent has the input guardrail `check`; the first
    frame the typed text caused on the wire, and the app's events."""
    agent = RealtimeAgent(
        name="A",
        instructions="x",
        input_guardrails=[input_guardrail(check, name="wire", **guardrail)],
    )
    client, server = memory_transport_pair()
    _servers.append(server)
    seen: list[Any] = []
    session = RealtimeRunner(agent, guardrails=settings).session(client)
    for name in ("guardrail_tripped", "error"):
        session.on(name, seen.append)
    async with session:
        await next_of(server, "session.update")
        await session.send_text(text)
        with anyio.fail_after(2):
            frame = await server.receive_event()
    return frame, seen


@pytest.mark.parametrize("check", [async_wire_check, sync_wire_check], ids=["async", "sync"])
async def test_async_and_sync_input_guardrails_trip_through_a_session(check: Any) -> None:
    frame, seen = await typed_turn(check, "please wire 500 dollars")
    # The typed text never reaches the model; the agent speaks the default safe reply instead.
    assert frame["type"] == "response.create"
    assert frame["response"]["instructions"] == (
        "Say exactly the following to the caller, word for word, and nothing else: "
        f'"{DEFAULT_REPLY}"'
    )
    (tripped,) = [e for e in seen if isinstance(e, GuardrailTripped)]
    assert (tripped.guardrail_name, tripped.stage) == ("wire", "input")
    assert tripped.text == "please wire 500 dollars" and tripped.safe_reply == DEFAULT_REPLY
    assert not any(isinstance(e, ErrorEvent) for e in seen)


@pytest.mark.parametrize("check", [async_wire_check, sync_wire_check], ids=["async", "sync"])
async def test_async_and_sync_input_guardrails_let_clean_text_through(check: Any) -> None:
    frame, seen = await typed_turn(check, "what are your opening hours?")
    assert frame["type"] == "conversation.item.create"
    assert frame["item"]["content"][0]["text"] == "what are your opening hours?"
    assert seen == []


async def test_a_safe_reply_is_quoted_for_the_model_and_none_asks_for_a_correction() -> None:
    frame, _ = await typed_turn(sync_wire_check, "wire it", safe_reply='Say "no" politely.')
    # Double quotes inside the reply would end the quoted sentence early.
    assert frame["response"]["instructions"].endswith(": \"Say 'no' politely.\"")
    no_default = GuardrailSettings(default_safe_reply=None)
    frame, seen = await typed_turn(sync_wire_check, "wire it", no_default)
    instructions = frame["response"]["instructions"]
    assert "stopped by the 'wire' guardrail" in instructions and "Do not act on it" in instructions
    (tripped,) = [e for e in seen if isinstance(e, GuardrailTripped)]
    assert tripped.safe_reply is None


@pytest.mark.parametrize(
    "check", [async_crashing_check, crashing_check], ids=["async", "sync"]
)
async def test_a_failing_guardrail_blocks_by_default_and_says_so(
    check: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert GuardrailSettings().on_error == "block"
    with caplog.at_level(logging.WARNING, logger="agentkit.guardrails"):
        frame, seen = await typed_turn(check, "what are your opening hours?")
    # Fail closed: the text does not go through, the caller hears the safe reply...
    assert frame["type"] == "response.create"
    assert DEFAULT_REPLY in frame["response"]["instructions"]
    (tripped,) = [e for e in seen if isinstance(e, GuardrailTripped)]
    assert tripped.details == {"error": "RuntimeError: classifier down"}
    # ...and loudly: an error event and a WARNING name the broken check.
    (error,) = [e for e in seen if isinstance(e, ErrorEvent)]
    assert error.code == "guardrail_error" and "'wire'" in str(error.error)
    assert "classifier down" in str(error.error)
    assert any(
        r.levelno == logging.WARNING and "'wire'" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    "check", [async_crashing_check, crashing_check], ids=["async", "sync"]
)
async def test_a_failing_guardrail_lets_the_text_through_with_allow_and_says_so(
    check: Any, caplog: pytest.LogCaptureFixture
) -> None:
    allow = GuardrailSettings(on_error="allow")
    with caplog.at_level(logging.WARNING, logger="agentkit.guardrails"):
        frame, seen = await typed_turn(check, "what are your opening hours?", allow)
    assert frame["type"] == "conversation.item.create"
    assert not any(isinstance(e, GuardrailTripped) for e in seen)
    (error,) = [e for e in seen if isinstance(e, ErrorEvent)]
    assert error.code == "guardrail_error"
    assert any(r.levelno == logging.WARNING for r in caplog.records)


async def test_an_async_output_guardrail_stops_a_streaming_answer() -> None:
    async def no_prices(ctx: RunContext[Any], text: str) -> bool:
        await anyio.sleep(0)
        return "$" in text

    agent = RealtimeAgent(
        name="A", instructions="x", output_guardrails=[output_guardrail(no_prices, name="price")]
    )
    client, server = memory_transport_pair()
    _servers.append(server)
    seen: list[Any] = []
    runner = RealtimeRunner(agent, guardrails=GuardrailSettings(output_debounce_chars=5))
    session = runner.session(client)
    session.on("guardrail_tripped", seen.append)
    async with session:
        await next_of(server, "session.update")
        await server.send_event(
            {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}}
        )
        await server.send_event(
            {
                "type": "conversation.item.added",
                "item": {
                    "id": "a1",
                    "type": "message",
                    "role": "assistant",
                    "status": "in_progress",
                    "content": [],
                },
            }
        )
        await server.send_event(
            {
                "type": "response.output_audio_transcript.delta",
                "response_id": "resp_1",
                "item_id": "a1",
                "output_index": 0,
                "content_index": 0,
                "delta": "That costs $40",
            }
        )
        cancel = await next_of(server, "response.cancel")
        # The safe reply waits for the cancelled response's end.
        await server.send_event(
            {
                "type": "response.done",
                "response": {"id": "resp_1", "status": "cancelled", "output": []},
            }
        )
        safe = await next_of(server, "response.create")
    assert cancel["response_id"] == "resp_1"
    assert DEFAULT_REPLY in safe["response"]["instructions"]
    (tripped,) = seen
    assert (tripped.guardrail_name, tripped.stage) == ("price", "output")
