"""The customer-service example on GPT-Live, end to end against the local server's Live endpoint.

The agents come from examples/customer_service/agents.yaml, unchanged, run with
`dialect="live"` and the explicit degradation of the settings Live has no field for. The caller
speaks every turn (synthetic speech, G.711 μ-law as the example's telephony settings ask);
the server's scripted model (tests/live/data/return_live.yaml) plays both the voice layer and
the backend. On the way: delegated tool calls, a handoff as a backend swap, an input guardrail
tripping on a spoken turn (the voice layer is steered to the safe reply), and the session
expiring mid-call (a new session starts seeded with the history, and the call goes on).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import anyio
import orjson
from live_conformance import validate_live_client_event, validate_live_server_event

from agentkit import audio
from agentkit.events import (
    AssistantTranscript,
    GuardrailTripped,
    HandoffEvent,
    Reconnected,
    SessionEvent,
    ToolEnd,
    UserTranscript,
)
from agentkit.loader import load_definitions
from agentkit.policy import ReconnectPolicy
from agentkit.protocol.live_config import LiveOptions
from agentkit.runner import RealtimeRunner
from agentkit.server import LocalRealtimeServer, load_script
from agentkit.session import RealtimeSession
from agentkit.transports import WebSocketTransport

ROOT = Path(__file__).parents[2]
SCRIPT = load_script(Path(__file__).parent / "data" / "return_live.yaml")
DEGRADE = frozenset({"model", "turn_detection", "input_transcription", "noise_reduction"})


class Recording(WebSocketTransport):
    """A Live WebSocket transport that keeps every frame it carries, both ways."""

    sent: ClassVar[list[str]] = []
    received: ClassVar[list[str | bytes]] = []

    async def send(self, frame: str) -> None:
        Recording.sent.append(frame)
        await super().send(frame)

    async def receive(self) -> str | bytes:
        frame = await super().receive()
        Recording.received.append(frame)
        return frame


def spoken(text: str) -> bytes:
    pcm = audio.generate_silence(200) + audio.synthesize_speech(text, engine="synthetic")
    return audio.convert(pcm + audio.generate_silence(1200), "pcm16", "g711_ulaw")


async def test_the_return_call_runs_on_live_with_a_handoff_a_trip_and_an_expiry() -> None:
    definitions = load_definitions(ROOT / "examples" / "customer_service" / "agents.yaml")
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        runner = RealtimeRunner(
            definitions,
            dialect="live",
            live=LiveOptions(degrade=DEGRADE),
            reconnect=ReconnectPolicy(max_attempts=2, base_delay_s=0.01, jitter=0.0),
        )
        url = server.live_url
        session = runner.session(
            Recording(url, api_key="sk-test", dialect="live"),
            transport_factory=lambda: Recording(url, api_key="sk-test", dialect="live"),
        )
        events: list[SessionEvent] = []

        async def until_said(prefix: str) -> None:
            with anyio.move_on_after(5):
                async for event in session:
                    events.append(event)
                    if isinstance(event, AssistantTranscript) and event.transcript.startswith(prefix):
                        return
            raise AssertionError(f"no {prefix!r}: {[(e.type, getattr(e, 'transcript', '')) for e in events]}")

        async def say(turn: int, then: str) -> None:
            await session.send_audio(spoken(SCRIPT.turns[turn].user))
            # The voice layer's turn is final once the caller speaks again: the wait ends on the
            # transcript of the words, seen as deltas.
            await until_transcript(then)

        async def until_transcript(prefix: str) -> None:
            heard = ""
            with anyio.move_on_after(5):
                async for event in session:
                    events.append(event)
                    if event.type == "assistant_transcript_delta":
                        heard += event.delta  # type: ignore[attr-defined]
                        if prefix in heard:
                            return
                    elif event.type == "assistant_transcript":
                        heard = ""
            raise AssertionError(f"no {prefix!r}: {[(e.type, getattr(e, 'transcript', '')) for e in events]}")

        async with session:
            assert isinstance(session, RealtimeSession)
            await say(0, "you're verified")
            await say(1, "Shall I start the return?")
            assert session.current_agent.name == "returns"
            # The service ends the session at its duration limit: the runtime starts a new one.
            (hub,) = server.live.hubs.values()
            server.live.close_session(hub.core.id, "expired")
            with anyio.fail_after(5):
                async for event in session:
                    events.append(event)
                    if isinstance(event, Reconnected):
                        break
            (new_hub,) = server.live.hubs.values()
            assert new_hub.core.id != hub.core.id
            await say(2, "Let's keep it civil")
            await say(3, "Your return number is RMA")

        tools = [(e.tool_name, e.error) for e in events if isinstance(e, ToolEnd)]
        assert tools == [
            ("verify_customer", None),
            ("check_return_eligibility", None),
            ("start_return", None),
        ]
        assert [(h.from_agent, h.to_agent) for h in events if isinstance(h, HandoffEvent)] == [
            ("authentication", "returns")
        ]
        (tripped,) = [e for e in events if isinstance(e, GuardrailTripped)]
        assert (tripped.guardrail_name, tripped.stage) == ("civil_language", "input")
        heard = [e.transcript for e in events if isinstance(e, UserTranscript)]
        assert heard[:2] == [SCRIPT.turns[0].user, SCRIPT.turns[1].user]
        # The new session started with the conversation so far as its history.
        started = new_hub.core.config
        texts = [m["content"][0]["text"] for m in started["input"]]
        assert SCRIPT.turns[1].user in texts
        assert any("you're verified" in t for t in texts)
        # Everything the runtime sent, and everything the server sent it, is valid Live.
        kinds = [orjson.loads(f)["type"] for f in Recording.sent]
        assert kinds.count("session.start") == 2 and "session.update" in kinds
        assert {"response.item.create", "response.create", "session.instructions.append"} <= set(kinds)
        for frame in Recording.sent:
            validate_live_client_event(orjson.loads(frame))
        for frame in Recording.received:
            validate_live_server_event(orjson.loads(frame))
        # The insult is in the transcript, marked by the guardrail.
        (insult,) = [i for i in session.history.items() if i.guardrail is not None]
        assert insult.text == SCRIPT.turns[2].user
