"""The local server's WebRTC endpoint, from a raw aiortc peer (what a browser does), not
agentkit's client: offer and answer, the `oai-events` channel, audio both ways, hangup;
every data channel event strictly valid against the `openai` package's types. Then the bad
requests (4xx with the REST error body, the server serving on) and the media faults."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame
from openai_conformance import validate_server_event

from agentkit.audio import synthesize_speech
from agentkit.errors import ConnectionClosed
from agentkit.server import LocalRealtimeServer, WebRTCFaults
from agentkit.transports import WebRTCTransport
from agentkit.transports.webrtc_ice import gather_loopback

SCRIPT: dict[str, Any] = {
    "turns": [{"user": "Hello there", "steps": [{"say": "Hi! How can I help?"}]}],
}


class Speech(MediaStreamTrack):
    """A browser's microphone: 48 kHz frames of speech, then silence."""

    kind = "audio"

    def __init__(self, pcm48k: bytes) -> None:
        super().__init__()
        self.pcm = pcm48k
        self.pts = 0
        self.start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.pts / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = self.pcm[self.pts * 2 : self.pts * 2 + 1920].ljust(1920, b"\0")
        frame = AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(chunk)
        frame.sample_rate, frame.pts = 48000, self.pts
        frame.time_base = fractions.Fraction(1, 48000)
        self.pts += 960
        return frame


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


async def offer_of(pc: RTCPeerConnection) -> str:
    # aioice offers no loopback candidate on its own (see agentkit.transports.webrtc_ice):
    # without this the peer could not connect in a network namespace with only `lo`.
    await gather_loopback(pc)
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


async def test_a_browser_like_peer_talks_with_the_server() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="realtime", speech_engine="synthetic", words_per_minute=400) as server:
        key = server.mint_client_secret(session={"type": "realtime", "instructions": "Be brief."})
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        channel = pc.createDataChannel("oai-events")
        speech = synthesize_speech("hello there", sample_rate=48000, engine="synthetic")
        pc.addTrack(Speech(speech))
        events: list[dict[str, Any]] = []
        got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        channel.on("message", lambda m: got.put_nowait(json.loads(m)))
        heard: list[float] = []
        readers: list[asyncio.Future[None]] = []

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            async def read() -> None:
                with contextlib.suppress(MediaStreamError):
                    while True:
                        frame = await track.recv()
                        heard.append(float(np.abs(frame.to_ndarray()).max()))

            readers.append(asyncio.ensure_future(read()))

        offer = await offer_of(pc)
        status, headers, answer = await asyncio.to_thread(
            post,
            f"{server.base_url}/realtime/calls",
            offer.encode(),
            {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
        )
        assert status == 201 and headers["Content-Type"] == "application/sdp"
        call_id = headers["Location"].rsplit("/", 1)[-1]
        assert headers["Location"] == f"/v1/realtime/calls/{call_id}" and call_id.startswith("rtc_")
        await pc.setRemoteDescription(RTCSessionDescription(answer.decode(), "answer"))
        async with asyncio.timeout(10):
            while not any(e["type"] == "output_audio_buffer.stopped" for e in events):
                events.append(await got.get())
        for event in events:
            validate_server_event(event, "ga")
        kinds = [e["type"] for e in events]
        assert kinds[0] == "session.created"
        assert events[0]["session"]["instructions"] == "Be brief."
        for kind in ("input_audio_buffer.speech_started", "input_audio_buffer.committed",
                     "response.done", "output_audio_buffer.started"):
            assert kind in kinds
        assert "response.output_audio.delta" not in kinds  # audio went over RTP
        assert max(heard) > 1000  # the model's speech, not only silence
        status, _, _ = await asyncio.to_thread(
            post, f"{server.base_url}/realtime/calls/{call_id}/hangup", b"", {"Authorization": f"Bearer {key}"}
        )
        assert status == 200 and call_id not in server.webrtc.calls
        await pc.close()


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"Content-Type": "application/sdp"}, b"v=0\r\nnot an offer", 401, "invalid_api_key"),
        ({"Authorization": "Bearer sk-test", "Content-Type": "application/sdp"}, b"hello", 400, "invalid_offer"),
        ({"Authorization": "Bearer sk-test", "Content-Type": "text/plain"}, b"v=0", 415, "unsupported_content_type"),
        ({"Authorization": "Bearer ek_unknown", "Content-Type": "application/sdp"}, b"v=0", 401, "invalid_api_key"),
    ],
)
async def test_bad_requests_get_an_error_body_and_the_server_serves_on(
    headers: dict[str, str], body: bytes, status: int, code: str
) -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        got, _, answer = await asyncio.to_thread(post, f"{server.base_url}/realtime/calls", body, headers)
        assert got == status
        error = json.loads(answer)["error"]
        assert set(error) == {"message", "type", "code", "param"} and error["code"] == code
        transport = WebRTCTransport(server.base_url, api_key="sk-test")
        await transport.connect()
        assert json.loads(await transport.receive())["type"] == "session.created"
        await transport.close()


async def test_expired_key_and_unknown_call() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        key = server.mint_client_secret(seconds=10)
        server.keys.clock = lambda: time.time() + 60
        status, _, body = await asyncio.to_thread(
            post, f"{server.base_url}/realtime/calls", b"v=0", {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
        )
        assert status == 401 and "expired" in json.loads(body)["error"]["message"]
        status, _, body = await asyncio.to_thread(
            post, f"{server.base_url}/realtime/calls/rtc_nope/hangup", b"", {"Authorization": "Bearer sk-test"}
        )
        assert status == 404 and json.loads(body)["error"]["code"] == "call_not_found"


async def test_multipart_form_and_sideband_attach_by_call_id() -> None:
    import websockets

    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        transport = WebRTCTransport(
            server.base_url, api_key="sk-test", session={"instructions": "From the form."}, codec="pcmu"
        )
        await transport.connect()
        created = json.loads(await transport.receive())
        assert created["session"]["instructions"] == "From the form."
        url = f"{server.url}?call_id={transport.call_id}"
        async with websockets.connect(url, additional_headers={"Authorization": "Bearer sk-test"}) as ws:
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "instructions": "Sideband."}}))
            async with asyncio.timeout(5):
                while True:
                    event = json.loads(await transport.receive())
                    if event["type"] == "session.updated":
                        break
            assert event["session"]["instructions"] == "Sideband."
        await transport.hangup()


async def test_a_closed_data_channel_ends_the_call_for_the_client() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        server.webrtc.faults = WebRTCFaults(close_channel_at="conversation.created")
        transport = WebRTCTransport(server.base_url, api_key="sk-test")
        await transport.connect()
        with pytest.raises(ConnectionClosed) as caught:
            async with asyncio.timeout(5):
                while True:
                    await transport.receive()
        assert caught.value.clean is False
        await transport.close()
