"""The server over a real socket: URLs, dialects, sideband attach, sessions end to end."""

from __future__ import annotations

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from wire_client import SCRIPT, WireClient

from agentkit.server import LocalRealtimeServer


async def test_urls_and_ephemeral_port() -> None:
    async with LocalRealtimeServer(pace="fast") as server:
        assert server.port > 0
        assert server.url == f"ws://127.0.0.1:{server.port}/v1/realtime"
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        client = await WireClient.open(server.url + "?model=gpt-realtime")
        created = await client.recv()
        assert created["type"] == "session.created" and created["session"]["model"] == "gpt-realtime"
        assert (await client.recv())["type"] == "conversation.created"
        assert created["session"]["id"] in server.sessions
        await client.close()


async def test_beta_dialect_by_header_subprotocol_and_azure_path() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        beta = await WireClient.open(server.url + "?model=gpt-4o-realtime-preview", dialect="beta")
        session = (await beta.recv())["session"]
        assert session["input_audio_format"] == "pcm16" and "audio" not in session
        await beta.send({"type": "session.update", "session": {"modalities": ["text"], "temperature": 0.7, "turn_detection": None}})
        updated = (await beta.until("session.updated"))["session"]
        assert updated["modalities"] == ["text"] and updated["turn_detection"] is None
        await beta.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Where is my order 42?"}]}})
        await beta.send({"type": "response.create"})
        await beta.until("response.done")
        assert [e["delta"] for e in beta.of_type("response.text.delta")] == ["Let", " me", " check."]
        assert beta.of_type("conversation.item.created")
        await beta.close()
        ws = await connect(server.url, subprotocols=["realtime", "openai-beta.realtime-v1", "openai-insecure-api-key.k"])  # type: ignore[list-item]
        assert "input_audio_format" in orjson.loads(await ws.recv())["session"]
        await ws.close()
        azure_url = f"ws://127.0.0.1:{server.port}/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-4o-realtime-preview"
        azure = await WireClient.open(azure_url, dialect="beta", headers={"api-key": "k"}, key=None)
        assert (await azure.recv())["session"]["model"] == "gpt-4o-realtime-preview"
        await azure.close()
        ga = await WireClient.open(f"ws://127.0.0.1:{server.port}/openai/v1/realtime?model=gpt-realtime", headers={"api-key": "k"}, key=None)
        assert "audio" in (await ga.recv())["session"]
        await ga.close()


async def test_sideband_attach_sees_and_controls_the_session() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        primary = await WireClient.open(server.url)
        session_id = (await primary.recv())["session"]["id"]
        side = await WireClient.open(server.url + f"?call_id={session_id}")
        await side.send({"type": "session.update", "session": {"type": "realtime", "instructions": "From the sideband."}})
        assert (await primary.until("session.updated"))["session"]["instructions"] == "From the sideband."
        assert (await side.until("session.updated"))["session"]["instructions"] == "From the sideband."
        await primary.say("Where is my order 42?")
        call = await side.until("response.function_call_arguments.done")
        await side.send({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call["call_id"], "output": "{}"}})
        await side.send({"type": "response.create"})
        transcript = await primary.until("response.output_audio_transcript.done")
        while transcript["transcript"] != "It shipped.":
            transcript = await primary.until("response.output_audio_transcript.done")
        with pytest.raises(InvalidStatus) as info:
            await WireClient.open(server.url + "?call_id=sess_unknown")
        assert info.value.response.status_code == 404
        await side.close()
        await primary.close()


async def test_response_instructions_say_exactly_is_spoken() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        client = await WireClient.open(server.url)
        await client.until("conversation.created")
        await client.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Where is my order 42?"}]}})
        say = 'Say exactly the following to the caller, word for word, and nothing else: "One moment, please."'
        await client.send({"type": "response.create", "response": {"instructions": say}})
        assert (await client.until("response.output_audio_transcript.done"))["transcript"] == "One moment, please."
        await client.until("response.done")
        # Out of band as well, and the scripted turn is still ahead: the directive took no turn.
        await client.send({"type": "response.create", "response": {"conversation": "none", "instructions": "Say: Noted."}})
        assert (await client.until("response.output_audio_transcript.done"))["transcript"] == "Noted."
        await client.until("response.done")
        await client.send({"type": "response.create"})
        assert (await client.until("response.output_audio_transcript.done"))["transcript"] == "Let me check."
        await client.close()


async def test_a_turn_resumes_in_a_new_session_from_the_replayed_history() -> None:
    tools = [{"type": "function", "name": "lookup_order", "parameters": {}}]
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        first = await WireClient.open(server.url)
        await first.send({"type": "session.update", "session": {"type": "realtime", "tools": tools}})
        await first.say("Where is my order 42?")
        call = await first.until("response.function_call_arguments.done")
        await first.until("response.done")
        await first.close()  # the connection is gone before the tool output could be sent
        # The client reconnects and replays the conversation, as agentkit's runtime does:
        # caller's line as text, the assistant's words as text, the call, then its output.
        second = await WireClient.open(server.url)
        await second.send({"type": "session.update", "session": {"type": "realtime", "tools": tools}})
        replay = [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Where is my order 42?"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
            {"type": "function_call", "name": "lookup_order", "call_id": call["call_id"], "arguments": call["arguments"]},
            {"type": "function_call_output", "call_id": call["call_id"], "output": '{"status": "shipped"}'},
        ]
        for item in replay:
            await second.send({"type": "conversation.item.create", "item": item})
        await second.send({"type": "response.create"})
        done = await second.until("response.done")
        (item,) = done["response"]["output"]
        assert item["content"][0]["transcript"] == "It shipped."
        await second.close()
