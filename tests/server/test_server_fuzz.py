"""Arbitrary JSON and mutated client events at a running server, over a real WebSocket.

No event may abort the connection or log a traceback; every event the client-event schema
refuses is answered by an `error` event valid against the `openai` package's types; and the
session answers a valid event afterwards.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from log_records import Records as _Records
from openai_conformance import validate_server_event
from websockets.sync.client import ClientConnection, connect

from agentkit.protocol.client_schema import InvalidClientEvent, check_client_event
from agentkit.server import LocalRealtimeServer


def _good_events() -> Any:
    # The good events of both dialects live with the schema's unit tests.
    path = Path(__file__).parent.parent / "protocol" / "test_client_schema.py"
    spec = importlib.util.spec_from_file_location("client_schema_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOOD_GA: list[dict[str, Any]] = _good_events().GOOD_GA
GOOD_BETA: list[dict[str, Any]] = _good_events().GOOD_BETA

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
JUNK = st.sampled_from([None, True, 0, -1, -500, 5.0, 1e9, "", "x", "fast", [], [1], {}, {"a": 1}, 4097, -0.5])
TYPES = sorted({e["type"] for e in GOOD_GA} | {"transcription_session.update", "nope"})


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if prefix or key != "type":
                yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from _paths(inner, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, events: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid event with one field replaced by junk, or one unknown field added."""
    event = copy.deepcopy(draw(st.sampled_from(events)))
    paths = list(_paths(event))
    path = draw(st.sampled_from(paths)) if paths else ()
    parent: Any = event
    for step in path[:-1]:
        parent = parent[step]
    if path and draw(st.booleans()):
        parent[path[-1]] = draw(JUNK | JSON)
    else:
        target = parent[path[-1]] if path else event
        if isinstance(target, dict):
            target[draw(st.sampled_from(["bogus", "type", "id", "role", "content"]))] = draw(JUNK)
    return event


ARBITRARY = st.builds(lambda kind, rest: {**rest, "type": kind}, st.sampled_from(TYPES) | JSON, st.dictionaries(st.text(max_size=8), JSON, max_size=4))


@pytest.fixture(scope="module")
def server() -> Iterator[LocalRealtimeServer]:
    loop = asyncio.new_event_loop()
    srv = LocalRealtimeServer(pace="fast", speech_engine="synthetic")
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(srv.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    yield srv
    asyncio.run_coroutine_threadsafe(srv.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


class _Client:
    def __init__(self, url: str, dialect: str) -> None:
        headers = {"Authorization": "Bearer k", **({"OpenAI-Beta": "realtime=v1"} if dialect == "beta" else {})}
        self.ws: ClientConnection = connect(url, additional_headers=headers, max_size=None)
        self.dialect = dialect
        self.sent = 0

    def exchange(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Send `event`, then a valid event with a known answer (an `error` naming it: the
        session still answers); everything before that answer."""
        self.sent += 1
        marker = f"marker_{self.sent}"
        self.ws.send(orjson.dumps(event))
        self.ws.send(orjson.dumps({"type": "conversation.item.retrieve", "item_id": "item_nope", "event_id": marker}))
        out: list[dict[str, Any]] = []
        while True:
            received = orjson.loads(self.ws.recv(timeout=10))
            validate_server_event(received, self.dialect)  # type: ignore[arg-type]
            if received["type"] == "error" and received["error"]["event_id"] == marker:
                assert received["error"]["code"] == "item_retrieve_invalid_item_id"
                return out
            out.append(received)


@pytest.fixture(scope="module")
def clients(server: LocalRealtimeServer) -> Iterator[dict[str, _Client]]:
    made = {dialect: _Client(server.url, dialect) for dialect in ("ga", "beta")}
    for client in made.values():
        assert orjson.loads(client.ws.recv(timeout=10))["type"] == "session.created"
    yield made
    for client in made.values():
        client.ws.close()


@pytest.fixture(scope="module")
def records() -> Iterator[_Records]:
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield handler
    root.setLevel(previous)
    root.removeHandler(handler)


def _check(client: _Client, event: dict[str, Any], records: _Records) -> None:
    event = {**event, "event_id": "fz"} if "event_id" not in event else event
    try:
        check_client_event(event, client.dialect)  # type: ignore[arg-type]
        refused = False
    except InvalidClientEvent:
        refused = True
    out = client.exchange(event)
    errors = [e["error"] for e in out if e["type"] == "error"]
    assert not [e for e in errors if e["type"] == "server_error"], (event, errors)
    # The service echoes a client's `event_id` only when it is a string.
    echoed = event["event_id"] if isinstance(event["event_id"], str) else None
    errors = [e for e in errors if e["event_id"] == echoed]
    if refused:
        assert errors, event
    assert not [r for r in records.records if r.exc_info or r.levelno >= logging.ERROR], [r.getMessage() for r in records.records]


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(event=ARBITRARY | mutated(GOOD_GA))
def test_ga_fuzz(clients: dict[str, _Client], records: _Records, event: dict[str, Any]) -> None:
    _check(clients["ga"], event, records)


@FUZZ
@given(event=ARBITRARY | mutated(GOOD_BETA) | mutated(GOOD_GA))
def test_beta_fuzz(clients: dict[str, _Client], records: _Records, event: dict[str, Any]) -> None:
    _check(clients["beta"], event, records)
