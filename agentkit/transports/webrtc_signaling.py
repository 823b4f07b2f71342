"""WebRTC signaling over HTTP: the SDP offer/answer exchange, ephemeral keys and hangup.

The forms the realtime service accepts (see the protocol reference, WebRTC):

- GA with an ephemeral key: `POST {base}/realtime/calls`, `Content-Type: application/sdp`,
  the offer as the body (the session comes from the key);
- GA with an API key: the same path, `multipart/form-data` with `sdp` and `session`;
- beta (preview): an ephemeral key from `POST {base}/realtime/sessions`, then the offer to
  `POST {base}/realtime?model=...` as `application/sdp`;
- Azure GA: the GA forms under `https://<resource>.openai.azure.com/openai/v1`.

The answer is `201` with the SDP answer as the body and `Location: .../calls/<call_id>`.
The HTTP is plain `urllib` run in a worker thread: an exchange happens once per connect,
and the package then needs no HTTP client of its own. Every failure becomes a
`TransportError` carrying the provider's error message and status.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import anyio

from ..errors import TransportError

__all__ = [
    "Answer",
    "SignalingError",
    "exchange_sdp",
    "hangup",
    "http_post",
    "multipart",
    "provider_error",
]


class SignalingError(TransportError):
    """An HTTP step of the WebRTC setup failed; `status` and `code` are the provider's."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Answer:
    """The service's SDP answer and the call it opened."""

    sdp: str
    call_id: str | None


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _post_sync(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> _Response:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return _Response(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return _Response(exc.code, dict(exc.headers.items()), exc.read())


async def http_post(
    url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 10.0
) -> tuple[int, Mapping[str, str], bytes]:
    """POST `body` to `url`: (status, headers, body). `SignalingError` when unreachable."""
    try:
        response = await anyio.to_thread.run_sync(_post_sync, url, body, headers, timeout)
    except (OSError, ValueError) as exc:
        raise SignalingError(f"cannot reach {url}: {exc}") from exc
    return response.status, response.headers, response.body


def provider_error(what: str, status: int, body: bytes) -> SignalingError:
    """The `SignalingError` for a refused request: the provider's REST error message and code
    when the body has them, else the start of the body."""
    message, code = body.decode(errors="replace")[:300], None
    try:
        error = json.loads(body)["error"]
        message, code = str(error.get("message")), error.get("code")
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return SignalingError(f"{what} failed ({status}): {message}", status=status, code=code)


def multipart(fields: Mapping[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A `multipart/form-data` body from `name -> (content type, data)`, and its type."""
    boundary = "agentkit" + secrets.token_hex(12)
    parts: list[bytes] = []
    for name, (content_type, data) in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def _ephemeral_beta(base: str, model: str, headers: Mapping[str, str]) -> str:
    status, _, body = await http_post(
        f"{base}/realtime/sessions",
        json.dumps({"model": model}).encode(),
        {**headers, "Content-Type": "application/json"},
    )
    if status >= 300:
        raise provider_error("POST /realtime/sessions", status, body)
    try:
        return str(json.loads(body)["client_secret"]["value"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SignalingError("the sessions endpoint sent no client_secret") from exc


async def exchange_sdp(
    base: str,
    offer: str,
    *,
    model: str,
    api_key: str | None,
    session: Mapping[str, Any] | None,
    headers: Mapping[str, str],
    dialect: str = "ga",
) -> Answer:
    """Send `offer` to the service at `base` (`.../v1`) and return its answer."""
    auth = dict(headers)
    if api_key is not None and "Authorization" not in auth:
        auth["Authorization"] = f"Bearer {api_key}"
    ephemeral = (api_key or "").startswith("ek_")
    if dialect == "beta":
        if not ephemeral and api_key is not None:
            key = await _ephemeral_beta(base, model, auth)
            auth = {k: v for k, v in auth.items() if k.lower() not in ("authorization", "api-key")}
            auth["Authorization"] = f"Bearer {key}"
        url = f"{base}/realtime?{urlencode({'model': model})}"
        body, content_type = offer.encode(), "application/sdp"
    elif ephemeral:
        url, body, content_type = f"{base}/realtime/calls", offer.encode(), "application/sdp"
    else:
        url = f"{base}/realtime/calls"
        chosen = {"type": "realtime", "model": model, **(session or {})}
        body, content_type = multipart(
            {"sdp": ("application/sdp", offer.encode()),
             "session": ("application/json", json.dumps(chosen).encode())}
        )
    status, answer_headers, answer = await http_post(
        url, body, {**auth, "Content-Type": content_type}
    )
    if status >= 300:
        raise provider_error("the SDP exchange", status, answer)
    location = next((v for k, v in answer_headers.items() if k.lower() == "location"), None)
    call_id = location.rstrip("/").rsplit("/", 1)[-1] if location else None
    return Answer(answer.decode(), call_id)


async def hangup(base: str, call_id: str, *, api_key: str | None, headers: Mapping[str, str]) -> None:
    """`POST {base}/realtime/calls/{call_id}/hangup`: end the call for both ends."""
    auth = dict(headers)
    if api_key is not None and "Authorization" not in auth:
        auth["Authorization"] = f"Bearer {api_key}"
    status, _, body = await http_post(f"{base}/realtime/calls/{call_id}/hangup", b"", auth)
    if status >= 300:
        raise provider_error("hangup", status, body)
