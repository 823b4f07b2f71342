"""The Twilio Media Streams bridge: its sans-I/O core (μ-law through untouched, marks to
playback positions, `clear`, bad input refused and nothing changed), and the endpoints
(TwiML behind Twilio's signature, bad input on a live stream not hurting another call)."""

from __future__ import annotations

import urllib.parse

import orjson
import pybase64
import pytest
import websockets

from agentkit import RealtimeAgent, RealtimeRunner
from agentkit.audio import convert, synthesize_speech
from agentkit.errors import UserError
from agentkit.events import AudioEnd, AudioInterrupted, AudioOut
from agentkit.protocol.wire_types import ItemId, ResponseId
from agentkit.server import LocalRealtimeServer
from agentkit.settings import SessionSettings
from agentkit.telephony import TelephonyConfig, sign_twilio, telephony_routes
from agentkit.telephony.twilio import (
    AppendAudio,
    BadMessage,
    CallStarted,
    CallStopped,
    Played,
    PressKeys,
    TwilioMediaBridge,
)
from agentkit.testing.twilio import TwilioCaller
from agentkit.transports.webrtc_signaling import http_post

from .harness import TWILIO_TOKEN, phone_app

SID = "MZ0123456789abcdef0123456789abcdef"
ULAW = convert(synthesize_speech("hello there", engine="synthetic"), "pcm16", "g711_ulaw")


def _started() -> TwilioMediaBridge:
    bridge = TwilioMediaBridge()
    bridge.receive('{"event":"connected","protocol":"Call","version":"1.0.0"}')
    bridge.receive(orjson.dumps({"event": "start", "streamSid": SID, "start": {"streamSid": SID, "callSid": "CA1"}}))
    assert bridge.actions() == [CallStarted(SID, "CA1", {})]
    return bridge


def _media(payload: str, sid: str = SID) -> bytes:
    return orjson.dumps({"event": "media", "streamSid": sid, "media": {"track": "inbound", "payload": payload}})


def _out(item: str, audio: bytes) -> AudioOut:
    return AudioOut(audio, ItemId(item), 0, ResponseId("resp_1"))


def test_audio_goes_through_as_the_same_bytes_both_ways() -> None:
    bridge = _started()
    chunk = ULAW[:160]
    bridge.receive(_media(pybase64.b64encode(chunk).decode()))
    assert bridge.actions() == [AppendAudio(chunk)]  # Twilio's bytes are the bytes appended
    bridge.session_event(_out("item_1", ULAW[160:960]))
    media, mark = (orjson.loads(m) for m in bridge.data_to_send())
    assert pybase64.b64decode(media["media"]["payload"]) == ULAW[160:960]
    assert media["streamSid"] == SID and mark["event"] == "mark"
    # Nothing of a new item is heard until Twilio says so.
    assert bridge.actions() == [Played("item_1", 0.0)]


def test_echoed_marks_give_the_playback_position_and_the_end() -> None:
    bridge = _started()
    for _ in range(3):
        bridge.session_event(_out("item_1", bytes(800)))  # 100 ms each
    names = [orjson.loads(m)["mark"]["name"] for m in bridge.data_to_send() if '"mark"' in m]
    bridge.session_event(AudioEnd(ItemId("item_1"), 0))
    bridge.actions()
    bridge.receive(orjson.dumps({"event": "mark", "streamSid": SID, "mark": {"name": names[1]}}))
    assert bridge.actions() == [Played("item_1", 200.0)]  # the first two played
    bridge.receive(orjson.dumps({"event": "mark", "streamSid": SID, "mark": {"name": names[2]}}))
    assert bridge.actions() == [Played("item_1", 300.0, finished=True)]


def test_a_barge_in_clears_twilio_and_forgets_the_dropped_marks() -> None:
    bridge = _started()
    bridge.session_event(_out("item_1", bytes(800)))
    bridge.session_event(_out("item_1", bytes(800)))
    names = [orjson.loads(m)["mark"]["name"] for m in bridge.data_to_send() if '"mark"' in m]
    bridge.actions()
    bridge.session_event(AudioInterrupted(ItemId("item_1"), 0, 0))
    assert [orjson.loads(m) for m in bridge.data_to_send()] == [{"event": "clear", "streamSid": SID}]
    # Twilio echoes the marks a clear dropped: they were never played.
    for name in names:
        bridge.receive(orjson.dumps({"event": "mark", "streamSid": SID, "mark": {"name": name}}))
    assert bridge.actions() == []


def test_dtmf_and_stop() -> None:
    bridge = _started()
    bridge.receive(orjson.dumps({"event": "dtmf", "streamSid": SID, "dtmf": {"track": "inbound_track", "digit": "#"}}))
    bridge.receive(orjson.dumps({"event": "stop", "streamSid": SID, "stop": {}}))
    assert bridge.actions() == [PressKeys("#"), CallStopped()]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"not json", "not a Twilio Media Streams message"),
        (b'{"event":"teleport","streamSid":"x"}', "not a Twilio Media Streams message"),
        (b'{"event":"media","streamSid":"MZ1"}', "media: Field required"),
        (_media("!!!not base64!!!"), "not base64"),
        (_media(pybase64.b64encode(bytes(16000)).decode()), "over 8000"),
        (_media("AAAA", sid="MZ-someone-else"), "unknown stream 'MZ-someone-else'"),
        (b'{"event":"dtmf","streamSid":"' + SID.encode() + b'","dtmf":{"digit":"X"}}', "dtmf.digit"),
        (b"{" + b" " * 70000 + b"}", "over 65536"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(message: bytes, reason: str) -> None:
    bridge = _started()
    bridge.receive(message)
    (action,) = bridge.actions()
    assert isinstance(action, BadMessage) and reason in action.reason, action
    bridge.receive(_media(pybase64.b64encode(ULAW[:160]).decode()))
    assert bridge.actions() == [AppendAudio(ULAW[:160])]  # the stream goes on


def test_media_before_start_is_refused() -> None:
    bridge = TwilioMediaBridge()
    bridge.receive(_media("AAAA"))
    (action,) = bridge.actions()
    assert isinstance(action, BadMessage) and action.reason == "media before start"


def test_twilio_needs_mulaw_agents() -> None:
    runner = RealtimeRunner(RealtimeAgent("pcm"), settings=SessionSettings(input_audio_format="pcm16"))
    config = TelephonyConfig(public_url="https://voice.example.com", twilio_auth_token="t")
    with pytest.raises(UserError, match="does not transcode"):
        telephony_routes(runner, config)
    with pytest.raises(UserError, match="no phone line is configured"):
        telephony_routes(runner, TelephonyConfig(public_url="https://voice.example.com"))


def _phone_runner() -> RealtimeRunner[object]:
    settings = SessionSettings(input_audio_format="g711_ulaw", output_audio_format="g711_ulaw")
    return RealtimeRunner(RealtimeAgent("desk", instructions="Help."), settings=settings)


async def test_twiml_is_served_only_to_signed_requests() -> None:
    async with phone_app(_phone_runner(), twilio_auth_token=TWILIO_TOKEN) as config:
        url = config.public_url + "/twilio/voice"
        params = [("CallSid", "CA1"), ("From", "+14155550100"), ("To", "+14155550123")]
        body = urllib.parse.urlencode(params).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        signed = {**form, "X-Twilio-Signature": sign_twilio(TWILIO_TOKEN, url, params)}
        status, headers, twiml = await http_post(url, body, signed)
        assert status == 200 and twiml.decode().endswith(
            f'<Response><Connect><Stream url="{config.media_url}"/></Connect></Response>'
        )
        forged = {**form, "X-Twilio-Signature": sign_twilio("another-token", url, params)}
        for headers in (form, forged):
            status, _, error = await http_post(url, body, headers)
            assert status == 403 and orjson.loads(error)["error"]["code"] == "invalid_signature"
        # The stream's handshake is signed too.
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with TwilioCaller(config.media_url, auth_token="another-token"):
                pass


async def test_bad_input_on_one_stream_does_not_hurt_another_call() -> None:
    async with LocalRealtimeServer(pace="fast", speech_engine="synthetic", words_per_minute=600) as server:  # noqa: SIM117
        async with phone_app(
            _phone_runner(), realtime_url=server.url, api_key="sk-test", twilio_auth_token=TWILIO_TOKEN,
            max_bad_messages=5,
        ) as config:
            good = TwilioCaller(config.media_url, auth_token=TWILIO_TOKEN)
            bad = TwilioCaller(config.media_url, auth_token=TWILIO_TOKEN)
            async with good, bad:
                await good.wait_for(lambda: len(good.heard) > 0, "the greeting")
                for message in (b"{", '{"event":"media","streamSid":"MZ-nope","media":{"payload":"AA=="}}', b"x" * 70000):
                    await bad.send(message)
                await bad.say("still here")  # the bridge still takes its audio
                for _ in range(3):  # past max_bad_messages: the bridge closes that stream
                    await bad.send("garbage")
                await bad.wait_for(lambda: bad.closed, "the bad stream closed")
                before = len(good.heard)
                await good.say("hello")
                await good.wait_for(lambda: len(good.heard) > before, "an answer on the good call")
                assert not good.closed
