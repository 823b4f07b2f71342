"""The connection quality watch: stats readings in, quality events and a codec fallback out.

`QualityWatch` applies a `QualityPolicy` with no I/O of its own, like the supervisor: it
says when the next reading is due (`next_deadline`), the session's timer loop reads the
transport's stats then (`MeasuredTransport.link_stats`) and hands them in (`measured`), and
it answers with the events for the app (`ConnectionQuality` every interval,
`QualityDegraded` / `QualityRecovered` on a change) and, once, the codec to fall back to
(`fallback`). The first reading of each connection is only a baseline: the counters start
again with every call.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..events import ConnectionQuality, QualityDegraded, QualityRecovered, SessionEvent
from ..policy import QualityPolicy
from ..transports.codecs import Codec
from ..transports.webrtc_stats import LinkStats, quality_between

__all__ = ["MeasuredTransport", "QualityWatch"]


@runtime_checkable
class MeasuredTransport(Protocol):
    """A transport whose media path can be measured and moved to another codec (WebRTC)."""

    async def link_stats(self, at: float) -> LinkStats:
        """The call's stats now (`at`: the session's clock)."""
        ...

    def switch_codec(self, codec: Codec) -> None:
        """Offer `codec` from the next `connect()` on."""
        ...


class QualityWatch:
    """One session's quality watch (see the module docs)."""

    def __init__(self, policy: QualityPolicy, now: float) -> None:
        self.policy = policy
        self.degraded: str | None = None
        """Why the connection is degraded now (`None`: it is not)."""
        self.fallback: Codec | None = None
        """The codec to move the call to, once decided; the session takes it (`take_fallback`)."""
        self._due = now + policy.interval_s
        self._baseline: LinkStats | None = None
        self._good = 0
        self._fell_back = False

    def next_deadline(self) -> float:
        """When the next reading is due."""
        return self._due

    def skipped(self, now: float) -> None:
        """No reading now (the connection is down): try again an interval later."""
        self._due = now + self.policy.interval_s

    def connected(self, now: float) -> None:
        """A new connection: its counters start from zero, so the next reading is a baseline."""
        self._baseline = None
        self._due = now + self.policy.interval_s

    def measured(self, stats: LinkStats) -> list[SessionEvent]:
        """A reading at `stats.at`: the events it gives (none for a baseline)."""
        policy = self.policy
        self._due = stats.at + policy.interval_s
        before, self._baseline = self._baseline, stats
        if before is None or stats.at <= before.at:
            return []
        quality = quality_between(before, stats)
        events: list[SessionEvent] = [quality]
        problem = self._problem(quality)
        if problem is not None:
            self._good = 0
            if self.degraded is None:
                self.degraded = problem
                events.append(QualityDegraded(problem, quality))
                codec = policy.fallback_codec
                if codec is not None and not self._fell_back and codec != stats.codec:
                    self._fell_back = True
                    self.fallback = codec
        elif self.degraded is not None:
            self._good += 1
            if self._good >= policy.recover_after:
                self.degraded = None
                self._good = 0
                events.append(QualityRecovered(self._fine(quality), quality))
        return events

    def take_fallback(self) -> Codec | None:
        """The codec to move to, if one was decided since the last call."""
        codec, self.fallback = self.fallback, None
        return codec

    def _problem(self, quality: ConnectionQuality) -> str | None:
        policy = self.policy
        reasons = []
        if quality.loss > policy.max_loss:
            reasons.append(f"loss {quality.loss:.1%} above {policy.max_loss:.1%}")
        if quality.jitter_ms > policy.max_jitter_ms:
            reasons.append(f"jitter {quality.jitter_ms:.0f} ms above {policy.max_jitter_ms:g} ms")
        return ", ".join(reasons) or None

    def _fine(self, quality: ConnectionQuality) -> str:
        return (
            f"loss {quality.loss:.1%} and jitter {quality.jitter_ms:.0f} ms within limits "
            f"for {self.policy.recover_after} intervals"
        )
