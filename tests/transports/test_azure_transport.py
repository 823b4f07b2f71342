"""`azure_transport`: the URL, headers and dialect on the wire, against the local server's
Azure paths (`/openai/v1/realtime`, `/openai/realtime`), with a key or a token provider."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest

from agentkit import RealtimeAgent, RealtimeRunner, ReconnectPolicy, UserError, azure_transport
from agentkit.errors import TransportError
from agentkit.server import LocalRealtimeServer
from agentkit.server.faults import Fault
from agentkit.transports import AzureTransport, azure_realtime_url


def endpoint(server: LocalRealtimeServer) -> str:
    """The server as an Azure resource's endpoint (`http://HOST:PORT`, no path)."""
    return f"http://{server.host}:{server.port}"


agent = RealtimeAgent(name="Greeter", instructions="You greet.")
SCRIPT = {"greeting": [{"say": "Hello from Azure."}], "turns": []}


class Requests:
    """What the server received at each handshake (its key lookup sees every request)."""

    def __init__(self, server: LocalRealtimeServer) -> None:
        self.seen: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        key_of = server.keys.key_of

        def record(request: Any, query: Any) -> str | None:
            parts = urlsplit(request.path)
            self.seen.append(
                (parts.path, parse_qs(parts.query), {k.lower(): v for k, v in request.headers.raw_items()})
            )
            return key_of(request, query)

        server.keys.key_of = record  # type: ignore[method-assign]


def record_frames(transport: AzureTransport) -> list[str]:
    """The frames the session sends (a tiny recording wrapper around `send`)."""
    sent: list[str] = []
    send = transport.send

    async def recording(frame: str) -> None:
        sent.append(frame)
        await send(frame)

    transport.send = recording  # type: ignore[method-assign]
    return sent


async def greeting(session: Any) -> str:
    await session.respond()
    with anyio.fail_after(5):
        async for event in session:
            if event.type == "assistant_transcript":
                return str(event.transcript)
    raise AssertionError("no greeting")


def test_the_urls_are_the_ones_the_cli_builds() -> None:
    from agentkit.cli.connection import choose_connection

    env = {"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com/", "AZURE_OPENAI_API_KEY": "k"}
    for dialect in ("ga", "beta"):
        cli = choose_connection(model="m", dialect=dialect, env=env, azure_deployment="dep")
        assert cli.url == azure_realtime_url("https://res.openai.azure.com/", "dep", dialect=dialect)
    assert azure_realtime_url("https://res.openai.azure.com", "dep") == (
        "wss://res.openai.azure.com/openai/v1/realtime?model=dep"
    )
    assert azure_realtime_url("https://res.openai.azure.com", "dep", dialect="beta") == (
        "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=dep"
    )


async def test_ga_with_a_key_on_the_ga_path() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", api_keys={"azure-key"}) as server:
        requests = Requests(server)
        transport = azure_transport(endpoint(server), "my-realtime", api_key="azure-key")
        sent = record_frames(transport)
        async with RealtimeRunner(agent).session(transport) as session:
            assert await greeting(session) == "Hello from Azure."
    ((path, query, headers),) = requests.seen
    assert path == "/openai/v1/realtime"
    assert query == {"model": ["my-realtime"]}
    assert headers["api-key"] == "azure-key"
    assert "authorization" not in headers and "openai-beta" not in headers
    assert '"type":"realtime"' in sent[0]  # a GA session.update


async def test_beta_with_a_key_on_the_preview_path() -> None:
    async with LocalRealtimeServer(script=SCRIPT, pace="fast", api_keys={"azure-key"}) as server:
        requests = Requests(server)
        transport = azure_transport(
            endpoint(server), "my-preview", api_key="azure-key", dialect="beta"
        )
        sent = record_frames(transport)
        async with RealtimeRunner(agent, dialect="beta").session(transport) as session:
            assert await greeting(session) == "Hello from Azure."
    ((path, query, headers),) = requests.seen
    assert path == "/openai/realtime"
    assert query == {"api-version": ["2025-04-01-preview"], "deployment": ["my-preview"]}
    assert headers["api-key"] == "azure-key" and headers["openai-beta"] == "realtime=v1"
    assert '"modalities"' in sent[0] and '"type":"realtime"' not in sent[0]  # beta's flat shape


async def test_a_token_provider_is_asked_at_every_connect() -> None:
    tokens = iter(["token-1", "token-2"])
    calls: list[str] = []

    async def provider() -> str:
        calls.append("called")
        return next(tokens)

    faults = [Fault("drop", at_event="response.done", sessions=(1,))]
    async with LocalRealtimeServer(
        script=SCRIPT, pace="fast", api_keys={"token-1", "token-2"}, faults=faults
    ) as server:
        requests = Requests(server)
        transport = azure_transport(endpoint(server), "my-realtime", token_provider=provider)
        runner = RealtimeRunner(agent, reconnect=ReconnectPolicy(base_delay_s=0.01, jitter=0))
        async with runner.session(transport) as session:
            assert len(calls) == 1
            await session.respond()
            with anyio.fail_after(5):
                async for event in session:
                    if event.type == "reconnected":
                        break
    assert len(calls) == 2
    auth = [headers["authorization"] for _, _, headers in requests.seen]
    assert auth == ["Bearer token-1", "Bearer token-2"]
    assert all("api-key" not in headers for _, _, headers in requests.seen)


async def test_a_failing_token_provider_is_a_transport_error() -> None:
    def provider() -> str:
        raise RuntimeError("no credential")

    transport = azure_transport("https://res.openai.azure.com", "dep", token_provider=provider)
    with pytest.raises(TransportError, match="no credential"):
        await transport.connect()


def test_exactly_one_credential() -> None:
    with pytest.raises(UserError, match="exactly one"):
        azure_transport("https://res.openai.azure.com", "dep")
    with pytest.raises(UserError, match="exactly one"):
        azure_transport("https://r", "dep", api_key="k", token_provider=lambda: "t")


def test_the_runner_refuses_a_transport_of_another_dialect() -> None:
    transport = azure_transport("https://res.openai.azure.com", "dep", api_key="k", dialect="beta")
    with pytest.raises(UserError, match="'beta' dialect but the runner 'ga'"):
        RealtimeRunner(agent).session(transport)
