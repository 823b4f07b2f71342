"""The WebRTC media fast path: the outbound track's encoded frames, the shared pacing clock,
inbound decoding on the event loop, and ICE on loopback (no other interface needed)."""

from __future__ import annotations

import asyncio
import fractions

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs.opus import OpusDecoder
from aiortc.jitterbuffer import JitterFrame
from av import AudioFrame

from agentkit.audio import Resampler, synthesize_speech, ulaw_decode, ulaw_encode
from agentkit.transports.webrtc_ice import LOOPBACK, gather_loopback, is_loopback
from agentkit.transports.webrtc_inbound import InboundAudio, decode_inline, silent
from agentkit.transports.webrtc_media import prefer_codec
from agentkit.transports.webrtc_track import OPUS_SILENCE, FrameClock, OutboundAudio

SPEECH_24K = synthesize_speech("hello there", sample_rate=24000, engine="synthetic")


def _voiced(ms: int, rate: int = 24000) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes()


async def test_a_pcmu_track_sends_g711_as_queued_and_pads_with_ulaw_silence() -> None:
    events: list[tuple[str, str]] = []
    track = OutboundAudio(
        "pcmu", on_started=lambda t: events.append(("started", t)), on_stopped=lambda t: events.append(("stopped", t))
    )
    ulaw = ulaw_encode(np.frombuffer(_voiced(30, 8000), dtype="<i2"))  # 240 bytes: 1.5 frames
    track.push_audio(ulaw, "g711_ulaw", "resp_1")
    track.finish("resp_1")
    packets = [await track.recv() for _ in range(3)]
    assert [p.pts for p in packets] == [0, 160, 320] and packets[0].time_base == fractions.Fraction(1, 8000)
    payloads = [bytes(p) for p in packets]
    assert payloads[0] == ulaw[:160]  # G.711 in, G.711 out: not decoded, resampled or re-encoded
    assert payloads[1] == ulaw[160:] + b"\xff" * 80  # the rest, padded with μ-law zero
    assert payloads[2] == b"\xff" * 160
    assert events == [("started", "resp_1"), ("stopped", "resp_1")]
    track.stop()


async def test_a_pcmu_track_encodes_pcm16_once_as_queued() -> None:
    track = OutboundAudio("pcmu")
    pcm = _voiced(40)
    track.push_audio(pcm, "pcm16")
    track.finish("x")
    expected = Resampler(24000, 8000)
    want = ulaw_encode(np.frombuffer(expected.process(pcm) + expected.flush(), dtype="<i2"))
    got = b"".join([bytes(await track.recv()) for _ in range(2)])
    assert got == want  # 24 kHz resampled to 8 kHz and μ-law coded, exactly once
    assert track.queued_ms == 0
    track.stop()


async def test_an_opus_track_encodes_speech_and_sends_silence_frames_without_encoding() -> None:
    track = OutboundAudio("opus")
    assert track.rate == 24000 and track.clock_rate == 48000
    track.push_audio(SPEECH_24K[: 24000 * 2 // 10], "pcm16")  # 100 ms: five frames
    packets = [await track.recv() for _ in range(8)]
    assert [p.pts for p in packets] == [960 * n for n in range(8)]
    payloads = [bytes(p) for p in packets]
    # Speech, then one encoded frame of silence (the encoder's look-ahead goes out), then
    # the constant silence frame, not encoded.
    assert all(p != OPUS_SILENCE for p in payloads[:6])
    assert payloads[6:] == [OPUS_SILENCE, OPUS_SILENCE]
    decoder = OpusDecoder()  # aiortc's, as a peer would decode
    frames = [decoder.decode(JitterFrame(p, n * 960))[0] for n, p in enumerate(payloads)]
    assert not any(silent(f) for f in frames[1:5])  # the speech is heard
    assert silent(frames[7]) and not frames[7].to_ndarray().any()  # OPUS_SILENCE is silence
    track.stop()


async def test_tracks_of_a_loop_share_one_clock_and_start_on_its_ticks() -> None:
    loop = asyncio.get_running_loop()
    clock = FrameClock.of(loop)
    assert FrameClock.of(loop) is clock
    tracks = [OutboundAudio("pcmu") for _ in range(3)]
    await asyncio.gather(*(t.recv() for t in tracks))
    starts = {t.started_at for t in tracks}
    assert len(starts) == 1  # one tick released them all
    due = starts.pop() + 0.020
    released = await asyncio.gather(*(_recv_at(t) for t in tracks))
    assert all(at >= due - 0.002 for at in released)  # never before the frame is due
    for track in tracks:
        track.stop()


async def _recv_at(track: OutboundAudio) -> float:
    await track.recv()
    return asyncio.get_running_loop().time()


def test_set_codec_refuses_once_audio_is_queued() -> None:
    track = OutboundAudio("opus")
    track.push_audio(_voiced(20), "pcm16")
    with pytest.raises(RuntimeError, match="before any audio"):
        track.set_codec("pcmu")


def _frame(pcm: bytes, rate: int, layout: str = "mono") -> AudioFrame:
    channels = 2 if layout == "stereo" else 1
    samples = np.frombuffer(pcm, dtype="<i2")
    data = np.repeat(samples, channels).reshape(1, -1)
    frame = AudioFrame.from_ndarray(data, format="s16", layout=layout)
    frame.sample_rate = rate
    return frame


def test_inbound_audio_resamples_what_it_must_and_passes_the_rest_through() -> None:
    inbound = InboundAudio()
    pcm = _voiced(20)
    assert inbound.pcm(_frame(pcm, 24000), 24000) == pcm  # already PCM16 24 kHz mono
    stereo = _voiced(20, 48000)
    out = b"".join(inbound.pcm(_frame(stereo, 48000, "stereo"), 24000) for _ in range(10))
    assert abs(len(out) // 2 - 10 * 480) <= 48  # 48 kHz stereo to 24 kHz mono, minus the filter's hold-back
    ulaw = InboundAudio().audio(_frame(_voiced(20, 8000), 8000), "g711_ulaw")
    assert ulaw == ulaw_encode(np.frombuffer(_voiced(20, 8000), dtype="<i2"))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("[::1]", True), ("10.0.0.1", False), ("api.openai.com", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_two_loopback_peers_talk_with_inline_decoding() -> None:
    """Two raw aiortc peers, each gathering on 127.0.0.1 only (so this works in a network
    namespace with only `lo`); the callee decodes on the event loop."""
    caller = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    callee = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track = OutboundAudio("pcmu")
    noise = np.random.default_rng(0).integers(-8000, 8000, 1600)  # 200 ms, no period
    ulaw = ulaw_encode(noise)
    heard: list[AudioFrame] = []
    try:
        prefer_codec(caller.addTransceiver(track, direction="sendonly"), "pcmu")
        await gather_loopback(caller)
        await caller.setLocalDescription(await caller.createOffer())
        offer = caller.localDescription.sdp
        candidates = [line for line in offer.splitlines() if line.startswith("a=candidate:")]
        assert candidates and all(f" {LOOPBACK} " in line for line in candidates)
        await callee.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await gather_loopback(callee)
        await callee.setLocalDescription(await callee.createAnswer())
        failed: list[bool] = []

        def deliver(frame: AudioFrame) -> None:
            if not failed:  # a consumer's bug on one frame must not end the call's media
                failed.append(True)
                raise RuntimeError("boom")
            heard.append(frame)

        assert decode_inline(callee, deliver)
        await caller.setRemoteDescription(callee.localDescription)
        remote = callee.getReceivers()[0].track
        track.push_audio(ulaw, "g711_ulaw", "r")
        async with asyncio.timeout(10):
            while sum(f.samples for f in heard) < 8 * 160:
                await asyncio.sleep(0.02)
        # Frames went to the callback, not through the remote track's queue.
        assert remote._queue.empty()  # type: ignore[attr-defined]
        pcm = np.concatenate([f.to_ndarray()[0] for f in heard])
        sent = ulaw_decode(ulaw)
        window = pcm[int(np.argmax(np.abs(pcm) > 1000)) :][:480]
        assert len(window) == 480
        # Bit-exact G.711: the frames heard are a stretch of what was sent.
        assert any(np.array_equal(window, sent[k : k + 480]) for k in range(len(sent) - 479))
    finally:
        track.stop()
        await caller.close()
        await callee.close()
