"""The runtime side of issue #5 over the in-memory transport: approvals through the session
API, guardrail checks run as tasks, the bounded event queue, the concurrency cap, and a
reconnect whose transports come from a factory."""

from __future__ import annotations

from typing import Any

import anyio

from agentkit import RealtimeAgent, SessionLimits, output_guardrail, tool
from agentkit.events import EventsDropped, GuardrailTripped, Reconnected, ToolApprovalRequired
from agentkit.policy import ReconnectPolicy
from agentkit.runner import RealtimeRunner
from agentkit.transports import MemoryServerEnd, memory_transport_pair


@tool(needs_approval=True)
async def wire_money(amount: int) -> str:
    """Send money."""
    return f"sent {amount}"


def slow_check(ctx: Any, text: str) -> bool:
    return "secret" in text


agent = RealtimeAgent(
    name="Bank",
    instructions="Bank.",
    tools=[wire_money],
    output_guardrails=[output_guardrail(slow_check, name="no_secret")],
)


async def next_of(server: MemoryServerEnd, kind: str) -> dict[str, Any]:
    with anyio.fail_after(2):
        while True:
            event = await server.receive_event()
            if event["type"] == kind:
                return event


def call_event(call_id: str) -> dict[str, Any]:
    return {
        "type": "response.output_item.done",
        "response_id": "resp_1",
        "output_index": 0,
        "item": {
            "id": f"i_{call_id}",
            "type": "function_call",
            "call_id": call_id,
            "name": "wire_money",
            "arguments": '{"amount": 5}',
        },
    }


async def test_approval_through_the_session_api() -> None:
    client, server = memory_transport_pair()
    session = RealtimeRunner(agent).session(client)
    asked: list[ToolApprovalRequired] = []
    session.on("tool_approval_required", asked.append)
    async with session:
        await next_of(server, "session.update")
        await server.send_event({"type": "response.created", "response": {"id": "resp_1"}})
        await server.send_event(call_event("c1"))
        with anyio.fail_after(2):
            while not asked:
                await anyio.sleep(0.01)
        assert session.pending_approvals == ["c1"]
        assert await session.approve("c1")
        output = await next_of(server, "conversation.item.create")
        assert output["item"]["output"] == "sent 5"
    await server.close()


async def test_output_guardrail_runs_as_a_task_and_trips() -> None:
    client, server = memory_transport_pair()
    session = RealtimeRunner(agent).session(client)
    trips: list[GuardrailTripped] = []
    session.on("guardrail_tripped", trips.append)
    async with session:
        await next_of(server, "session.update")
        await server.send_event({"type": "response.created", "response": {"id": "resp_1"}})
        await server.send_event(
            {
                "type": "conversation.item.added",
                "item": {
                    "id": "a1",
                    "type": "message",
                    "role": "assistant",
                    "status": "in_progress",
                },
            }
        )
        await server.send_event(
            {
                "type": "response.output_text.done",
                "response_id": "resp_1",
                "item_id": "a1",
                "output_index": 0,
                "content_index": 0,
                "text": "the secret is 42",
            }
        )
        cancel = await next_of(server, "response.cancel")
        assert cancel["response_id"] == "resp_1"
        assert (await next_of(server, "conversation.item.delete"))["item_id"] == "a1"
    assert [t.guardrail_name for t in trips] == ["no_secret"]
    await server.close()


async def test_bounded_queue_reports_what_it_dropped() -> None:
    client, server = memory_transport_pair()
    session = RealtimeRunner(agent, limits=SessionLimits(max_queued_events=3)).session(client)
    async with session:
        await next_of(server, "session.update")
        for _ in range(6):
            await server.send_event(
                {
                    "type": "response.output_audio.delta",
                    "response_id": "resp_1",
                    "item_id": "a1",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": "AAAA",
                }
            )
        await anyio.sleep(0.05)
        iterator = session.__aiter__()
        first = await iterator.__anext__()
        assert isinstance(first, EventsDropped) and first.audio_chunks >= 3
        assert first.audio_bytes == first.audio_chunks * 3
    await server.close()


async def test_reconnect_through_a_transport_factory_replays_history() -> None:
    pairs = [memory_transport_pair() for _ in range(2)]
    transports = iter(pairs[1:])
    runner = RealtimeRunner(agent, reconnect=ReconnectPolicy(base_delay_s=0.01, jitter=0.0))
    session = runner.session(pairs[0][0], transport_factory=lambda: next(transports)[0])
    reconnected: list[Reconnected] = []
    session.on("reconnected", reconnected.append)
    async with session:
        first = pairs[0][1]
        await next_of(first, "session.update")
        await session.send_text("hello")
        await next_of(first, "response.create")
        await first.abort()
        second = pairs[1][1]
        assert (await next_of(second, "session.update"))["session"]["instructions"] == "Bank."
        item = await next_of(second, "conversation.item.create")
        assert item["item"]["content"][0]["text"] == "hello"
        # The request the drop left unanswered is asked again.
        await next_of(second, "response.create")
    assert [r.replayed_items for r in reconnected] == [1]
    await second.close()
