"""Connection quality over a WebRTC call to the local server (`QualityPolicy`).

The server's media faults (`WebRTCEndpoint.impair`) drop RTP packets or delay them on the
live call; the session's quality watch reads the client's stats on the session's timer and
reports `ConnectionQuality` every interval, `QualityDegraded` when loss or jitter crosses
its threshold and `QualityRecovered` once the faults stop. With a fallback codec the call
moves to PCMU through the reconnect path mid-conversation, and the conversation finishes
with every history item and tool output it had.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import anyio

from agentkit import QualityPolicy, ReconnectPolicy
from agentkit.events import (
    AssistantTranscript,
    CodecChanged,
    ConnectionQuality,
    QualityDegraded,
    QualityRecovered,
    Reconnected,
    SessionEvent,
    ToolEnd,
)
from agentkit.history import HistoryItem
from agentkit.loader import load_definitions
from agentkit.runner import RealtimeRunner
from agentkit.server import LocalRealtimeServer, load_script
from agentkit.session import RealtimeSession
from agentkit.transports import MediaFaults, WebRTCTransport

ROOT = Path(__file__).parents[2]
SCRIPT = load_script(ROOT / "tests" / "data" / "conversations" / "return_insult_drop.yaml")
DEFINITIONS = load_definitions(ROOT / "examples" / "customer_service" / "agents.yaml")
# Short intervals; jitter's threshold above what a busy machine's loopback shows.
FAST = QualityPolicy(interval_s=0.3, max_loss=0.02, max_jitter_ms=60.0, recover_after=2)
LOSSY = MediaFaults(loss_percent=30, seed=7)


def quality_session(
    server: LocalRealtimeServer, quality: QualityPolicy, **runner: Any
) -> tuple[RealtimeSession[Any], WebRTCTransport]:
    built = RealtimeRunner(DEFINITIONS, **runner)
    transport = WebRTCTransport(server.base_url, api_key="sk-test", codec="opus")
    session: RealtimeSession[Any] = RealtimeSession(
        agent=built.starting_agent,
        transport=transport,
        context=DEFINITIONS.context_factory() if DEFINITIONS.context_factory else None,
        config=built.config,
        agents=built.agents,
        quality=quality,
    )
    return session, transport


class Events:
    """Reads a session's events, keeping them, until a condition holds."""

    def __init__(self, session: RealtimeSession[Any]) -> None:
        self.session = session
        self.seen: list[SessionEvent] = []

    async def until(self, done: Any, what: str, timeout: float = 6.0) -> SessionEvent:
        with anyio.move_on_after(timeout):
            async for event in self.session:
                self.seen.append(event)
                if done(event):
                    return event
        kinds = [e.type for e in self.seen if e.type != "audio"]
        raise AssertionError(f"no {what}: {kinds[-30:]}")

    async def said(self, prefix: str) -> None:
        await self.until(
            lambda e: isinstance(e, AssistantTranscript) and e.transcript.startswith(prefix),
            repr(prefix),
        )


async def test_loss_degrades_the_connection_and_it_recovers_when_the_loss_stops() -> None:
    started = time.monotonic()
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        session, transport = quality_session(server, FAST)
        events = Events(session)
        async with session:
            await events.until(lambda e: isinstance(e, ConnectionQuality), "a quality report")
            server.webrtc.impair(LOSSY)
            degraded = await events.until(lambda e: isinstance(e, QualityDegraded), "degraded")
            server.webrtc.impair(MediaFaults())
            recovered = await events.until(lambda e: isinstance(e, QualityRecovered), "recovered")
    assert isinstance(degraded, QualityDegraded) and degraded.reason.startswith("loss ")
    assert degraded.quality.loss > FAST.max_loss and degraded.quality.codec == "opus"
    assert isinstance(recovered, QualityRecovered) and recovered.quality.loss <= 0.02
    reports = [e for e in events.seen if isinstance(e, ConnectionQuality)]
    assert all(r.codec == "opus" and r.bitrate_kbps > 0 for r in reports)
    assert transport.negotiated == "opus"  # no fallback asked for: the codec stays
    assert time.monotonic() - started < 10


async def test_jitter_degrades_the_connection() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        server.webrtc.faults = dataclasses.replace(
            server.webrtc.faults, media=MediaFaults(jitter_ms=400, seed=3)
        )
        # One sender's packets arrive in order, so frames held back arrive in a burst and
        # the estimate stays well under the hold (400 ms of hold: 20-30 ms on loopback).
        policy = dataclasses.replace(FAST, max_jitter_ms=18.0)
        session, _ = quality_session(server, policy)
        events = Events(session)
        async with session:
            degraded = await events.until(lambda e: isinstance(e, QualityDegraded), "degraded")
    assert isinstance(degraded, QualityDegraded) and "jitter" in degraded.reason
    assert degraded.quality.jitter_ms > policy.max_jitter_ms


def _kept(item: HistoryItem) -> tuple[Any, ...]:
    return (item.item_id, item.kind, item.role, item.text, item.call_id, item.output)


async def test_fallback_moves_the_call_to_pcmu_and_keeps_the_conversation() -> None:
    started = time.monotonic()
    policy = dataclasses.replace(FAST, fallback_codec="pcmu")
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        session, transport = quality_session(
            server, policy, reconnect=ReconnectPolicy(base_delay_s=0.05, max_delay_s=0.2)
        )
        talk = Events(session)
        async with session:
            assert transport.negotiated == "opus"
            await session.send_text(SCRIPT.turns[0].user)
            await talk.said("Thanks ")
            before = [_kept(item) for item in session.history.items()]
            server.webrtc.impair(LOSSY)  # this call only: the next one is clean
            changed = await talk.until(lambda e: isinstance(e, CodecChanged), "codec change")
            assert transport.negotiated == "pcmu"
            await session.send_text(SCRIPT.turns[1].user)
            await talk.said("Eligible")
            await session.send_text(SCRIPT.turns[2].user)
            await talk.said("Done. Your return number is RMA")
            await talk.until(lambda e: isinstance(e, QualityRecovered), "recovered")
    seen = talk.seen
    assert isinstance(changed, CodecChanged)
    assert (changed.old, changed.new) == ("opus", "pcmu") and changed.reason.startswith("loss ")
    kinds = [e.type for e in seen if e.type in ("quality_degraded", "reconnected", "codec_changed")]
    assert kinds == ["quality_degraded", "reconnected", "codec_changed"]
    (reconnected,) = [e for e in seen if isinstance(e, Reconnected)]
    assert reconnected.replayed_items >= len(before) - 1  # the greeting-less start: all items
    after = [_kept(item) for item in session.history.items()]
    assert after[: len(before)] == before  # every item kept, unchanged, in order
    items = session.history.items()
    calls = {item.call_id for item in items if item.kind == "function_call"}
    outputs = [item for item in items if item.kind == "function_call_output"]
    # Three tools and the transfer to returns: every call has its output.
    assert len(outputs) == 4 and all(item.output for item in outputs)
    assert {item.call_id for item in outputs} == calls
    assert [(e.tool_name, e.error) for e in seen if isinstance(e, ToolEnd)] == [
        ("verify_customer", None),
        ("check_return_eligibility", None),
        ("start_return", None),
    ]
    reports = [e for e in seen if isinstance(e, ConnectionQuality)]
    assert reports[-1].codec == "pcmu"
    assert time.monotonic() - started < 12
