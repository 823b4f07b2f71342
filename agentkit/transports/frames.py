"""The WebSocket frame fast path, shared by the client transport and the local server.

Both directions of a realtime call are streams of small, whole text frames (an audio delta
every 20-100 ms, transcript deltas, the events of each response). This module is where
agentkit handles such frames itself instead of through `websockets`' generic machinery, and
the only place it does:

- `DirectFrames` / `parser_idle` (receiving): used by the client transport
  (`agentkit.transports.websocket`, unmasked server frames) and by the local server
  (`agentkit.server.connection`, masked client frames);
- `text_frames` (sending): the local server's batch of outgoing events in one write
  (`agentkit.server.delivery`).

Why it exists (the benchmarks it serves, see `bench/README.md`): `bench/runtime.py` (client
CPU per session-second and per audio delta, the downlink burst) and `bench/server_load.py`
(server CPU per session-second, sessions held before pacing slips). Any change here must
keep both figures.

Receiving: `websockets`' sans-I/O parser spends a generator step per header field and builds
a `Frame` per message; on a burst of twenty frames that was most of what the client did
before its code even saw them. `DirectFrames` walks the bytes itself while the stream holds
only whole, unfragmented text/binary frames (with the masking the side expects, no
extension, within `max_size`) and hands everything else (control frames, fragments,
oversized or unexpected frames) back to `websockets` from that frame on, which then handles
it exactly as it always would: pings are answered, closes are completed, protocol errors
fail the connection.

It only takes over while `websockets`' parser sits between frames with nothing buffered
(`parser_idle`), a check of `websockets`' parser state made on 15.x and 16.x. If a future
version changes that state, the check fails safe: every byte then goes through
`websockets`, slower but the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from websockets.protocol import Protocol, State
from websockets.streams import StreamReader

try:  # websockets' C mask (what its own parser uses), else its pure-Python one
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover
    from websockets.utils import apply_mask

__all__ = ["Deliver", "DirectFrames", "parser_idle", "text_frames"]

_AT_EOF_CODE = StreamReader.at_eof.__code__

Deliver = Callable[[bytes, bool], bool]
"""`deliver(payload, is_text)`: takes one whole message; False stops the parsing there."""


def parser_idle(protocol: Protocol) -> bool:
    """Whether `protocol`'s parser sits between frames with nothing buffered, so the next
    bytes can be parsed directly (and those after the first frame it cannot take handed
    back to it). False for any layout it does not know."""
    try:
        if (
            protocol.state is not State.OPEN
            or protocol.reader.buffer
            or _mid_message(protocol)
            or protocol.extensions
            or protocol.debug
        ):
            return False
        _max_size(protocol)
        waiting: Any = protocol.parser
    except AttributeError:
        return False
    while getattr(waiting, "gi_yieldfrom", None) is not None:
        waiting = waiting.gi_yieldfrom
    return getattr(waiting, "gi_code", None) is _AT_EOF_CODE


def _mid_message(protocol: Protocol) -> bool:
    """Whether a fragmented message is under way (websockets 15 `cur_size`, 16
    `current_size`)."""
    for name in ("cur_size", "current_size"):
        if hasattr(protocol, name):
            return getattr(protocol, name) is not None
    return True


def _max_size(protocol: Protocol) -> int | None:
    """The largest frame to accept (websockets 15 `max_size`; 16 `max_message_size` and
    `max_fragment_size`). AttributeError for another layout (`parser_idle` is then False)."""
    if hasattr(protocol, "max_message_size"):
        limits: tuple[int | None, ...] = (
            getattr(protocol, "max_message_size", None),
            getattr(protocol, "max_fragment_size", None),
        )
        sizes = [size for size in limits if size is not None]
        return min(sizes) if sizes else None
    if hasattr(protocol, "max_size"):
        size: int | None = protocol.max_size
        return size
    raise AttributeError("max_size")


class DirectFrames:
    """Whole data frames out of a byte stream; `masked` is True on the server side (client
    frames are masked), False on the client side.

    `active` says whether the stream is parsed here. A frame left to `websockets` is handed
    to it alone, whole, so its parser is idle again right after and parsing goes on here;
    `active` turns False only when it is not (a close, a failure), and the owner turns it on
    again once `parser_idle()` holds.
    """

    __slots__ = ("_inbox", "_need", "active", "masked")

    def __init__(self, *, masked: bool) -> None:
        self.masked = masked
        self.active = False
        self._inbox = bytearray()  # the incomplete frame at the end of the stream
        self._need = 0

    def feed(
        self, data: bytes, protocol: Protocol, deliver: Deliver, fallback: Callable[[bytes], None]
    ) -> None:
        """Deliver the whole data frames of `data`, hand any other frame to `fallback`
        (`websockets`' `data_received`), and keep an incomplete last frame for next time."""
        inbox = self._inbox
        if inbox:  # the rest of a split frame
            inbox += data
            if len(inbox) < self._need:
                return  # still incomplete: keep appending (linear in the frame's size)
            data = bytes(inbox)
            self._inbox = bytearray()
            self._need = 0
        buf = data
        size = len(buf)
        masked = self.masked
        max_size = _max_size(protocol)
        pos = 0
        while size - pos >= 2:
            head1 = buf[pos]
            head2 = buf[pos + 1]
            if (head2 >= 0x80) is not masked or protocol.state is not State.OPEN:
                break  # websockets fails the connection, or completes the close
            length = head2 & 0x7F
            start = pos + 2
            if length >= 126:  # a 16- or 64-bit length follows
                extra = 2 if length == 126 else 8
                start += extra
                if size < start:
                    self._keep(buf, pos)
                    return
                length = int.from_bytes(buf[pos + 2 : start], "big")
            if max_size is not None and length > max_size:
                break  # websockets closes with 1009
            body = start + 4 if masked else start
            end = body + length
            if size < end:
                self._keep(buf, pos, end - pos)
                return
            # FIN, no RSV bit, text or binary: ours. Anything else (a control frame, a
            # fragment) goes to websockets on its own, and parsing goes on here after it.
            if (head1 == 0x81 or head1 == 0x82) and deliver(
                apply_mask(buf[body:end], buf[start:body]) if masked else buf[body:end],
                head1 == 0x81,
            ):
                pos = end
                continue
            fallback(buf[pos:end])
            pos = end
            if not parser_idle(protocol):
                break
        else:
            if pos < size:
                self._keep(buf, pos)
            return
        self.active = False
        if pos < size:
            fallback(buf[pos:])

    def _keep(self, buf: bytes, pos: int, need: int = 0) -> None:
        self._inbox = bytearray(buf[pos:])
        self._need = need


def text_frames(texts: list[bytes]) -> bytes:
    """Unmasked, unfragmented server text frames of `texts`, back to back (RFC 6455 5.2):
    what `websockets`' `send_text` + `data_to_send` produce for each, without a `Frame`
    object each, in one bytes object for one write."""
    parts: list[bytes] = []
    append = parts.append
    for text in texts:
        n = len(text)
        if n < 126:
            append(bytes((0x81, n)))
        elif n < 65536:
            append(b"\x81\x7e" + n.to_bytes(2, "big"))
        else:
            append(b"\x81\x7f" + n.to_bytes(8, "big"))
        append(text)
    return b"".join(parts)
