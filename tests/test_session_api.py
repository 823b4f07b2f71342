"""The session's calls for speaking first and for images: `respond()`, the quiet warning
(on the session's clock), `send_image()` over the in-memory pair and end to end against the
local server over a real WebSocket."""

from __future__ import annotations

import base64
import logging
from typing import Any

import anyio
import pytest
from test_session import FakeClock, advance, next_of, settle

from agentkit import RealtimeAgent, RealtimeRunner, SessionLimits, UserError, WebSocketTransport
from agentkit.errors import CompileError
from agentkit.protocol.encode import image_data_url
from agentkit.server import LocalRealtimeServer
from agentkit.session import RealtimeSession
from agentkit.transports import memory_transport_pair, realtime_url

agent = RealtimeAgent(name="Guide", instructions="You describe pictures.")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


async def iterate(session: RealtimeSession[Any]) -> None:
    async for _ in session:
        pass


# --- respond() -----------------------------------------------------------------------------


async def test_respond_makes_the_agent_speak_first() -> None:
    client, server = memory_transport_pair()
    async with RealtimeRunner(agent).session(client) as session:
        await next_of(server, "session.update")
        await session.respond("Greet the caller.")
        create = await next_of(server, "response.create")
        assert create["response"] == {"instructions": "Greet the caller."}
    await server.close()


# --- the quiet warning ---------------------------------------------------------------------


QUIET = "nothing is owed"


async def quiet_session(
    caplog: pytest.LogCaptureFixture, *, before: Any = None, quiet_s: float | None = 10.0
) -> list[str]:
    """Iterate a session that nobody speaks in for 25 s of its clock; the warnings logged."""
    client, server = memory_transport_pair()
    clock = FakeClock()
    runner = RealtimeRunner(agent, limits=SessionLimits(quiet_warning_s=quiet_s))
    session = runner.session(client, clock=clock)
    with caplog.at_level(logging.WARNING, logger="agentkit.session"):
        async with session, anyio.create_task_group() as tasks:
            await next_of(server, "session.update")
            if before is not None:
                await before(session)
            tasks.start_soon(iterate, session)
            await settle()
            await advance(session, clock, 9.9)
            assert not [r for r in caplog.records if QUIET in r.getMessage()]
            for _ in range(3):
                await advance(session, clock, 5.0)
            await session.close()
    await server.close()
    return [r.getMessage() for r in caplog.records if QUIET in r.getMessage()]


async def test_a_session_waiting_for_a_first_turn_nobody_asked_for_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    warnings = await quiet_session(caplog)
    assert len(warnings) == 1
    assert "session.respond()" in warnings[0]


async def test_no_quiet_warning_once_the_app_asked_for_a_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def greet(session: RealtimeSession[Any]) -> None:
        await session.respond()

    assert await quiet_session(caplog, before=greet) == []


async def test_no_quiet_warning_once_the_caller_spoke(caplog: pytest.LogCaptureFixture) -> None:
    async def speak(session: RealtimeSession[Any]) -> None:
        await session.send_audio(b"\x00\x00" * 2400)

    assert await quiet_session(caplog, before=speak) == []


async def test_the_quiet_warning_can_be_turned_off(caplog: pytest.LogCaptureFixture) -> None:
    assert await quiet_session(caplog, quiet_s=None) == []


# --- send_image() ----------------------------------------------------------------------------


def test_image_data_url_takes_bytes_base64_or_a_data_url() -> None:
    encoded = base64.b64encode(PNG).decode()
    assert image_data_url(PNG) == f"data:image/png;base64,{encoded}"
    assert image_data_url(encoded, "image/jpeg") == f"data:image/jpeg;base64,{encoded}"
    assert image_data_url(f"data:image/png;base64,{encoded}") == f"data:image/png;base64,{encoded}"
    with pytest.raises(UserError, match="image type"):
        image_data_url(PNG, "text/plain")
    with pytest.raises(UserError, match="base64"):
        image_data_url("not base64!")


async def test_the_beta_dialect_cannot_send_an_image() -> None:
    client, server = memory_transport_pair()
    async with RealtimeRunner(agent, dialect="beta").session(client) as session:
        await next_of(server, "session.update")
        server.drain()
        with pytest.raises(CompileError, match="the beta dialect cannot send images"):
            await session.send_image(PNG, text="What is this?")
        await settle()
        assert server.drain() == []
    await server.close()


SCRIPT = {
    "turns": [
        {"user": "What is in this picture?", "mode": "text", "steps": [{"say": "A small cat."}]}
    ]
}


async def test_an_image_reaches_the_local_server_and_the_agent_answers() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        transport = WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="sk-test")
        async with RealtimeRunner(agent).session(transport) as session:
            await session.send_image(PNG, text="What is in this picture?", detail="low")
            with anyio.fail_after(5):
                async for event in session:
                    if event.type == "assistant_transcript":
                        assert event.transcript == "A small cat."
                        break
            (core,) = server.sessions.values()
            users = [i.data for i in core.items.values() if i.data.get("role") == "user"]
            assert users[0]["content"] == [
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64," + base64.b64encode(PNG).decode(),
                    "detail": "low",
                },
                {"type": "input_text", "text": "What is in this picture?"},
            ]
            recorded = [(i.role, i.text) for i in session.history.items()]
            assert recorded == [("user", "What is in this picture?"), ("assistant", "A small cat.")]
            # The image is in the history too, so a reconnect replays it.
            image = "data:image/png;base64," + base64.b64encode(PNG).decode()
            assert session.history.items()[0].images == (image,)
