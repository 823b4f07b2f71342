"""What the serve tests share: the app on a real uvicorn server in the test's loop, in front
of the local realtime server, and a small HTTP client (urllib, in a worker thread)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from aiortc import RTCPeerConnection

from agentkit import RealtimeRunner
from agentkit.cli.target import load_target
from agentkit.serve import Provider, RateLimit, create_app
from agentkit.server import LocalRealtimeServer
from agentkit.transports.websocket import realtime_url

DATA = Path(__file__).parent / "data"
DESK = DATA / "desk.yaml"
SECRET = "sk-serve-test-SECRET-0123456789"
"""The server's API key in these tests: it must never reach a browser or a log."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def _send(method: str, url: str, body: bytes | None, headers: Mapping[str, str]) -> Reply:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers.items()), exc.read())


async def http(method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None) -> Reply:
    """One HTTP request (never raises for a status)."""
    return await asyncio.to_thread(_send, method, url, body, headers or {})


async def sdp_offer() -> str:
    """A browser-like offer: one audio transceiver and the `oai-events` data channel."""
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    pc.createDataChannel("oai-events")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


@dataclass
class Served:
    """A running `serve` app (`url`) in front of a running local server (`server`)."""

    url: str
    server: LocalRealtimeServer
    app: Any
    runner: RealtimeRunner[Any]
    events: list[dict[str, Any]] = field(default_factory=list)


@asynccontextmanager
async def served(
    *,
    allow_origins: Sequence[str] = (),
    key_expiry_s: int = 600,
    rate_limit: RateLimit | None = None,
    clock: Any = None,
    max_body_bytes: int = 64 * 1024,
    log_level: str = "info",
) -> AsyncIterator[Served]:
    """The desk agents served against a local server that only accepts `SECRET`."""
    target = load_target(str(DESK))
    assert target.script is not None
    async with LocalRealtimeServer(script=target.script, pace="fast", api_keys=[SECRET]) as server:
        runner: RealtimeRunner[Any] = RealtimeRunner(target.starting_agent, settings=target.settings)
        runner.agents.update(target.all_agents)
        model = target.settings.model
        provider = Provider(realtime_url(model, server.url), SECRET, model, kind="local")
        app = create_app(
            runner, provider, allow_origins=allow_origins, key_expiry_s=key_expiry_s,
            rate_limit=rate_limit, clock=clock, max_body_bytes=max_body_bytes,
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level=log_level)
        web = uvicorn.Server(config)
        task = asyncio.create_task(web.serve())
        try:
            async with asyncio.timeout(10):
                while not web.started:
                    await asyncio.sleep(0.01)
            port = web.servers[0].sockets[0].getsockname()[1]
            yield Served(f"http://127.0.0.1:{port}", server, app, runner)
        finally:
            web.should_exit = True
            await task


def _read_events(url: str, until: str, limit: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with urllib.request.urlopen(url, timeout=limit) as response:
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if events[-1]["type"] == until:
                    break
    return events


async def call_events(base: str, call_id: str, *, until: str, limit: float = 10.0) -> list[dict[str, Any]]:
    """The call's server-sent events up to the first of type `until` (or its end)."""
    return await asyncio.to_thread(_read_events, f"{base}/api/calls/{call_id}/events", until, limit)
