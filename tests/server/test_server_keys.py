"""API keys and ephemeral keys: auth on the WebSocket, `client_secrets`, expiry."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from wire_client import WireClient

from agentkit.server import LocalRealtimeServer
from agentkit.server.keys import KeyStore


async def _post(url: str, body: dict[str, Any], key: str = "sk-test") -> tuple[int, dict[str, Any]]:
    def run() -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(url, data=orjson.dumps(body), method="POST", headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, orjson.loads(exc.read())

    return await asyncio.to_thread(run)


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
        minted_at = time.time()
        server.keys.clock = lambda: minted_at + 0.1  # the key store's wall clock, moved on
        with pytest.raises(InvalidStatus) as info:
            await WireClient.open(server.url, key=expired)
        assert info.value.response.status_code == 401


def test_key_store_checks_keys_and_expiry_on_its_clock() -> None:
    now = 1000.0
    keys = KeyStore(["sk-good"], clock=lambda: now)
    assert keys.auth_error(None) == "You didn't provide an API key."
    assert keys.auth_error("sk-bad") == "Incorrect API key provided."
    assert keys.auth_error("sk-good") is None
    assert keys.auth_error("ek_unknown") == "Invalid ephemeral key."
    value = keys.mint(now + 10, {"instructions": "Minted."}, "sess_1")
    assert value.startswith("ek_") and keys.auth_error(value) is None
    # The first connection opens the minted session under its id; later ones get a new id.
    assert keys.redeem(value) == ({"instructions": "Minted."}, "sess_1")
    assert keys.redeem(value) == ({"instructions": "Minted."}, None)
    assert keys.redeem("sk-good") == (None, None)
    now += 10
    assert keys.auth_error(value) == "Ephemeral key has expired."
    assert KeyStore(None).auth_error("anything") is None


def test_ephemeral_keys_expire_to_the_sub_second_and_are_pruned() -> None:
    now = [1000.0]
    keys = KeyStore(None, clock=lambda: now[0])
    key = keys.mint(now[0] + 10, None, "sess_a")
    now[0] += 9.5
    assert keys.auth_error(key) is None  # a 10 s key works at 9.5 s
    now[0] += 1.0
    assert keys.auth_error(key) == "Ephemeral key has expired."
    for _ in range(2000):
        keys.mint(now[0] + 10, None, "sess_b")
    now[0] += 10
    keys.mint(now[0] + 10, None, "sess_c")
    assert len(keys.minted) == 1  # every expired key dropped on the next mint


async def test_client_secrets_checks_the_session_with_the_schema() -> None:
    async with LocalRealtimeServer(pace="fast") as server:
        bad = {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 5.0}}}}
        status, error = await _post(server.base_url + "/realtime/client_secrets", {"session": bad})
        assert status == 400 and error["error"]["param"] == "session.audio.input.turn_detection.threshold"
        assert error["error"]["code"] == "decimal_above_max_value"
