"""OpenAI SIP calls against the local server playing the phone network: the signed webhook
accepted, the call answered with the starting agent's session (strictly valid against the
`openai` package's `CallAcceptParams`), the agents run on the sideband, DTMF 0 to the
escalation agent and the call referred to its `refer_to`; bad and replayed signatures
refused; hangups and rejections end calls cleanly."""

from __future__ import annotations

import time
from pathlib import Path

import pydantic
from openai.types.realtime import CallAcceptParams
from openai_conformance import validate_client_event

from agentkit.events import AssistantTranscript, DtmfReceived, ErrorEvent, HandoffEvent
from agentkit.loader import load_definitions
from agentkit.runner import RealtimeRunner
from agentkit.server import LocalRealtimeServer, load_script
from agentkit.telephony import IncomingCall, SipCallControl
from agentkit.testing.sip import SipCaller

from .harness import WEBHOOK_SECRET, phone_app, watch

ROOT = Path(__file__).parents[2]
SCRIPT = load_script(ROOT / "examples" / "customer_service" / "conversations" / "return.yaml")


def _runner() -> RealtimeRunner[object]:
    return RealtimeRunner(load_definitions(ROOT / "examples" / "customer_service" / "agents.yaml"))


def _server() -> LocalRealtimeServer:
    return LocalRealtimeServer(script=SCRIPT, pace="fast", words_per_minute=600, speech_engine="synthetic")


async def test_a_sip_call_is_answered_and_referred_on_escalation() -> None:
    async with _server() as server:
        runner = _runner()
        seen = watch(runner)
        async with phone_app(  # noqa: SIM117 (the caller needs the app's URL)
            runner, realtime_url=server.url, rest_url=server.base_url, api_key="sk-test",
            webhook_secret=WEBHOOK_SECRET,
        ) as config:
            async with SipCaller(server, config.public_url + "/sip/webhook", WEBHOOK_SECRET) as caller:
                assert caller.call.webhook_status == 200 and caller.status == "accepted"
                await seen.until(
                    lambda: [e for e in seen.of(AssistantTranscript) if e.transcript.startswith("Thanks for calling")],
                    "the greeting",
                )
                caller.say(SCRIPT.turns[0].user)
                await seen.until(
                    lambda: [e for e in seen.of(AssistantTranscript) if e.transcript.startswith("Thanks Maya")],
                    "verified",
                )
                caller.press("0")  # for a person
                assert await caller.wait_for("referred") == "referred"
                session = seen.sessions[0]
                await seen.until(lambda: session.status.value == "disconnected", "the session's end")

    body = caller.call.accept_body
    assert body is not None
    # Strictly the `openai` package's accept params: its keys, its types, nothing else.
    assert set(body) <= CallAcceptParams.__required_keys__ | CallAcceptParams.__optional_keys__
    pydantic.TypeAdapter(CallAcceptParams).validate_python(body, strict=True)
    validate_client_event({"type": "session.update", "session": body}, "ga")
    assert body["type"] == "realtime" and body["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    # The agents ran on the sideband: a tool, the caller's key, the escalation, the refer.
    (key,) = seen.of(DtmfReceived)
    assert (key.key, key.sequence) == ("0", "0") and key.received_at is not None
    assert [(h.from_agent, h.to_agent) for h in seen.of(HandoffEvent)] == [("authentication", "escalation")]
    assert caller.call.refer_uri == "tel:+14155550123"
    assert caller.heard  # the agent was heard on the line, not on the sideband
    assert seen.of(ErrorEvent) == []


async def test_bad_and_replayed_signatures_are_refused() -> None:
    async with _server() as server:
        runner = _runner()
        async with phone_app(
            runner, realtime_url=server.url, rest_url=server.base_url, api_key="sk-test",
            webhook_secret=WEBHOOK_SECRET,
        ) as config:
            url = config.public_url + "/sip/webhook"
            forged = await server.sip.place_call(url, WEBHOOK_SECRET, signature_secret="whsec_" + "Zm9yZ2Vk" * 4)
            replayed = await server.sip.place_call(url, WEBHOOK_SECRET, timestamp=int(time.time()) - 600)
            genuine = await server.sip.place_call(url, WEBHOOK_SECRET)
            await genuine.wait_for("accepted")
            await genuine.hang_up()
    assert (forged.webhook_status, forged.status) == (401, "ended")
    assert (replayed.webhook_status, replayed.status) == (401, "ended")
    assert forged.accept_body is None and replayed.accept_body is None


async def test_hangup_ends_the_call_and_the_session_cleanly() -> None:
    async with _server() as server:
        runner = _runner()
        seen = watch(runner)
        async with phone_app(
            runner, realtime_url=server.url, rest_url=server.base_url, api_key="sk-test",
            webhook_secret=WEBHOOK_SECRET,
        ) as config:
            url = config.public_url + "/sip/webhook"
            # The caller hangs up.
            async with SipCaller(server, url, WEBHOOK_SECRET) as caller:
                await seen.until(lambda: seen.of(AssistantTranscript), "the greeting")
                await caller.hang_up()
            first = seen.sessions[0]
            await seen.until(lambda: first.status.value == "disconnected", "the first session's end")
            # The app hangs up (e.g. the conversation is over).
            async with SipCaller(server, url, WEBHOOK_SECRET) as other:
                await SipCallControl(server.base_url, "sk-test").hangup(other.call.call_id)
                assert await other.wait_for("ended") == "ended"
            second = seen.sessions[1]
            await seen.until(lambda: second.status.value == "disconnected", "the second session's end")
            async for _ in first:  # ended without a fatal error: the iteration just stops
                pass
    assert caller.status == "ended" and other.status == "ended"
    assert seen.of(ErrorEvent) == []


async def test_a_screened_call_is_rejected_with_its_status() -> None:
    async with _server() as server:
        runner = _runner()

        def busy(call: IncomingCall) -> int | None:
            return 486 if call.header("From") == "<sip:+14155550199@trunk.example>" else None

        async with phone_app(
            runner, screen=busy, realtime_url=server.url, rest_url=server.base_url,
            api_key="sk-test", webhook_secret=WEBHOOK_SECRET,
        ) as config, SipCaller(
            server, config.public_url + "/sip/webhook", WEBHOOK_SECRET,
            sip_headers={"From": "<sip:+14155550199@trunk.example>"},
        ) as caller:
            assert await caller.wait_for("rejected") == "rejected"
    assert caller.call.reject_status == 486 and caller.call.accept_body is None
