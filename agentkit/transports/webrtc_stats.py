"""WebRTC connection stats: one typed reading of `getStats()`, and the quality between two.

`RTCPeerConnection.getStats()` hands back cumulative counters (packets received and lost,
bytes sent) and running estimates (jitter, round trip) in each stream's own units. The
session's quality watch (`QualityPolicy`) needs them per interval and in plain units:

- `LinkStats` is one reading, taken by `WebRTCTransport.link_stats()`: the counters of the
  audio stream we receive (`inbound-rtp`), of the one we send (`outbound-rtp`) and the round
  trip the peer's receiver reports give (`remote-inbound-rtp`), jitter in ms;
- `quality_between(before, after)` is the `ConnectionQuality` of the interval between two
  readings of one connection (loss from the packet counters, bitrate from the bytes).

Nothing here touches aiortc: the report is read by its stats' `type` and field names (the
W3C names), so a test can hand in plain objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..events import ConnectionQuality
from .codecs import CODEC_RATES, Codec

__all__ = ["LinkStats", "link_stats_of", "quality_between"]


@dataclass(frozen=True, slots=True)
class LinkStats:
    """One reading of a call's stats (cumulative since the call opened).

    Attributes:
        at: When it was read (the session's clock, seconds).
        codec: The codec in use.
        packets_received: Audio packets received.
        packets_lost: Audio packets the sender sent that never arrived.
        jitter_ms: The receiver's inter-arrival jitter estimate (RFC 3550), in ms.
        rtt_ms: The round trip from the peer's receiver reports, in ms (`None`: none yet).
        bytes_sent: Audio payload bytes sent.
    """

    at: float
    codec: Codec
    packets_received: int = 0
    packets_lost: int = 0
    jitter_ms: float = 0.0
    rtt_ms: float | None = None
    bytes_sent: int = 0


def link_stats_of(report: Mapping[str, Any], codec: Codec, at: float) -> LinkStats:
    """A `LinkStats` from an `RTCStatsReport` (a mapping of stats objects by id)."""
    received = lost = sent = 0
    jitter_ms = 0.0
    rtt_ms: float | None = None
    for stats in report.values():
        kind = getattr(stats, "type", None)
        if getattr(stats, "kind", "audio") != "audio":
            continue
        if kind == "inbound-rtp":
            received += int(stats.packetsReceived)
            lost += max(0, int(stats.packetsLost))
            # RFC 3550 jitter is in the stream's timestamp units: the codec's clock.
            jitter_ms = max(jitter_ms, float(stats.jitter) * 1000 / CODEC_RATES[codec])
        elif kind == "outbound-rtp":
            sent += int(stats.bytesSent)
        elif kind == "remote-inbound-rtp" and getattr(stats, "roundTripTime", None) is not None:
            rtt_ms = float(stats.roundTripTime) * 1000
    return LinkStats(at, codec, received, lost, jitter_ms, rtt_ms, sent)


def quality_between(before: LinkStats, after: LinkStats) -> ConnectionQuality:
    """The quality over the interval from `before` to `after` (two readings of one call)."""
    received = max(0, after.packets_received - before.packets_received)
    lost = max(0, after.packets_lost - before.packets_lost)
    expected = received + lost
    seconds = after.at - before.at
    sent = max(0, after.bytes_sent - before.bytes_sent)
    return ConnectionQuality(
        loss=lost / expected if expected else 0.0,
        jitter_ms=after.jitter_ms,
        rtt_ms=after.rtt_ms,
        bitrate_kbps=sent * 8 / seconds / 1000 if seconds > 0 else 0.0,
        codec=after.codec,
    )
