"""The local server's WebRTC endpoint: `POST /v1/realtime/calls`, and the calls it opens.

A call is a `ServerSession` like any other, kept in a `CallHub` (a `Hub` that also holds the
peer connection), pumped by its own task:

- the SDP exchange (`handle`): the `application/sdp` form (an ephemeral key's session, or
  the defaults) and the `multipart/form-data` form (`sdp` + `session`), under `/v1` and
  Azure's `/openai/v1`, plus the beta preview (`POST /v1/realtime?model=` with the key from
  `POST /v1/realtime/sessions`); the answer is `201` with
  `Location: /v1/realtime/calls/{call_id}`; `POST .../calls/{call_id}/hangup` ends a call.
  Bad input (a malformed SDP, a wrong content type, a missing or expired key, an unknown
  call id) is a 4xx with the REST error body, and the server serves on.
- events go out on the `oai-events` data channel (and to sideband WebSockets attached with
  `?call_id=`); client events come in from it into the core, as WebSocket frames do.
- the core's `response.output_audio.delta` events are not sent: their audio goes out on
  the RTP track (`OutboundAudio`, in the negotiated codec), which reports when a response's
  audio starts and stops playing: `output_audio_buffer.started` / `.stopped`. A barge-in
  (`input_audio_buffer.speech_started` with `interrupt_response`) or the client's
  `output_audio_buffer.clear` drops what is queued: `output_audio_buffer.cleared`.
- the caller's RTP audio is decoded to the session's input format and appended to the
  input buffer: the same VAD and turns as WebSocket audio.

Faults for the media path (`WebRTCFaults`): packet loss, jitter and added delay on the
server's audio track (`impair()` changes them on live calls), the data channel closed at an event, an ICE failure (the answer's
candidates lead nowhere and nothing answers the caller's checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson
import pybase64
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ..protocol.client_schema import InvalidClientEvent, check_session
from ..protocol.dialects import Dialect
from ..transports.webrtc_ice import gather_loopback, is_loopback
from ..transports.webrtc_inbound import InboundAudio, audio_frames, decode_inline
from ..transports.webrtc_media import MediaFaults, lose_packets, negotiated_codec
from ..transports.webrtc_track import OutboundAudio
from .errors import ClientError
from .faults import FaultPlan
from .http import http_error, json_response
from .hub import Hub, beta_text
from .session import CloseConnection, ServerSession
from .session_config import without_type

if TYPE_CHECKING:
    from .app import LocalRealtimeServer

__all__ = ["CALL_PATHS", "CallHub", "WebRTCEndpoint", "WebRTCFaults"]

CALL_PATHS: Final = ("/v1/realtime/calls", "/openai/v1/realtime/calls")
"""Where a WebRTC call is opened (OpenAI, Azure GA)."""
_BETA_SDP_PATHS: Final = ("/v1/realtime",)
_BETA_SESSION_PATHS: Final = ("/v1/realtime/sessions",)
_HANGUP: Final = re.compile(r"^(?:/openai)?/v1/realtime/calls/([^/]+)/hangup$")


@dataclass(frozen=True)
class WebRTCFaults:
    """Faults of the WebRTC media path, for every call the server answers.

    Attributes:
        media: Loss, jitter and delay of the server's audio track (`MediaFaults`).
        close_channel_at: Close the data channel instead of sending the first event of this
            type (e.g. `"response.created"`).
        ice_failure: Answer with candidates that lead nowhere, and close this end: the
            caller's ICE fails (its `connect()` raises a `TransportError`).
    """

    media: MediaFaults = field(default_factory=MediaFaults)
    close_channel_at: str | None = None
    ice_failure: bool = False


@dataclass
class CallHub(Hub):
    """A live WebRTC call: the hub of its session plus the peer connection."""

    call_id: str = ""
    dialect: Dialect = "ga"
    pc: RTCPeerConnection | None = None
    channel: Any = None
    track: OutboundAudio | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    """Events made outside the core (`output_audio_buffer.*`), sent by the pump."""
    last_response: str | None = None
    lossy: bool = False
    inbound: InboundAudio = field(default_factory=InboundAudio)
    """The caller's audio to the session's input format (its resamplers, for the call)."""
    """The RTP sender drops packets per `track.faults` (installed at the first loss fault)."""


_ids = itertools.count(1)


def _event(kind: str, response_id: str | None) -> dict[str, Any]:
    return {"type": kind, "event_id": f"event_rtc{next(_ids):08d}", "response_id": response_id}


def _bad(status: int, message: str, code: str, param: str | None = None) -> Response:
    return json_response(status, http_error(message, code, param=param))


def _sdp_response(sdp: str, location: str) -> Response:
    body = sdp.encode()
    headers = Headers(
        [("Content-Type", "application/sdp"), ("Location", location), ("Content-Length", str(len(body)))]
    )
    return Response(201, "Created", headers, body)


def _check_offer(sdp: str) -> str | None:
    """Why `sdp` is not an offer this endpoint can answer (`None`: it is)."""
    if not sdp.startswith("v=0"):
        return "The SDP offer is malformed: it must start with 'v=0'."
    if "\nm=audio " not in sdp.replace("\r\n", "\n"):
        return "The SDP offer has no audio media section."
    if "webrtc-datachannel" not in sdp:
        return "The SDP offer has no data channel (m=application ... webrtc-datachannel)."
    return None


class WebRTCEndpoint:
    """The WebRTC side of a `LocalRealtimeServer` (see the module docstring)."""

    def __init__(self, server: LocalRealtimeServer) -> None:
        self._server = server
        self.faults = WebRTCFaults()
        """The faults applied to the calls answered from now on."""
        self.calls: dict[str, CallHub] = {}
        """Live calls by call id."""
        self._ending: set[asyncio.Task[None]] = set()

    def impair(self, media: MediaFaults, call_id: str | None = None) -> None:
        """Change the media faults of the live calls (or of `call_id`'s) now, mid-call;
        `faults.media` stays what calls answered later get."""
        for hub in self.calls.values():
            if hub.track is not None and call_id in (None, hub.call_id):
                hub.track.faults = media
                if media.loss_percent:
                    _lose_packets(hub, media.seed)

    def route(self, method: str, path: str, request: Request) -> bool:
        """True when `path` (and `method`) is this endpoint's."""
        if path in CALL_PATHS or path in _BETA_SESSION_PATHS or _HANGUP.match(path):
            return True
        content_type = request.headers.get("Content-Type", "")
        return method == "POST" and path in _BETA_SDP_PATHS and content_type.startswith("application/sdp")

    async def handle(
        self, method: str, path: str, query: dict[str, list[str]], request: Request, body: bytes
    ) -> Response:
        """Answer one request of this endpoint, with CORS headers: a page connects with an
        ephemeral key from its own origin, as the service allows (a preflight gets `204`)."""
        if method == "OPTIONS":
            response = Response(204, "No Content", Headers([("Content-Length", "0")]), b"")
        else:
            response = await self._handle(method, path, query, request, body)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "Location"
        if method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "POST"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        return response

    async def _handle(
        self, method: str, path: str, query: dict[str, list[str]], request: Request, body: bytes
    ) -> Response:
        if method != "POST":
            return _bad(405, "Use POST.", "method_not_allowed")
        server = self._server
        key = server.keys.key_of(request, query)
        problem = server.keys.auth_error(key)
        if problem is not None:
            return _bad(401, problem, "invalid_api_key")
        hangup = _HANGUP.match(path)
        if hangup is not None:
            return await self._hangup(hangup.group(1))
        if path in _BETA_SESSION_PATHS:
            return self._beta_session(key, body)
        content_type = request.headers.get("Content-Type", "")
        beta = path in _BETA_SDP_PATHS
        session: dict[str, Any] | None = None
        if content_type.startswith("application/sdp"):
            offer = body.decode(errors="replace")
        elif content_type.startswith("multipart/form-data") and not beta:
            parsed = _multipart(content_type, body)
            if isinstance(parsed, Response):
                return parsed
            offer, session = parsed
        else:
            return _bad(
                415,
                f"Unsupported content type {content_type or '(none)'!r}: send application/sdp "
                "or multipart/form-data with 'sdp' and 'session'.",
                "unsupported_content_type",
            )
        problem = _check_offer(offer)
        if problem is not None:
            return _bad(400, problem, "invalid_offer", "sdp")
        minted, session_id = server.keys.redeem(key)
        if session is None:
            session = minted
        models = query.get("model")
        model = models[0] if models else None
        try:
            return await self._open(offer, session, session_id, model, "beta" if beta else "ga")
        except ClientError as exc:
            return _bad(400, exc.message, exc.code, exc.param)

    def _beta_session(self, key: str | None, body: bytes) -> Response:
        """`POST /v1/realtime/sessions` (beta): a session object with its `client_secret`."""
        if (key or "").startswith("ek_"):
            return _bad(401, "Ephemeral keys cannot mint keys.", "invalid_api_key")
        try:
            payload = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            return _bad(400, "We could not parse the JSON body of your request.", "invalid_json")
        if not isinstance(payload, dict):
            return _bad(400, "Expected a JSON object.", "invalid_type")
        server = self._server
        expires_at = server.keys.clock() + 60  # beta: "all tokens expire after one minute"
        session_id = f"sess_{secrets.token_hex(6)}"
        value = server.keys.mint(expires_at, None, session_id)
        return json_response(
            200,
            {"id": session_id, "object": "realtime.session", "model": payload.get("model", "gpt-realtime"),
             "client_secret": {"value": value, "expires_at": int(expires_at)}},
        )

    async def _open(
        self, offer: str, session: dict[str, Any] | None, session_id: str | None, model: str | None, dialect: Dialect
    ) -> Response:
        server = self._server
        loop = asyncio.get_running_loop()
        if session is not None:
            try:
                check_session(without_type(session) or {})
            except InvalidClientEvent as exc:
                raise ClientError(exc.message, exc.code, exc.param) from exc
        core = ServerSession(
            model=server._model_factory(),
            now=loop.time(),
            options=server._options(session, model),
            session=without_type(session),
            session_id=session_id,
            wall_clock=time.time(),
        )
        call_id = "rtc_" + secrets.token_hex(12)
        server._opened += 1
        hub = CallHub(core=core, faults=FaultPlan.of(server.faults, session_ordinal=server._opened))
        hub.call_id, hub.dialect = call_id, dialect
        faults = self.faults
        pc = hub.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        track = hub.track = OutboundAudio(
            faults=faults.media,
            on_started=lambda rid: self._buffer_event(hub, "output_audio_buffer.started", rid),
            on_stopped=lambda rid: self._buffer_event(hub, "output_audio_buffer.stopped", rid),
        )
        pc.on("datachannel", lambda channel: self._on_channel(hub, channel))
        pc.on("track", lambda remote: self._on_track(hub, remote))
        pc.on("connectionstatechange", lambda: self._on_state(hub))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            pc.addTrack(track)
            if is_loopback(server.host):
                await gather_loopback(pc)  # a local caller: stay on loopback (see webrtc_ice)
            await pc.setLocalDescription(await pc.createAnswer())
            decode_inline(pc, lambda frame: None if hub.ended else _hear(hub, frame))
        except Exception as exc:
            await pc.close()
            raise ClientError(f"The SDP offer could not be negotiated: {exc}", "invalid_offer", "sdp") from exc
        answer = pc.localDescription.sdp
        codec = negotiated_codec(answer)
        if codec is None:
            await pc.close()
            raise ClientError("The SDP offer has no codec in common (opus, PCMU, PCMA).", "invalid_offer", "sdp")
        track.set_codec(codec)
        if faults.media.loss_percent:
            _lose_packets(hub, faults.media.seed)
        if faults.ice_failure:
            # Nothing may answer the caller's checks either: from its real address they
            # would reach this end (a peer-reflexive candidate) and ICE would succeed.
            track.stop()
            await pc.close()
            return _sdp_response(_unreachable(answer), f"/v1/realtime/calls/{call_id}")
        self.calls[call_id] = hub
        server._hubs[call_id] = hub
        core.start(loop.time())
        hub.pump = loop.create_task(self._pump(hub))
        return _sdp_response(answer, f"/v1/realtime/calls/{call_id}")

    async def _hangup(self, call_id: str) -> Response:
        hub = self.calls.get(call_id)
        if hub is None:
            return _bad(404, f"No live call with call_id '{call_id}'.", "call_not_found", "call_id")
        await self._end(hub)
        return json_response(200, {})

    # -- a call's I/O ---------------------------------------------------------------------------

    def _on_channel(self, hub: CallHub, channel: Any) -> None:
        if channel.label != "oai-events":
            return
        hub.channel = channel
        loop = asyncio.get_running_loop()

        def on_message(message: str | bytes) -> None:
            if hub.ended:
                return
            text = message if isinstance(message, str) else message.decode(errors="replace")
            if '"output_audio_buffer.clear"' in text[:120]:
                self._clear(hub)
            else:
                hub.core.receive(message, loop.time(), hub.dialect)
            hub.wake()

        channel.on("message", on_message)
        channel.on("close", lambda: self._end_soon(hub))
        channel.on("open", hub.wake)
        if channel.readyState == "open":
            hub.wake()

    def _on_track(self, hub: CallHub, remote: MediaStreamTrack) -> None:
        if remote.kind == "audio":
            hub.tasks.append(asyncio.get_running_loop().create_task(self._read_audio(hub, remote)))

    def _on_state(self, hub: CallHub) -> None:
        pc = hub.pc
        if pc is not None and pc.connectionState in ("failed", "closed"):
            self._end_soon(hub)

    async def _read_audio(self, hub: CallHub, remote: MediaStreamTrack) -> None:
        # aiortc's own decoding, when `decode_inline` could not take it over: then the
        # frames come through the track (else this waits, idle, for the track to end).
        async for frame in audio_frames(remote):
            if hub.ended:
                return
            _hear(hub, frame)

    def _buffer_event(self, hub: CallHub, kind: str, response_id: str) -> None:
        hub.last_response = response_id
        hub.pending.append(_event(kind, response_id))
        hub.wake()

    def _clear(self, hub: CallHub) -> None:
        """Drop the queued output audio: `output_audio_buffer.cleared`."""
        track = hub.track
        if track is None:
            return
        playing = track.clear()
        hub.pending.append(_event("output_audio_buffer.cleared", playing or hub.last_response))

    async def _pump(self, hub: CallHub) -> None:
        loop = asyncio.get_running_loop()
        core = hub.core
        try:
            # Nothing goes out before the data channel is open (`session.created` first).
            while not hub.ended and (hub.channel is None or hub.channel.readyState != "open"):
                await hub.sleep_until(loop, loop.time() + 1)
            while not hub.ended:
                for out in core.poll(loop.time()):
                    if isinstance(out, CloseConnection):
                        await self._end(hub)
                        return
                    if not await self._deliver(hub, out):
                        return
                while hub.pending:
                    if not await self._deliver(hub, hub.pending.pop(0)):
                        return
                deadline = core.next_deadline()
                if deadline is None:
                    await self._end(hub)
                    return
                if deadline > loop.time():
                    await hub.sleep_until(loop, deadline)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - a bug in the core must not hang the caller
            await self._end(hub)
            raise

    async def _deliver(self, hub: CallHub, out: dict[str, Any]) -> bool:
        """Send one core event; False once the call is over."""
        kind = out.get("type")
        if kind in ("response.output_audio.delta", "response.audio.delta"):
            self._play(hub, out)
            return True
        if kind in ("response.output_audio.done", "response.audio.done", "response.done"):
            rid = out.get("response_id") or (out.get("response") or {}).get("id")
            if hub.track is not None and isinstance(rid, str):
                hub.track.finish(rid)
        if kind == "input_audio_buffer.speech_started" and _interrupts(hub.core):
            track = hub.track
            if track is not None and (track.playing is not None or track.queued_ms > 0):
                self._clear(hub)
        if kind == self.faults.close_channel_at and hub.channel is not None:
            hub.channel.close()
            await self._end(hub)
            return False
        channel = hub.channel
        if channel is not None and channel.readyState == "open":
            text = orjson.dumps(out) if hub.dialect == "ga" else beta_text(out)
            if text is not None:
                channel.send(text.decode())
        if hub.connections:
            await hub.send_event(out)
        return not hub.ended

    def _play(self, hub: CallHub, out: dict[str, Any]) -> None:
        track = hub.track
        if track is None:
            return
        data = pybase64.b64decode(out.get("delta", ""))
        track.push_audio(data, hub.core.output_format, out.get("response_id"))

    def _end_soon(self, hub: CallHub) -> None:
        """End the call from a callback (the task is awaited by `close()`)."""
        if hub.ended:
            return
        task = asyncio.get_running_loop().create_task(self._end(hub))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _end(self, hub: CallHub) -> None:
        """End the call: the session, its tasks, the peer connection, sideband sockets."""
        if hub.ended:
            return
        hub.ended = True
        hub.wake()
        self.calls.pop(hub.call_id, None)
        self._server._hubs.pop(hub.call_id, None)
        current = asyncio.current_task()
        tasks = [t for t in [*hub.tasks, hub.pump] if t is not None and t is not current]
        for task in tasks:
            task.cancel()
        if hub.track is not None:
            hub.track.stop()
        if hub.pc is not None:
            with contextlib.suppress(Exception):
                await hub.pc.close()
        await hub.close_all(1000, "call ended")

    async def close(self) -> None:
        """End every call (the server stops)."""
        for hub in list(self.calls.values()):
            await self._end(hub)
        if self._ending:
            await asyncio.gather(*self._ending, return_exceptions=True)


def _hear(hub: CallHub, frame: AudioFrame) -> None:
    """The caller's next decoded frame into the input buffer: the same VAD and turns as
    WebSocket audio."""
    core = hub.core
    core.append_audio(hub.inbound.audio(frame, core.input_format), asyncio.get_running_loop().time())
    hub.wake()


def _lose_packets(hub: CallHub, seed: int | None) -> None:
    """Drop the call's RTP packets per its track's faults, read per packet (`impair()`
    changes them during the call). Installed only once a loss is asked for: it costs a
    coroutine per packet."""
    pc, track = hub.pc, hub.track
    if hub.lossy or pc is None or track is None:
        return
    hub.lossy = True
    for sender in pc.getSenders():
        lose_packets(sender, lambda: track.faults, seed)


def _interrupts(core: ServerSession) -> bool:
    turn = core.session.get("audio", {}).get("input", {}).get("turn_detection")
    return isinstance(turn, dict) and turn.get("interrupt_response", True) is not False


def _multipart(content_type: str, body: bytes) -> tuple[str, dict[str, Any] | None] | Response:
    """The `sdp` and `session` fields of a multipart body, or the 400 that refuses it."""
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, bytes] = {}
    if message.is_multipart():
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str):
                fields[name] = payload if isinstance(payload, bytes) else b""
    if "sdp" not in fields:
        return _bad(400, "The multipart body has no 'sdp' field.", "missing_required_parameter", "sdp")
    session: dict[str, Any] | None = None
    if "session" in fields:
        try:
            loaded = orjson.loads(fields["session"])
        except orjson.JSONDecodeError:
            return _bad(400, "The 'session' field is not valid JSON.", "invalid_json", "session")
        if not isinstance(loaded, dict):
            return _bad(400, "The 'session' field must be a JSON object.", "invalid_type", "session")
        session = loaded
    return fields["sdp"].decode(errors="replace"), session


def _unreachable(sdp: str) -> str:
    """`sdp` with every candidate's port replaced by one nothing listens on."""
    return re.sub(r"(a=candidate:\S+ \d+ \S+ \d+ \S+ )(\d+)", r"\g<1>9", sdp)

