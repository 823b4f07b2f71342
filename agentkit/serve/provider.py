"""The realtime service `serve` stands in front of: its endpoints, derived from one URL, and
the three REST calls made to it with the real key.

Everything follows from the realtime WebSocket URL the connection options give (`--url`,
`--azure-deployment`, `OPENAI_API_KEY`, or the embedded local server):

| endpoint | derived as | example (OpenAI) |
| --- | --- | --- |
| `realtime_url` | as given | `wss://api.openai.com/v1/realtime?model=gpt-realtime` |
| `rest_base` | scheme `ws`→`http`, path without `/realtime`, no query | `https://api.openai.com/v1` |
| `client_secrets_url` | `{rest_base}/realtime/client_secrets` | |
| `calls_url` | `{rest_base}/realtime/calls` (the SDP exchange) | |
| `sideband_url(call_id)` | the WebSocket URL with `?call_id=` instead of its query | `wss://.../v1/realtime?call_id=rtc_...` |

Azure's GA endpoints sit under `/openai/v1`, which the same rules give from its WebSocket
URL. The HTTP goes through `agentkit.transports.webrtc_signaling` (the client the WebRTC
transport uses): one client, one error type, `SignalingError`, carrying the provider's
status and message. The key is only ever put in a request header here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..cli.connection import webrtc_base
from ..protocol.dialects import Dialect
from ..transports.webrtc_signaling import (
    Answer,
    SignalingError,
    exchange_sdp,
    hangup,
    http_post,
    provider_error,
)

__all__ = ["MAX_KEY_EXPIRY_S", "MIN_KEY_EXPIRY_S", "Provider"]

MIN_KEY_EXPIRY_S: Final = 10
"""The shortest ephemeral key lifetime the service accepts (`expires_after.seconds`)."""
MAX_KEY_EXPIRY_S: Final = 7200
"""The longest (two hours)."""


@dataclass(frozen=True)
class Provider:
    """The realtime service behind `serve` and how to authenticate to it.

    Attributes:
        realtime_url: The realtime WebSocket URL (with `?model=` or Azure's `deployment=`).
        api_key: Sent as `Authorization: Bearer` (unless `headers` authenticate: Azure's
            `api-key`). Never sent to a browser.
        model: The model (the GA multipart session's `model`, beta's `?model=`).
        dialect: `ga` or `beta`.
        headers: Extra headers of every request (Azure's `api-key`).
        kind: Where it is (`local`, `url`, `openai`, `azure`), for people and the page.
    """

    realtime_url: str
    api_key: str | None
    model: str
    dialect: Dialect = "ga"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    kind: Literal["local", "url", "openai", "azure"] = "url"

    def __repr__(self) -> str:  # no key, ever (the dataclass repr would print it)
        return f"Provider(kind={self.kind!r}, realtime_url={self.realtime_url!r}, model={self.model!r})"

    @property
    def rest_base(self) -> str:
        """`https://HOST/v1` (Azure: `https://HOST/openai/v1`)."""
        return webrtc_base(self.realtime_url)

    @property
    def calls_url(self) -> str:
        """Where an SDP offer opens a call (`POST`, `application/sdp` with an ephemeral key)."""
        return f"{self.rest_base}/realtime/calls"

    @property
    def client_secrets_url(self) -> str:
        """Where ephemeral keys are minted (GA)."""
        return f"{self.rest_base}/realtime/client_secrets"

    def sideband_url(self, call_id: str) -> str:
        """The WebSocket URL that attaches to call `call_id` as its control connection."""
        parts = urlsplit(self.realtime_url)
        return urlunsplit(parts._replace(query=urlencode({"call_id": call_id}), fragment=""))

    def auth_headers(self) -> dict[str, str]:
        """The headers that authenticate a request to the service."""
        headers = dict(self.headers)
        if self.api_key is not None and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    async def mint_client_secret(self, session: Mapping[str, Any], seconds: int) -> dict[str, Any]:
        """An ephemeral key for a browser, opening `session`, valid `seconds`: the service's
        response as it came (GA: `{value, expires_at, session}`; beta: the session object
        with `client_secret`). `SignalingError` when the service refuses."""
        if self.dialect == "beta":
            url = f"{self.rest_base}/realtime/sessions"
            body: dict[str, Any] = {"model": self.model, **session}
        else:
            url = self.client_secrets_url
            body = {
                "expires_after": {"anchor": "created_at", "seconds": seconds},
                "session": {"type": "realtime", "model": self.model, **session},
            }
        status, _, answer = await http_post(
            url, json.dumps(body).encode(), {**self.auth_headers(), "Content-Type": "application/json"}
        )
        if status >= 300:
            raise provider_error("minting a client secret", status, answer)
        try:
            minted = json.loads(answer)
        except ValueError as exc:
            raise SignalingError("the client secret response is not JSON", status=502) from exc
        if not isinstance(minted, dict):
            raise SignalingError("the client secret response is not a JSON object", status=502)
        return minted

    async def open_call(self, offer: str, session: Mapping[str, Any]) -> Answer:
        """Relay a browser's SDP `offer` with `session` (the multipart form); the answer and
        the call id. `SignalingError` (with the service's status) when refused."""
        return await exchange_sdp(
            self.rest_base,
            offer,
            model=self.model,
            api_key=self.api_key,
            session=session,
            headers=self.headers,
            dialect=self.dialect,
        )

    async def hangup(self, call_id: str) -> None:
        """End call `call_id` for every end."""
        await hangup(self.rest_base, call_id, api_key=self.api_key, headers=self.headers)

