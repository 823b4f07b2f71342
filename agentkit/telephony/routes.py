"""The phone endpoints as Starlette routes: Twilio's TwiML and media stream, OpenAI's SIP
webhook. Thin pumps around `telephony.twilio` and `telephony.sip`.

| route | what |
| --- | --- |
| `POST /twilio/voice` | Twilio's voice webhook (signed: `X-Twilio-Signature`): answers with TwiML `<Connect><Stream url="wss://.../twilio/media"/>` |
| `WebSocket /twilio/media` | the media stream (its handshake signed too), bridged to a realtime session |
| `POST /sip/webhook` | `realtime.call.incoming` (standard-webhooks signature): the call is accepted (or rejected) and run on its sideband |

`telephony_routes(runner, config)` gives the routes to mount in any Starlette app (`agentkit
serve` mounts them); `app(runner, config)` builds a Starlette app of them alone. Starlette is
imported here only, never by `import agentkit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import quoteattr

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import UserError
from ..logs import get_logger
from ..protocol.dialects import Dialect
from ..runner import RealtimeRunner
from ..session import RealtimeSession
from ..transports.websocket import OPENAI_REALTIME_URL, WebSocketTransport, realtime_url
from .signatures import WebhookSignatureError, twilio_signature_matches, verify_webhook
from .sip import IncomingCall, SipCallControl, answer_call
from .twilio import (
    AppendAudio,
    BridgeAction,
    CallStarted,
    CallStopped,
    Played,
    PressKeys,
    TwilioMediaBridge,
)

__all__ = ["CallScreen", "PhoneCalls", "TelephonyConfig", "app", "telephony_routes"]

logger = get_logger("agentkit.telephony")

CallScreen = Callable[[IncomingCall], int | Awaitable[int | None] | None]
"""Decides on an incoming SIP call: `None` answers it, a SIP status (486, 603...) rejects it."""


@dataclass(frozen=True)
class TelephonyConfig:
    """Where the agents run and what the phone endpoints trust.

    Attributes:
        public_url: The app's public base URL as Twilio and OpenAI reach it
            (`https://voice.example.com`): TwiML points Twilio's stream at its `wss://`
            form, and Twilio's signatures are computed over it.
        realtime_url: The realtime WebSocket endpoint (the model is added for Twilio calls;
            SIP sidebands use `?call_id=`).
        rest_url: The REST base for `/realtime/calls/{id}/accept|reject|refer|hangup`.
        api_key: The provider's API key (never logged).
        dialect: The realtime dialect the runner speaks.
        twilio_auth_token: The Twilio account's auth token; the Twilio routes exist only
            with it (every request is signature-checked).
        webhook_secret: The OpenAI webhook secret (`whsec_...`); the SIP route exists only
            with it.
        greet: The agent speaks first when a call connects.
        max_bad_messages: Malformed Twilio messages tolerated per stream before it is closed.
    """

    public_url: str
    realtime_url: str = OPENAI_REALTIME_URL
    rest_url: str = "https://api.openai.com/v1"
    api_key: str | None = field(default=None, repr=False)
    dialect: Dialect = "ga"
    twilio_auth_token: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    greet: bool = True
    max_bad_messages: int = 100

    @property
    def media_url(self) -> str:
        """The `wss://` URL of the media stream endpoint, as TwiML gives it to Twilio."""
        parts = urlsplit(self.public_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/twilio/media"


class PhoneCalls:
    """The calls in progress (one task each), so an app can wait for them or end them."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.active = 0
        """Twilio streams and SIP calls being served now."""
        self.handled = 0
        """Calls served to their end so far."""
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_delivery(self, webhook_id: str) -> bool:
        """False for a webhook id already handled (a retry or a replay within tolerance)."""
        if webhook_id in self._seen:
            return False
        self._seen[webhook_id] = None
        if len(self._seen) > 10_000:
            self._seen.popitem(last=False)
        return True

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` (a call) in its own task."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def aclose(self) -> None:
        """End every call in progress."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}},
        status_code=status,
    )


def _require_ulaw(runner: RealtimeRunner[Any]) -> None:
    for agent in runner.agents.values():
        effective = runner.settings.merged(agent.settings)
        formats = (effective.input_audio_format, effective.output_audio_format)
        if formats != ("g711_ulaw", "g711_ulaw"):
            raise UserError(
                f"agent {agent.name!r} uses {formats[0]}/{formats[1]} audio, but a Twilio Media "
                "Stream carries G.711 μ-law and agentkit does not transcode phone audio: set "
                "input_audio_format and output_audio_format to g711_ulaw in the settings"
            )


def telephony_routes(
    runner: RealtimeRunner[Any],
    config: TelephonyConfig,
    *,
    screen: CallScreen | None = None,
    calls: PhoneCalls | None = None,
) -> list[BaseRoute]:
    """The phone routes for `runner`'s agents: Twilio's when `config.twilio_auth_token` is
    set, SIP's when `config.webhook_secret` is.

    Args:
        runner: The agents (its settings must be G.711 μ-law for Twilio).
        config: Endpoints, keys and secrets.
        screen: Accept or reject each SIP call (default: accept all).
        calls: Where the SIP calls' tasks are kept (give one to end them at shutdown).

    Raises:
        UserError: Twilio is configured but an agent's audio is not μ-law, or nothing is
            configured at all.
    """
    calls = calls if calls is not None else PhoneCalls()
    routes: list[BaseRoute] = []
    if config.twilio_auth_token is not None:
        _require_ulaw(runner)
        routes.append(Route("/twilio/voice", _twilio_voice(config), methods=["POST"]))
        routes.append(WebSocketRoute("/twilio/media", _twilio_media(runner, config, calls)))
    if config.webhook_secret is not None:
        routes.append(Route("/sip/webhook", _sip_webhook(runner, config, calls, screen), methods=["POST"]))
    if not routes:
        raise UserError(
            "no phone line is configured: set twilio_auth_token (Twilio) and/or "
            "webhook_secret (OpenAI SIP) in TelephonyConfig"
        )
    return routes


def app(
    runner: RealtimeRunner[Any], config: TelephonyConfig, *, screen: CallScreen | None = None
) -> Starlette:
    """A Starlette app serving only the phone routes (run it with uvicorn); its `state.calls`
    holds the calls in progress, ended when the app shuts down."""
    calls = PhoneCalls()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        yield
        await calls.aclose()

    built = Starlette(routes=telephony_routes(runner, config, screen=screen, calls=calls), lifespan=lifespan)
    built.state.calls = calls
    return built


# -- Twilio ------------------------------------------------------------------------------------


def _twilio_voice(config: TelephonyConfig) -> Callable[[Request], Awaitable[Response]]:
    token = config.twilio_auth_token or ""

    async def voice(request: Request) -> Response:
        body = await request.body()
        params = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        url = config.public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        if not twilio_signature_matches(token, url, params, request.headers.get("x-twilio-signature")):
            logger.warning("twilio voice webhook refused: bad or missing X-Twilio-Signature")
            return _error(403, "The X-Twilio-Signature header does not match the request.", "invalid_signature")
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f"<Stream url={quoteattr(config.media_url)}/></Connect></Response>"
        )
        return Response(twiml, media_type="application/xml")

    return voice


def _twilio_media(
    runner: RealtimeRunner[Any], config: TelephonyConfig, calls: PhoneCalls
) -> Callable[[WebSocket], Awaitable[None]]:
    token = config.twilio_auth_token or ""
    model = runner.settings.model or "gpt-realtime"

    async def media(websocket: WebSocket) -> None:
        url = config.media_url
        if websocket.url.query:
            url += "?" + websocket.url.query
        if not twilio_signature_matches(token, url, (), websocket.headers.get("x-twilio-signature")):
            logger.warning("twilio media stream refused: bad or missing X-Twilio-Signature")
            await websocket.close(code=1008)
            return
        await websocket.accept()
        transport = WebSocketTransport(
            realtime_url(model, config.realtime_url), api_key=config.api_key, dialect=config.dialect
        )
        calls.active += 1
        try:
            async with runner.session(transport) as session:
                await _bridge(websocket, session, TwilioMediaBridge(), config)
        except Exception:
            logger.exception("twilio media stream failed")
        finally:
            calls.active -= 1
            calls.handled += 1
            if websocket.client_state.name == "CONNECTED":
                with contextlib.suppress(Exception):  # Twilio may already be gone
                    await websocket.close()

    return media


async def _bridge(
    websocket: WebSocket, session: RealtimeSession[Any], bridge: TwilioMediaBridge, config: TelephonyConfig
) -> None:
    """Pump one stream: Twilio → bridge → session, and session → bridge → Twilio."""

    async def apply(actions: list[BridgeAction]) -> bool:
        for action in actions:
            if isinstance(action, AppendAudio):
                await session.send_audio(action.audio)
            elif isinstance(action, Played):
                session.playback_position(action.item_id, action.played_ms, finished=action.finished)
            elif isinstance(action, PressKeys):
                await session.press_keys(action.keys)
            elif isinstance(action, CallStarted):
                logger.info("twilio stream %s started (call %s)", action.stream_sid, action.call_sid)
                if config.greet:
                    await session.respond()
            elif isinstance(action, CallStopped):
                return False
            else:
                logger.warning("twilio stream %s: ignored %s", bridge.stream_sid, action.reason)
                if bridge.bad_messages >= config.max_bad_messages:
                    logger.warning("twilio stream %s: too many bad messages; closing", bridge.stream_sid)
                    await websocket.close(code=1008)
                    return False
        return True

    async def to_twilio(stop: anyio.CancelScope) -> None:
        try:
            async for event in session:
                bridge.session_event(event)
                for message in bridge.data_to_send():
                    await websocket.send_text(message)
                await apply(bridge.actions())
        except WebSocketDisconnect:
            pass  # Twilio went away (the reader sees it too)
        stop.cancel()  # the session ended, or the stream did: so does the other

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(to_twilio, tasks.cancel_scope)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            bridge.receive(data)
            if not await apply(bridge.actions()):
                break
        tasks.cancel_scope.cancel()


# -- SIP ---------------------------------------------------------------------------------------


def _sip_webhook(
    runner: RealtimeRunner[Any], config: TelephonyConfig, calls: PhoneCalls, screen: CallScreen | None
) -> Callable[[Request], Awaitable[Response]]:
    secret = config.webhook_secret or ""
    control = SipCallControl(config.rest_url, config.api_key)

    async def webhook(request: Request) -> Response:
        body = await request.body()
        try:
            verify_webhook(secret, request.headers, body, now=time.time())
        except WebhookSignatureError as exc:
            logger.warning("sip webhook refused: %s", exc)
            return _error(401, f"Webhook signature refused: {exc}.", "invalid_signature")
        if not calls.first_delivery(request.headers["webhook-id"]):
            return JSONResponse({"status": "duplicate"})
        try:
            call = IncomingCall.model_validate_json(body)
        except ValidationError as exc:
            return _error(400, f"Not a webhook event: {exc.errors()[0]['msg']}.", "invalid_event")
        if call.type != "realtime.call.incoming":
            return JSONResponse({"status": "ignored", "type": call.type})
        status = screen(call) if screen is not None else None
        if status is not None and not isinstance(status, int):
            status = await status
        if status is not None:
            calls.start(_reject(control, call.call_id, status))
            return JSONResponse({"status": "rejected", "status_code": status})
        calls.start(_run_sip_call(runner, config, control, call, calls))
        return JSONResponse({"status": "accepted"})

    return webhook


async def _reject(control: SipCallControl, call_id: str, status: int) -> None:
    try:
        await control.reject(call_id, status)
    except Exception:
        logger.exception("sip call %s could not be rejected", call_id)


async def _run_sip_call(
    runner: RealtimeRunner[Any], config: TelephonyConfig, control: SipCallControl, call: IncomingCall, calls: PhoneCalls
) -> None:
    calls.active += 1
    try:
        await answer_call(
            runner, call, control=control, realtime_url=config.realtime_url,
            api_key=config.api_key, dialect=config.dialect, greet=config.greet,
        )
    except Exception:
        logger.exception("sip call %s could not be answered", call.call_id)
    finally:
        calls.active -= 1
        calls.handled += 1
