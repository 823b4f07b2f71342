"""The transport: endpoints, dialects, auth, ephemeral keys, sideband, faults."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from wire_client import WireClient

from agentkit.server import Fault, LocalRealtimeServer

SCRIPT = {"turns": [{"user": "Where is my order 42?", "steps": [{"say": "Let me check."}, {"call": "lookup_order", "arguments": {"order_id": "42"}}, {"say": "It shipped."}]}]}


async def _post(url: str, body: dict[str, Any], key: str = "sk-test") -> tuple[int, dict[str, Any]]:
    def run() -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(url, data=orjson.dumps(body), method="POST", headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, orjson.loads(exc.read())

    return await asyncio.to_thread(run)


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


async def test_auth_with_key_set() -> None:
    async with LocalRealtimeServer(api_keys=["sk-good"], pace="fast") as server:
        with pytest.raises(InvalidStatus) as info:
            await WireClient.open(server.url, key="sk-bad")
        assert info.value.response.status_code == 401
        with pytest.raises(InvalidStatus):
            await WireClient.open(server.url, key=None)
        ok = await WireClient.open(server.url, key="sk-good")
        assert (await ok.recv())["type"] == "session.created"
        await ok.close()
        # Browser style: the key in a subprotocol; the server selects `realtime`.
        ws = await connect(server.url, subprotocols=["realtime", "openai-insecure-api-key.sk-good"])  # type: ignore[list-item]
        assert ws.subprotocol == "realtime"
        assert orjson.loads(await ws.recv())["type"] == "session.created"
        await ws.close()


async def test_ephemeral_keys_apply_session_and_expire() -> None:
    async with LocalRealtimeServer(pace="fast") as server:
        status, body = await _post(server.base_url + "/realtime/client_secrets", {"expires_after": {"anchor": "created_at", "seconds": 10}, "session": {"type": "realtime", "instructions": "Minted.", "audio": {"output": {"voice": "cedar"}}}})
        assert status == 200
        assert body["value"].startswith("ek_") and body["expires_at"] >= time.time() + 9
        assert body["session"]["instructions"] == "Minted." and body["session"]["id"].startswith("sess_")
        client = await WireClient.open(server.url, key=body["value"])
        created = (await client.recv())["session"]
        assert created["instructions"] == "Minted." and created["audio"]["output"]["voice"] == "cedar"
        assert created["id"] == body["session"]["id"]
        await client.close()
        status, error = await _post(server.base_url + "/realtime/client_secrets", {"expires_after": {"seconds": 5}})
        assert status == 400 and error["error"]["param"] == "expires_after.seconds"
        status, error = await _post(server.base_url + "/realtime/client_secrets", {"session": {"type": "realtime", "voice": "x"}})
        assert status == 400 and error["error"]["code"] == "unknown_parameter"
        expired = server.mint_client_secret(seconds=0.05)
        await asyncio.sleep(0.1)
        with pytest.raises(InvalidStatus) as info:
            await WireClient.open(server.url, key=expired)
        assert info.value.response.status_code == 401


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


async def _run_until_closed(server: LocalRealtimeServer) -> tuple[WireClient, BaseException | None]:
    client = await WireClient.open(server.url)
    await client.until("conversation.created")
    await client.send({"type": "session.update", "session": {"type": "realtime", "tools": [{"type": "function", "name": "lookup_order", "parameters": {}}]}})
    await client.say("Where is my order 42?")
    caught: BaseException | None = None
    try:
        while True:
            await client.recv(timeout=3)
    except (ConnectionClosed, AssertionError, TimeoutError) as exc:
        caught = exc
    return client, caught


async def test_fault_drop_at_event() -> None:
    fault = Fault(action="drop", at_event="response.function_call_arguments.done")
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=[fault]) as server:
        client, caught = await _run_until_closed(server)
    assert isinstance(caught, ConnectionClosed) and caught.rcvd is None  # no close frame: dropped
    assert client.of_type("response.function_call_arguments.delta")
    assert not client.of_type("response.function_call_arguments.done")


async def test_fault_drop_after_events_and_mid_response_close() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=[Fault(action="drop", after_events=3)]) as server:
        client, caught = await _run_until_closed(server)
    assert isinstance(caught, ConnectionClosed) and len(client.events) == 3
    close = Fault(action="close", at_event="response.output_audio.delta", occurrence=3, close_code=1011)
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=[close]) as server:
        client, caught = await _run_until_closed(server)
    assert isinstance(caught, ConnectionClosed) and caught.rcvd is not None and caught.rcvd.code == 1011
    assert len(client.of_type("response.output_audio.delta")) == 2


async def test_fault_error_malformed_unknown_and_rate_limit() -> None:
    faults = [
        Fault(action="error", at_event="response.created", code="server_error", message="boom"),
        Fault(action="rate_limit", at_event="response.done"),
        Fault(action="unknown_event", after_events=1),
    ]
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=faults) as server:
        client = await WireClient.open(server.url)
        await client.recv()
        with pytest.raises(AssertionError, match="agentkit_unknown_event"):
            await client.recv()  # the validator rejects the unknown type
        await client.say("Where is my order 42?")
        error = await client.until("error")
        assert error["error"]["code"] == "server_error" and error["error"]["message"] == "boom"
        assert (await client.recv())["type"] == "response.created"
        limits = await client.until("rate_limits.updated")
        limits = await client.until("rate_limits.updated")
        assert all(limit["remaining"] == 0 for limit in limits["rate_limits"])
        assert (await client.until("error"))["error"]["code"] == "rate_limit_exceeded"
        await client.close()
    async with LocalRealtimeServer(pace="fast", faults=[Fault(action="malformed", after_events=1)]) as server:
        ws = await connect(server.url, additional_headers={"Authorization": "Bearer k"})
        await ws.recv()
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(await ws.recv())
        assert orjson.loads(await ws.recv())["type"] == "conversation.created"
        await ws.close()


async def test_fault_delay_stall_and_expire() -> None:
    async with LocalRealtimeServer(pace="fast", faults=[Fault(action="delay", after_events=1, delay_ms=300)]) as server:
        client = await WireClient.open(server.url)
        await client.recv()
        start = time.monotonic()
        await client.recv()
        assert time.monotonic() - start >= 0.28
        await client.close()
    async with LocalRealtimeServer(pace="fast", faults=[Fault(action="stall", after_events=1)]) as server:
        client = await WireClient.open(server.url)
        await client.recv()
        with pytest.raises(TimeoutError):
            await client.recv(timeout=0.3)
        await client.close()
    async with LocalRealtimeServer(pace="fast", faults=[Fault(action="expire", at_event="response.created")]) as server:
        client, caught = await _run_until_closed(server)
    assert client.events[-1]["error"]["code"] == "session_expired"
    assert isinstance(caught, ConnectionClosed) and caught.rcvd is not None and caught.rcvd.code == 1001


async def test_script_faults_and_session_max_duration() -> None:
    script = {**SCRIPT, "faults": [{"at_event": "response.created", "action": "drop"}]}
    async with LocalRealtimeServer(script=script, pace="fast") as server:
        client, caught = await _run_until_closed(server)
    assert isinstance(caught, ConnectionClosed) and not client.of_type("response.created")
    async with LocalRealtimeServer(pace="fast", max_session_duration_s=0.3) as server:
        client = await WireClient.open(server.url)
        error = await client.until("error", timeout=3)
        assert error["error"]["code"] == "session_expired"
        with pytest.raises(ConnectionClosed):
            await client.recv()


async def test_healthz_and_unknown_route() -> None:
    async with LocalRealtimeServer(pace="fast") as server:
        def get(path: str) -> int:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as r:
                    return int(r.status)
            except urllib.error.HTTPError as exc:
                return exc.code

        assert await asyncio.to_thread(get, "/healthz") == 200
        assert await asyncio.to_thread(get, "/nope") == 404


async def test_fault_fires_only_in_the_chosen_sessions() -> None:
    faults = [Fault(action="drop", at_event="response.created", sessions=(1, 3))]
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", faults=faults) as server:
        _, first = await _run_until_closed(server)
        second = await WireClient.open(server.url)
        await second.until("conversation.created")
        await second.send({"type": "response.create"})
        assert (await second.until("response.done"))["response"]["status"] == "completed"
        # A sideband attach joins session 2: it does not count as a session of its own.
        side = await WireClient.open(server.url + f"?call_id={list(server.sessions)[-1]}")
        await side.send({"type": "response.create"})
        assert (await side.until("response.done"))["response"]["status"] == "completed"
        await side.close()
        await second.close()
        _, third = await _run_until_closed(server)
    assert isinstance(first, ConnectionClosed) and first.rcvd is None
    assert isinstance(third, ConnectionClosed) and third.rcvd is None


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


def _client_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A masked client frame, framed by hand (the server's fast receive path parses these)."""
    mask = b"\x01\x02\x03\x04"
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def _read_frames(reader: asyncio.StreamReader, until: bytes) -> list[tuple[int, bytes]]:
    frames: list[tuple[int, bytes]] = []
    while True:
        head = await asyncio.wait_for(reader.readexactly(2), 5)
        n = head[1] & 0x7F
        if n == 126:
            n = int.from_bytes(await reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await reader.readexactly(8), "big")
        frames.append((head[0] & 0x0F, await reader.readexactly(n)))
        if frames[-1][0] == 0x8 or until in frames[-1][1]:
            return frames


async def test_raw_frames_split_fragmented_and_interleaved_with_control_frames() -> None:
    """Client frames cut at every byte boundary, a fragmented message, a ping between data
    frames and a close all behave as websockets would have them."""
    async with LocalRealtimeServer(pace="fast") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"GET /v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer sk-test\r\n\r\n"
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        await _read_frames(reader, b"conversation.created")
        append = orjson.dumps({"type": "input_audio_buffer.append", "audio": "AAAA" * 1200})  # 126..64K
        commit = orjson.dumps({"type": "input_audio_buffer.commit"})
        stream = _client_frame(0x1, append) * 3 + _client_frame(0x9, b"hi") + _client_frame(0x1, append)
        for i in range(len(stream)):  # one byte at a time
            writer.write(stream[i : i + 1])
            if i % 97 == 0:
                await writer.drain()
                await asyncio.sleep(0)
        frames = await _read_frames(reader, b"hi")
        assert (0xA, b"hi") in frames  # the pong
        big = _client_frame(0x1, orjson.dumps({"type": "input_audio_buffer.append", "audio": "AAAA" * 20000}))  # > 64K
        for i in range(0, len(big), 1000):
            writer.write(big[i : i + 1000])
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(_client_frame(0x9, b"again"))
        frames = await _read_frames(reader, b"again")
        assert not any(b'"error"' in payload for _, payload in frames)
        # A fragmented commit (websockets' path), then a whole one (the fast path).
        writer.write(_client_frame(0x1, commit[:10], fin=False) + _client_frame(0x0, commit[10:]))
        frames = await _read_frames(reader, b"conversation.item.done")
        committed = [orjson.loads(p) for op, p in frames if op == 0x1 and b"input_audio_buffer.committed" in p]
        assert len(committed) == 1
        writer.write(_client_frame(0x1, b'{"type": "nope"}'))
        frames = await _read_frames(reader, b'"error"')
        assert orjson.loads(frames[-1][1])["error"]["param"] == "type"
        writer.write(_client_frame(0x8, (1000).to_bytes(2, "big")))
        frames = await _read_frames(reader, b"\x00never")
        assert frames[-1] == (0x8, (1000).to_bytes(2, "big"))
        writer.close()
