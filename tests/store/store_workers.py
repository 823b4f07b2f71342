"""Worker subprocesses and an app client, for the tests that kill workers."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

AGENTS = Path(__file__).resolve().parent / "store_agents.py"
_LISTENING = re.compile(r"listening on (ws://[^/ ]+)/v1/sessions/")


@dataclass
class Worker:
    """One `agentkit worker` process."""

    process: asyncio.subprocess.Process
    url: str

    def kill(self) -> None:
        """`kill -9`: no cleanup of any kind runs."""
        if self.process.returncode is None:
            self.process.kill()


async def start_worker(redis_url: str, provider_url: str, env: dict[str, str]) -> Worker:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentkit", "worker", f"{AGENTS}:support",
        "--redis", redis_url, "--url", provider_url, "--port", "0", "--lease-ttl", "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    assert process.stdout is not None
    async with asyncio.timeout(30):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise RuntimeError("the worker exited before listening")
            found = _LISTENING.search(line)
            if found:
                return Worker(process, found.group(1))


@asynccontextmanager
async def workers(count: int, redis_url: str, provider_url: str, env: dict[str, str]) -> AsyncIterator[list[Worker]]:
    started = await asyncio.gather(
        *(start_worker(redis_url, provider_url, env) for _ in range(count))
    )
    try:
        yield list(started)
    finally:
        for worker in started:
            worker.kill()
            await worker.process.wait()


@dataclass
class App:
    """An app's connection to a worker: the hello, then the events."""

    connection: ClientConnection
    hello: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, **message: Any) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def until(self, kind: str, **fields: Any) -> dict[str, Any]:
        """The next event of type `kind` whose fields start with these values."""
        async with asyncio.timeout(10):
            while True:
                event = orjson.loads(await self.connection.recv())
                self.events.append(event)
                if event["type"] == kind and all(
                    str(event.get(k, "")).startswith(str(v)) for k, v in fields.items()
                ):
                    return event

    def completed_items(self) -> set[str]:
        """The ids of the items this app saw completed (or created complete)."""
        ids = {i["item_id"] for i in self.hello["history"] if i.get("status") != "in_progress"}
        for event in self.events:
            if event["type"] in ("history_added", "history_updated"):
                item = event["item"]
                if item.get("status") != "in_progress":
                    ids.add(item["item_id"])
        return ids


@asynccontextmanager
async def app(worker: Worker, session_id: str) -> AsyncIterator[App]:
    async with connect(f"{worker.url}/v1/sessions/{session_id}") as connection:
        hello = orjson.loads(await connection.recv())
        assert hello["type"] == "session", hello
        yield App(connection, hello)
