"""`webrtc_signaling`'s other forms end to end against the local server: the beta preview
(a key from `/v1/realtime/sessions`, the offer to `/v1/realtime?model=`) and Azure GA
(`/openai/v1/realtime/calls` with an `api-key` header). Each: connect, `session.created`
on the data channel, one text turn answered, close."""

from __future__ import annotations

import json
from typing import Any

import anyio

from agentkit.server import LocalRealtimeServer
from agentkit.transports import WebRTCTransport

SCRIPT = {"turns": [{"user": "Hello!", "mode": "text", "steps": [{"say": "Hi, how can I help?"}]}]}


def record_paths(server: LocalRealtimeServer) -> list[tuple[str, str | None]]:
    """The (path with query, key) of every request the server authenticates, in order."""
    seen: list[tuple[str, str | None]] = []
    key_of = server.keys.key_of

    def record(request: Any, query: Any) -> str | None:
        key = key_of(request, query)
        seen.append((request.path, key))
        return key

    server.keys.key_of = record  # type: ignore[method-assign]
    return seen


async def one_text_turn(transport: WebRTCTransport) -> tuple[str, list[str]]:
    """Connect, say hello in text, read up to `response.done`: (the answer, event types)."""
    await transport.connect()
    kinds: list[str] = []
    answer = ""
    with anyio.fail_after(8):
        first = json.loads(await transport.receive())
        assert first["type"] == "session.created"
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello!"}]}
        await transport.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await transport.send(json.dumps({"type": "response.create"}))
        while "response.done" not in kinds:
            event = json.loads(await transport.receive())
            kinds.append(event["type"])
            if event["type"].endswith(("transcript.done", "text.done")):
                answer = event.get("transcript") or event.get("text") or ""
    return answer, kinds


async def closed(transport: WebRTCTransport, server: LocalRealtimeServer) -> bool:
    """Close the call; True once neither end holds it."""
    await transport.close()
    with anyio.move_on_after(3):
        while server.webrtc.calls:
            await anyio.sleep(0.05)
    return transport._pc is None and not server.webrtc.calls


async def test_beta_preview_form_mints_a_key_and_offers_to_realtime_model() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        seen = record_paths(server)
        transport = WebRTCTransport(server.base_url, api_key="sk-test", dialect="beta", model="gpt-realtime", codec="pcmu")
        answer, kinds = await one_text_turn(transport)
        assert answer == "Hi, how can I help?"
        assert "response.output_audio_transcript.done" not in kinds  # beta names on the channel
        assert [path for path, _ in seen] == ["/v1/realtime/sessions", "/v1/realtime?model=gpt-realtime"]
        assert seen[0][1] == "sk-test" and (seen[1][1] or "").startswith("ek_")  # the minted key
        assert await closed(transport, server)


async def test_azure_ga_path_with_an_api_key_header() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        seen = record_paths(server)
        azure = f"http://{server.host}:{server.port}/openai/v1"
        transport = WebRTCTransport(azure, headers={"api-key": "sk-test"}, codec="pcmu")
        answer, kinds = await one_text_turn(transport)
        assert answer == "Hi, how can I help?" and "response.output_audio_transcript.done" in kinds
        assert seen == [("/openai/v1/realtime/calls", "sk-test")]
        assert transport.call_id is not None and transport.call_id.startswith("rtc_")
        assert await closed(transport, server)
