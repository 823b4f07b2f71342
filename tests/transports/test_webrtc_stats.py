"""WebRTC stats readings (`transports.webrtc_stats`) and the quality watch that judges them
(`session.quality`, `QualityPolicy`): pure, on plain objects and a hand-driven clock.

(The watch's tests live here because they need the readings; it is `session/quality.py`.)
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentkit import QualityPolicy
from agentkit.errors import DefinitionError
from agentkit.events import ConnectionQuality, QualityDegraded, QualityRecovered
from agentkit.session.quality import QualityWatch
from agentkit.transports.webrtc_stats import LinkStats, link_stats_of, quality_between


def test_a_report_is_read_by_stats_type_with_jitter_in_ms_of_the_codec_clock() -> None:
    report = {
        "in": SimpleNamespace(type="inbound-rtp", kind="audio", packetsReceived=90, packetsLost=10, jitter=480),
        "out": SimpleNamespace(type="outbound-rtp", kind="audio", bytesSent=4000),
        "rr": SimpleNamespace(type="remote-inbound-rtp", kind="audio", roundTripTime=0.05),
        "t": SimpleNamespace(type="transport"),
    }
    stats = link_stats_of(report, "opus", 1.0)
    assert stats == LinkStats(1.0, "opus", 90, 10, 10.0, 50.0, 4000)
    assert link_stats_of(report, "pcmu", 1.0).jitter_ms == 60.0  # 8 kHz clock
    assert link_stats_of({}, "pcmu", 2.0) == LinkStats(2.0, "pcmu")


def test_quality_between_two_readings_is_per_interval() -> None:
    before = LinkStats(1.0, "pcmu", 100, 0, 5.0, None, 8000)
    after = LinkStats(3.0, "pcmu", 190, 10, 12.0, 40.0, 24000)
    assert quality_between(before, after) == ConnectionQuality(0.1, 12.0, 40.0, 64.0, "pcmu")


def _reading(at: float, received: int, lost: int, jitter_ms: float = 1.0, codec: str = "opus") -> LinkStats:
    return LinkStats(at, codec, received, lost, jitter_ms, None, int(at * 8000))  # type: ignore[arg-type]


def test_degraded_once_over_a_threshold_and_recovered_after_good_intervals() -> None:
    watch = QualityWatch(QualityPolicy(interval_s=1.0, recover_after=2), now=0.0)
    assert watch.next_deadline() == 1.0
    assert watch.measured(_reading(1.0, 50, 0)) == []  # the baseline
    assert [e.type for e in watch.measured(_reading(2.0, 100, 0))] == ["connection_quality"]
    events = watch.measured(_reading(3.0, 140, 10))  # 20% lost
    assert [e.type for e in events] == ["connection_quality", "quality_degraded"]
    assert isinstance(events[1], QualityDegraded) and events[1].reason == "loss 20.0% above 2.0%"
    # Still bad: no second degraded event. Then jitter alone is bad too.
    assert [e.type for e in watch.measured(_reading(4.0, 180, 20))] == ["connection_quality"]
    assert [e.type for e in watch.measured(_reading(5.0, 230, 20, jitter_ms=45))] == ["connection_quality"]
    assert watch.degraded == "loss 20.0% above 2.0%"
    assert [e.type for e in watch.measured(_reading(6.0, 280, 20))] == ["connection_quality"]
    events = watch.measured(_reading(7.0, 330, 20))
    assert [e.type for e in events] == ["connection_quality", "quality_recovered"]
    assert isinstance(events[1], QualityRecovered) and watch.degraded is None
    assert watch.take_fallback() is None  # no fallback codec: only reported
    assert watch.next_deadline() == 8.0


def test_jitter_over_its_threshold_is_degraded_with_its_reason() -> None:
    watch = QualityWatch(QualityPolicy(interval_s=1.0), now=0.0)
    watch.measured(_reading(1.0, 50, 0))
    events = watch.measured(_reading(2.0, 100, 0, jitter_ms=31))
    assert isinstance(events[-1], QualityDegraded) and events[-1].reason == "jitter 31 ms above 30 ms"


def test_the_fallback_is_decided_once_and_a_new_connection_starts_a_new_baseline() -> None:
    watch = QualityWatch(QualityPolicy(interval_s=1.0, fallback_codec="pcmu"), now=0.0)
    watch.measured(_reading(1.0, 50, 0))
    watch.measured(_reading(2.0, 80, 20))
    assert watch.take_fallback() == "pcmu" and watch.take_fallback() is None
    watch.connected(2.5)
    assert watch.next_deadline() == 3.5
    # The new call's counters start at zero: a baseline, not a negative interval.
    assert watch.measured(_reading(3.5, 10, 5, codec="pcmu")) == []
    watch.measured(_reading(4.5, 40, 20, codec="pcmu"))
    assert watch.take_fallback() is None  # already on the fallback codec
    watch.skipped(5.0)
    assert watch.next_deadline() == 6.0


@pytest.mark.parametrize(
    "knobs",
    [{"interval_s": 0}, {"max_loss": 1.0}, {"max_jitter_ms": 0}, {"recover_after": 0}, {"fallback_codec": "g722"}],
)
def test_quality_policy_refuses_bad_values(knobs: dict[str, object]) -> None:
    with pytest.raises(DefinitionError):
        QualityPolicy(**knobs)  # type: ignore[arg-type]
