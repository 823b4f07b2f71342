"""Where `agentkit run` connects: the embedded local server, a URL, Azure OpenAI or OpenAI.

First match wins:

1. `--local`: the embedded local server, whatever is configured;
2. `--url URL`: that endpoint (`OPENAI_API_KEY` as bearer token when set);
3. `--azure-deployment NAME`, or `AZURE_OPENAI_ENDPOINT` + `AZURE_OPENAI_API_KEY`: Azure OpenAI;
4. `OPENAI_API_KEY`: OpenAI;
5. nothing configured: the local server (`LocalRealtimeServer`) started in-process, playing
   the conversation script's model side, so a first run works on a fresh machine.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from ..errors import UserError
from ..protocol.dialects import Dialect
from ..transports.azure import AZURE_API_VERSION, azure_realtime_url
from ..transports.websocket import OPENAI_LIVE_URL, OPENAI_REALTIME_URL, realtime_url

__all__ = [
    "AZURE_API_VERSION",
    "LOCAL_KEY",
    "Connection",
    "add_connection_arguments",
    "choose_connection",
    "redact",
    "webrtc_base",
]

LOCAL_KEY = "agentkit-local"
"""The bearer token sent to the local server, which wants one; any will do."""


@dataclass(frozen=True)
class Connection:
    """Where the session connects.

    Attributes:
        kind: `local` (the embedded server), `url`, `openai` or `azure`.
        url: The WebSocket URL (None for `local`: known once the server listens).
        api_key: Sent as `Authorization: Bearer`.
        headers: Extra headers (Azure's `api-key`).
    """

    kind: Literal["local", "url", "openai", "azure"]
    url: str | None = None
    api_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        """True when a real (or at least not embedded) service plays the model."""
        return self.kind != "local"


def add_connection_arguments(
    parser: argparse.ArgumentParser, *, verb: str, live: bool = False
) -> None:
    """`--url`, `--azure-deployment`, `--local` and `--dialect`: the options
    `choose_connection` reads, worded for the command (`verb`: "connect to", "run against").
    `live`: the command runs GPT-Live too (`--dialect live`; then the default is the
    definition file's `dialect:`, else ga)."""
    parser.add_argument("--url", help=f"{verb} this realtime WebSocket URL")
    parser.add_argument(
        "--azure-deployment", metavar="NAME",
        help=f"{verb} this Azure OpenAI deployment (with AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--local", action="store_true",
        help="use the embedded local server even when an API key or Azure is configured",
    )
    if live:
        parser.add_argument(
            "--dialect", choices=("ga", "beta", "live"), default=None,
            help="the protocol dialect: ga (gpt-realtime), beta (preview, Azure) or live "
            "(GPT-Live); default: the definition file's `dialect:`, else ga",
        )
        return
    parser.add_argument(
        "--dialect", choices=("ga", "beta"), default="ga",
        help="the protocol dialect: ga (gpt-realtime, default) or beta (preview, Azure)",
    )


def choose_connection(
    *,
    model: str,
    dialect: Dialect,
    env: Mapping[str, str],
    url: str | None = None,
    azure_deployment: str | None = None,
    local: bool = False,
) -> Connection:
    """Pick the endpoint from the options and the environment (see the module docs)."""
    if local:
        return Connection("local")
    openai_key = env.get("OPENAI_API_KEY") or None
    if url is not None:
        if urlsplit(url).scheme not in ("ws", "wss", "http", "https"):
            raise UserError(f"--url {url!r}: expected a ws:// or wss:// URL")
        # GPT-Live takes its model in session.start, never in the URL.
        as_is = dialect == "live" or "model=" in url or "deployment=" in url
        full = url if as_is else realtime_url(model, url)
        return Connection("url", _ws_scheme(full), openai_key or LOCAL_KEY)
    endpoint = env.get("AZURE_OPENAI_ENDPOINT") or None
    azure_key = env.get("AZURE_OPENAI_API_KEY") or None
    if azure_deployment is not None or (endpoint and azure_key):
        if not (endpoint and azure_key):
            raise UserError(
                "--azure-deployment needs AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY set"
            )
        deployment = azure_deployment or env.get("AZURE_OPENAI_DEPLOYMENT") or model
        if dialect == "live":
            full = _ws_scheme(endpoint.rstrip("/") + "/openai/v1/live/sessions")
        else:
            full = azure_realtime_url(endpoint, deployment, dialect=dialect)
        return Connection("azure", full, None, {"api-key": azure_key})
    if openai_key:
        if dialect == "live":
            return Connection("openai", OPENAI_LIVE_URL, openai_key)
        return Connection("openai", realtime_url(model, OPENAI_REALTIME_URL), openai_key)
    return Connection("local")


def _ws_scheme(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme))


def redact(url: str) -> str:
    """The URL as shown to people (no query secrets, like an Azure `api-key` parameter)."""
    parts = urlsplit(url)
    if "key" not in parts.query.lower():
        return url
    return urlunsplit(parts._replace(query="…"))


def webrtc_base(url: str) -> str:
    """The REST base a WebRTC call goes to, from a realtime WebSocket URL:
    `wss://api.openai.com/v1/realtime?model=m` → `https://api.openai.com/v1` (the call is
    `POST {base}/realtime/calls`)."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/")
    if path.endswith("/realtime"):
        path = path[: -len("/realtime")]
    return urlunsplit((scheme, parts.netloc, path, "", ""))
