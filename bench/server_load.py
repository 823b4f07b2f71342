"""How many concurrent sessions the local realtime server holds before its audio pacing slips.

Each simulated session streams both ways, like a phone call:

- client → server: `input_audio_buffer.append` with 100 ms of PCM16 every 100 ms: a caller's
  real speech (espeak-ng when installed, else agentkit's synthetic voice) and the pauses
  between sentences, each session at its own offset in the loop, so the server's VAD works on
  speech, not on digital silence (its cheapest path). Server VAD stays on; the session turns
  off its automatic responses and barge-in (`create_response`/`interrupt_response` false) so
  that every session keeps speaking and listening for the whole window;
- server → client: one spoken response after another (`response.create` again on each
  `response.done`), each asking for the next sentence of a set (`response.instructions`
  `Say: "..."`, which the scripted model speaks), paced in real time: one 100 ms `response.output_audio.delta`
  per 100 ms.

The lateness of a delta is its arrival time minus its due time, where delta k of a response is
due at (when the client sent its `response.create`) + the model's fixed 200 ms time to first
audio + k * 100 ms: a slow first delta counts as lateness, and so does every slip after it. The verdict line reports the
highest level that held, not the last one before the first slip.

The server runs in its own process (pinned to CPU 0 with `--pin`); the load generator runs in this process,
pinned to CPU 1 with `--pin` (when there are two CPUs). The generator is a minimal WebSocket client on raw
asyncio protocols (one pre-masked append frame reused by every session, one ticker for all
senders, frames told apart by a byte prefix), so that it is not what slips first. The server's
own CPU time over the measured window is read from /proc and reported per session-second
(`cpu ms/s`: server CPU milliseconds per second of one session) — the figure that says how
many sessions one core can carry, whatever the generator costs.

    .venv/bin/python bench/server_load.py                  # 100 200 300 400 500 600 sessions
    .venv/bin/python bench/server_load.py --levels 100 500 --seconds 15
    .venv/bin/python bench/server_load.py --src /path/to/other/checkout   # compare a version
    .venv/bin/python bench/server_load.py --levels 400 --profile /tmp/server.prof
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field

import orjson

LONG_REPLY = (
    "Thanks for waiting. I have looked at your account and everything seems to be in order. "
    "Your last payment arrived on time, your plan renews next month, and there are no open "
    "tickets. Is there anything else I can help you with today, or shall we wrap up here?"
)
ANSWERS = [
    LONG_REPLY,
    "Your order shipped yesterday and should arrive on Thursday. You will get a text message "
    "with the tracking link as soon as the courier picks it up this evening.",
    "I can help with that return. The item is still within the thirty day window, so I will "
    "email you a prepaid label, and the refund reaches your card within five business days.",
    "Our premium plan adds priority support and a second line for twelve dollars a month. "
    "Would you like me to switch you over today, or send the details by email first?",
    "I am sorry about the trouble with your router. Please unplug it for thirty seconds and "
    "plug it back in; if the light stays red, I will book a technician visit for tomorrow.",
]
SCRIPT = {"turns": [], "fallback": LONG_REPLY}
MODEL_LATENCY = 0.2
"""The scripted model's fixed time to first audio (seconds): intended, so not lateness."""
CALLER = (
    "Hi, I am calling about my order from last week. It has not arrived yet and the tracking "
    "page has not changed since Monday. Could you check what is going on?"
)
SESSION_UPDATE = {
    "type": "session.update",
    "session": {
        "type": "realtime",
        "audio": {
            "input": {
                "turn_detection": {
                    "type": "server_vad",
                    "create_response": False,
                    "interrupt_response": False,
                }
            }
        },
    },
}
DELTA_PREFIX = b'{"type":"response.output_audio.delta"'
DONE_PREFIX = b'{"type":"response.done"'
_MASK = b"\x11\x22\x33\x44"


PIN = False


def _pin(cpu: int) -> None:
    if not PIN:
        return
    with contextlib.suppress(AttributeError, OSError):
        if len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, {cpu})


def serve(port: int, src: str, profile: str | None) -> None:
    """The server process."""
    _pin(0)
    sys.path.insert(0, src)
    from agentkit.server import LocalRealtimeServer

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with LocalRealtimeServer(
            script=SCRIPT, port=port, pace="realtime", response_latency=MODEL_LATENCY * 1000
        ):
            print("ready", flush=True)
            await stop.wait()

    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(main())
        profiler.disable()
        profiler.dump_stats(profile)
    else:
        asyncio.run(main())


def _frame(payload: bytes) -> bytes:
    """A masked client text frame (clients must mask; any key will do)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    key = (_MASK * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + _MASK + masked


def caller_frames() -> list[bytes]:
    """The caller's loop as pre-masked append frames of 100 ms: a sentence of real speech,
    then 1.5 s of pause (the VAD's silence path runs too, as on a real call)."""
    from agentkit.audio import synthesize_speech

    pcm = synthesize_speech(CALLER, sample_rate=24000) + bytes(48000 * 3 // 2)
    pcm += bytes(-len(pcm) % 4800)
    return [
        _frame(orjson.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm[at : at + 4800]).decode()}))
        for at in range(0, len(pcm), 4800)
    ]


UPDATE_FRAME = _frame(orjson.dumps(SESSION_UPDATE))
CREATE_FRAMES = [
    _frame(orjson.dumps({"type": "response.create", "response": {"instructions": f'Say: "{text}"'}}))
    for text in ANSWERS
]
CLOSE_FRAME = b"\x88\x82" + _MASK + bytes(a ^ b for a, b in zip(struct.pack("!H", 1000), _MASK, strict=False))


@dataclass
class Stats:
    lateness_ms: list[float] = field(default_factory=list)
    deltas: int = 0
    appends: int = 0
    failures: int = 0
    connected: int = 0


class BenchClient(asyncio.Protocol):
    """One session's client: handshake, then read frames with the least work."""

    def __init__(self, stats: Stats, port: int, measure_from: float) -> None:
        self.stats = stats
        self.port = port
        self.measure_from = measure_from
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.closed = False
        self.buffer = bytearray()
        self.due: float | None = None  # when the response in flight was asked for
        self.index = 0
        self.answer = 0
        self.ready = self.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                "GET /v1/realtime?model=gpt-realtime HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Authorization: Bearer bench\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.stats.failures += 1
        self.closed = True
        self.open = False
        if not self.ready.done():
            self.ready.set_result(False)

    def ask(self) -> None:
        """Ask for the next answer; its deltas are due from now."""
        assert self.transport is not None
        self.transport.write(CREATE_FRAMES[self.answer % len(CREATE_FRAMES)])
        self.answer += 1
        self.due, self.index = self.loop.time() + MODEL_LATENCY, 0

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.closed = True
                self.stats.failures += 1
                assert self.transport is not None
                self.transport.close()
                return
            del buffer[: end + 4]
            self.open = True
            self.stats.connected += 1
            self.ready.set_result(True)
            assert self.transport is not None
            self.transport.write(UPDATE_FRAME)
            self.ask()
        pos = 0
        size = len(buffer)
        now = self.loop.time()
        while size - pos >= 2:
            length = buffer[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                start = pos + 10
            if size - start < length:
                break
            opcode = buffer[pos] & 0x0F
            if opcode == 0x8:
                self.closed = True
                self.open = False
                self.stats.failures += 1
            elif buffer.startswith(DELTA_PREFIX, start):
                if self.due is not None and now >= self.measure_from:
                    self.stats.lateness_ms.append((now - (self.due + self.index * 0.1)) * 1000)
                self.index += 1
                self.stats.deltas += 1
            elif buffer.startswith(DONE_PREFIX, start):
                self.ask()
            pos = start + length
        del buffer[:pos]


async def run_level(port: int, sessions: int, seconds: float) -> tuple[Stats, float, float]:
    """Open `sessions` clients, stream for the warm-up plus `seconds`; return the stats and
    the measured window (loop time)."""
    stats = Stats()
    loop = asyncio.get_running_loop()
    ramp = min(5.0, sessions / 100)  # open connections gradually, as calls would arrive
    start = loop.time()
    measure_from = start + ramp + 2.0
    stop_at = measure_from + seconds
    clients: list[BenchClient] = []
    speech = caller_frames()

    async def ticker() -> None:
        # One timer for every sender: 10 slots of 10 ms, each session appends in its slot, at
        # its own offset in the caller's loop (session n starts n * 7 frames in).
        slot = tick = 0
        next_at = loop.time()
        while loop.time() < stop_at:
            for n in range(slot, len(clients), 10):
                client = clients[n]
                if client.open and client.transport is not None:
                    client.transport.write(speech[(tick + n * 7) % len(speech)])
                    stats.appends += 1
            slot = (slot + 1) % 10
            tick += slot == 0
            next_at += 0.01
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    sender = asyncio.create_task(ticker())
    for _n in range(sessions):
        with contextlib.suppress(OSError):
            _, client = await loop.create_connection(lambda: BenchClient(stats, port, measure_from), "127.0.0.1", port)
            clients.append(client)
        await asyncio.sleep(ramp / sessions)
    await sender
    for client in clients:
        if client.transport is not None and not client.closed:
            client.closed = True
            client.transport.write(CLOSE_FRAME)
            client.transport.close()
    return stats, measure_from, stop_at


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(pid: int, port: int, level: int, seconds: float) -> tuple[Stats, float, float]:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(run_level(port, level, seconds))
    await asyncio.sleep(0)
    # Sample the server's CPU over the measured window only (not the ramp or warm-up).
    ramp = min(5.0, level / 100)
    await asyncio.sleep(ramp + 2.0)
    cpu0, t0 = _cpu_seconds(pid), loop.time()
    own0 = time.process_time()
    await asyncio.sleep(seconds)
    cpu1, t1 = _cpu_seconds(pid), loop.time()
    own1 = time.process_time()
    stats, _, _ = await task
    wall = t1 - t0
    return stats, (cpu1 - cpu0) / wall, (own1 - own0) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[100, 200, 300, 400, 500, 600])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per level")
    parser.add_argument("--slip-ms", type=float, default=100.0, help="p99 lateness that counts as slipping")
    parser.add_argument("--src", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), help="source tree holding the agentkit package to serve")
    parser.add_argument("--profile", help="write a cProfile of the server process here (one level)")
    parser.add_argument("--pin", action="store_true", help="pin the server to CPU 0 and the generator to CPU 1 (only on an otherwise idle machine: a pinned process cannot escape another load on its core)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global PIN
    PIN = args.pin
    if args.serve:
        serve(args.serve, args.src, args.profile)
        return
    _pin(1)
    print(
        f"{'sessions':>8} {'connected':>9} {'deltas/s':>9} {'appends/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'fail':>5} {'srv cpu':>7} {'cpu ms/s':>8} {'gen cpu':>7}  verdict"
    )
    held = 0
    for level in args.levels:
        port = _free_port()
        command = [sys.executable, __file__, "--serve", str(port), "--src", args.src, *(["--pin"] if args.pin else [])]
        if args.profile:
            command += ["--profile", args.profile]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("server did not start")
            stats, server_cpu, own_cpu = asyncio.run(_measure(server.pid, port, level, args.seconds))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        late = sorted(stats.lateness_ms) or [float("nan")]
        p50 = statistics.median(late)
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        ok = stats.failures == 0 and stats.connected == level and p99 <= args.slip_ms
        if ok:
            held = max(held, level)
        window = args.seconds + 2.0 + min(5.0, level / 100)
        per_session_ms = server_cpu / max(1, stats.connected) * 1000
        print(
            f"{level:>8} {stats.connected:>9} {stats.deltas / window:>9.0f} {stats.appends / window:>9.0f} "
            f"{p50:>7.1f} {p99:>7.1f} {late[-1]:>7.1f} {stats.failures:>5} {server_cpu:>7.0%} "
            f"{per_session_ms:>8.2f} {own_cpu:>7.0%}  {'holds' if ok else 'SLIPS'}",
            flush=True,
        )
    print(f"\nheld pacing (p99 lateness <= {args.slip_ms:g} ms) up to {held} concurrent sessions")


if __name__ == "__main__":
    main()
