"""What stands at `serve`'s door: allowed origins, body sizes, a per-client rate limit, and
errors as JSON.

- **Origins**: a browser sends `Origin` with every `POST` and cross-origin request. The
  API (`/api/...`) answers the page's own origin (the `Host` it was served from) and the
  origins of the allow-list (`--allow-origin`, with CORS headers for them); any other is
  refused with `403`. Requests without `Origin` (curl, a server) are not browser requests
  and pass: the rate limit and the provider's own checks apply to them.
- **Sizes**: a body larger than `max_body_bytes` is refused with `413`, whether it says so
  in `Content-Length` or streams more than it said.
- **Rate limit**: `RateLimiter` is a token bucket per client address (behind a reverse
  proxy, run uvicorn with `--forwarded-allow-ips` so the address is the browser's);
  `429` with `Retry-After` when a client's bucket is empty. It guards what costs money or
  opens sessions: minting keys and opening calls.
- **Errors**: every refusal is JSON shaped as the provider's REST errors,
  `{"error": {"message", "type", "code", "param"}}`, never a traceback.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyTooLarge", "OriginGuard", "RateLimit", "RateLimiter", "json_error"]

_CLIENTS: Final = 10_000
"""Clients whose buckets are kept (the least recently seen are forgotten first)."""


def json_error(
    status: int, message: str, code: str, *, param: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error response, shaped as the provider's REST errors."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "code": code, "param": param}}
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass(frozen=True)
class RateLimit:
    """At most `per_minute` requests per client on average, `burst` at once."""

    per_minute: float = 20.0
    burst: int = 10

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")


class RateLimiter:
    """A token bucket per client (see the module docs); `clock` is monotonic seconds."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def retry_after(self, client: str) -> float | None:
        """Take a token for `client`: `None` when it may go on, else the seconds until it may."""
        now = self.clock()
        rate = self.limit.per_minute / 60.0
        tokens, then = self._buckets.pop(client, (float(self.limit.burst), now))
        tokens = min(float(self.limit.burst), tokens + (now - then) * rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            wait = None
        else:
            self._buckets[client] = (tokens, now)
            wait = (1.0 - tokens) / rate
        while len(self._buckets) > _CLIENTS:
            self._buckets.popitem(last=False)
        return wait

    def refuse(self, client: str) -> JSONResponse | None:
        """The `429` for `client` when it is over the limit, else `None` (a token taken)."""
        wait = self.retry_after(client)
        if wait is None:
            return None
        return json_error(
            429, f"Too many requests: try again in {math.ceil(wait)} s.", "rate_limit_exceeded",
            headers={"Retry-After": str(math.ceil(wait))},
        )


class BodyTooLarge(Exception):
    """A request body went past the size limit while it was read."""


class OriginGuard:
    """ASGI middleware for the API paths: origin allow-list with CORS, and the body limit.

    Args:
        app: The app it guards.
        allow_origins: Origins other than the page's own that may call the API
            (`https://shop.example.com`); `*` allows any.
        max_body_bytes: The largest request body.
        prefix: The paths it guards.
    """

    def __init__(
        self, app: ASGIApp, *, allow_origins: Iterable[str] = (), max_body_bytes: int = 64 * 1024, prefix: str = "/api/"
    ) -> None:
        self.app = app
        self.allow_origins = frozenset(o.rstrip("/") for o in allow_origins)
        self.max_body_bytes = max_body_bytes
        self.prefix = prefix

    def allowed(self, origin: str, scope: Scope) -> bool:
        """Whether a request from `origin` may call the API."""
        if origin in self.allow_origins or "*" in self.allow_origins:
            return True
        host = Headers(scope=scope).get("host", "")
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        return origin == f"{scheme}://{host}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        cors: list[tuple[bytes, bytes]] = []
        if origin is not None:
            if not self.allowed(origin, scope):
                await json_error(403, f"Origin {origin!r} is not allowed.", "origin_not_allowed")(scope, receive, send)
                return
            cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin"),
                    (b"access-control-expose-headers", b"Location")]
            if scope["method"] == "OPTIONS":  # a CORS preflight
                await send({"type": "http.response.start", "status": 204, "headers": [
                    *cors, (b"access-control-allow-methods", b"GET, POST"),
                    (b"access-control-allow-headers", b"Content-Type, Authorization"),
                    (b"access-control-max-age", b"600")]})
                await send({"type": "http.response.body", "body": b""})
                return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._too_large(scope, receive, send)
            return
        received = 0
        limit = self.max_body_bytes

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and cors:
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        try:
            await self.app(scope, counted, with_cors)
        except BodyTooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = json_error(413, f"The request body is larger than {self.max_body_bytes} bytes.", "request_too_large")
        await response(scope, receive, send)
