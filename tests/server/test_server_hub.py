"""`agentkit.server.hub`: a session's events rendered for a beta connection, and the pump's
sleep that a `wake()` cuts short."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from agentkit.server.hub import Hub, beta_text


def test_a_beta_connection_gets_beta_names_and_nothing_beta_lacks() -> None:
    delta = beta_text({"type": "response.output_audio.delta", "event_id": "e1", "delta": "AA"})
    assert delta == b'{"type":"response.audio.delta","event_id":"e1","delta":"AA"}'
    assert beta_text({"type": "conversation.item.done", "event_id": "e2"}) is None


def test_what_beta_cannot_express_becomes_an_error_event() -> None:
    event = {
        "type": "session.updated",
        "event_id": "e3",
        "session": {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcm", "rate": 16000}}}},
    }
    rendered = beta_text(event)
    assert rendered is not None
    error: dict[str, Any] = orjson.loads(rendered)
    assert (error["type"], error["event_id"]) == ("error", "e3")
    assert (error["error"]["code"], error["error"]["param"]) == ("unsupported_in_beta", "audio.output.format.rate")


async def test_wake_ends_the_pumps_sleep_at_once() -> None:
    hub = Hub(core=None, faults=None)  # type: ignore[arg-type]  # the sleep touches neither
    loop = asyncio.get_running_loop()
    hub.wake()  # nobody sleeping: nothing happens
    sleeping = asyncio.ensure_future(hub.sleep_until(loop, loop.time() + 3600))
    await asyncio.sleep(0)
    assert hub.waiter is not None and not sleeping.done()
    hub.wake()
    await asyncio.wait_for(sleeping, timeout=5)  # the guard only: it returns on the next turn
    assert hub.waiter is None
    # A deadline already past returns at once too.
    await asyncio.wait_for(hub.sleep_until(loop, loop.time() - 1), timeout=5)
