"""The customer-service agents on a Twilio call: the simulated Twilio client (real μ-law,
Media Streams messages, marks played back) against the bridge, the bridge against the local
server. Tools, a handoff, a barge-in that clears Twilio's buffer and truncates the answer
where the marks said the caller stopped hearing it, then DTMF 0 to a person."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from agentkit.events import (
    AssistantTranscript,
    AudioInterrupted,
    DtmfReceived,
    HandoffEvent,
    ToolEnd,
)
from agentkit.loader import load_definitions
from agentkit.runner import RealtimeRunner
from agentkit.server import LocalRealtimeServer, load_script
from agentkit.server.script import Say, Turn
from agentkit.testing.twilio import TwilioCaller

from .harness import TWILIO_TOKEN, phone_app, watch

ROOT = Path(__file__).parents[2]
_BASE = load_script(ROOT / "examples" / "customer_service" / "conversations" / "return.yaml")
SCRIPT = dataclasses.replace(
    _BASE, turns=(*_BASE.turns, Turn(user="Thanks, bye.", steps=(Say("Goodbye!"),)))
)


async def test_customer_service_over_twilio() -> None:
    definitions = load_definitions(ROOT / "examples" / "customer_service" / "agents.yaml")
    async with LocalRealtimeServer(
        script=SCRIPT, pace="fast", words_per_minute=600, speech_engine="synthetic"
    ) as server:
        runner = RealtimeRunner(definitions)
        seen = watch(runner)
        async with phone_app(
            runner, realtime_url=server.url, rest_url=server.base_url, api_key="sk-test",
            twilio_auth_token=TWILIO_TOKEN,
        ) as config:
            phone = TwilioCaller(config.media_url, auth_token=TWILIO_TOKEN)
            async with phone:
                said = lambda prefix: lambda: [  # noqa: E731
                    e for e in seen.of(AssistantTranscript) if e.transcript.startswith(prefix)
                ]
                await seen.until(said("Thanks for calling"), "the greeting")
                sent = bytearray(await phone.say(SCRIPT.turns[0].user))
                await seen.until(said("Thanks Maya"), "verified")
                sent += await phone.say(SCRIPT.turns[1].user)
                await seen.until(said("Eligible"), "the eligibility")
                await phone.wait_for(lambda: len(phone.heard) == len(agent_audio(server)), "all of it")
                # The next answer plays slowly: the caller hears 300 ms, then talks over it.
                phone.auto_play = False
                before = len(phone.heard)
                sent += await phone.say(SCRIPT.turns[2].user)
                (done,) = await seen.until(said("Done. Your return number"), "the RMA")
                await phone.wait_for(lambda: len(phone.heard) - before >= 8 * 400, "its audio")
                before_barge_in = agent_audio(server)
                item_start = phone.played_ms
                phone.play(300)
                sent += await phone.say("Thanks, bye.")
                (interrupted,) = await seen.until(lambda: seen.of(AudioInterrupted), "barge-in")
                await phone.wait_for(lambda: phone.clears == 1, "a clear")
                phone.auto_play = True
                await seen.until(said("Goodbye"), "the goodbye")
                # Press 0 for a person.
                await phone.press("0")
                await seen.until(lambda: len(seen.of(HandoffEvent)) == 2, "the escalation")
                session = seen.sessions[0]
                (core,) = server.sessions.values()
                sent_all = bytes(sent)
                truncated = await seen.until(
                    lambda: (item := session.history.get(done.item_id)) is not None
                    and item.audio_end_ms is not None and item, "the truncation",
                )

    # Tools and a handoff ran as on any session.
    assert [(e.tool_name, e.error) for e in seen.of(ToolEnd)][:3] == [
        ("verify_customer", None), ("check_return_eligibility", None), ("start_return", None),
    ]
    handoffs = seen.of(HandoffEvent)
    assert [(h.from_agent, h.to_agent) for h in handoffs] == [
        ("authentication", "returns"), ("returns", "escalation"),
    ]
    # The barge-in: Twilio was told to clear, and the answer was cut where the marks said.
    assert interrupted.item_id == done.item_id
    assert interrupted.played_ms == 300 == phone.cleared_at_ms[0] - item_start
    assert truncated.audio_end_ms == 300
    # DTMF 0: the key event, then the declared handoff (a call the runtime made itself).
    (key,) = seen.of(DtmfReceived)
    assert (key.key, key.sequence) == ("0", "0")
    assert handoffs[1].call_id is not None and handoffs[1].call_id.startswith("call_dtmf_")
    assert session.current_agent.name == "escalation"
    # μ-law end to end: the caller's bytes reached the model unchanged (the committed
    # turn is a slice of what Twilio sent), and the agent's bytes reached Twilio unchanged.
    assert bytes(phone.heard[: len(before_barge_in)]) == before_barge_in
    caller_turns = [i.audio for i in core.items.values() if i.data.get("role") == "user"]
    assert caller_turns and all(turn in sent_all for turn in caller_turns)


def agent_audio(server: LocalRealtimeServer) -> bytes:
    """The agent's audio as the local server produced it, item after item."""
    (core,) = server.sessions.values()
    return b"".join(core.items[i].audio for i in core.order if core.items[i].data.get("role") == "assistant")

