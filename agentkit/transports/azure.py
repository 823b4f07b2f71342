"""Azure OpenAI: the realtime endpoints of an Azure resource, with a key or an Entra ID token.

An Azure OpenAI resource serves the realtime protocol at two paths:

* GA: `wss://RESOURCE/openai/v1/realtime?model=DEPLOYMENT` (the deployment is the model);
* the beta preview API: `wss://RESOURCE/openai/realtime?api-version=2025-04-01-preview&
  deployment=DEPLOYMENT`, which takes the beta dialect.

It authenticates with the resource's key (an `api-key` header) or a Microsoft Entra ID
token (`Authorization: Bearer`). A token expires, so `AzureTransport` asks its token provider
for one at every connect: a reconnect gets a fresh one. The transport is otherwise a
`WebSocketTransport`; this module only builds the URL and the headers.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from ..errors import TransportError, UserError
from ..protocol.dialects import Dialect
from .websocket import WebSocketTransport

__all__ = [
    "AZURE_API_VERSION",
    "AzureTransport",
    "TokenProvider",
    "azure_realtime_url",
    "azure_transport",
]

AZURE_API_VERSION = "2025-04-01-preview"
"""The Azure OpenAI API version of the beta (preview) realtime endpoint."""

TokenProvider = Callable[[], str | Awaitable[str]]
"""Returns a bearer token, sync or async: `azure.identity.get_bearer_token_provider(
credential, "https://cognitiveservices.azure.com/.default")` (or its `azure.identity.aio`
twin)."""


def azure_realtime_url(
    endpoint: str,
    deployment: str,
    *,
    dialect: Dialect = "ga",
    api_version: str = AZURE_API_VERSION,
) -> str:
    """The realtime WebSocket URL of `deployment` on the Azure resource at `endpoint`.

    `endpoint` is the resource's URL as the portal shows it (`https://NAME.openai.azure.com`;
    `https` becomes `wss`). GA: `/openai/v1/realtime?model=DEPLOYMENT`; beta: the preview
    API, `/openai/realtime?api-version=API_VERSION&deployment=DEPLOYMENT`.
    """
    parts = urlsplit(endpoint.rstrip("/"))
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    base = urlunsplit(parts._replace(scheme=scheme))
    if dialect == "beta":
        return f"{base}/openai/realtime?api-version={api_version}&deployment={deployment}"
    return f"{base}/openai/v1/realtime?model={deployment}"


class AzureTransport(WebSocketTransport):
    """A `WebSocketTransport` to Azure OpenAI: the key as `api-key`, or a token provider
    asked for a bearer token at every connect (see the module docs).

    Args:
        url: The endpoint (see `azure_realtime_url`).
        api_key: The resource's key.
        token_provider: A Microsoft Entra ID token provider (exactly one of the two).
        dialect: `"ga"`, or `"beta"` for the preview API.
        open_timeout: Seconds for the handshake.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        token_provider: TokenProvider | None = None,
        dialect: Dialect = "ga",
        open_timeout: float = 10.0,
    ) -> None:
        if (api_key is None) == (token_provider is None):
            raise UserError("Azure OpenAI takes an api_key or a token_provider (exactly one)")
        headers = {"api-key": api_key} if api_key is not None else None
        super().__init__(url, dialect=dialect, headers=headers, open_timeout=open_timeout)
        self.token_provider = token_provider

    async def connect(self) -> None:
        provider = self.token_provider
        if provider is not None:
            try:
                token = provider()
                if inspect.isawaitable(token):
                    token = await token
            except Exception as exc:
                # azure-identity's errors are foreign: a failed attempt, retried like a
                # refused connection by the reconnect policy.
                raise TransportError(f"cannot get an Entra ID token for {self.url}: {exc}") from exc
            self.headers["Authorization"] = f"Bearer {token}"
        await super().connect()


def azure_transport(
    endpoint: str,
    deployment: str,
    *,
    api_key: str | None = None,
    token_provider: TokenProvider | None = None,
    dialect: Dialect = "ga",
    api_version: str = AZURE_API_VERSION,
    open_timeout: float = 10.0,
) -> AzureTransport:
    """A transport to `deployment` on the Azure OpenAI resource at `endpoint`.

    ```python
    transport = azure_transport(
        "https://my-resource.openai.azure.com", "gpt-realtime", api_key=os.environ["AZURE_OPENAI_API_KEY"]
    )
    async with RealtimeRunner(agent).session(transport) as session: ...
    ```

    Pass `api_key` or `token_provider` (Entra ID; `pip install agentkit[azure]` for
    `azure-identity`). `dialect="beta"` targets the preview API; the runner must speak the
    same dialect (`RealtimeRunner(agent, dialect="beta")`), or `runner.session()` refuses
    the transport.
    """
    url = azure_realtime_url(endpoint, deployment, dialect=dialect, api_version=api_version)
    return AzureTransport(
        url,
        api_key=api_key,
        token_provider=token_provider,
        dialect=dialect,
        open_timeout=open_timeout,
    )
