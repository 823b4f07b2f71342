"""`agentkit.transports.frames`: the direct frame parser against `websockets`' own parser.

The oracle is a `websockets` sans-I/O protocol fed the same bytes: with `DirectFrames` in
front of it (the way the client transport and the local server use it) the frames that come
out, the state the connection ends in and what it answers (pongs, closes) must be exactly
the same, however the stream is split, masked, fragmented or interleaved with control
frames, and whatever comes after a frame `DirectFrames` cannot take.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from agentkit.transports.frames import DirectFrames, parser_idle, text_frames

Seen = tuple[str, bool, bytes]  # (opcode, fin, payload)
MAX_SIZE = 300


def receiver(masked: bool) -> Protocol:
    """The side that reads masked frames is the server; unmasked, the client."""
    if masked:
        return ServerProtocol(state=State.OPEN, max_size=MAX_SIZE)
    return ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=MAX_SIZE)


def drain(protocol: Protocol, seen: list[Seen]) -> None:
    for event in protocol.events_received():
        assert isinstance(event, Frame)
        seen.append((event.opcode.name, event.fin, bytes(event.data)))


def answers(protocol: Protocol, masked: bool) -> list[Seen]:
    """What `protocol` sent back (pongs, a close), read by a peer of the other side."""
    peer = receiver(not masked)
    for data in protocol.data_to_send():
        peer.receive_data(data)
    seen: list[Seen] = []
    drain(peer, seen)
    return seen


def outcome(protocol: Protocol, seen: list[Seen], masked: bool) -> tuple[Any, ...]:
    close = protocol.close_sent.code if protocol.close_sent is not None else None
    return (seen, protocol.state, close, answers(protocol, masked))


def through_websockets(chunks: list[bytes], masked: bool) -> tuple[Any, ...]:
    protocol = receiver(masked)
    seen: list[Seen] = []
    for chunk in chunks:
        protocol.receive_data(chunk)
        drain(protocol, seen)
    return outcome(protocol, seen, masked)


def through_direct_frames(
    chunks: list[bytes], masked: bool, delivered: list[bytes] | None = None
) -> tuple[Any, ...]:
    protocol = receiver(masked)
    direct = DirectFrames(masked=masked)
    seen: list[Seen] = []

    def deliver(payload: bytes, is_text: bool) -> bool:
        if payload.startswith(b"!"):
            return False  # refused (as the transport refuses invalid UTF-8): websockets' turn
        seen.append(("TEXT" if is_text else "BINARY", True, bytes(payload)))
        if delivered is not None:
            delivered.append(bytes(payload))
        return True

    def fallback(data: bytes) -> None:
        protocol.receive_data(data)
        drain(protocol, seen)

    for chunk in chunks:  # the owner's loop (`_Connection.data_received`)
        if direct.active or parser_idle(protocol):
            direct.active = True
            direct.feed(chunk, protocol, deliver, fallback)
        else:
            fallback(chunk)
    return outcome(protocol, seen, masked)


def split(stream: bytes, cuts: list[float]) -> list[bytes]:
    bounds = sorted({int(c * len(stream)) for c in cuts})
    return [stream[a:b] for a, b in zip([0, *bounds], [*bounds, len(stream)], strict=True)]


payloads = st.one_of(st.binary(max_size=40), st.binary(min_size=126, max_size=MAX_SIZE))
texts = st.text(max_size=60).map(str.encode)


@st.composite
def streams(draw: st.DrawFn, masked: bool) -> bytes:
    """Whole frames, fragments with pings between them, pings and pongs; sometimes ending
    with a close, an oversized frame or a frame masked the wrong way."""
    frames: list[Frame] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["text", "binary", "fragmented", "ping", "pong"]))
        if kind == "text":
            frames.append(Frame(Opcode.TEXT, draw(texts)))
        elif kind == "binary":
            frames.append(Frame(Opcode.BINARY, draw(payloads)))
        elif kind == "fragmented":
            parts = draw(st.lists(st.binary(max_size=20), min_size=2, max_size=4))
            frames.append(Frame(Opcode.BINARY, parts[0], fin=False))
            for i, part in enumerate(parts[1:], start=2):
                if draw(st.booleans()):
                    frames.append(Frame(Opcode.PING, b"mid"))
                frames.append(Frame(Opcode.CONT, part, fin=i == len(parts)))
        else:
            frames.append(Frame(Opcode[kind.upper()], draw(st.binary(max_size=10))))
    stream = b"".join(f.serialize(mask=masked) for f in frames)
    ending = draw(st.sampled_from(["none", "close", "oversized", "wrong_mask"]))
    if ending == "close":
        stream += Frame(Opcode.CLOSE, Close(1000, "bye").serialize()).serialize(mask=masked)
    elif ending == "oversized":
        stream += Frame(Opcode.TEXT, b"x" * (MAX_SIZE + 1)).serialize(mask=masked)
    elif ending == "wrong_mask":
        stream += Frame(Opcode.TEXT, b"hello").serialize(mask=not masked)
    # Whatever follows a close or a failure must be ignored the same way by both.
    return stream + draw(st.sampled_from([b"", Frame(Opcode.TEXT, b"after").serialize(mask=masked)]))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), masked=st.booleans(), cuts=st.lists(st.floats(0, 1), max_size=10))
def test_direct_frames_agree_with_websockets(data: st.DataObject, masked: bool, cuts: list[float]) -> None:
    chunks = split(data.draw(streams(masked)), cuts)
    assert through_direct_frames(chunks, masked) == through_websockets(chunks, masked)


@pytest.mark.parametrize("masked", [True, False])
def test_whole_frames_are_parsed_here_and_a_ping_is_still_answered(masked: bool) -> None:
    stream = b"".join(
        f.serialize(mask=masked)
        for f in (
            Frame(Opcode.TEXT, b'{"type":"a"}'),
            Frame(Opcode.PING, b"p"),
            Frame(Opcode.BINARY, b"\x00" * 200),
        )
    )
    chunks = [stream[:5], stream[5:30], stream[30:]]  # a header and a 16-bit length split
    delivered: list[bytes] = []
    seen, state, close, answered = through_direct_frames(chunks, masked, delivered)
    assert delivered == [b'{"type":"a"}', b"\x00" * 200]  # the data frames never reached websockets
    assert seen == [
        ("TEXT", True, b'{"type":"a"}'),
        ("PING", True, b"p"),
        ("BINARY", True, b"\x00" * 200),
    ]
    assert (state, close, answered) == (State.OPEN, None, [("PONG", True, b"p")])


def test_a_frame_masked_the_wrong_way_fails_the_connection_as_websockets_does() -> None:
    stream = Frame(Opcode.TEXT, b"ok").serialize(mask=True) + Frame(
        Opcode.TEXT, b"bad"
    ).serialize(mask=False)
    seen, state, close, _ = through_direct_frames([stream], masked=True)
    assert seen == [("TEXT", True, b"ok")]
    assert (state, close) == (State.CLOSING, 1002)


def test_the_direct_path_waits_for_websockets_to_be_idle() -> None:
    protocol = receiver(masked=False)
    assert parser_idle(protocol)
    protocol.receive_data(Frame(Opcode.TEXT, b"part", fin=False).serialize(mask=False))
    assert not parser_idle(protocol)  # a fragmented message is under way
    protocol.receive_data(Frame(Opcode.CONT, b"end").serialize(mask=False))
    assert parser_idle(protocol)
    protocol.receive_data(b"\x81")  # half a header buffered
    assert not parser_idle(protocol)
    assert not parser_idle(ServerProtocol())  # not open yet


def test_text_frames_are_what_websockets_would_send() -> None:
    # Each length encoding: 7-bit, 16-bit and 64-bit, at their edges.
    texts = [b"x" * n for n in (0, 125, 126, 65535, 65536)]
    expected = b"".join(Frame(Opcode.TEXT, t).serialize(mask=False) for t in texts)
    assert text_frames(texts) == expected
    assert text_frames([]) == b""
