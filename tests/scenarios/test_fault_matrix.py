"""The fault matrix: a session against the local server's fault injection, one fault per case.

Each case drives a short conversation over real sockets (pace fast), breaks the wire at one
stage of a turn, and checks what a user of the session would notice: the status it ends in,
that the history after recovery holds every item and every tool output that existed before
the fault (in order), that the service's new conversation holds them too, and that the
conversation goes on. The table in docs/resilience.md lists the same cases.

Every fault fires in the server's first session only (`sessions=(1,)`), so the client
reconnects to the same server and its second session is clean.
"""

from __future__ import annotations

import math
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from agentkit import RealtimeAgent, SessionLimits, SessionSettings, tool
from agentkit.errors import ConnectionClosed, ProtocolError, ReconnectFailed
from agentkit.events import (
    AssistantTranscript,
    AudioOut,
    ErrorEvent,
    HandoffEvent,
    InputAudioDropped,
    RawServerEvent,
    Reconnected,
    Reconnecting,
    SessionEvent,
    SessionStatus,
    TextFallback,
    ToolEnd,
)
from agentkit.history import HistoryItem
from agentkit.policy import ReconnectPolicy
from agentkit.runner import RealtimeRunner
from agentkit.runtime.reconnect import replay_items
from agentkit.server import Fault, LocalRealtimeServer, ServerSession
from agentkit.session import RealtimeSession
from agentkit.transports import WebSocketTransport, realtime_url

SCRIPT: dict[str, Any] = {
    "turns": [
        {
            "user": "Where is my order 42?",
            "mode": "text",
            "steps": [
                {"say": "Let me check that order for you right away."},
                {"call": "lookup_order", "arguments": {"order_id": "42"}},
                {"say": "Order {{ output.order_id }} is {{ output.status }}."},
            ],
        },
        {
            "user": "I want a refund",
            "mode": "text",
            "alternatives": [
                {
                    "when": {"has_tool": "transfer_to_billing"},
                    "steps": [
                        {"handoff": "billing"},
                        {"say": "Billing here.", "when": {"instructions_contain": "billing"}},
                    ],
                }
            ],
            "steps": [{"say": "I can help with that refund."}],
        },
        {"user": "Thanks, bye.", "mode": "text", "steps": [{"say": "Goodbye!"}]},
    ]
}


@tool
async def lookup_order(order_id: str) -> dict[str, str]:
    """Look an order up (takes 50 ms: long enough to finish while the connection is down)."""
    await anyio.sleep(0.05)
    return {"order_id": order_id, "status": "shipped"}


billing = RealtimeAgent(name="Billing", instructions="You handle billing and refunds.")
support = RealtimeAgent(
    name="Support", instructions="You help with orders.", tools=[lookup_order], handoffs=[billing]
)

FAST = ReconnectPolicy(max_attempts=3, base_delay_s=0.1, max_delay_s=0.2, jitter=0.0)


@dataclass
class Run:
    session: RealtimeSession[Any]
    server: LocalRealtimeServer
    events: list[SessionEvent] = field(default_factory=list)
    before_fault: list[HistoryItem] = field(default_factory=list)

    async def until(self, predicate: Any, timeout: float = 5.0) -> SessionEvent:
        with anyio.fail_after(timeout):
            async for event in self.session:
                self.events.append(event)
                if predicate(event):
                    return event
        raise AssertionError(f"session ended first: {self.events[-5:]}")

    async def say(self, text: str) -> str:
        """A typed turn; the assistant's last transcript of it (after any tool follow-up)."""
        await self.session.send_text(text)
        event = await self.until(lambda e: isinstance(e, AssistantTranscript))
        assert isinstance(event, AssistantTranscript)
        return event.transcript

    def latest(self) -> ServerSession:
        """The server's newest live session (the one the client reconnected to)."""
        return list(self.server.sessions.values())[-1]

    def server_items(self) -> list[dict[str, Any]]:
        core = self.latest()
        return [core.items[i].data for i in core.order]


@asynccontextmanager
async def scenario(
    faults: list[Fault],
    *,
    policy: ReconnectPolicy | None = FAST,
    factory_url: str | None = None,
    settings: SessionSettings | None = None,
    limits: SessionLimits | None = None,
    agent: RealtimeAgent[Any] = support,
) -> AsyncIterator[Run]:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=faults) as server:
        runner = RealtimeRunner(agent, reconnect=policy, settings=settings, limits=limits)
        first = realtime_url("gpt-realtime", server.url)
        url = factory_url or first
        session = runner.session(
            WebSocketTransport(first, api_key="sk-test"),
            transport_factory=lambda: WebSocketTransport(url, api_key="sk-test"),
        )
        run = Run(session, server)

        def snapshot(event: Reconnecting) -> None:
            if event.attempt == 1:
                run.before_fault = session.history.items()

        session.on("reconnecting", snapshot)
        async with session:
            yield run


def assert_kept(before: list[HistoryItem], after: list[HistoryItem]) -> None:
    """Every item that existed before the fault is still there, in the same order, and every
    tool output with the same output."""
    ids = [i.item_id for i in after]
    positions = [ids.index(i.item_id) for i in before]  # raises if one was lost
    assert positions == sorted(positions)
    outputs_after = {i.call_id: i.output for i in after if i.kind == "function_call_output"}
    for item in before:
        if item.kind == "function_call_output":
            assert outputs_after[item.call_id] == item.output


async def replayed_on_server(run: Run, before: list[HistoryItem]) -> None:
    """The new service conversation holds every item from before the fault that the replay
    re-creates, in order (what it leaves out is checked by the planner's own tests)."""
    wanted = [w["id"] for w in replay_items(before)]
    with anyio.fail_after(2):
        while True:
            on_server = [d["id"] for d in run.server_items()] if run.server.sessions else []
            if all(i in on_server for i in wanted):
                break
            await anyio.sleep(0.01)
    positions = [on_server.index(i) for i in wanted]
    assert positions == sorted(positions)


async def answer_containing(run: Run, text: str) -> None:
    await run.until(lambda e: isinstance(e, AssistantTranscript) and text in e.transcript)


def pcm_tone(ms: int, amplitude: float = 0.5) -> bytes:
    samples = 24 * ms
    return b"".join(
        struct.pack("<h", int(amplitude * 32767 * math.sin(2 * math.pi * 440 * n / 24000)))
        for n in range(samples)
    )


# --- connection dropped at each stage of a turn -----------------------------------------------


async def test_drop_mid_response_reconnects_and_the_conversation_goes_on() -> None:
    faults = [Fault("drop", at_event="response.output_audio.delta", occurrence=2, sessions=(1,))]
    async with scenario(faults) as run:
        await run.session.send_text("Where is my order 42?")
        await run.until(lambda e: isinstance(e, Reconnected))
        assert run.session.status is SessionStatus.CONNECTED
        # The cut answer is asked for again; the order is looked up and reported.
        await answer_containing(run, "shipped")
        assert_kept(run.before_fault, run.session.history.items())
        await replayed_on_server(run, run.before_fault)
        # The answer the drop cut off stays in the history, marked incomplete (not replayed).
        (cut,) = [i for i in run.session.history.items() if i.status == "incomplete"]
        assert cut.role == "assistant" and cut.item_id in {i.item_id for i in run.before_fault}
        assert await run.say("Thanks, bye.") == "Goodbye!"
    statuses = [e for e in run.events if e.type == "status"]
    assert [s.new for s in statuses][:4] == [
        SessionStatus.CONNECTING,
        SessionStatus.CONNECTED,
        SessionStatus.RECONNECTING,
        SessionStatus.CONNECTED,
    ]


# --- a service that goes silent while it owes an answer ------------------------------------------

QUICK_STALL = SessionLimits(stall_timeout_s=0.3)


async def test_a_stall_mid_response_is_detected_and_the_call_goes_on_after_a_reconnect() -> None:
    # The socket stays open and websockets' pings would still be answered: only the silence
    # while a response is under way tells.
    faults = [Fault("stall", at_event="response.output_audio.delta", occurrence=2, sessions=(1,))]
    async with scenario(faults, limits=QUICK_STALL) as run:
        await run.session.send_text("Where is my order 42?")
        reconnecting = await run.until(lambda e: isinstance(e, Reconnecting))
        assert isinstance(reconnecting, Reconnecting) and reconnecting.reason == "stalled"
        stalled = [e for e in run.events if isinstance(e, ErrorEvent) and e.code == "stalled"]
        assert len(stalled) == 1 and "stall_timeout_s=0.3" in str(stalled[0].error)
        await answer_containing(run, "shipped")
        assert_kept(run.before_fault, run.session.history.items())
        assert await run.say("Thanks, bye.") == "Goodbye!"


async def test_a_stall_without_a_reconnect_policy_ends_the_session_with_the_error() -> None:
    faults = [Fault("stall", at_event="response.created", sessions=(1,))]
    with pytest.raises(ProtocolError, match="sent nothing for"):
        async with scenario(faults, policy=None, limits=QUICK_STALL) as run:
            await run.session.send_text("Where is my order 42?")
            await run.until(lambda e: False, timeout=5)


@tool(name="lookup_order")
async def slow_lookup_order(order_id: str) -> dict[str, str]:
    """Look an order up (takes 600 ms)."""
    await anyio.sleep(0.6)
    return {"order_id": order_id, "status": "shipped"}


async def test_a_slow_tool_is_not_a_stall() -> None:
    # The watchdog runs only while the service owes something: during a tool call nothing
    # is owed, and the follow-up response.create restarts the clock.
    slow = RealtimeAgent(name="Support", instructions="Orders.", tools=[slow_lookup_order])
    async with scenario([], limits=QUICK_STALL, agent=slow) as run:
        await run.session.send_text("Where is my order 42?")
        await answer_containing(run, "shipped")
    assert not [e for e in run.events if isinstance(e, (ErrorEvent, Reconnecting))]


async def test_drop_between_a_call_and_its_output_delivers_the_output_after_reconnect() -> None:
    faults = [Fault("drop", at_event="response.done", occurrence=1, sessions=(1,))]
    async with scenario(faults) as run:
        await run.session.send_text("Where is my order 42?")
        reconnected = await run.until(lambda e: isinstance(e, Reconnected))
        await run.until(lambda e: isinstance(e, AssistantTranscript))
        ends = [e for e in run.events if isinstance(e, ToolEnd)]
        assert [(e.tool_name, e.error) for e in ends] == [("lookup_order", None)]
        # The tool finished while the connection was down (50 ms tool, 100 ms backoff): its
        # output was not in the history before the fault, and reached the new conversation.
        assert not any(i.kind == "function_call_output" for i in run.before_fault)
        call_id = ends[0].call_id
        outputs = [d for d in run.server_items() if d.get("type") == "function_call_output"]
        assert [(d["call_id"], d["output"]) for d in outputs] == [
            (call_id, '{"order_id":"42","status":"shipped"}')
        ]
        calls = [d for d in run.server_items() if d.get("type") == "function_call"]
        assert [d["call_id"] for d in calls] == [call_id]
        assert isinstance(reconnected, Reconnected) and reconnected.replayed_items >= 2
        assert_kept(run.before_fault, run.session.history.items())


async def test_drop_during_a_handoff_restores_the_new_agent() -> None:
    faults = [Fault("drop", at_event="response.done", occurrence=1, sessions=(1,))]
    async with scenario(faults) as run:
        await run.session.send_text("I want a refund")
        await run.until(lambda e: isinstance(e, Reconnected))
        await run.until(lambda e: isinstance(e, AssistantTranscript))
        assert run.session.current_agent is billing
        core = run.latest()
        # The replayed configuration is the new agent's.
        assert "billing" in core.session["instructions"]
        kinds = [(i.kind, i.name) for i in run.session.history.items()]
        assert ("function_call", "transfer_to_billing") in kinds
        assert any(i.kind == "function_call_output" for i in run.session.history.items())
        assert_kept(run.before_fault, run.session.history.items())
        await replayed_on_server(run, run.before_fault)


class DropsOnOutput(WebSocketTransport):
    """A client connection that breaks at the moment the session sends a call's output: the
    frame (and everything decided with it) never leaves."""

    async def send(self, frame: str) -> None:
        if '"function_call_output"' in frame:
            await self.close()
            raise ConnectionClosed("dropped as the output was sent", clean=False)
        await super().send(frame)


@asynccontextmanager
async def dropping_on_output() -> AsyncIterator[Run]:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        runner = RealtimeRunner(support, reconnect=FAST)
        url = realtime_url("gpt-realtime", server.url)
        session = runner.session(
            DropsOnOutput(url, api_key="sk-test"),
            transport_factory=lambda: WebSocketTransport(url, api_key="sk-test"),
        )
        async with session:
            yield Run(session, server)


@pytest.mark.parametrize("attempt", range(5))
async def test_drop_as_a_tool_finishes_still_delivers_its_tool_end(attempt: int) -> None:
    async with dropping_on_output() as run:
        await run.session.send_text("Where is my order 42?")
        end = await run.until(lambda e: isinstance(e, ToolEnd))
        assert isinstance(end, ToolEnd) and end.tool_name == "lookup_order" and end.error is None
        await run.until(lambda e: isinstance(e, Reconnected))
        # The output reached the new conversation exactly once, and the answer follows.
        await answer_containing(run, "shipped")
        outputs = [d for d in run.server_items() if d.get("type") == "function_call_output"]
        assert [d["call_id"] for d in outputs] == [end.call_id]


@pytest.mark.parametrize("attempt", range(5))
async def test_drop_as_a_handoff_finishes_still_delivers_the_handoff(attempt: int) -> None:
    async with dropping_on_output() as run:
        await run.session.send_text("I want a refund")
        handoff = await run.until(lambda e: isinstance(e, HandoffEvent))
        assert isinstance(handoff, HandoffEvent)
        assert (handoff.from_agent, handoff.to_agent) == ("Support", "Billing")
        await run.until(lambda e: isinstance(e, Reconnected))
        await answer_containing(run, "Billing here")
        assert run.session.current_agent is billing


async def test_drop_during_user_speech_reports_the_lost_audio_and_goes_on() -> None:
    faults = [Fault("drop", at_event="input_audio_buffer.speech_started", sessions=(1,))]
    async with scenario(faults) as run:
        dropped: list[InputAudioDropped] = []
        run.session.on("input_audio_dropped", dropped.append)
        for _ in range(20):  # 2 s of speech in 100 ms chunks, as a microphone sends it
            await run.session.send_audio(pcm_tone(100))
            await anyio.sleep(0.01)
        await run.until(lambda e: isinstance(e, Reconnected))
        assert run.session.status is SessionStatus.CONNECTED
        # Audio sent while the connection was down is reported, never silently dropped.
        assert dropped and dropped[0].reason == "disconnected" and dropped[0].bytes > 0
        await run.session.send_text("Where is my order 42?")
        await answer_containing(run, "shipped")


async def test_server_close_mid_response_reconnects() -> None:
    faults = [
        Fault(
            "close",
            at_event="response.output_audio.delta",
            occurrence=1,
            close_code=1011,
            sessions=(1,),
        )
    ]
    async with scenario(faults) as run:
        await run.session.send_text("Thanks, bye.")
        event = await run.until(lambda e: isinstance(e, Reconnecting))
        assert isinstance(event, Reconnecting) and event.reason == "connection lost"
        await run.until(lambda e: isinstance(e, AssistantTranscript))
        assert_kept(run.before_fault, run.session.history.items())


# --- the service ends the session ---------------------------------------------------------------


async def test_session_expiry_reconnects_with_the_history() -> None:
    # Responses 1 and 2 are the lookup turn (the call, then the follow-up); 3 is the next turn.
    faults = [Fault("expire", at_event="response.created", occurrence=3, sessions=(1,))]
    async with scenario(faults) as run:
        await run.session.send_text("Where is my order 42?")
        await answer_containing(run, "shipped")
        await run.session.send_text("Thanks, bye.")
        event = await run.until(lambda e: isinstance(e, Reconnecting))
        assert isinstance(event, Reconnecting) and event.reason == "session_expired"
        await run.until(lambda e: isinstance(e, AssistantTranscript) and e.transcript == "Goodbye!")
        assert_kept(run.before_fault, run.session.history.items())
        await replayed_on_server(run, run.before_fault)
        assert any(isinstance(e, ErrorEvent) and e.code == "session_expired" for e in run.events)


async def test_proactive_renewal_between_turns() -> None:
    policy = ReconnectPolicy(max_attempts=2, base_delay_s=0.05, jitter=0.0, renew_after_s=0.3)
    async with scenario([], policy=policy) as run:
        assert await run.say("Thanks, bye.") == "Goodbye!"
        event = await run.until(lambda e: isinstance(e, Reconnecting), timeout=3)
        assert isinstance(event, Reconnecting) and event.reason == "renewal" and event.delay_s == 0
        await run.until(lambda e: isinstance(e, Reconnected))
        assert_kept(run.before_fault, run.session.history.items())
        await replayed_on_server(run, run.before_fault)
        assert (
            await run.say("Where is my order 42?") == "Let me check that order for you right away."
        )
        await answer_containing(run, "shipped")


# --- errors the session survives without reconnecting --------------------------------------------


@pytest.mark.parametrize(
    ("action", "check"),
    [
        ("error", lambda e: isinstance(e, ErrorEvent) and e.code == "server_error"),
        ("malformed", lambda e: isinstance(e, ErrorEvent) and e.code == "malformed_event"),
        ("unknown_event", lambda e: isinstance(e, RawServerEvent)),
        ("rate_limit", lambda e: isinstance(e, ErrorEvent) and e.code == "rate_limit_exceeded"),
    ],
)
async def test_bad_server_events_are_reported_and_the_turn_completes(
    action: Any, check: Any
) -> None:
    faults = [Fault(action, at_event="response.output_audio.delta", occurrence=1, sessions=(1,))]
    async with scenario(faults) as run:
        assert await run.say("Thanks, bye.") == "Goodbye!"
        assert any(check(e) for e in run.events)
        assert not any(isinstance(e, Reconnecting) for e in run.events)
        assert run.session.status is SessionStatus.CONNECTED


# --- giving up --------------------------------------------------------------------------------------


async def test_attempts_run_out_closed_status_and_an_error() -> None:
    faults = [Fault("drop", at_event="response.done", occurrence=2, sessions=(1,))]
    policy = ReconnectPolicy(max_attempts=2, base_delay_s=0.02, max_delay_s=0.05, jitter=0.0)
    unreachable = "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime"
    async with scenario(faults, policy=policy, factory_url=unreachable) as run:
        await run.session.send_text("Where is my order 42?")
        with pytest.raises(ReconnectFailed) as raised:
            await run.until(lambda e: False)
        assert raised.value.attempts == 2
        assert run.session.status is SessionStatus.DISCONNECTED
        assert [e.attempt for e in run.events if isinstance(e, Reconnecting)] == [1, 2]
        assert any(isinstance(e, ErrorEvent) and e.code == "reconnect_failed" for e in run.events)
        # Nothing the conversation had is lost, the tool output included.
        assert_kept(run.before_fault, run.session.history.items())


async def test_attempts_run_out_text_fallback_keeps_the_conversation() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as text_server:
        text_url = realtime_url("gpt-realtime", text_server.url)
        policy = ReconnectPolicy(
            max_attempts=1,
            base_delay_s=0.02,
            jitter=0.0,
            text_fallback=lambda: WebSocketTransport(text_url, api_key="sk-test"),
        )
        faults = [Fault("drop", at_event="response.created", occurrence=3, sessions=(1,))]
        unreachable = "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime"
        async with scenario(faults, policy=policy, factory_url=unreachable) as run:
            await run.session.send_text("Where is my order 42?")
            await answer_containing(run, "shipped")
            await run.session.send_text("Thanks, bye.")
            fallback = await run.until(lambda e: isinstance(e, TextFallback))
            assert isinstance(fallback, TextFallback) and fallback.replayed_items >= 4
            assert run.session.text_only and run.session.status is SessionStatus.CONNECTED
            # The turn the drop cut off is answered, in text, by the fallback.
            mark = len(run.events)
            await answer_containing(run, "Goodbye!")
            assert not any(isinstance(e, AudioOut) for e in run.events[mark:])
            (core,) = text_server.sessions.values()
            assert core.session["output_modalities"] == ["text"]
            assert_kept(run.before_fault, run.session.history.items())
