"""Real clients against the local server: the `openai` SDK and openai-agents' RealtimeRunner."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai import AsyncOpenAI
from openai_conformance import validate_server_event

from agentkit.server import LocalRealtimeServer

ORDER_SCRIPT = """
turns:
  - user: Where is my order 42?
    mode: text
    steps:
      - say: Let me check that.
      - call: lookup_order
        arguments: {order_id: "42"}
      - say: "Order {{ output.order_id }} is {{ output.status }}."
"""

LOOKUP_TOOL = {
    "type": "function",
    "name": "lookup_order",
    "description": "Look up an order.",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
}


async def test_openai_sdk_conversation_with_tool_call() -> None:
    async with LocalRealtimeServer(script=ORDER_SCRIPT, pace="fast") as server:
        client = AsyncOpenAI(api_key="x", websocket_base_url=server.base_url_ws)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(session={"type": "realtime", "tools": [LOOKUP_TOOL]})  # type: ignore[list-item]
            await conn.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Where is my order 42?"}]}
            )
            await conn.response.create()
            transcripts: list[str] = []
            calls: list[tuple[str, str]] = []
            finished = 0
            async with asyncio.timeout(10):
                async for event in conn:
                    validate_server_event(event.model_dump(mode="json", exclude_unset=True), "ga")
                    if event.type == "response.output_audio_transcript.done":
                        transcripts.append(event.transcript)
                    elif event.type == "response.function_call_arguments.done":
                        calls.append((event.name, event.arguments))
                        await conn.conversation.item.create(
                            item={"type": "function_call_output", "call_id": event.call_id, "output": json.dumps({"order_id": "42", "status": "shipped"})}
                        )
                        await conn.response.create()
                    elif event.type == "response.done":
                        assert event.response.status == "completed"
                        finished += 1
                        if finished == 2:
                            break
    assert calls == [("lookup_order", '{"order_id":"42"}')]
    assert transcripts == ["Let me check that.", "Order 42 is shipped."]


HANDOFF_SCRIPT = """
turns:
  - user: What's the weather in Paris?
    mode: text
    steps:
      - call: get_weather
        arguments: {city: Paris}
      - say: "It is {{ output }} in Paris."
  - user: I want a refund for my ticket.
    mode: text
    alternatives:
      - when: {has_tool: transfer_to_billing}
        steps:
          - handoff: billing
          - say: Billing here. Your refund is on its way.
            when: {instructions_contain: billing agent}
          - say: Nobody took the call.
            when: {instructions_lack: billing agent}
    steps:
      - say: I cannot help with refunds.
"""


async def test_openai_agents_runner_tool_call_and_handoff() -> None:
    from agents import function_tool
    from agents.realtime import RealtimeAgent, RealtimeRunner

    @function_tool
    def get_weather(city: str) -> str:
        """Weather of a city."""
        return "sunny"

    billing = RealtimeAgent(name="Billing", instructions="You are the billing agent. Handle refunds.")
    triage = RealtimeAgent(name="Triage", instructions="You route callers.", tools=[get_weather], handoffs=[billing])
    runner = RealtimeRunner(triage)
    async with LocalRealtimeServer(script=HANDOFF_SCRIPT, pace="fast") as server:
        session = await runner.run(model_config={"url": server.url + "?model=gpt-realtime", "api_key": "x"})
        seen: list[str] = []
        transcripts: list[str] = []
        tools: list[str] = []
        handoffs: list[tuple[str, str]] = []
        async with session, asyncio.timeout(20):
            await session.send_message("What's the weather in Paris?")
            turn = 0
            async for event in session:
                seen.append(event.type)
                if event.type == "tool_end":
                    tools.append(event.tool.name)
                elif event.type == "handoff":
                    handoffs.append((event.from_agent.name, event.to_agent.name))
                elif event.type == "raw_model_event" and event.data.type == "raw_server_event":
                    raw: dict[str, Any] = event.data.data
                    validate_server_event(raw, "ga")
                    if raw["type"] == "response.output_audio_transcript.done":
                        transcripts.append(raw["transcript"])
                        turn += 1
                        if turn == 1:
                            await session.send_message("I want a refund for my ticket.")
                        elif turn == 2:
                            break

    assert tools == ["get_weather"]
    assert handoffs == [("Triage", "Billing")]
    assert transcripts == ["It is sunny in Paris.", "Billing here. Your refund is on its way."]
