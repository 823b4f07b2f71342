"""The session runtime over the in-memory transport: what an app and the wire see."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import anyio
import pytest

from agentkit import (
    GuardrailSettings,
    InputTranscription,
    RealtimeAgent,
    RunContext,
    ServerVad,
    SessionSettings,
    handoff,
    input_guardrail,
    tool,
)
from agentkit.events import (
    AudioInterrupted,
    AudioOut,
    Breadcrumb,
    ErrorEvent,
    HandoffEvent,
    SessionEvent,
    SessionStatus,
    StatusChanged,
    ToolEnd,
)
from agentkit.history import HistoryItem
from agentkit.runner import RealtimeRunner
from agentkit.runtime.tool_runner import ToolRunner
from agentkit.session import RealtimeSession
from agentkit.transports import ConnectionClosed, MemoryServerEnd, memory_transport_pair

PCM_100MS = base64.b64encode(b"\x00\x01" * 2400).decode()

cancelled: list[str] = []


@tool
async def fetch(ctx: RunContext[dict[str, str]], key: str) -> str:
    """Fetch a value."""
    ctx.add_breadcrumb(f"fetched {key}")
    return f"{key}={ctx.context['user']}"


class Meeting:
    """Two calls that wait for each other: they finish only if they run at the same time."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.all_here = anyio.Event()


_meeting: list[Meeting] = []


@tool
async def meet(ctx: RunContext[dict[str, str]], key: str) -> str:
    """Return once a second call of this tool runs too (two calls in sequence never do)."""
    meeting = _meeting[0]
    meeting.arrived.append(key)
    if len(meeting.arrived) == 2:
        meeting.all_here.set()
    with anyio.fail_after(2):
        await meeting.all_here.wait()
    ctx.add_breadcrumb(f"fetched {key}")
    return f"{key}={ctx.context['user']}"


@tool(cancellable=True)
async def long_search(q: str) -> str:
    """A search the caller may interrupt."""
    try:
        await anyio.Event().wait()  # until cancelled
    finally:
        cancelled.append(q)
    return q


@tool(timeout=0.05)
async def too_slow(q: str) -> str:
    """Never finishes in time."""
    await anyio.Event().wait()  # until cancelled
    return q


billing = RealtimeAgent(name="Billing", instructions="You do billing.")
triage = RealtimeAgent(
    name="Triage",
    instructions="You triage.",
    tools=[fetch, meet, long_search, too_slow],
    handoffs=[billing],
)


_servers: list[MemoryServerEnd] = []


def pair() -> tuple[Any, MemoryServerEnd]:
    client, server = memory_transport_pair()
    _servers.append(server)
    return client, server


@pytest.fixture(autouse=True)
async def _close_server_ends() -> Any:
    yield
    for server in _servers:
        await server.close()
    _servers.clear()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def advance(session: RealtimeSession[Any], clock: FakeClock, seconds: float) -> None:
    """Move the session's clock on, and have its timer look at it (it sleeps until the
    deadline it computed; a fake clock jumps instead of passing)."""
    clock.now += seconds
    session._timer_wakeup.set()
    await settle()


def call(call_id: str, name: str, arguments: str, rid: str = "resp_1") -> dict[str, Any]:
    return {
        "type": "response.output_item.done",
        "response_id": rid,
        "output_index": 0,
        "item": {
            "id": f"item_{call_id}",
            "type": "function_call",
            "status": "completed",
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        },
    }


def created(rid: str = "resp_1") -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": rid, "status": "in_progress"}}


def done(rid: str = "resp_1", status: str = "completed") -> dict[str, Any]:
    return {"type": "response.done", "response": {"id": rid, "status": status, "output": []}}


def audio_delta(rid: str = "resp_1") -> dict[str, Any]:
    return {
        "type": "response.output_audio.delta",
        "response_id": rid,
        "item_id": "item_a",
        "output_index": 0,
        "content_index": 0,
        "delta": PCM_100MS,
    }


async def next_of(server: MemoryServerEnd, kind: str) -> dict[str, Any]:
    with anyio.fail_after(2):
        while True:
            event = await server.receive_event()
            if event["type"] == kind:
                return event


async def settle() -> None:
    for _ in range(5):
        await anyio.sleep(0)


async def test_lifecycle_status_and_first_frame() -> None:
    client, server = pair()
    runner = RealtimeRunner(triage)
    statuses: list[SessionStatus] = []
    session = runner.session(client, context={"user": "ada"})
    session.on("status", lambda e: statuses.append(e.new))
    async with session:
        first = await server.receive_event()
        assert first["type"] == "session.update"
        assert first["session"]["instructions"] == "You triage."
        assert session.status is SessionStatus.CONNECTED
    assert statuses == [
        SessionStatus.CONNECTING,
        SessionStatus.CONNECTED,
        SessionStatus.DISCONNECTED,
    ]
    assert client.closed
    events = [e async for e in session]  # iteration ends after close
    assert [e.new for e in events if isinstance(e, StatusChanged)] == statuses


async def test_tools_run_concurrently_and_one_response_create_follows() -> None:
    client, server = pair()
    _meeting[:] = [Meeting()]
    async with RealtimeRunner(triage).session(client, context={"user": "ada"}) as session:
        await next_of(server, "session.update")
        start = time.monotonic()
        await server.send_event(created())
        # Each call returns only once the other runs too: in sequence, neither would.
        await server.send_event(call("c1", "meet", '{"key": "a"}'))
        await server.send_event(call("c2", "meet", '{"key": "b"}'))
        await server.send_event(done())
        outputs = [await next_of(server, "conversation.item.create") for _ in range(2)]
        follow = await server.receive_event()
        elapsed = time.monotonic() - start
        assert follow["type"] == "response.create"
        assert sorted(o["item"]["output"] for o in outputs) == ["a=ada", "b=ada"]
        assert elapsed < 0.55  # in parallel (in sequence: never)
        await settle()
        assert server.drain() == []  # exactly one response.create
        crumbs = [i.text for i in session.history.items() if i.kind == "breadcrumb"]
        assert sorted(crumbs) == ["fetched a", "fetched b"]


async def test_bad_calls_each_get_an_output_the_model_can_use() -> None:
    client, server = pair()
    clock = FakeClock()
    ends: list[ToolEnd] = []
    session = RealtimeRunner(triage).session(client, context={"user": "ada"}, clock=clock)
    session.on("tool_end", ends.append)
    async with session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(call("c1", "fetch", '{"wrong": 1}'))
        await server.send_event(call("c2", "no_such_tool", "{}"))
        await server.send_event(call("c3", "too_slow", '{"q": "x"}'))
        await server.send_event(done())
        await settle()
        await advance(session, clock, 0.05)  # too_slow's own timeout
        outputs = {}
        for _ in range(3):
            event = await next_of(server, "conversation.item.create")
            outputs[event["item"]["call_id"]] = event["item"]["output"]
        assert "invalid_arguments" in outputs["c1"]
        assert "unknown_tool" in outputs["c2"]
        assert "timeout" in outputs["c3"]
        assert (await server.receive_event())["type"] == "response.create"
    assert sorted((e.call_id, e.error) for e in ends) == [
        ("c1", "invalid_arguments"),
        ("c2", "unknown_tool"),
        ("c3", "timeout"),
    ]


async def test_handoff_on_the_wire() -> None:
    client, server = pair()
    handoffs: list[HandoffEvent] = []
    session = RealtimeRunner(triage).session(client)
    session.on("handoff", handoffs.append)
    async with session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(call("h1", "transfer_to_billing", "{}"))
        update = await next_of(server, "session.update")
        assert update["session"]["instructions"] == "You do billing."
        output = await server.receive_event()
        assert output["type"] == "conversation.item.create"
        assert output["item"]["call_id"] == "h1"
        await settle()
        assert server.drain() == []  # no response.create while resp_1 is active
        await server.send_event(done())
        assert (await server.receive_event())["type"] == "response.create"
        assert session.current_agent is billing
    assert handoffs == [HandoffEvent("Triage", "Billing", "h1")]


async def test_barge_in_truncates_cancels_tools_and_stops_audio() -> None:
    cancelled.clear()
    clock = FakeClock()
    client, server = pair()
    settings = SessionSettings(turn_detection=ServerVad(interrupt_response=True))
    interrupted: list[AudioInterrupted] = []
    audio: list[AudioOut] = []
    session = RealtimeRunner(triage, settings=settings).session(client, clock=clock)
    session.on("audio_interrupted", interrupted.append)
    session.on("audio", audio.append)
    async with session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(call("s1", "long_search", '{"q": "shoes"}'))
        for _ in range(3):
            await server.send_event(audio_delta())
        await settle()
        clock.now += 0.25
        await server.send_event(
            {"type": "input_audio_buffer.speech_started", "item_id": "u1", "audio_start_ms": 0}
        )
        truncate = await next_of(server, "conversation.item.truncate")
        assert truncate["audio_end_ms"] == 250
        output = await server.receive_event()
        assert output["item"]["call_id"] == "s1" and "cancelled" in output["item"]["output"]
        await server.send_event(audio_delta())  # late audio of the cut response
        await server.send_event(done(status="cancelled"))
        await settle()
        assert server.drain() == []  # no response.cancel (the server does it), no follow-up
        assert cancelled == ["shoes"]
    assert interrupted == [AudioInterrupted("item_a", 0, 250)]
    assert len(audio) == 3


async def test_manual_interrupt_and_push_to_talk() -> None:
    client, server = pair()
    settings = SessionSettings(turn_detection=None)
    async with RealtimeRunner(triage, settings=settings).session(client) as session:
        update = await next_of(server, "session.update")
        assert update["session"]["audio"]["input"]["turn_detection"] is None
        await session.start_turn()
        await session.send_audio(b"\x00" * 480)
        await session.end_turn()
        assert [(await server.receive_event())["type"] for _ in range(4)] == [
            "input_audio_buffer.clear",
            "input_audio_buffer.append",
            "input_audio_buffer.commit",
            "response.create",
        ]
        await server.send_event(created())
        await server.send_event(audio_delta())
        await settle()
        await session.interrupt()
        assert (await server.receive_event())["type"] in {
            "conversation.item.truncate",
            "response.cancel",
        }


async def test_events_by_iteration_and_handlers_together() -> None:
    client, server = pair()
    seen: list[SessionEvent] = []

    async def handler(event: AudioOut) -> None:
        seen.append(event)

    session = RealtimeRunner(triage).session(client)
    session.on("audio", handler)
    received: list[SessionEvent] = []
    async with session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(audio_delta())
        await server.send_event(done())
        with anyio.fail_after(2):
            async for event in session:
                received.append(event)
                if event.type == "agent_end":
                    break
    assert [e.type for e in received if e.type != "status"] == ["agent_start", "audio", "agent_end"]
    assert len(seen) == 1 and seen[0].audio == b"\x00\x01" * 2400


async def test_unclean_close_ends_iteration_with_the_error() -> None:
    client, server = pair()
    session = RealtimeRunner(triage).session(client)
    async with session:
        await next_of(server, "session.update")
        await server.abort()
        with anyio.fail_after(2), pytest.raises(ConnectionClosed):
            async for _ in session:
                pass
    assert session.status is SessionStatus.DISCONNECTED


async def test_clean_server_close_ends_iteration_quietly() -> None:
    client, server = pair()
    session = RealtimeRunner(triage).session(client)
    async with session:
        await next_of(server, "session.update")
        await server.close()
        with anyio.fail_after(2):
            events = [e async for e in session]
    assert events[-1] == StatusChanged(SessionStatus.CONNECTED, SessionStatus.DISCONNECTED)


async def test_session_expired_is_fatal() -> None:
    client, server = pair()
    session = RealtimeRunner(triage).session(client)
    async with session:
        await next_of(server, "session.update")
        await server.send_event(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": "session_expired",
                    "message": "60 min",
                },
            }
        )
        with anyio.fail_after(2), pytest.raises(Exception, match="session_expired"):
            async for _ in session:
                pass


async def test_sessions_side_by_side_share_nothing() -> None:
    runner = RealtimeRunner(triage)
    pairs = [pair() for _ in range(3)]
    results: dict[int, str] = {}

    async def run(index: int) -> None:
        client, server = pairs[index]
        async with runner.session(client, context={"user": f"u{index}"}) as session:
            await next_of(server, "session.update")
            await server.send_event(created(f"r{index}"))
            await server.send_event(call(f"c{index}", "fetch", '{"key": "k"}', rid=f"r{index}"))
            output = await next_of(server, "conversation.item.create")
            results[index] = output["item"]["output"]
            assert len([i for i in session.history.items() if i.kind == "breadcrumb"]) == 1

    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(run, i)
    assert results == {0: "k=u0", 1: "k=u1", 2: "k=u2"}


async def test_seeded_history_and_update_agent() -> None:
    client, server = pair()
    seed = [HistoryItem.user("Earlier question", item_id="h1")]
    async with RealtimeRunner(triage).session(client, history=seed) as session:
        await next_of(server, "session.update")
        item = await server.receive_event()
        assert item["type"] == "conversation.item.create" and item["item"]["id"] == "h1"
        await session.update_agent(billing)
        update = await next_of(server, "session.update")
        assert update["session"]["instructions"] == "You do billing."
        assert session.current_agent is billing
        assert [i.text for i in session.history.items()] == ["Earlier question"]


async def test_breadcrumb_event_reaches_the_app() -> None:
    client, server = pair()
    crumbs: list[Breadcrumb] = []
    session = RealtimeRunner(triage).session(client, context={"user": "ada"})
    session.on("breadcrumb", crumbs.append)
    async with session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(call("c1", "fetch", '{"key": "z"}'))
        await next_of(server, "conversation.item.create")
    assert crumbs == [Breadcrumb("fetched z", "c1")]


async def test_connect_failure_raises_the_transport_error_itself() -> None:
    from agentkit.errors import TransportError

    class Refusing:
        async def connect(self) -> None:
            raise TransportError("connection refused")

        async def send(self, frame: str) -> None:
            raise AssertionError("nothing is sent before connecting")

        async def receive(self) -> str:
            raise AssertionError("unreachable")

        async def close(self) -> None:
            pass

    statuses: list[SessionStatus] = []
    session = RealtimeRunner(triage).session(Refusing())
    session.on("status", lambda e: statuses.append(e.new))
    with pytest.raises(TransportError, match="refused"):
        async with session:
            raise AssertionError("the body must not run")
    assert statuses == [SessionStatus.CONNECTING, SessionStatus.DISCONNECTED]


async def test_a_failing_handler_does_not_end_the_session(caplog: pytest.LogCaptureFixture) -> None:
    client, server = pair()
    session = RealtimeRunner(triage).session(client)

    def broken(event: Any) -> None:
        raise RuntimeError("app bug")

    session.on("agent_start", broken)
    async with session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(done())
        await session.send_text("still alive?")
        assert (await next_of(server, "conversation.item.create"))["item"]["role"] == "user"
    assert "app bug" in caplog.text


async def test_close_inside_the_body_stops_the_session_and_lets_the_body_go_on() -> None:
    client, server = pair()
    session = RealtimeRunner(triage).session(client)
    body_finished = False
    async with session:
        await next_of(server, "session.update")
        await session.close()
        # The body keeps running after close(): the app may still await things.
        await anyio.sleep(0)
        with anyio.fail_after(2):
            events = [e async for e in session]
        body_finished = True
    assert body_finished
    assert session.status is SessionStatus.DISCONNECTED
    assert events[-1] == StatusChanged(SessionStatus.CONNECTED, SessionStatus.DISCONNECTED)


stubborn_finished: list[str] = []


@tool(cancellable=True)
async def stubborn(q: str) -> str:
    """Swallows the first cancellation and goes on waiting."""
    try:
        await anyio.Event().wait()  # until cancelled
    except BaseException:
        try:
            await anyio.Event().wait()  # until cancelled again
        finally:
            stubborn_finished.append(q)
    return q


async def test_close_waits_for_every_tool_task_even_one_that_swallows_a_cancel() -> None:
    client, server = pair()
    agent = RealtimeAgent(name="A", instructions="x", tools=[stubborn])
    async with RealtimeRunner(agent).session(client, context=None) as session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(call("c1", "stubborn", '{"q": "a"}'))
        await settle()
        tasks = set(session._calls.tasks.alive)
        assert len(tasks) == 1
    # `async with` returned: the task was cancelled again and has ended, not leaked.
    assert all(task.done() for task in tasks)
    assert stubborn_finished == ["a"]


async def test_a_failure_in_a_tool_task_fails_the_session_loudly() -> None:
    class BrokenRunner(ToolRunner):
        async def run(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("bug in the runner")

    client, server = pair()
    session = RealtimeSession(
        agent=triage, transport=client, context={"user": "ada"}, tool_runner=BrokenRunner()
    )
    with pytest.raises(BaseExceptionGroup) as failed:
        async with session:
            await next_of(server, "session.update")
            await server.send_event(created())
            await server.send_event(call("c1", "fetch", '{"key": "a"}'))
            with anyio.fail_after(2):
                await anyio.sleep_forever()  # until the failure ends the session
    assert failed.group_contains(RuntimeError, match="bug in the runner")


# --- timeouts: every one kept by the supervisor's watchdog, on the session's clock ------------


@tool(timeout=0.05)
async def sleepy(q: str) -> str:
    """Sleeps too long."""
    await anyio.Event().wait()  # until cancelled
    return q


async def _timed_out_call(
    agent: RealtimeAgent[Any], name: str, *, tool_timeout: float, after: float
) -> tuple[ToolEnd, float]:
    """Call `name` once, move the clock `after` seconds on: its `ToolEnd`, and the real
    seconds it took."""
    client, server = pair()
    clock = FakeClock()
    ends: list[ToolEnd] = []
    session = RealtimeRunner(agent, tool_timeout=tool_timeout).session(client, clock=clock)
    session.on("tool_end", ends.append)
    start = time.monotonic()
    async with session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(call("c1", name, '{"q": "x"}'))
        await settle()
        assert ends == []
        await advance(session, clock, after)
        output = await next_of(server, "conversation.item.create")
        assert "timeout" in output["item"]["output"]
    return ends[0], time.monotonic() - start


async def test_per_tool_timeout() -> None:
    agent = RealtimeAgent(name="A", instructions="x", tools=[sleepy])
    end, elapsed = await _timed_out_call(agent, "sleepy", tool_timeout=10, after=0.05)
    assert end.error == "timeout"
    assert elapsed < 1


async def test_default_timeout_applies_to_sync_tools_without_waiting_for_the_thread() -> None:
    release = threading.Event()

    @tool
    def blocking(q: str) -> str:
        """Blocks."""
        release.wait(5)
        return q

    agent = RealtimeAgent(name="A", instructions="x", tools=[blocking])
    try:
        end, elapsed = await _timed_out_call(agent, "blocking", tool_timeout=0.05, after=0.05)
    finally:
        release.set()
    assert end.error == "timeout"
    assert elapsed < 1


async def test_a_tool_a_handoff_and_an_input_check_time_out_on_the_session_clock() -> None:
    hung = anyio.Event()  # never set: the callback and the guardrail hang

    async def on_handoff(ctx: RunContext[Any]) -> None:
        await hung.wait()

    async def slow_check(ctx: RunContext[Any], text: str) -> bool:
        await hung.wait()
        return False

    agent = RealtimeAgent(
        name="A",
        instructions="x",
        tools=[sleepy],
        handoffs=[handoff(billing, on_handoff=on_handoff)],
        input_guardrails=[input_guardrail(slow_check, name="slow")],
    )
    settings = SessionSettings(input_transcription=InputTranscription())
    client, server = pair()
    clock = FakeClock()
    seen: list[Any] = []
    runner = RealtimeRunner(
        agent, settings=settings, tool_timeout=1.0, guardrails=GuardrailSettings()
    )
    session = runner.session(client, clock=clock)
    for name in ("tool_end", "error", "audio"):
        session.on(name, seen.append)
    async with session:
        await next_of(server, "session.update")
        await server.send_event(created())
        await server.send_event(call("c1", "sleepy", '{"q": "x"}'))
        await server.send_event(call("h1", "transfer_to_billing", "{}"))
        await settle()
        await advance(session, clock, 0.05)  # sleepy's own timeout
        await advance(session, clock, 1.0)  # the transfer's (the runner's tool_timeout)
        outputs = {}
        for _ in range(2):
            event = await next_of(server, "conversation.item.create")
            outputs[event["item"]["call_id"]] = event["item"]["output"]
        await server.send_event(done())
        # A spoken turn whose check hangs: its response is held back until the deadline.
        await server.send_event({"type": "input_audio_buffer.committed", "item_id": "u1"})
        await server.send_event(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": "u1",
                "content_index": 0,
                "transcript": "hello",
            }
        )
        await server.send_event(created("resp_2"))
        await server.send_event(audio_delta("resp_2"))
        await settle()
        assert not any(isinstance(e, AudioOut) for e in seen)  # held
        timeout_s = GuardrailSettings().input_check_timeout_s
        await advance(session, clock, timeout_s)  # the held turn's input check
        await settle()
    assert "timeout" in outputs["c1"] and "timed out" in outputs["h1"]
    assert session.current_agent is agent
    assert [(e.call_id, e.error) for e in seen if isinstance(e, ToolEnd)] == [("c1", "timeout")]
    assert any(isinstance(e, ErrorEvent) and e.code == "input_check_timeout" for e in seen)
    assert any(isinstance(e, AudioOut) for e in seen)  # released unchecked
