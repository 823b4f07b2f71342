"""ICE on loopback: a peer of a call that stays on this machine offers 127.0.0.1 only.

aioice (0.13) gathers a host candidate on every interface address *except* loopback's
(`aioice.ice.get_host_addresses` skips 127.0.0.1 and ::1), and has no option to change that.
So two peers of one machine (agentkit's client and the local server) would talk over the
machine's network address, and in a network namespace with only `lo` (a sandboxed CI job)
there is no candidate at all and ICE fails.

`gather_loopback(pc)` does the gathering itself for each ICE transport of the peer
connection, before aiortc would (`setLocalDescription`): one host candidate on 127.0.0.1
through aioice's own `Connection.get_component_candidates` (what `gather_candidates` calls
with the interface addresses), then it marks the gathering done, so aiortc's
`RTCIceGatherer.gather()` finds nothing left to do and completes. It reads the gatherer's
aioice connection (`RTCIceGatherer._connection`) and sets aioice's three gathering fields;
a test (`tests/transports/test_webrtc_ice.py`) pins that behaviour for the installed versions.

`is_loopback(host)` says when to do it: the client, for a `base_url` on loopback; the local
server, when it listens on loopback.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from aiortc import RTCPeerConnection

__all__ = ["LOOPBACK", "gather_loopback", "is_loopback"]

LOOPBACK: Final = "127.0.0.1"
"""The address of the loopback host candidate."""


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def gather_loopback(pc: RTCPeerConnection) -> None:
    """Gather host candidates on 127.0.0.1 only, for every ICE transport of `pc` made so far
    (call it after `addTransceiver` / `createDataChannel` or `setRemoteDescription`, before
    `setLocalDescription`)."""
    gatherers: list[Any] = [t.receiver.transport.transport.iceGatherer for t in pc.getTransceivers()]
    if pc.sctp is not None:
        gatherers.append(pc.sctp.transport.transport.iceGatherer)
    for gatherer in {id(g): g for g in gatherers}.values():
        if gatherer.state != "new":
            continue
        connection = gatherer._connection
        if connection._local_candidates_start:
            continue
        connection._local_candidates_start = True
        for component in sorted(connection._components):
            connection._local_candidates += await connection.get_component_candidates(
                component=component, addresses=[LOOPBACK]
            )
        connection._local_candidates_end = True
