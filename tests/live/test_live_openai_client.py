"""The official `openai` package's `client.live.connect()` against the local server's Live
endpoint: a spoken turn, a delegated function call answered with `response.item.create` +
`response.create`, the backend's answer spoken, `session.close`; a sideband attached with
`client.live.sideband.connect()` sees the same session. Every event either side sends is
strictly valid against `openai.types.live`."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from live_conformance import validate_live_client_event, validate_live_server_event
from openai import AsyncOpenAI

from agentkit import audio
from agentkit.server import LocalRealtimeServer

SCRIPT = {
    "turns": [
        {
            "user": "Where is my order 42?",
            "steps": [
                {"say": "Let me check."},
                {"call": "lookup_order", "arguments": {"order_id": "42"}},
                {"say": "Order {{ output.order_id }} has shipped."},
            ],
        }
    ]
}
START: dict[str, Any] = {
    "type": "session.start",
    "event_id": "evt_start",
    "session": {
        "model": "gpt-live-1",
        "instructions": "Be brief and warm.",
        "audio": {"format": {"type": "audio/pcm", "rate": 24000}, "output": {"voice": "marin"}},
        "delegation": {
            "type": "responses",
            "responses": {
                "model": "gpt-5.4-mini",
                "instructions": "Look orders up with lookup_order.",
                "tools": [
                    {
                        "type": "function",
                        "name": "lookup_order",
                        "description": "Find an order.",
                        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
                    }
                ],
            },
        },
    },
}


def caller(text: str) -> str:
    pcm = audio.generate_silence(200) + audio.synthesize_speech(text, engine="synthetic")
    return base64.b64encode(pcm + audio.generate_silence(1500)).decode()


@pytest.mark.parametrize("prefix", ["", "/openai"])
async def test_the_openai_client_holds_a_conversation_with_a_delegated_call(prefix: str) -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        base = f"http://{server.host}:{server.port}{prefix}/v1"
        client = AsyncOpenAI(api_key="sk-test", base_url=base, websocket_base_url=base.replace("http", "ws"))
        received: list[dict[str, Any]] = []
        sent: list[dict[str, Any]] = []

        async def send(conn: Any, event: dict[str, Any]) -> None:
            sent.append(event)
            await conn.send(event)

        async def next_event(conn: Any) -> Any:
            event = await asyncio.wait_for(conn.recv(), 5)
            received.append(event.model_dump(mode="json", exclude_unset=True))
            return event

        async with client.live.connect() as conn:
            await send(conn, START)
            started = await next_event(conn)
            assert started.type == "session.started" and started.client_event_id == "evt_start"
            assert started.session.model == "gpt-live-1"
            sideband_events: list[Any] = []
            sideband = await client.live.sideband.connect(session_id=started.session.id).enter()
            await send(conn, {"type": "session.input_audio.append", "audio": caller("Where is my order 42?")})
            heard, said, call_output_sent = "", "", False
            while "shipped" not in said:
                event = await next_event(conn)
                if event.type == "session.input_transcript.delta":
                    heard += event.delta
                    assert event.end_ms >= event.start_ms
                elif event.type == "session.output_transcript.delta":
                    said += event.delta
                    assert event.end_ms >= event.start_ms
                elif event.type == "response.event" and event.event["type"] == "response.output_item.done":
                    item = event.event["item"]
                    if item["type"] == "function_call":
                        assert (item["name"], json.loads(item["arguments"])) == ("lookup_order", {"order_id": "42"})
                        output = {"type": "function_call_output", "call_id": item["call_id"], "output": json.dumps({"order_id": "42"})}
                        await send(conn, {"type": "response.item.create", "item": output})
                        await send(conn, {"type": "response.create"})
                        call_output_sent = True
            assert heard == "Where is my order 42?"
            assert said == "Let me check. Order 42 has shipped."
            assert call_output_sent
            kinds = [e["type"] for e in received]
            assert kinds.index("session.delegation.created") < kinds.index("response.event")
            nested = [e["event"]["type"] for e in received if e["type"] == "response.event"]
            assert nested[:4] == ["response.created", "response.output_item.added", "response.output_item.done", "response.completed"]
            await send(conn, {"type": "session.close", "event_id": "evt_close"})
            while (event := await next_event(conn)).type != "session.closed":
                pass
            assert (event.reason, event.client_event_id) == ("close_requested", "evt_close")

            # The sideband saw the session: reflected caller audio and dated output audio.
            while True:
                try:
                    sideband_events.append(await asyncio.wait_for(sideband.recv_bytes(), 2))
                except Exception:
                    break
            await sideband.close()
        sideband_json = [json.loads(b) for b in sideband_events]
        audio_out = [e for e in sideband_json if e["type"] == "session.output_audio.delta"]
        assert audio_out and all(e["end_ms"] > e["start_ms"] for e in audio_out)
        reflected = [e["audio"] for e in sideband_json if e["type"] == "session.input_audio.append"]
        assert reflected == [sent[1]["audio"]]  # PCM16 24 kHz: reflected as it came
        for event in sent:
            validate_live_client_event(event)
        for event in received + sideband_json:
            validate_live_server_event(event)
