"""The plain HTTP routes."""

from __future__ import annotations

import asyncio
import urllib.request

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
