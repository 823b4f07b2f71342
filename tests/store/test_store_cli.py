"""`agentkit transcript` and the worker's app protocol."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

import anyio
import orjson
import pytest
from redis_process import RedisServer
from store_agents import SCRIPT, support
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agentkit import HistoryItem, RealtimeRunner
from agentkit.cli import main
from agentkit.cli.target import load_target
from agentkit.cli.worker import CLOSE_BAD_REQUEST, serve_worker
from agentkit.cli.worker_protocol import event_json, parse_client_message
from agentkit.errors import UserError
from agentkit.events import AssistantTranscript, HistoryAdded
from agentkit.server import LocalRealtimeServer
from agentkit.store import DurableSessions, RedisStore
from agentkit.transports import WebSocketTransport, realtime_url


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    if redis_server.process is None:
        redis_server.start()
    store = RedisStore.from_url(redis_server.url)
    await store.client.flushdb()
    yield store
    await store.close()


async def test_agentkit_transcript_prints_the_stored_conversation(
    store: RedisStore, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast") as server:
        transport = WebSocketTransport(realtime_url("gpt-realtime", server.url), api_key="k")
        async with (
            DurableSessions(RealtimeRunner(support), store, owner="w", retention_s=60) as sessions,
            sessions.open("call-7", transport) as durable,
        ):
            await durable.session.send_text("I want a refund")
            with anyio.fail_after(5):
                async for event in durable.session:
                    if isinstance(event, AssistantTranscript) and "Billing" in event.transcript:
                        break
            durable.finish()
    ttl = await store.client.pttl("agentkit:{call-7}:items")
    assert 0 < ttl <= 60_000  # the retention is a Redis TTL
    code = await anyio.to_thread.run_sync(
        main, ["transcript", "call-7", "--redis", redis_server.url]
    )
    assert code == 0
    document = orjson.loads(capsys.readouterr().out)
    assert document["format"] == "agentkit.transcript/1"
    assert document["ended"] and document["agent"] == "Billing"
    assert document["items"][0]["text"] == "I want a refund"
    assert [(h["from"], h["to"]) for h in document["handoffs"]] == [("Support", "Billing")]
    [transfer] = document["tool_calls"]
    assert transfer["name"] == "transfer_to_billing" and transfer["status"] == "done"
    assert all(r["latency_ms"] is None or r["latency_ms"] >= 0 for r in document["responses"])

    code = await anyio.to_thread.run_sync(main, ["transcript", "nope", "--redis", redis_server.url])
    assert code == 1
    assert "no session 'nope' in the store" in capsys.readouterr().err


def test_app_messages_are_checked_at_the_door() -> None:
    assert parse_client_message('{"type": "text", "text": "hi"}').type == "text"
    with pytest.raises(UserError, match=r"text: String should have at least 1 character"):
        parse_client_message('{"type": "text", "text": ""}')
    with pytest.raises(UserError, match="expected an object with a `type`"):
        parse_client_message('{"type": "dance"}')
    with pytest.raises(UserError, match="invalid message"):
        parse_client_message("not json")


def test_events_go_out_as_plain_json() -> None:
    item = HistoryItem.user("hi", item_id="i1")
    data = event_json(HistoryAdded(item))
    assert data is not None
    assert data["type"] == "history_added"
    assert data["item"]["item_id"] == "i1" and data["item"]["text"] == "hi"
    orjson.dumps(data)


async def test_a_worker_answers_a_bad_message_with_an_error_and_goes_on(
    store: RedisStore, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        LocalRealtimeServer(script=SCRIPT, pace="fast") as server,
        anyio.create_task_group() as group,
    ):
        args = argparse.Namespace(
            redis=redis_server.url, host="127.0.0.1", port=0, lease_ttl=1.0, retention=60.0,
            no_content=False, url=realtime_url("gpt-realtime", server.url),
            azure_deployment=None, local=False, dialect="ga",
        )
        target = load_target("tests/store/store_agents.py:support")
        group.start_soon(serve_worker, target, args)
        with anyio.fail_after(5):
            while "listening on" not in (out := capsys.readouterr().out):
                await anyio.sleep(0.02)
        base = out.split("listening on ")[1].split("/v1/")[0]

        with pytest.raises(ConnectionClosed) as closed:
            async with connect(f"{base}/v1/sessions/bad%20id") as connection:
                await connection.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_BAD_REQUEST

        async with connect(f"{base}/v1/sessions/app-1") as connection:
            hello = orjson.loads(await connection.recv())
            assert hello["type"] == "session" and hello["resumed"] is False
            await connection.send('{"type": "shout"}')
            events: list[dict[str, Any]] = []
            with anyio.fail_after(5):
                while not events or events[-1]["type"] != "error":
                    events.append(orjson.loads(await connection.recv()))
            assert events[-1]["code"] == "invalid_message"
            await connection.send('{"type": "text", "text": "Where is my order 42?"}')
            with anyio.fail_after(5):
                while events[-1].get("transcript") != "Order 42 is shipped.":
                    events.append(orjson.loads(await connection.recv()))
        with anyio.fail_after(5):  # the worker let the session go once the app left
            while await store.client.exists("agentkit:{app-1}:lease"):
                await anyio.sleep(0.01)
        group.cancel_scope.cancel()
