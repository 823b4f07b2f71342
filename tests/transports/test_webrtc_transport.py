"""`WebRTCTransport`'s pure parts (codecs, formats, multipart), its teardown, and the
supervisor path it relies on (`has_output_audio_buffer`)."""

from __future__ import annotations

import json
import time

import aioice.stun
import pytest

from agentkit import RealtimeAgent
from agentkit.errors import TransportError
from agentkit.runtime.supervisor import Supervisor
from agentkit.server import LocalRealtimeServer, WebRTCFaults
from agentkit.transports import WebRTCTransport
from agentkit.transports.webrtc import audio_format_of
from agentkit.transports.webrtc_media import negotiated_codec
from agentkit.transports.webrtc_signaling import multipart

ANSWER = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\na=rtpmap:0 PCMU/8000\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"


def test_negotiated_codec_is_the_answer_s_first_audio_codec() -> None:
    assert negotiated_codec(ANSWER) == "pcmu"
    assert negotiated_codec("v=0\r\nm=audio 9 RTP 111\r\na=rtpmap:111 opus/48000/2\r\n") == "opus"
    assert negotiated_codec("v=0\r\nm=audio 9 RTP 8\r\n") == "pcma"  # static payload type
    assert negotiated_codec("v=0\r\n") is None


def test_audio_formats_follow_ga_and_beta_sessions() -> None:
    ga = {"audio": {"input": {"format": {"type": "audio/pcmu"}}, "output": {"format": {"type": "audio/pcm", "rate": 24000}}}}
    assert (audio_format_of(ga, "input"), audio_format_of(ga, "output")) == ("g711_ulaw", "pcm16")
    assert audio_format_of({"output_audio_format": "g711_alaw"}, "output") == "g711_alaw"
    assert audio_format_of({}, "input") is None


def test_multipart_body_carries_sdp_and_session() -> None:
    body, content_type = multipart({"sdp": ("application/sdp", b"v=0"), "session": ("application/json", b"{}")})
    boundary = content_type.split("boundary=")[1]
    assert body.count(f"--{boundary}".encode()) == 3 and b'name="sdp"' in body


def test_unknown_codec_is_refused() -> None:
    with pytest.raises(ValueError, match="codec"):
        WebRTCTransport(codec="g722")  # type: ignore[arg-type]


async def test_a_refused_offer_is_a_transport_error_and_leaves_nothing_open() -> None:
    async with LocalRealtimeServer(api_keys=["sk-good"]) as server:
        transport = WebRTCTransport(server.base_url, api_key="sk-bad")
        with pytest.raises(TransportError, match="401"):
            await transport.connect()
        assert transport._pc is None and not server.webrtc.calls


def _nothing_open(transport: WebRTCTransport, server: LocalRealtimeServer) -> bool:
    return (
        transport._pc is None and transport._channel is None and transport._track is None
        and not transport._tasks and not server.webrtc.calls
    )


async def test_an_ice_failure_fails_connect_with_a_transport_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice gives up on a candidate pair after 0.1 + 0.2 + 0.4 s, not its 63 s default.
    monkeypatch.setattr(aioice.stun, "RETRY_MAX", 2)
    monkeypatch.setattr(aioice.stun, "RETRY_RTO", 0.1)
    async with LocalRealtimeServer() as server:
        server.webrtc.faults = WebRTCFaults(ice_failure=True)
        transport = WebRTCTransport(server.base_url, api_key="sk-test", connect_timeout=5)
        started = time.monotonic()
        with pytest.raises(TransportError, match="did not connect: the peer connection failed"):
            await transport.connect()
        assert time.monotonic() - started < 4  # the failed state, not the timeout
        assert _nothing_open(transport, server)


async def test_a_call_that_never_opens_times_out_with_a_transport_error() -> None:
    async with LocalRealtimeServer() as server:
        server.webrtc.faults = WebRTCFaults(ice_failure=True)
        transport = WebRTCTransport(server.base_url, api_key="sk-test", connect_timeout=0.5)
        with pytest.raises(TransportError, match=r"did not open within 0\.5 s"):
            await transport.connect()
        assert _nothing_open(transport, server)


async def test_connect_close_and_reconnect_the_same_transport() -> None:
    async with LocalRealtimeServer() as server:
        transport = WebRTCTransport(server.base_url, api_key="sk-test", codec="pcma")
        for _ in range(2):
            await transport.connect()
            assert json.loads(await transport.receive())["type"] == "session.created"
            assert (await transport.stats()) is not None
            await transport.close()
            await transport.close()  # twice is fine


def _supervisor_playing() -> Supervisor:
    supervisor = Supervisor(RealtimeAgent(name="a", instructions="x"), output_audio_buffer=True)
    supervisor.connected(now=0.0)
    supervisor.data_to_send()
    for event in (
        {"type": "response.created", "event_id": "e1", "response": {"id": "r1", "object": "realtime.response", "status": "in_progress", "output": []}},
        {"type": "response.output_audio.delta", "event_id": "e2", "response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0, "delta": "AAAA" * 400},
    ):
        supervisor.receive_frame(json.dumps(event), 0.1)
    supervisor.data_to_send()
    return supervisor


def test_manual_interrupt_clears_the_service_s_output_buffer_after_the_cancel() -> None:
    supervisor = _supervisor_playing()
    supervisor.interrupt(0.2)
    kinds = [json.loads(frame)["type"] for frame in supervisor.data_to_send()]
    assert "response.cancel" in kinds and "output_audio_buffer.clear" in kinds
    assert kinds.index("response.cancel") < kinds.index("output_audio_buffer.clear")


def test_output_audio_buffer_stopped_ends_playback() -> None:
    supervisor = _supervisor_playing()
    supervisor.receive_frame(json.dumps({"type": "output_audio_buffer.stopped", "event_id": "e3", "response_id": "r1"}), 0.3)
    supervisor.interrupt(5.0)
    kinds = [json.loads(frame)["type"] for frame in supervisor.data_to_send()]
    assert "conversation.item.truncate" not in kinds  # it had played to its end


def _event(kind: str, **fields: object) -> str:
    return json.dumps({"type": kind, "event_id": "e", "response_id": "r1", **fields})


async def test_stopped_waits_for_the_trailing_audio_then_follows_the_held_done() -> None:
    transport = WebRTCTransport()
    part = {"item_id": "i1", "output_index": 0, "content_index": 0, "part": {"type": "audio"}}
    for message in (
        _event("response.content_part.added", **part),
        _event("output_audio_buffer.started"),
        _event("response.output_audio.done", item_id="i1", output_index=0, content_index=0),
        _event("output_audio_buffer.stopped"),
    ):
        transport._on_message(message)
    kinds = [json.loads(m)["type"] for m in transport._inbox if isinstance(m, str)]
    assert kinds == ["response.content_part.added", "output_audio_buffer.started"]  # both held
    # The next response starting releases them first (else: the trailing audio's end, or 300 ms).
    transport._on_message(_event("output_audio_buffer.started", response_id="r2"))
    kinds = [json.loads(m)["type"] for m in transport._inbox if isinstance(m, str)]
    assert kinds[2:] == ["response.output_audio.done", "output_audio_buffer.stopped", "output_audio_buffer.started"]
    assert "r1" not in transport._parts  # its late audio is dropped
    await transport.close()
