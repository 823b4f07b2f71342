"""`create_app`: the Starlette app of `agentkit serve`, its routes and what they share.

| method and path | what it does |
| --- | --- |
| `GET /` | the page (`static/index.html`; `static/app.js`, `static/app.css` under `/static/`) |
| `GET /api/config` | the agent graph, the starting agent, the codecs, where ephemeral calls go |
| `POST /api/session` | an ephemeral key for the browser (the provider's client-secret response, the starting agent's compiled session in it); rate limited |
| `POST /api/calls` | the SDP relay: `application/sdp` in, `201` with the answer and `Location: /api/calls/{call_id}` out; the sideband then attaches; rate limited |
| `POST /api/calls/{call_id}/sideband` | the ephemeral-key mode: the page connected itself and reports its call for the sideband; rate limited |
| `GET /api/calls/{call_id}/events` | the call's server-side events (`text/event-stream`, see `channel`) |
| `POST /api/calls/{call_id}/approvals/{tool_call_id}` | `{"approve": true}` or `{"approve": false, "message": ...}` for a parked tool |
| `POST /api/calls/{call_id}/hangup` | end the call (provider and sideband) |
| `GET /healthz` | `{"status": "ok", "calls": N}` |

Every error is JSON (`security.json_error`); the real key is used in server-to-provider
requests only.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..agent import RealtimeAgent
from ..compiler import compile_session_update
from ..errors import DefinitionError
from ..logs import get_logger
from ..runner import RealtimeRunner
from ..transports.webrtc_signaling import SignalingError
from .provider import MAX_KEY_EXPIRY_S, MIN_KEY_EXPIRY_S, Provider
from .security import OriginGuard, RateLimit, RateLimiter, json_error
from .sideband import CALL_ID, Calls

__all__ = ["ServeState", "create_app"]

logger = get_logger("agentkit.serve")

_STATIC = files("agentkit.serve") / "static"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {provider}; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class ServeState:
    """What the routes share, as `app.state.serve`: what an extension (a telephony bridge)
    mounted into the app reads too.

    Attributes:
        runner: Starts every call's session (its agents, settings, tool policy, tracing).
        provider: The realtime service: `realtime_url`, `rest_base`, `api_key`, `headers`.
        calls: The live calls (`Calls.attach`, `Calls.end`, `Calls.live`).
        session: The starting agent's compiled session (what keys and relayed calls open).
        key_expiry_s: The lifetime of the ephemeral keys `POST /api/session` mints.
        limiter: The per-client rate limit of the routes that open sessions.
    """

    runner: RealtimeRunner[Any]
    provider: Provider
    calls: Calls
    session: dict[str, Any]
    key_expiry_s: int
    limiter: RateLimiter


class _Approval(BaseModel):
    """The body of `POST /api/calls/{call_id}/approvals/{tool_call_id}`."""

    model_config = ConfigDict(extra="forbid")
    approve: bool
    always: bool = False
    message: str | None = Field(default=None, max_length=2000)


def create_app(
    runner: RealtimeRunner[Any],
    provider: Provider,
    *,
    context_factory: Callable[[], Any] | None = None,
    allow_origins: Sequence[str] = (),
    key_expiry_s: int = 600,
    rate_limit: RateLimit | None = None,
    max_body_bytes: int = 64 * 1024,
    max_calls: int = 100,
    greet: bool = True,
    routes: Sequence[BaseRoute] = (),
    clock: Callable[[], float] | None = None,
) -> Starlette:
    """The `agentkit serve` app: the page and the endpoints a browser voice app needs (see
    the module docs), against `provider` with `runner`'s agents.

    Args:
        runner: Runs each call's session on the server (tools, handoffs, guardrails).
        provider: The realtime service and its key (`Provider`).
        context_factory: Builds the tools' context once per call.
        allow_origins: Other origins whose pages may call the API (CORS); the page's own
            origin always may.
        key_expiry_s: Ephemeral key lifetime, 10 to 7200 s (the service's limits).
        rate_limit: Per client, on `POST /api/session`, `/api/calls` and `/sideband`.
        max_body_bytes: The largest request body (an SDP offer is a few kB).
        max_calls: Calls at once.
        greet: The agent speaks first once a call is attached.
        routes: Extra Starlette routes, mounted before the page's: the extension point for
            what shares this server and its runner, like a telephony bridge (Twilio media
            streams, SIP webhooks). Their handlers read `request.app.state.serve`
            (`ServeState`): `runner`, `provider` (`realtime_url`, `rest_base`, `api_key`,
            `headers`, `sideband_url(call_id)`), `calls` (`attach(call_id)` runs the agents
            on a call opened elsewhere). The origin guard covers `/api/` paths only, so a
            webhook path outside it is free to check its own signatures.
        clock: Monotonic seconds for the rate limit (tests move it).

    Raises:
        ValueError: `key_expiry_s` is outside the service's limits.
    """
    if not MIN_KEY_EXPIRY_S <= key_expiry_s <= MAX_KEY_EXPIRY_S:
        raise ValueError(
            f"the ephemeral key expiry must be {MIN_KEY_EXPIRY_S} to {MAX_KEY_EXPIRY_S} s, got {key_expiry_s}"
        )
    limiter = RateLimiter(rate_limit or RateLimit(), *(() if clock is None else (clock,)))
    calls = Calls(runner, provider, context_factory=context_factory, greet=greet, max_calls=max_calls)
    state = ServeState(runner, provider, calls, _session_of(runner, provider), key_expiry_s, limiter)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            calls.bind(group)
            try:
                yield
            finally:
                calls.bind(None)
                group.cancel_scope.cancel()

    page_routes: list[BaseRoute] = [
        Route("/", _page, methods=["GET"]),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/api/config", _config, methods=["GET"]),
        Route("/api/session", _mint, methods=["POST"]),
        Route("/api/calls", _open_call, methods=["POST"]),
        Route("/api/calls/{call_id}/sideband", _sideband, methods=["POST"]),
        Route("/api/calls/{call_id}/events", _events, methods=["GET"]),
        Route("/api/calls/{call_id}/approvals/{tool_call_id}", _approval, methods=["POST"]),
        Route("/api/calls/{call_id}/hangup", _hangup, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(_STATIC)), name="static"),
    ]
    app = Starlette(
        routes=[*routes, *page_routes],
        middleware=[Middleware(OriginGuard, allow_origins=allow_origins, max_body_bytes=max_body_bytes)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.serve = state
    return app


def _session_of(runner: RealtimeRunner[Any], provider: Provider) -> dict[str, Any]:
    """The starting agent's session, as keys and relayed calls open it."""
    agent: RealtimeAgent[Any] = runner.starting_agent
    try:
        update = compile_session_update(agent, runner.settings, dialect=provider.dialect)
    except DefinitionError:
        # Instructions that are a function of the run context: the sideband sends them,
        # resolved, as soon as it attaches.
        update = compile_session_update(agent, runner.settings, dialect=provider.dialect, instructions="")
    session = dict(update["session"])
    session.pop("type", None)
    return session


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.serve
    return state


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    message = "No such page." if exc.status_code == 404 else str(exc.detail)
    return json_error(exc.status_code, message, code)


async def _server_error(request: Request, exc: Exception) -> Response:
    # A bug, not the client's fault: logged here (one line, no request body), a plain 500 out.
    logger.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return json_error(500, "The server failed to handle this request.", "server_error")


async def _page(request: Request) -> Response:
    origin = _provider_origin(_state(request).provider)
    headers = {
        "Content-Security-Policy": _CSP.format(provider=origin),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The page asks for the microphone; nothing else.
        "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    }
    return FileResponse(str(_STATIC / "index.html"), headers=headers, media_type="text/html")


def _provider_origin(provider: Provider) -> str:
    parts = urlsplit(provider.rest_base)
    return f"{parts.scheme}://{parts.netloc}"


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "calls": len(_state(request).calls.live)})


async def _config(request: Request) -> Response:
    state = _state(request)
    runner = state.runner
    agents = [
        {
            "name": agent.name,
            "tools": [
                {"name": t.name, "needs_approval": bool(getattr(t, "needs_approval", False))}
                for t in agent.tools
            ],
            "handoffs": [h.agent_name for h in agent.handoff_list()],
        }
        for agent in runner.agents.values()
    ]
    return JSONResponse({
        "agents": agents,
        "starting_agent": runner.starting_agent.name,
        "codecs": ["opus", "pcmu", "pcma"],
        "provider": {"kind": state.provider.kind, "calls_url": state.provider.calls_url},
        "key_expiry_s": state.key_expiry_s,
    })


async def _mint(request: Request) -> Response:
    state = _state(request)
    refused = state.limiter.refuse(_client(request))
    if refused is not None:
        return refused
    try:
        minted = await state.provider.mint_client_secret(state.session, state.key_expiry_s)
    except SignalingError as exc:
        return _provider_failed(exc)
    return JSONResponse(minted)


async def _open_call(request: Request) -> Response:
    state = _state(request)
    refused = state.limiter.refuse(_client(request))
    if refused is not None:
        return refused
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/sdp"):
        return json_error(
            415, f"Send the SDP offer as application/sdp, not {content_type or '(no type)'!r}.",
            "unsupported_content_type",
        )
    offer = (await request.body()).decode(errors="replace")
    problem = _offer_problem(offer)
    if problem is not None:
        return json_error(400, problem, "invalid_offer", param="sdp")
    if state.calls.full():
        return json_error(503, "Too many calls at once: try again later.", "too_many_calls")
    try:
        answer = await state.provider.open_call(offer, state.session)
    except SignalingError as exc:
        return _provider_failed(exc)
    if answer.call_id is None or CALL_ID.match(answer.call_id) is None:
        return json_error(502, "The provider's answer named no call.", "provider_error")
    state.calls.attach(answer.call_id)
    return Response(
        answer.sdp, status_code=201, media_type="application/sdp",
        headers={"Location": f"/api/calls/{answer.call_id}"},
    )


def _offer_problem(offer: str) -> str | None:
    """Why `offer` is not an SDP offer worth relaying (`None`: it is)."""
    lines = offer.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "v=0":
        return "The SDP offer is malformed: it must start with 'v=0'."
    if not any(line.startswith("m=audio ") for line in lines):
        return "The SDP offer has no audio (m=audio) section."
    return None


def _provider_failed(exc: SignalingError) -> Response:
    """The provider refused (its 4xx is the client's problem, passed on) or failed (502)."""
    status = exc.status if exc.status is not None and 400 <= exc.status < 500 else 502
    if status in (401, 403):
        # The browser never holds the server's key: a refused key is the server's problem.
        logger.error("the provider refused the server's credentials: %s", exc)
        return json_error(502, "The server could not authenticate to the realtime service.", "provider_auth")
    return json_error(status, str(exc), exc.code or "provider_error")


def _call_id(request: Request) -> str | Response:
    call_id = str(request.path_params["call_id"])
    if CALL_ID.match(call_id) is None:
        return json_error(400, "A call id looks like rtc_... (letters, digits, _ and -).", "invalid_call_id", param="call_id")
    return call_id


async def _sideband(request: Request) -> Response:
    state = _state(request)
    refused = state.limiter.refuse(_client(request))
    if refused is not None:
        return refused
    call_id = _call_id(request)
    if isinstance(call_id, Response):
        return call_id
    if call_id not in state.calls.live and state.calls.full():
        return json_error(503, "Too many calls at once: try again later.", "too_many_calls")
    call = state.calls.attach(call_id)
    await call.ready.wait()
    if call.session is None:
        return json_error(404, f"No live call {call_id} at the realtime service.", "call_not_found", param="call_id")
    return JSONResponse({"call_id": call_id, "events": f"/api/calls/{call_id}/events"}, status_code=201)


async def _events(request: Request) -> Response:
    call_id = _call_id(request)
    if isinstance(call_id, Response):
        return call_id
    call = _state(request).calls.live.get(call_id)
    if call is None:
        return json_error(404, f"No live call {call_id}.", "call_not_found", param="call_id")
    return StreamingResponse(
        call.channel.stream(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},  # nginx: do not buffer
    )


async def _approval(request: Request) -> Response:
    call_id = _call_id(request)
    if isinstance(call_id, Response):
        return call_id
    call = _state(request).calls.live.get(call_id)
    if call is None or call.session is None:
        return json_error(404, f"No live call {call_id}.", "call_not_found", param="call_id")
    try:
        decision = _Approval.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return json_error(400, f"{where}: {first['msg']}; expected {{\"approve\": true|false}}", "invalid_body", param=where)
    tool_call_id = str(request.path_params["tool_call_id"])
    session = call.session
    if decision.approve:
        decided = await session.approve(tool_call_id, always=decision.always)
    else:
        decided = await session.reject(tool_call_id, decision.message, always=decision.always)
    if not decided:
        return json_error(409, f"Tool call {tool_call_id} is not waiting for approval.", "not_pending", param="tool_call_id")
    return JSONResponse({"call_id": tool_call_id, "approved": decision.approve})


async def _hangup(request: Request) -> Response:
    call_id = _call_id(request)
    if isinstance(call_id, Response):
        return call_id
    if not await _state(request).calls.end(call_id):
        return json_error(404, f"No live call {call_id}.", "call_not_found", param="call_id")
    return Response(status_code=204)

