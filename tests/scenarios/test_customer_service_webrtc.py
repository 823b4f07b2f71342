"""The customer-service example over WebRTC, once per codec: agentkit's client against the
local server's WebRTC endpoint, on loopback.

The return conversation (examples/customer_service, tests/data/conversations/
return_insult_drop.yaml without its drop) runs through a tool, an input-guardrail trip, a
handoff and two more tools; then the caller talks over the agent's last answer: the server's
VAD hears the RTP audio, cancels the response and clears its output buffer
(`output_audio_buffer.cleared`), and the client truncates the item where the caller stopped
hearing it. The app's audio is G.711 μ-law (the example's telephony settings) whatever the
codec on the wire.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit.audio import convert, generate_silence, synthesize_speech
from agentkit.events import (
    AssistantTranscript,
    AudioInterrupted,
    AudioOut,
    GuardrailTripped,
    HandoffEvent,
    RawServerEvent,
    SessionEvent,
    ToolEnd,
)
from agentkit.loader import load_definitions
from agentkit.runner import RealtimeRunner
from agentkit.server import LocalRealtimeServer, load_script
from agentkit.server.script import Say, Turn
from agentkit.session import RealtimeSession
from agentkit.transports import Codec, WebRTCTransport

ROOT = Path(__file__).parents[2]
_BASE = load_script(ROOT / "tests" / "data" / "conversations" / "return_insult_drop.yaml")
# One more turn, spoken: the caller's barge-in over "Done. Your return number is ...".
SCRIPT = dataclasses.replace(
    _BASE, turns=(*_BASE.turns, Turn(user="Thanks, bye.", mode="audio", steps=(Say("Goodbye!"),)))
)


class Conversation:
    """Reads a session's events, keeping them, until a condition holds."""

    def __init__(self, session: RealtimeSession[Any]) -> None:
        self.session = session
        self.events: list[SessionEvent] = []

    async def until(self, done: Any, what: str, timeout: float = 8.0) -> SessionEvent:
        with anyio.move_on_after(timeout):
            async for event in self.session:
                self.events.append(event)
                if done(event):
                    return event
        seen = [(e.type, getattr(e, "transcript", "")) for e in self.events if e.type != "audio"]
        raise AssertionError(f"no {what}: {seen[-30:]}")

    async def said(self, prefix: str) -> AssistantTranscript:
        event = await self.until(
            lambda e: isinstance(e, AssistantTranscript) and e.transcript.startswith(prefix),
            repr(prefix),
        )
        assert isinstance(event, AssistantTranscript)
        return event


@pytest.mark.parametrize("codec", ["opus", "pcmu", "pcma"])
async def test_return_call_over_webrtc(codec: Codec) -> None:
    started = time.monotonic()
    definitions = load_definitions(ROOT / "examples" / "customer_service" / "agents.yaml")
    async with LocalRealtimeServer(
        script=SCRIPT, pace="fast", words_per_minute=600, speech_engine="synthetic"
    ) as server:
        runner = RealtimeRunner(definitions, raw_events=True)
        transport = WebRTCTransport(server.base_url, api_key="sk-test", codec=codec)
        session = runner.session(transport)
        talk = Conversation(session)
        async with session:
            assert transport.negotiated == codec
            await session.send_text(SCRIPT.turns[0].user)
            await talk.said("Thanks ")
            await session.send_text("This is useless, you stupid machine.")
            await talk.said("I want to help you with this.")
            await session.send_text(SCRIPT.turns[1].user)
            await talk.said("Eligible")
            assert session.current_agent.name == "returns"
            await session.send_text(SCRIPT.turns[2].user)
            done = await talk.said("Done. Your return number is RMA")
            # Its audio comes over RTP, after everything queued before it has played.
            await talk.until(
                lambda e: isinstance(e, AudioOut) and e.item_id == done.item_id, "its audio"
            )
            await anyio.sleep(0.3)
            speech = synthesize_speech("thanks bye now", words_per_minute=200, engine="synthetic")
            caller = convert(speech, "pcm16", "g711_ulaw") + generate_silence(900, "g711_ulaw")
            for start in range(0, len(caller), 160):  # 20 ms of μ-law at a time
                await session.send_audio(caller[start : start + 160])
            interrupted = await talk.until(
                lambda e: isinstance(e, AudioInterrupted), "barge-in", timeout=6
            )
            await talk.said("Goodbye!")

    events = talk.events
    assert isinstance(interrupted, AudioInterrupted) and interrupted.item_id == done.item_id
    heard = sum(
        len(e.audio) for e in events if isinstance(e, AudioOut) and e.item_id == done.item_id
    ) / 8  # μ-law 8 kHz: 8 bytes a millisecond
    assert 0 < interrupted.played_ms <= heard + 1
    raw = [e.event.type for e in events if isinstance(e, RawServerEvent)]
    assert "output_audio_buffer.started" in raw and "output_audio_buffer.cleared" in raw
    (tripped,) = [e for e in events if isinstance(e, GuardrailTripped)]
    assert (tripped.guardrail_name, tripped.stage) == ("civil_language", "input")
    assert [(h.from_agent, h.to_agent) for h in events if isinstance(h, HandoffEvent)] == [
        ("authentication", "returns")
    ]
    assert [(e.tool_name, e.error) for e in events if isinstance(e, ToolEnd)] == [
        ("verify_customer", None),
        ("check_return_eligibility", None),
        ("start_return", None),
    ]
    # The item was truncated where the caller stopped hearing it.
    item = session.history.get(done.item_id)
    assert item is not None
    assert time.monotonic() - started < 20
