"""Hand-made bad input at a running server, over real sockets, beyond what the fuzz test draws.

Each case checks what a client would notice: the bad event is answered by an `error` event of
the real shape (validated against the `openai` package's types by `WireClient`), the
connection stays open (or closes by design, with the close code RFC 6455 asks for), the
session still answers, nothing at WARNING or above and no traceback reaches the logs, no key
reaches them at any level, and the other sessions on the server keep their pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from log_records import Records, capture
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from wire_client import WireClient

from agentkit.protocol.client_schema import MAX_EVENT_ID_LENGTH
from agentkit.server import LocalRealtimeServer

KEY = "sk-proj-Adversarial0123456789"
WRONG_KEY = "sk-proj-NotTheKey9876543210"


def _check(handler: Records) -> None:
    """No traceback, nothing at WARNING+, no key in any record of agentkit's (formatted as
    a handler would; the test's own `websockets` client is not under test)."""
    server = [r for r in handler.records if r.name.startswith("agentkit")]
    bad = [r for r in server if r.exc_info or r.stack_info or r.levelno >= logging.WARNING]
    assert not bad, [f"{r.name} {r.levelname} {r.getMessage()}" for r in bad]
    for record in server:
        text = logging.Formatter().format(record)
        assert KEY not in text and WRONG_KEY not in text, text


@pytest.fixture
def records() -> Iterator[Records]:
    with capture() as handler:
        yield handler
    _check(handler)


@pytest.fixture
async def server() -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(pace="fast", speech_engine="synthetic", api_keys=[KEY]) as srv:
        yield srv


async def _open(server: LocalRealtimeServer, **kw: Any) -> WireClient:
    client = await WireClient.open(server.url, key=KEY, **kw)
    await client.until("conversation.created")
    return client


async def _answers(client: WireClient) -> list[dict[str, Any]]:
    """Send a valid event with a known answer; return everything received before it (the
    session is alive and in order when this returns)."""
    marker = await client.send({"type": "conversation.item.retrieve", "item_id": "item_nope"})
    out: list[dict[str, Any]] = []
    while True:
        event = await client.recv(10)
        if event["type"] == "error" and event["error"]["event_id"] == marker:
            assert event["error"]["code"] == "item_retrieve_invalid_item_id"
            return out
        out.append(event)


async def _answers_after(client: WireClient, count: int) -> list[dict[str, Any]]:
    """Wait for `count` events to be sent, then as `_answers`."""
    out: list[dict[str, Any]] = []
    while count:
        event = await client.recv(10)
        out.append(event)
        count -= event["type"] in ("error", "conversation.item.done")
    return out + await _answers(client)


def _errors(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors = [e["error"] for e in events if e["type"] == "error"]
    assert not [e for e in errors if e["type"] == "server_error"], errors
    return errors


DEEP_ARRAY = '{"type":"conversation.item.create","item":' + "[" * 1000 + "]" * 1000 + "}"
DEEP_OBJECT = '{"type":"session.update","session":' + '{"a":' * 1000 + "1" + "}" * 1000 + "}"
TOO_DEEP = '{"type":"response.create","response":' + "[" * 5000 + "]" * 5000 + "}"
ITEM = '{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":%s}]}}'

BAD_FRAMES: dict[str, str | bytes] = {
    "1,000 levels of arrays": DEEP_ARRAY,
    "1,000 levels of objects": DEEP_OBJECT,
    "5,000 levels (past the parser's limit)": TOO_DEEP,
    "a duplicate key turning the type bad": '{"type":"response.create","type":"response.bogus"}',
    "duplicate keys inside the session": '{"type":"session.update","session":{"type":"realtime","type":"bogus"}}',
    "NaN": '{"type":"response.create","response":{"max_output_tokens":NaN}}',
    "Infinity": '{"type":"session.update","session":{"type":"realtime","max_output_tokens":Infinity}}',
    "-Infinity": '{"type":"session.update","session":{"type":"realtime","max_output_tokens":-Infinity}}',
    "an integer past 64 bits": '{"type":"response.create","response":{"max_output_tokens":' + "9" * 400 + "}}",
    "a lone surrogate": ITEM % '"\\ud800"',
    "a NUL in the type": '{"type":"response.create\\u0000"}',
    "a trailing comma": '{"type":"response.create",}',
    "two events in one frame": '{"type":"response.cancel"}{"type":"response.cancel"}',
    "a JSON string": '"response.create"',
    "a JSON array": '[{"type":"response.create"}]',
    "an empty frame": "",
    "whitespace": " \n\t ",
    "a BOM": "\ufeff{}",
    "binary garbage": b"\x00\xff\xfe\x80",
    "a long event_id": orjson.dumps({"type": "response.cancel", "event_id": "e" * 1_000_000}).decode(),
    "a long event_id on an unknown type": orjson.dumps({"type": "bogus", "event_id": "e" * 100_000}).decode(),
    "an event_id that is an object": '{"type":"response.cancel","event_id":{"a":[1,2]}}',
    "a 1 MB type": orjson.dumps({"type": "t" * 1_000_000}).decode(),
    "a 1 MB unknown field": orjson.dumps({"type": "response.cancel", "x" * 1_000_000: 1}).decode(),
    "10,000 unknown fields": orjson.dumps({"type": "response.cancel", **{f"f{i}": i for i in range(10_000)}}).decode(),
    "an append with 100,000 items of audio": orjson.dumps({"type": "input_audio_buffer.append", "audio": ["AAAA"] * 100_000}).decode(),
    "an append of invalid base64": '{"type":"input_audio_buffer.append","audio":"!!!!"}',
    "an append of base64 with whitespace": '{"type":"input_audio_buffer.append","audio":"AA AA"}',
    "a truncate to a huge audio_end_ms": '{"type":"conversation.item.truncate","item_id":"x","content_index":0,"audio_end_ms":1e308}',
    "a negative content_index": '{"type":"conversation.item.truncate","item_id":"x","content_index":-1,"audio_end_ms":0}',
    "a session.update with 1,000 tools": orjson.dumps(
        {"type": "session.update", "session": {"type": "realtime", "tools": [{"type": "function", "name": f"t{i}", "parameters": {"type": "object"}} for i in range(1000)]}}
    ).decode(),
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=list(BAD_FRAMES))
async def test_a_bad_frame_gets_an_error_and_the_session_goes_on(server: LocalRealtimeServer, records: Records, frame: str | bytes) -> None:
    client = await _open(server)
    await client.ws.send(frame)
    errors = _errors(await _answers(client))
    if frame not in (BAD_FRAMES["a session.update with 1,000 tools"],):
        assert errors, frame[:80]
    for error in errors:
        # Never echoed past what an event id may be: a megabyte in is not a megabyte out.
        assert error["event_id"] is None or len(error["event_id"]) <= MAX_EVENT_ID_LENGTH
        assert len(error["message"]) < 2000, error["message"][:200]
    await client.close()


@pytest.mark.parametrize("fragments", [[b'{"type":"response.cancel","event_id":"\xff\xfe"}'], [b'{"type":"response.cancel",', b'"event_id":"\xc3"}']], ids=["whole", "fragmented"])
async def test_invalid_utf8_in_a_text_frame(server: LocalRealtimeServer, records: Records, fragments: list[bytes]) -> None:
    client = await _open(server)
    last = len(fragments) - 1
    for index, fragment in enumerate(fragments):  # written raw: the test's client checks UTF-8
        client.ws.transport.write(_frame(0x1 if index == 0 else 0x0, fragment, fin=index == last))
    try:
        assert _errors(await _answers(client))
    except ConnectionClosed as closed:  # RFC 6455 8.1: invalid UTF-8 fails the connection
        assert closed.rcvd is not None and closed.rcvd.code == 1007
        return
    await client.close()


async def test_a_10_mb_text_item_is_taken_and_the_session_answers(server: LocalRealtimeServer, records: Records) -> None:
    client = await _open(server)
    await client.ws.send(ITEM % orjson.dumps("x" * 10_000_000).decode())
    events = await _answers(client)
    assert [e["type"] for e in events] == ["conversation.item.added", "conversation.item.done"]
    await client.close()


async def test_thousands_of_tiny_appends(server: LocalRealtimeServer, records: Records) -> None:
    client = await _open(server)
    # One sample each (2 bytes, "AAA=" in base64), and a few odd sizes among them.
    for index in range(5000):
        await client.ws.send('{"type":"input_audio_buffer.append","audio":"AAA="}' if index % 7 else '{"type":"input_audio_buffer.append","audio":"AA=="}')
    await client.send({"type": "input_audio_buffer.commit"})
    events = await _answers(client)
    assert "input_audio_buffer.committed" in [e["type"] for e in events]
    assert not _errors(events)
    await client.close()


async def test_a_response_create_storm(records: Records) -> None:
    async with LocalRealtimeServer(pace="realtime", speech_engine="synthetic", api_keys=[KEY]) as server:
        client = await _open(server)
        for _ in range(300):
            await client.ws.send('{"type":"response.create"}')
        await client.send({"type": "response.cancel"})
        done = await client.until("response.done", skip_errors=True)
        assert done["response"]["status"] == "cancelled"
        events = client.events
        assert len(client.of_type("response.created")) == 1
        codes = [e["code"] for e in _errors(events)]
        assert codes == ["conversation_already_has_active_response"] * 299, set(codes)
        # Then a normal response.
        await client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        assert (await client.until("response.done"))["response"]["status"] == "completed"
        await client.close()


async def test_a_client_that_never_reads_does_not_grow_the_server(server: LocalRealtimeServer, records: Records) -> None:
    ws = await connect(server.url, additional_headers={"Authorization": f"Bearer {KEY}"}, max_size=None, max_queue=1)
    sock = ws.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ws.transport.pause_reading()  # never read again
    (session_id,) = server.sessions
    hub = server._hubs[session_id]
    # Every one of these is answered by an error of about 800 bytes, and responses pile up.
    bad = orjson.dumps({"type": "bogus", "event_id": "x" * 400})
    sent = 0
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):
            while True:
                await ws.send(bad if sent % 50 else b'{"type":"response.create"}', text=True)
                sent += 1
    (connection,) = hub.connections
    queued = len(hub.core._outbox.ready) + len(hub.core._outbox.heap)
    # The server stopped reading once its writes backed up: what it holds for this client is
    # bounded, not 800 bytes per event sent.
    assert connection.transport.get_write_buffer_size() + 800 * queued < 8 * 2**20, (sent, queued)
    assert sent < 20_000
    # The other sessions are served meanwhile.
    other = await _open(server)
    await _answers(other)
    await other.close()
    ws.transport.abort()


async def test_one_misbehaving_session_does_not_slow_the_others(records: Records) -> None:
    async with LocalRealtimeServer(pace="realtime", speech_engine="synthetic", api_keys=[KEY], audio_chunk_ms=100) as server:
        good = await _open(server)
        bad = await _open(server)
        await good.send({"type": "response.create"})
        await good.until("response.created")

        async def misbehave() -> list[dict[str, Any]]:
            big = (ITEM % orjson.dumps("x" * 500_000).decode()).encode()
            junk = [DEEP_ARRAY.encode(), DEEP_OBJECT.encode(), b"\x00", b"[]", orjson.dumps({"type": "bogus", "event_id": "x" * 600}), big]
            for index in range(120):
                await bad.ws.send(junk[index % len(junk)], text=True)
                await asyncio.sleep(0)
            return []

        # The bad client reads what it is sent (one that does not is the test above).
        misbehaving = asyncio.gather(misbehave(), _answers_after(bad, 120))
        loop = asyncio.get_running_loop()
        arrivals: list[float] = []
        while True:
            event = await good.recv(10)
            if event["type"] == "response.output_audio.delta":
                arrivals.append(loop.time())
                if len(arrivals) == 12:  # 1.2 s of audio is enough to see the pace
                    break
        _, answered = await misbehaving
        # The deltas are paced 100 ms apart; none is late by much more than a tick.
        lateness = [arrival - (arrivals[0] + 0.1 * index) for index, arrival in enumerate(arrivals)]
        assert max(lateness) < 0.5, lateness
        assert len(_errors(answered)) == 100  # every bad one answered, in order
        await good.close()
        await bad.close()


async def test_attach_to_a_session_that_does_not_exist(server: LocalRealtimeServer, records: Records) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"{server.url}?call_id=rtc_nope", additional_headers={"Authorization": f"Bearer {KEY}"})
    assert refused.value.response.status_code == 404
    assert orjson.loads(refused.value.response.body)["error"]["code"] == "call_not_found"
    client = await _open(server)
    await _answers(client)
    await client.close()


async def test_sideband_attach_with_a_wrong_key(server: LocalRealtimeServer, records: Records) -> None:
    primary = await _open(server)
    (session_id,) = server.sessions
    for headers in ({"Authorization": f"Bearer {WRONG_KEY}"}, {"api-key": WRONG_KEY}, {}):
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"{server.url}?call_id={session_id}", additional_headers=headers)
        assert refused.value.response.status_code == 401
        assert orjson.loads(refused.value.response.body)["error"]["code"] == "invalid_api_key"
    with pytest.raises(InvalidStatus):
        await connect(f"{server.url}?call_id={session_id}&api-key={WRONG_KEY}")
    # The session is untouched, and a right key attaches.
    await _answers(primary)
    sideband = await WireClient.open(f"{server.url}?call_id={session_id}", key=KEY)
    await _answers(sideband)
    await sideband.close()
    await _answers(primary)
    await primary.close()


def _frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True, rsv: int = 0, length: int | None = None) -> bytes:
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    mask = b"\x01\x02\x03\x04"
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


BAD_WIRE: dict[str, tuple[bytes, int]] = {
    "an unmasked frame": (_frame(0x1, b"{}", masked=False), 1002),
    "a reserved bit": (_frame(0x1, b"{}", rsv=0x40), 1002),
    "a reserved opcode": (_frame(0x3, b"{}"), 1002),
    "a fragmented ping": (_frame(0x9, b"", fin=False), 1002),
    "a 200-byte ping": (_frame(0x9, b"x" * 200), 1002),
    "a continuation with nothing to continue": (_frame(0x0, b"{}"), 1002),
    "a 2**62-byte frame": (_frame(0x1, b"", length=2**62), 1009),
    "a close with a bad code": (_frame(0x8, struct.pack("!H", 999)), 1002),
}


@pytest.mark.parametrize(("data", "code"), BAD_WIRE.values(), ids=list(BAD_WIRE))
async def test_broken_websocket_framing_closes_with_the_rfc_code(server: LocalRealtimeServer, records: Records, data: bytes, code: int) -> None:
    client = await _open(server)
    client.ws.transport.write(data)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await client.recv(5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    other = await _open(server)
    await _answers(other)
    await other.close()


RAW_TCP = {
    "random bytes": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
    "half a request line": b"GET /v1/realt",
    "a request with no upgrade": b"GET /v1/realtime HTTP/1.1\r\nHost: x\r\n\r\n",
    "an upgrade with a bad key": b"GET /v1/realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: nope\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer " + KEY.encode() + b"\r\n\r\n",
    "a header line of 100 KB": b"GET /v1/realtime HTTP/1.1\r\nX: " + b"a" * 100_000 + b"\r\n\r\n",
    "a POST with a lying length": b"POST /v1/realtime/client_secrets HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n{}",
    "a POST with a negative length": b"POST /v1/realtime/client_secrets HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    "a POST body cut short": b"POST /v1/realtime/client_secrets HTTP/1.1\r\nAuthorization: Bearer " + WRONG_KEY.encode() + b"\r\nContent-Length: 50\r\n\r\n{\"se",
    "a NUL request": b"\x00" * 64 + b"\r\n\r\n",
}


@pytest.mark.parametrize("data", RAW_TCP.values(), ids=list(RAW_TCP))
async def test_raw_tcp_garbage(server: LocalRealtimeServer, records: Records, data: bytes) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    async with asyncio.timeout(5):
        answer = await reader.read()
    writer.close()
    if answer:
        assert answer.startswith(b"HTTP/1.1 4"), answer[:100]
    client = await _open(server)
    await _answers(client)
    await client.close()


async def test_stop_does_not_hang_on_a_client_that_stopped_reading(records: Records) -> None:
    server = LocalRealtimeServer(pace="fast", speech_engine="synthetic", api_keys=[KEY])
    await server.start()
    ws = await connect(server.url, additional_headers={"Authorization": f"Bearer {KEY}"}, max_size=None, max_queue=1)
    ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ws.transport.pause_reading()  # never read again: the server's writes back up
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.5):
            while True:
                await ws.send(b'{"type":"response.create"}', text=True)
    async with asyncio.timeout(10):  # aborted past the close timeout, not stuck forever
        await server.stop()
    ws.transport.abort()
