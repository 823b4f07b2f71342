"""A real `redis-server` for the store tests: started on a free port in a temporary folder,
one per module (`needs.need` fails under CI if the package is missing, skips locally)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from needs import need

from agentkit.store import RedisStore

# The helpers beside this file (`store_agents`, `store_workers`, `redis_process`) import by
# name, as the other test folders' do.
_STORE_TESTS = Path(__file__).resolve().parent
if str(_STORE_TESTS) not in sys.path:
    sys.path.insert(0, str(_STORE_TESTS))

from redis_process import RedisServer, free_port  # noqa: E402


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    need(shutil.which("redis-server") is not None, "redis-server")
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis_store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()
    store = RedisStore.from_url(redis_server.url, timeout_s=0.5)
    await store.client.flushdb()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.txt"
    path.touch()
    monkeypatch.setenv("AGENTKIT_TEST_LEDGER", str(path))
    return path

