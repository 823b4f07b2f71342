"""The server's plain HTTP endpoints, and the route table that says which path is what.

Every request reaches `LocalRealtimeServer` through websockets' `process_request`; the app
looks the path up in `ROUTES`-style tables built from the names here:

- `WEBSOCKET_PATHS`: where a realtime WebSocket opens, and in which dialect (GA
  `/v1/realtime`, Azure-style `/openai/v1/realtime` (GA) and `/openai/realtime` (beta));
- plain HTTP routes (`HttpRoute`: `HttpRequest` in, `Response` out): `GET /healthz`,
  `POST /v1/realtime/client_secrets` (`client_secrets`).

A new HTTP endpoint (WebRTC's `POST /v1/realtime/calls` SDP exchange, a Twilio or SIP
webhook) is one more `HttpRoute` in the app's table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Response

from ..protocol.client_schema import InvalidClientEvent, check_session
from ..protocol.dialects import Dialect
from .errors import ClientError
from .keys import KeyStore
from .session import ServerSession
from .session_config import without_type

__all__ = [
    "BETA_PROTOCOL",
    "SECRET_PATHS",
    "WEBSOCKET_PATHS",
    "HttpRequest",
    "HttpRoute",
    "client_secrets",
    "healthz",
    "http_error",
    "json_response",
]

WEBSOCKET_PATHS: Final[Mapping[str, Dialect]] = {
    "/v1/realtime": "ga",
    "/openai/v1/realtime": "ga",
    "/openai/realtime": "beta",
}
"""Where a realtime WebSocket opens, and the dialect the path implies."""
SECRET_PATHS: Final = ("/v1/realtime/client_secrets", "/openai/v1/realtime/client_secrets")
BETA_PROTOCOL: Final = "openai-beta.realtime-v1"
"""The subprotocol that asks for the beta dialect on any WebSocket path."""


@dataclass(frozen=True)
class HttpRequest:
    """One plain HTTP request, as the routes see it."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    key: str | None
    """The API key it carries (see `KeyStore.key_of`)."""
    body: bytes


HttpRoute = Callable[[HttpRequest], Response]
"""A plain HTTP endpoint."""


def json_response(status: int, payload: Any) -> Response:
    """A JSON response with `status`."""
    body = orjson.dumps(payload)
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status, HTTPStatus(status).phrase, headers, body)


def http_error(message: str, code: str | None, kind: str = "invalid_request_error", param: str | None = None) -> dict[str, Any]:
    """The body of an HTTP error response, as the REST API shapes it."""
    return {"error": {"message": message, "type": kind, "code": code, "param": param}}


def healthz(sessions: int) -> Response:
    """`GET /healthz`: the server is up, with its number of live sessions."""
    return json_response(200, {"status": "ok", "sessions": sessions})


def client_secrets(
    request: HttpRequest,
    keys: KeyStore,
    preview: Callable[[dict[str, Any] | None], ServerSession],
) -> Response:
    """`POST /v1/realtime/client_secrets`: mint an ephemeral key for the (optional) session
    of the body. `preview(session)` builds the session the key will open, which checks it."""
    if request.method != "POST":
        return json_response(405, http_error("Use POST.", "method_not_allowed"))
    problem = keys.auth_error(request.key)
    if problem is not None or (request.key or "").startswith("ek_"):
        return json_response(401, http_error(problem or "Ephemeral keys cannot mint keys.", "invalid_api_key"))
    body = request.body
    try:
        payload = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        return json_response(400, http_error("We could not parse the JSON body of your request.", "invalid_json"))
    if not isinstance(payload, dict):
        return json_response(400, http_error("Expected a JSON object.", "invalid_type"))
    expires = payload.get("expires_after") or {}
    seconds = expires.get("seconds", 600) if isinstance(expires, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 10 <= seconds <= 7200:
        return json_response(400, http_error("expires_after.seconds must be between 10 and 7200.", "invalid_value", param="expires_after.seconds"))
    if isinstance(expires, dict) and expires.get("anchor", "created_at") != "created_at":
        return json_response(400, http_error("expires_after.anchor must be 'created_at'.", "invalid_value", param="expires_after.anchor"))
    session = payload.get("session")
    if session is not None and not isinstance(session, dict):
        return json_response(400, http_error("session must be an object.", "invalid_type", param="session"))
    try:
        if session is not None:
            check_session(without_type(session) or {})
        session_preview = preview(session)
    except (ClientError, InvalidClientEvent) as exc:
        return json_response(400, http_error(exc.message, exc.code, param=exc.param))
    expires_at = keys.clock() + seconds  # kept exact; the wire says whole seconds
    value = keys.mint(expires_at, without_type(session), session_preview.id)
    return json_response(200, {"value": value, "expires_at": int(expires_at), "session": session_preview.effective_session()})
