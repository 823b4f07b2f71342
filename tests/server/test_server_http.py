"""The plain HTTP routes."""

from __future__ import annotations

import asyncio
import logging
import urllib.request

import orjson
import pytest

from agentkit.server import LocalRealtimeServer


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


async def test_raw_garbage_is_one_log_line_and_a_json_400(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with LocalRealtimeServer(pace="fast") as server:
        async def exchange(data: bytes) -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            if not data:
                writer.close()
                return b""
            writer.write(data)
            try:
                return await asyncio.wait_for(reader.read(), 5)
            except ConnectionResetError:  # the huge head: closed with the rest of it unread
                return b""
            finally:
                writer.close()

        huge = b"POST /v1/realtime/client_secrets HTTP/1.1\r\nX-Big: " + b"a" * (2 << 20)
        answers = [
            await exchange(b""),  # connect and close
            await exchange(b"hello world\r\n\r\n"),
            await exchange(b"POST /v1/realtime/client_secrets HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
            await exchange(b"POST /v1/realtime/client_secrets HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            await exchange(huge),
        ]
        await asyncio.sleep(0.1)
    for answer in [a for a in answers[1:] if a]:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] in (b"400", b"431"), answer[:80]
        assert orjson.loads(body)["error"]["type"] == "invalid_request_error"
    assert not [r for r in caplog.records if r.exc_info or r.stack_info]
    assert all(r.levelno <= logging.WARNING for r in caplog.records)
    bad = [r for r in caplog.records if "bad HTTP request" in r.getMessage() or "handshake failed" in r.getMessage()]
    assert len(bad) == 5, [r.getMessage() for r in caplog.records]
