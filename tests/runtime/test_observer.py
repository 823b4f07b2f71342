"""Tracing as an observer: one code path, whether the observer records or does nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import anyio
import orjson

from agentkit import (
    InputTranscription,
    RealtimeAgent,
    RealtimeRunner,
    SessionSettings,
    blocked_terms,
    handoff,
    input_guardrail,
    tool,
)
from agentkit import protocol as p
from agentkit.events import AgentEnd, AgentStart, SessionEvent, ToolEnd, ToolStart
from agentkit.runtime.observer import NO_OBSERVER, NoObserver, SessionObserver
from agentkit.session import RealtimeSession
from agentkit.transports import MemoryServerEnd, memory_transport_pair


class _Report:
    def __init__(self, log: list[str], what: str) -> None:
        self._log = log
        self._what = what

    def finished(self, *args: Any, **kwargs: Any) -> None:
        self._log.append(f"{self._what} finished {args[0]!r}")


class Recording(NoObserver):
    """An observer that writes down everything it is told."""

    def __init__(self) -> None:
        self.log: list[str] = []

    event_types = frozenset({AgentStart, AgentEnd, ToolStart, ToolEnd, p.ResponseDone})

    def observe(self, event: SessionEvent | p.ServerEvent) -> None:
        self.log.append(type(event).__name__)

    def response_requested(self) -> None:
        self.log.append("response_requested")

    def user_text(self, text: str) -> None:
        self.log.append(f"user_text {text!r}")

    @contextmanager
    def tool_context(self, call_id: str) -> Iterator[None]:
        self.log.append(f"tool {call_id}")
        yield

    @contextmanager
    def handoff(self, call_id: str, tool_name: str) -> Iterator[_Report]:
        yield _Report(self.log, f"handoff {call_id}")

    @contextmanager
    def guardrails(
        self, stage: Literal["input", "output"], names: Sequence[str]
    ) -> Iterator[_Report]:
        yield _Report(self.log, f"guardrails {stage}")

    def end(self, error: BaseException | None = None) -> None:
        self.log.append("end")


class _Instrumentation:
    """What the runner hands a session: here, always the given observer."""

    active = True

    def __init__(self, observer: SessionObserver) -> None:
        self.observer = observer

    def start_session(self, **kwargs: Any) -> SessionObserver:
        return self.observer


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return f"found {q}"


billing = RealtimeAgent(name="Billing", instructions="You do billing.")
desk = RealtimeAgent(
    name="Desk",
    instructions="Help.",
    tools=[lookup],
    handoffs=[billing],
    input_guardrails=[input_guardrail(blocked_terms(["idiot"]), name="civil")],
)


async def _run(observer: SessionObserver | None) -> tuple[list[dict[str, Any]], list[str]]:
    """One session: a typed turn (checked), a tool call and a transfer. What the server
    received, and what the app was told."""
    client, server = memory_transport_pair()
    runner = RealtimeRunner(desk, settings=SessionSettings(input_transcription=InputTranscription()))
    session: RealtimeSession[None] = RealtimeSession(
        agent=desk,
        transport=client,
        context=None,
        config=runner.config,
        agents=runner.agents,
        clock=lambda: 100.0,
        instrumentation=_Instrumentation(observer) if observer is not None else None,
    )
    received: list[dict[str, Any]] = []
    events: list[str] = []
    async with session:
        await session.send_text("find my order")
        await _until(server, received, "response.create")
        await server.send_event({"type": "response.created", "response": {"id": "resp_1"}})
        for call_id, name in (("c1", "lookup"), ("h1", "transfer_to_billing")):
            item = {
                "id": f"item_{call_id}",
                "type": "function_call",
                "call_id": call_id,
                "name": name,
                "arguments": '{"q": "a"}' if name == "lookup" else "{}",
            }
            await server.send_event(
                {
                    "type": "response.output_item.done",
                    "response_id": "resp_1",
                    "output_index": 0,
                    "item": item,
                }
            )
        await server.send_event({"type": "response.done", "response": {"id": "resp_1"}})
        await _until(server, received, "response.create")
    events = [e.type for e in [e async for e in session]]
    await server.close()
    return received, events


async def _until(server: MemoryServerEnd, received: list[dict[str, Any]], kind: str) -> None:
    with anyio.fail_after(2):
        while True:
            event = orjson.loads(orjson.dumps(await server.receive_event()))
            received.append(event)
            if event["type"] == kind:
                return


async def test_the_same_run_with_the_no_op_and_a_recording_observer_gives_the_same_outputs() -> None:
    recording = Recording()
    untraced = await _run(None)
    traced = await _run(recording)
    assert traced == untraced
    frames, events = untraced
    assert [f["type"] for f in frames].count("response.create") == 2
    assert "tool_end" in events and "handoff" in events
    # The recording observer was told about each piece of work, on the same path.
    for told in (
        "user_text 'find my order'",
        "guardrails input finished GuardrailVerdict(tripped=None, details={}, errors=())",
        "tool c1",
        "handoff h1 finished 'Billing'",
        "response_requested",
        "ToolStart",
        "ToolEnd",
        "end",
    ):
        assert told in recording.log


def test_the_no_op_observer_is_a_session_observer() -> None:
    observer: SessionObserver = NO_OBSERVER
    with observer.tool_context("c1"):
        pass
    with observer.handoff("h1", "transfer") as report:
        report.finished("Billing")
    assert observer.flush_due is None and observer.event_types == frozenset()


async def test_a_timed_out_transfer_is_reported_refused_with_what_the_model_was_told() -> None:
    hung = anyio.Event()

    async def on_handoff(ctx: Any) -> None:
        await hung.wait()  # never set: the watchdog times the transfer out

    agent = RealtimeAgent(
        name="Desk", instructions="Help.", handoffs=[handoff(billing, on_handoff=on_handoff)]
    )
    now = [100.0]
    recording = Recording()
    client, server = memory_transport_pair()
    session: RealtimeSession[None] = RealtimeSession(
        agent=agent,
        transport=client,
        context=None,
        config=RealtimeRunner(agent, tool_timeout=1.0).config,
        clock=lambda: now[0],
        instrumentation=_Instrumentation(recording),
    )
    received: list[dict[str, Any]] = []
    async with session:
        await server.send_event({"type": "response.created", "response": {"id": "resp_1"}})
        item = {"id": "i1", "type": "function_call", "call_id": "h1", "name": "transfer_to_billing"}
        await server.send_event(
            {
                "type": "response.output_item.done",
                "response_id": "resp_1",
                "output_index": 0,
                "item": item,
            }
        )
        for _ in range(5):
            await anyio.sleep(0)
        now[0] += 1.0
        session._timer_wakeup.set()  # the timer looks at the (jumped) clock again
        await _until(server, received, "conversation.item.create")
        for _ in range(5):
            await anyio.sleep(0)
    await server.close()
    refusal = received[-1]["item"]["output"]
    assert "timed out" in refusal
    assert "handoff h1 finished None" in recording.log
    assert session.current_agent is agent
