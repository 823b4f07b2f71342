"""OpenAI SIP calls: the `realtime.call.incoming` webhook, call control over REST, and the
agents run server-side on the call's sideband connection.

A SIP trunk points at the service; for each call it POSTs a signed `realtime.call.incoming`
webhook (checked by `telephony.signatures.verify_webhook`, then by `IncomingCall`). The app
then answers over REST (`SipCallControl`, on `transports.webrtc_signaling.http_post`):

- `POST {rest}/realtime/calls/{call_id}/accept` with the starting agent's compiled session
  (`accept_body`: the same payload a WebSocket session's first `session.update` carries,
  so a GA `realtime` session as `openai.types.realtime.CallAcceptParams` types it);
- or `/reject` with a SIP status (603 Decline by default);
- `/refer` with a `sip:`/`tel:` URI (an agent's `refer_to`: see `ReferWatch`);
- `/hangup`.

Once accepted, `answer_call` attaches a WebSocket to the call (`?call_id=`: the service
owns the media, the app gets the events) and runs the same runtime as any session
(`RealtimeRunner.session(SidebandTransport(...))`): tools, handoffs, guardrails, DTMF
(`input_audio_buffer.dtmf_event_received`) all work as they do over a WebSocket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
from pydantic import BaseModel, ConfigDict

from ..agent import RealtimeAgent
from ..compiler import compile_session_update
from ..events import AssistantTranscript, HandoffEvent, SessionEvent
from ..logs import get_logger
from ..protocol.dialects import Dialect
from ..protocol.wire_types import JsonObject
from ..runner import RealtimeRunner
from ..transports.webrtc_signaling import SignalingError, hangup, http_post
from ..transports.websocket import WebSocketTransport

__all__ = [
    "IncomingCall",
    "ReferWatch",
    "SidebandTransport",
    "SipCallControl",
    "SipHeader",
    "accept_body",
    "answer_call",
    "sideband_url",
]

logger = get_logger("agentkit.telephony")


class SipHeader(BaseModel):
    """A header of the SIP INVITE (untrusted caller metadata)."""

    model_config = ConfigDict(frozen=True)
    name: str
    value: str


class _IncomingData(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    call_id: str
    sip_headers: list[SipHeader] = []


class IncomingCall(BaseModel):
    """A `realtime.call.incoming` webhook event (as `openai.types.webhooks` shapes it)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    id: str
    type: str
    created_at: int
    data: _IncomingData

    @property
    def call_id(self) -> str:
        """The pending call's id, for accept/reject and the sideband."""
        return self.data.call_id

    def header(self, name: str) -> str | None:
        """The first SIP header called `name` (case-insensitive), e.g. `From`."""
        wanted = name.lower()
        return next((h.value for h in self.data.sip_headers if h.name.lower() == wanted), None)


class SidebandTransport(WebSocketTransport):
    """The WebSocket attached to a SIP (or WebRTC) call by `call_id`. The service plays the
    audio itself, so the runtime treats its output buffer as server-side: stopping the agent
    also sends `output_audio_buffer.clear`, and `output_audio_buffer.stopped` ends playback."""

    has_output_audio_buffer = True


def sideband_url(realtime_url: str, call_id: str) -> str:
    """`wss://.../v1/realtime?call_id=<id>` from the realtime WebSocket URL (its query,
    `model` included, is dropped: a sideband names no model)."""
    parts = urlsplit(realtime_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode({"call_id": call_id}), ""))


def accept_body(runner: RealtimeRunner[Any]) -> JsonObject:
    """The body of `/accept`: the starting agent's compiled GA session (`type: realtime`).

    Instructions computed per run are sent once the sideband is attached (the session's
    first `session.update`); the accept then carries none.
    """
    agent = runner.starting_agent
    event = compile_session_update(
        agent, runner.settings, dialect="ga", instructions=agent.static_instructions() or ""
    )
    session: JsonObject = event["session"]
    return session


class SipCallControl:
    """Call control over the REST API: accept, reject, refer, hang up.

    Args:
        rest_url: The REST base, `https://api.openai.com/v1` (or the local server's).
        api_key: The project's API key (sent as a bearer token; never logged).

    Every failure raises `SignalingError` with the provider's status and error code.
    """

    def __init__(self, rest_url: str, api_key: str | None) -> None:
        self.rest_url = rest_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def accept(self, call_id: str, session: Mapping[str, Any]) -> None:
        """Answer the call with `session` (see `accept_body`)."""
        await self._post(call_id, "accept", session)

    async def reject(self, call_id: str, status_code: int = 603) -> None:
        """Decline the call with a SIP status (603 Decline, 486 Busy Here, ...)."""
        await self._post(call_id, "reject", {"status_code": status_code})

    async def refer(self, call_id: str, target_uri: str) -> None:
        """Transfer the caller to `target_uri` (`tel:+1...`, `sip:desk@example.com`)."""
        await self._post(call_id, "refer", {"target_uri": target_uri})

    async def hangup(self, call_id: str) -> None:
        """End the call for everyone on it."""
        await hangup(self.rest_url, call_id, api_key=None, headers=self._headers)

    async def _post(self, call_id: str, action: str, body: Mapping[str, Any]) -> None:
        url = f"{self.rest_url}/realtime/calls/{call_id}/{action}"
        status, _, answer = await http_post(
            url, orjson.dumps(body), {**self._headers, "Content-Type": "application/json"}
        )
        if status >= 300:
            message, code = answer.decode(errors="replace")[:300], None
            try:
                error = orjson.loads(answer)["error"]
                message, code = str(error["message"]), error.get("code")
            except (orjson.JSONDecodeError, KeyError, TypeError):
                pass
            raise SignalingError(
                f"POST /realtime/calls/{call_id}/{action} failed ({status}): {message}",
                status=status,
                code=code,
            )


class ReferWatch:
    """When a call is referred: after an agent with `refer_to` took over (a handoff, or the
    starting agent) and spoke its first answer, so the caller hears why before the line
    changes. `observe(event)` returns the URI to refer to now, once."""

    def __init__(self, agents: Mapping[str, RealtimeAgent[Any]], starting: RealtimeAgent[Any]) -> None:
        self._agents = agents
        self._armed: str | None = starting.refer_to

    def observe(self, event: SessionEvent) -> str | None:
        """The URI to refer the call to now, if `event` is the moment."""
        if type(event) is HandoffEvent:
            target = self._agents.get(event.to_agent)
            self._armed = target.refer_to if target is not None else None
        elif type(event) is AssistantTranscript and self._armed is not None:
            uri, self._armed = self._armed, None
            return uri
        return None


async def answer_call(
    runner: RealtimeRunner[Any],
    call: IncomingCall,
    *,
    control: SipCallControl,
    realtime_url: str,
    api_key: str | None,
    dialect: Dialect = "ga",
    greet: bool = True,
) -> None:
    """Accept `call` and run the runner's agents on it until it ends (hangup, refer, the
    caller gone). A failure is logged, and the call hung up when it was answered."""
    call_id = call.call_id
    await control.accept(call_id, accept_body(runner))
    transport = SidebandTransport(sideband_url(realtime_url, call_id), api_key=api_key, dialect=dialect)
    watch = ReferWatch(runner.agents, runner.starting_agent)
    try:
        async with runner.session(transport) as session:
            if greet:
                await session.respond()
            async for event in session:
                uri = watch.observe(event)
                if uri is not None:
                    logger.info("call %s: referred to %s", call_id, uri)
                    await control.refer(call_id, uri)
                    break  # the caller has left this call
    except Exception:
        logger.exception("call %s failed; hanging up", call_id)
        try:
            await control.hangup(call_id)
        except SignalingError as exc:
            logger.warning("call %s: hangup failed: %s", call_id, exc)
