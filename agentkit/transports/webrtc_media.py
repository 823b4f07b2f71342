"""WebRTC media for both ends: codecs and media faults.

The client transport (`transports.webrtc`) and the local server's endpoint (`server.webrtc`)
move audio the same way, so it lives in shared modules: this one; the outbound track
(`webrtc_track`); the inbound audio (`webrtc_inbound`).

`prefer_codec` is the design notes' `applyCodecPreferences`: the audio transceiver offers
only `opus` (48 kHz), `pcmu` or `pcma` (8 kHz); `negotiated_codec` reads the answer's choice.

Media faults (`MediaFaults`) act where a frame is made or sent, so a test can hear their
effect without a network emulator: jitter and delay on `OutboundAudio`, loss on the RTP
packets (`lose_packets`), so the receiver counts the gaps in the sequence numbers as lost
packets, as it would on a real network. A track's `faults` can change during a call.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc.rtp import is_rtcp

from .codecs import CODEC_RATES, Codec

__all__ = [
    "CODEC_RATES",
    "FRAME_MS",
    "Codec",
    "MediaFaults",
    "lose_packets",
    "negotiated_codec",
    "prefer_codec",
]

FRAME_MS: Final = 20
"""The length of one RTP audio frame (aiortc's, and every browser's, default)."""

_MIME: Final[dict[Codec, str]] = {"opus": "audio/opus", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}
_SDP_NAMES: Final[dict[str, Codec]] = {"opus": "opus", "pcmu": "pcmu", "pcma": "pcma"}


def prefer_codec(transceiver: RTCRtpTransceiver, codec: Codec) -> None:
    """Offer only `codec` on `transceiver` (before `createOffer`)."""
    capabilities = RTCRtpSender.getCapabilities("audio")
    chosen = [c for c in capabilities.codecs if c.mimeType.lower() == _MIME[codec]]
    transceiver.setCodecPreferences(chosen)


def negotiated_codec(sdp: str) -> Codec | None:
    """The first audio codec of an SDP answer's `m=audio` line (the one both ends use)."""
    payloads: list[str] = []
    names: dict[str, str] = {}
    in_audio = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_audio = line.startswith("m=audio")
            if in_audio:
                payloads = line.split()[3:]
        elif in_audio and line.startswith("a=rtpmap:"):
            pt, _, rest = line[len("a=rtpmap:") :].partition(" ")
            names[pt] = rest.split("/")[0].lower()
    static = {"0": "pcmu", "8": "pcma"}
    for pt in payloads:
        name = names.get(pt, static.get(pt, ""))
        if name in _SDP_NAMES:
            return _SDP_NAMES[name]
    return None


@dataclass(frozen=True)
class MediaFaults:
    """Impairments of an outbound audio track (the local server's media fault injection).

    Attributes:
        loss_percent: RTP packets dropped at random (their audio never arrives; the
            receiver counts them lost).
        jitter_ms: Each frame is held up to this long at random (the pacing catches up).
        delay_ms: Audio goes out this much later than it was queued (events do not wait).
        seed: Seed of the random source, for repeatable tests.
    """

    loss_percent: float = 0.0
    jitter_ms: float = 0.0
    delay_ms: float = 0.0
    seed: int | None = None


def lose_packets(sender: RTCRtpSender, faults: Callable[[], MediaFaults], seed: int | None = None) -> None:
    """Drop `faults().loss_percent` of the RTP packets `sender` sends (RTCP goes through).

    Call it once the description is set (the sender has its transport). The packets are
    dropped after they got their sequence numbers, as on a lossy network: the receiver's
    stats count them as lost and its jitter buffer conceals the gap.
    """
    transport = sender.transport
    send = transport._send_rtp
    chance = random.Random(seed)

    async def lossy(data: bytes) -> None:
        loss = faults().loss_percent
        if loss and not is_rtcp(data) and chance.uniform(0, 100) < loss:
            return
        await send(data)

    # aiortc has no hook between the packetizer and the wire: wrap the transport's send.
    setattr(transport, "_send_rtp", lossy)  # noqa: B010
