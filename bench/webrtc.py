"""What a WebRTC call costs against a WebSocket session, and how many calls the local server holds.

Two measurements against `LocalRealtimeServer` (its own process, pinned to CPU 0, a fresh one
per row; clients in fresh processes pinned to CPU 1), loopback only:

1. **CPU per session-second of two-way audio.** N sessions x T seconds, each an agentkit
   session (`RealtimeRunner.session`) over `WebSocketTransport`, or over `WebRTCTransport`
   with the opus or the pcmu codec. The client sends 20 ms of speech-like PCM16 (a voiced
   tone with syllable-rate envelope and a little noise) every 20 ms; the server (real-time
   pace) speaks one long answer after another (the client asks for the next on `agent_end`).
   Turn detection is off (`turn_detection=None`): continuous speech-like input would
   otherwise barge in on every answer; the server still takes every input frame into its
   buffer. Client CPU is `time.process_time()` of the client process, server CPU is
   utime + stime of the server process from `/proc/<pid>/stat`, both over the same window
   (after every session hears audio and a settling second); per session-second, with the
   ratios WebRTC / WebSocket.
2. **Concurrent WebRTC calls.** Levels of concurrent opus calls (10, 25, 50, 75) against one
   fresh server process each. Clients are bare `WebRTCTransport`s (no runner: the client
   side must not be what slips), at most 25 per client process, all client processes
   pinned to CPU 1; each sends 20 ms of speech-like PCM every 20 ms and asks for the next
   answer on `response.done`. Pacing is measured at the server: the *lateness* of each
   20 ms frame its outbound track (`OutboundAudio.recv`) hands to aiortc, against the
   track's own clock (`started_at` + pts / clock rate); and at the clients: the inter-arrival of
   decoded frames of the server's track (50 per second when on time). A level *slips* when
   the server's p99 lateness exceeds 40 ms (two 20 ms frames behind its clock), or a call
   fails to connect or drops. Stepping stops after two levels in a row slip: past
   saturation the next level is only worse, and its clients, starved on CPU 1, start losing
   calls to ICE consent timeouts.

ICE stays on loopback: agentkit's client and the local server offer only a 127.0.0.1 host
candidate when the other end is on loopback (`agentkit.transports.webrtc_ice`).

The CPU step also prints **the aiortc floor**: one end of a call between two raw aiortc peers
moving pre-encoded PCMU packets both ways (no agentkit in the media path), the least an
aiortc-based end costs. The calls step ends with the server's CPU per call at the largest
unsaturated level: pacing on a busy machine measures the scheduler, CPU time much less so.

Run: `.venv/bin/python bench/webrtc.py` (about two minutes; `--quick` for a smoke run;
`--only cpu|calls`; `--profile /tmp/server.prof --only calls --levels 25` writes a cProfile of
the server process's main thread; aiortc's decoder threads sit idle since agentkit decodes on
the event loop, so it sees the whole media path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pybase64

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The same long answer, model query and CPU pinning as the runtime bench.
from runtime import AUDIO_SCRIPT, MODEL_QUERY, _pin  # noqa: E402

RATE = 24000  # the session's PCM16 rate
CHUNK_MS = 20
TRANSPORTS = ("websocket", "opus", "pcmu")
SLIP_MS = 40.0  # server p99 lateness that counts as slipping
CALLS_PER_PROCESS = 25
CPU_GOAL = 3.0  # WebRTC at most 3x the WebSocket CPU per session-second
CALLS_GOAL = 50
NO_TURNS = (
    '{"type":"session.update","session":{"type":"realtime",'
    '"audio":{"input":{"turn_detection":null}}}}'
)
RESPONSE_CREATE = '{"type":"response.create"}'
DONE_PREFIX = '{"type":"response.done"'


def speech_like(seconds: float = 2.0) -> list[bytes]:
    """20 ms PCM16 chunks of a voiced, speech-like signal: a 140 Hz glottal tone with
    harmonics, a 4 Hz syllable envelope and some noise (not silence, not a pure tone)."""
    t = np.arange(int(RATE * seconds)) / RATE
    voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    envelope = 0.25 + 0.75 * np.abs(np.sin(2 * np.pi * 2 * t))
    noise = np.random.default_rng(1).normal(0, 0.05, t.size)
    pcm = np.clip((voice * envelope + noise) * 6000, -32768, 32767).astype("<i2").tobytes()
    size = RATE * CHUNK_MS // 1000 * 2
    return [pcm[pos : pos + size] for pos in range(0, len(pcm), size)]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _commands(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str]:
    """Lines of stdin (the orchestrator's commands), as a queue on `loop`."""
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.strip())
        loop.call_soon_threadsafe(queue.put_nowait, "stop")

    threading.Thread(target=read, daemon=True).start()
    return queue


async def ticker(
    stop: asyncio.Event,
    senders: list[Any],
    chunks: list[Any],
    send: Callable[[Any, Any], Awaitable[None]],
) -> None:
    """One timer for every sender: each sends the next 20 ms chunk every 20 ms (a sender
    whose call is gone is skipped)."""
    loop = asyncio.get_running_loop()
    next_at, k = loop.time(), 0
    while not stop.is_set():
        chunk = chunks[k % len(chunks)]
        k += 1
        for sender in senders:
            with contextlib.suppress(Exception):
                await send(sender, chunk)
        next_at += CHUNK_MS / 1000
        await asyncio.sleep(max(0.0, next_at - loop.time()))


async def wind_down(
    stop: asyncio.Event, tasks: list[asyncio.Task[Any]], closing: tuple[Awaitable[Any], ...] = ()
) -> None:
    """Stop the senders, cancel `tasks`, and wait (10 s at most) for them and `closing`."""
    stop.set()
    for task in tasks:
        task.cancel()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await asyncio.gather(*tasks, *closing, return_exceptions=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- the server process ---------------------------------------------------------------------


def serve(profile: str | None) -> None:
    """The server process: one local server; prints its URLs, then answers `mark` (start
    the window) and `report` (the window's lateness and CPU, as JSON) until `stop`."""
    _pin(0)
    import logging

    logging.disable(logging.CRITICAL)  # aiortc logs the tasks of calls torn down at the end
    from agentkit.server import LocalRealtimeServer
    from agentkit.transports.webrtc_track import OutboundAudio

    lateness: list[float] = []
    recv = OutboundAudio.recv

    async def timed_recv(self: OutboundAudio) -> Any:
        packet = await recv(self)
        assert packet.pts is not None
        now = asyncio.get_running_loop().time()
        lateness.append(now - (self.started_at + packet.pts / self.clock_rate))
        return packet

    OutboundAudio.recv = timed_recv  # type: ignore[method-assign]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        commands = _commands(loop)
        async with LocalRealtimeServer(script=AUDIO_SCRIPT, pace="realtime") as server:
            print(json.dumps({"url": server.url, "base_url": server.base_url}), flush=True)
            cpu0 = wall0 = 0.0
            while (command := await commands.get()) != "stop":
                if command == "mark":
                    lateness.clear()
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                elif command == "report":
                    late = [x * 1000 for x in lateness]
                    report = {
                        "cpu_s": time.process_time() - cpu0,
                        "wall_s": time.perf_counter() - wall0,
                        "frames": len(late),
                        "calls": len(server.webrtc.calls),
                        "p50": pct(late, 50),
                        "p99": pct(late, 99),
                        "max": max(late, default=math.nan),
                    }
                    print(json.dumps(report), flush=True)

    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(main())
        profiler.disable()
        profiler.dump_stats(profile)
    else:
        asyncio.run(main())


# --- 1. CPU per session-second (one client process per row) ---------------------------------------


async def cpu_worker(
    kind: str, urls: dict[str, str], sessions: int, seconds: float, server_pid: int
) -> dict[str, Any]:
    from agentkit import RealtimeAgent
    from agentkit.runner import RealtimeRunner
    from agentkit.settings import SessionSettings
    from agentkit.transports import WebRTCTransport, WebSocketTransport

    agent: Any = RealtimeAgent(name="bench", instructions="Benchmark agent.")
    runner = RealtimeRunner(agent, settings=SessionSettings(turn_detection=None))
    chunks = speech_like()
    counts = {"audio": 0, "appends": 0, "responses": 0}
    heard: set[int] = set()
    live: list[Any] = []
    stop = asyncio.Event()

    async def one(n: int) -> None:
        transport: Any
        if kind == "websocket":
            transport = WebSocketTransport(urls["url"] + MODEL_QUERY, api_key="x")
        else:
            codec: Any = kind
            transport = WebRTCTransport(urls["base_url"], api_key="x", codec=codec)
        async with runner.session(transport) as session:
            live.append(session)
            await session.send_text("Tell me about my account.")
            async for event in session:
                if stop.is_set():
                    break
                if event.type == "audio":
                    counts["audio"] += 1
                    heard.add(n)
                elif event.type == "agent_end":
                    counts["responses"] += 1
                    await session.send_text("Tell me more.")

    async def send(session: Any, chunk: bytes) -> None:
        await session.send_audio(chunk)
        counts["appends"] += 1

    tasks = [asyncio.create_task(one(n)) for n in range(sessions)]
    sender = asyncio.create_task(ticker(stop, live, chunks, send))
    async with asyncio.timeout(60):
        while len(heard) < sessions:
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # settle: every session streaming both ways
    start = dict(counts)
    cpu0, server0, wall0 = time.process_time(), _cpu_seconds(server_pid), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, server = time.process_time() - cpu0, _cpu_seconds(server_pid) - server0
    wall = time.perf_counter() - wall0
    done = {k: counts[k] - start[k] for k in counts}
    await wind_down(stop, [sender, *tasks])
    return {"cpu_s": cpu, "server_cpu_s": server, "wall_s": wall, "sessions": sessions, **done}


async def floor_worker(pairs: int, seconds: float) -> dict[str, Any]:
    """The aiortc floor: `pairs` calls between two raw aiortc peers in this process, each
    end sending a constant pre-encoded PCMU packet every 20 ms from a stock sleeping track
    (aiortc's cheapest send path) and reading the other's track as aiortc delivers it (its
    decoder thread), with an open, idle data channel. No agentkit in the media path: the
    least any aiortc-based WebRTC end can cost per call-second."""
    import fractions as fr

    from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection
    from av import Packet

    from agentkit.transports.webrtc_ice import gather_loopback
    from agentkit.transports.webrtc_media import prefer_codec

    class Packets(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.n = 0
            self.start = 0.0

        async def recv(self) -> Any:
            loop = asyncio.get_running_loop()
            if not self.n:
                self.start = loop.time()
            await asyncio.sleep(max(0.0, self.start + self.n * 0.02 - loop.time()))
            packet = Packet(b"\x7f" * 160)  # μ-law for a quiet sample
            packet.pts, packet.time_base = self.n * 160, fr.Fraction(1, 8000)
            self.n += 1
            return packet

    async def drain(track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                await track.recv()

    readers: list[asyncio.Task[None]] = []
    peers: list[Any] = []
    opened: list[asyncio.Future[None]] = []
    loop = asyncio.get_running_loop()
    for _ in range(pairs):
        a, b = (RTCPeerConnection(RTCConfiguration(iceServers=[])) for _ in range(2))
        peers += [a, b]
        for pc in (a, b):
            pc.on("track", lambda track: readers.append(asyncio.ensure_future(drain(track))))
        channel = a.createDataChannel("oai-events")
        done = loop.create_future()
        channel.on("open", lambda done=done: done.done() or done.set_result(None))
        opened.append(done)
        prefer_codec(a.addTransceiver(Packets(), direction="sendrecv"), "pcmu")
        await gather_loopback(a)
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        b.addTrack(Packets())
        await gather_loopback(b)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
    async with asyncio.timeout(60):
        await asyncio.gather(*opened)
    await asyncio.sleep(2.0)  # settle
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    for task in readers:
        task.cancel()
    for pc in peers:
        with contextlib.suppress(Exception):
            await pc.close()
    return {"cpu_s": cpu, "wall_s": wall, "ends": 2 * pairs}


# --- 2. concurrent calls (a few client processes, many calls each) ------------------------------


async def calls_worker(base_url: str, calls: int) -> None:
    """Hold `calls` bare WebRTC calls; `ready` once all are up, then `mark` / `report`."""
    from agentkit.transports import WebRTCTransport

    loop = asyncio.get_running_loop()
    commands = _commands(loop)
    gaps: list[float] = []
    counts = {"frames": 0, "deltas": 0, "failed": 0, "dropped": 0}
    measuring = [False]
    on_frame = WebRTCTransport._on_audio_frame
    last: dict[int, float] = {}

    def timed_frame(self: WebRTCTransport, frame: Any) -> None:
        # The inter-arrival of the server track's decoded frames at this client.
        now = loop.time()
        if measuring[0]:
            counts["frames"] += 1
            if id(self) in last:
                gaps.append(now - last[id(self)])
        last[id(self)] = now
        on_frame(self, frame)

    WebRTCTransport._on_audio_frame = timed_frame  # type: ignore[method-assign]
    chunks = speech_like()
    appends = [
        '{"type":"input_audio_buffer.append","audio":"' + pybase64.b64encode(c).decode() + '"}'
        for c in chunks
    ]
    up: list[WebRTCTransport] = []
    stop = asyncio.Event()

    async def one() -> None:
        transport = WebRTCTransport(base_url, api_key="x", codec="opus", connect_timeout=30)
        try:
            await transport.connect()
        except Exception:
            counts["failed"] += 1
            return
        await transport.send(NO_TURNS)
        await transport.send(RESPONSE_CREATE)
        up.append(transport)
        try:
            while not stop.is_set():
                frame = await transport.receive()
                text = frame if isinstance(frame, str) else frame.decode()
                if text.startswith(DONE_PREFIX):
                    await transport.send(RESPONSE_CREATE)
                elif '"response.output_audio.delta"' in text[:60]:
                    counts["deltas"] += 1
        except Exception:
            if not stop.is_set():
                counts["dropped"] += 1

    async def send(transport: WebRTCTransport, frame: str) -> None:
        await transport.send(frame)

    tasks = []
    for _ in range(calls):  # a few at a time, as calls would arrive
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(0.05)
    while len(up) + counts["failed"] < calls:
        await asyncio.sleep(0.05)
    sender = asyncio.create_task(ticker(stop, up, appends, send))
    print(json.dumps({"ready": len(up)}), flush=True)
    cpu0 = wall0 = 0.0
    while (command := await commands.get()) != "stop":
        if command == "mark":
            gaps.clear()
            counts.update(frames=0, deltas=0)
            measuring[0] = True
            cpu0, wall0 = time.process_time(), time.perf_counter()
        elif command == "report":
            measuring[0] = False
            report = {
                "cpu_s": time.process_time() - cpu0,
                "wall_s": time.perf_counter() - wall0,
                "calls": len(up),
                "gap_p50": pct(gaps, 50) * 1000,
                "gap_p99": pct(gaps, 99) * 1000,
                "gap_max": max(gaps, default=math.nan) * 1000,
                **counts,
            }
            print(json.dumps(report), flush=True)
            break
    await wind_down(stop, [sender, *tasks], tuple(t.close() for t in up))


def worker(args: argparse.Namespace) -> None:
    _pin(1)
    import logging

    logging.disable(logging.CRITICAL)  # aiortc logs the tasks of calls torn down at the end
    if args.worker == "floor":
        print(json.dumps(asyncio.run(floor_worker(args.sessions, args.seconds))), flush=True)
        return
    # What a service does once its startup is done (docs/run.md): freeze the startup heap.
    import agentkit.runner
    import agentkit.transports  # noqa: F401

    gc.collect()
    gc.freeze()
    urls = json.loads(args.urls)
    if args.worker == "cpu":
        job = cpu_worker(args.transport, urls, args.sessions, args.seconds, args.server_pid)
        result = asyncio.run(job)
        print(json.dumps(result), flush=True)
    else:
        asyncio.run(calls_worker(urls["base_url"], args.sessions))


# --- the orchestrator -----------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[str]
    urls: str

    @classmethod
    def start(cls, profile: str | None = None) -> Server:
        command = [sys.executable, __file__, "--serve"]
        command += ["--profile", profile] if profile else []
        process = _spawn(command)
        assert process.stdout is not None
        return cls(process, process.stdout.readline().strip())

    def ask(self, command: str) -> dict[str, Any] | None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        if command != "report":
            return None
        result: dict[str, Any] = json.loads(self.process.stdout.readline())
        return result

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("stop")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _client(server: Server, *options: str) -> list[str]:
    pid = str(server.process.pid)
    return [sys.executable, __file__, "--urls", server.urls, "--server-pid", pid, *options]


def _spawn(command: list[str]) -> subprocess.Popen[str]:
    """A child that takes commands on stdin and answers on stdout."""
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_cpu(kind: str, sessions: int, seconds: float) -> dict[str, Any]:
    server = Server.start()
    try:
        command = _client(server, "--worker", "cpu", "--transport", kind)
        command += ["--sessions", str(sessions), "--seconds", str(seconds)]
        out = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    finally:
        server.stop()
    if out.returncode != 0:
        raise RuntimeError(f"cpu/{kind} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_level(level: int, seconds: float, warm: float, profile: str | None) -> dict[str, Any]:
    """One fresh server, `level` calls over ceil(level / 25) client processes."""
    server = Server.start(profile)
    procs: list[subprocess.Popen[str]] = []
    try:
        split = [level // -(-level // CALLS_PER_PROCESS)] * -(-level // CALLS_PER_PROCESS)
        for i in range(level - sum(split)):
            split[i] += 1
        started = time.perf_counter()
        for n in split:
            command = _client(server, "--worker", "calls", "--sessions", str(n))
            procs.append(_spawn(command))
        ready = 0
        for proc in procs:
            assert proc.stdout is not None
            ready += json.loads(proc.stdout.readline() or '{"ready": 0}')["ready"]
        setup = time.perf_counter() - started
        time.sleep(warm)
        server.ask("mark")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("mark\n")
            proc.stdin.flush()
        time.sleep(seconds)
        srv = server.ask("report")
        assert srv is not None
        clients = []
        for proc in procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("report\n")
            proc.stdin.flush()
            clients.append(json.loads(proc.stdout.readline()))
    finally:
        for proc in procs:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()
    wall = srv["wall_s"]
    return {
        "level": level,
        "split": split,
        "setup_s": setup,
        "ready": ready,
        "live": srv["calls"],
        "server": srv,
        "server_cpu": srv["cpu_s"] / wall,
        "client_cpu": sum(c["cpu_s"] for c in clients) / wall,
        "frames_per_call_s": sum(c["frames"] for c in clients) / max(1, ready) / wall,
        "gap_p99": max(c["gap_p99"] for c in clients),
        "gap_max": max(c["gap_max"] for c in clients),
        "dropped": sum(c["dropped"] for c in clients) + sum(c["failed"] for c in clients),
    }


def run_floor(pairs: int, seconds: float) -> float:
    """CPU ms per second of one end of a raw aiortc call (`floor_worker`)."""
    command = [sys.executable, __file__, "--worker", "floor", "--sessions", str(pairs)]
    command += ["--seconds", str(seconds)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"floor failed:\n{out.stderr[-3000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return float(r["cpu_s"] * 1000 / (r["ends"] * r["wall_s"]))


def report_cpu(args: argparse.Namespace) -> None:
    rows = {kind: run_cpu(kind, args.sessions, args.seconds) for kind in TRANSPORTS}
    floor = run_floor(args.sessions // 2 or 1, args.seconds)
    print(
        f"1. CPU per session-second, two-way audio: {args.sessions} sessions x {args.seconds:g} s "
        f"(20 ms of speech-like PCM up every 20 ms, the server speaking in real time; agentkit "
        "sessions, turn detection off)"
    )
    header = (
        f"{'transport':<10} {'audio ev':>8} {'appends':>8} {'answers':>7}   {'client ms/s':>11} "
        f"{'server ms/s':>11} {'total ms/s':>10}   {'x WS client':>11} {'x WS server':>11} "
        f"{'x WS total':>10}"
    )
    print(header)
    print("-" * len(header))
    per: dict[str, tuple[float, float]] = {}
    for kind, r in rows.items():
        session_seconds = r["sessions"] * r["wall_s"]
        per[kind] = (r["cpu_s"] * 1000, r["server_cpu_s"] * 1000)
        per[kind] = (per[kind][0] / session_seconds, per[kind][1] / session_seconds)
    ws_client, ws_server = per["websocket"]
    for kind, r in rows.items():
        client, server = per[kind]
        print(
            f"{kind:<10} {r['audio']:>8} {r['appends']:>8} {r['responses']:>7}   {client:>11.2f} "
            f"{server:>11.2f} {client + server:>10.2f}   {client / ws_client:>11.2f} "
            f"{server / ws_server:>11.2f} {(client + server) / (ws_client + ws_server):>10.2f}"
        )
    print(
        f"{'aiortc floor':<12} {'':>6} {'':>8} {'':>7}   {floor:>11.2f} {floor:>11.2f} "
        f"{2 * floor:>10.2f}   {floor / ws_client:>11.2f} {floor / ws_server:>11.2f} "
        f"{2 * floor / (ws_client + ws_server):>10.2f}"
    )
    print(
        "ms/s: CPU milliseconds per second of one session (1000 = a whole core); aiortc floor: "
        "one end of a raw aiortc call (pre-encoded PCMU both ways, idle data channel, no "
        "agentkit in the media path), both ends in one process: what aiortc itself costs"
    )
    for kind in TRANSPORTS[1:]:
        client, server = per[kind]
        ratios = (client / ws_client, server / ws_server)
        verdict = "MET" if max(ratios) <= CPU_GOAL else "MISSED"
        print(
            f"goal: WebRTC ({kind}) CPU <= {CPU_GOAL:g}x WebSocket, client and server: {verdict} "
            f"(client {ratios[0]:.2f}x, server {ratios[1]:.2f}x)"
        )
    print()


def report_calls(args: argparse.Namespace) -> None:
    print(
        f"2. Concurrent WebRTC calls (opus) against one server process (CPU 0); clients: bare "
        f"WebRTCTransport, at most {CALLS_PER_PROCESS} calls per client process, all on CPU 1; "
        f"{args.warm:g} s warm-up, {args.level_seconds:g} s measured per level"
    )
    header = (
        f"{'calls':>5} {'procs':>5} {'setup s':>7} {'up':>4} {'drop':>4}   {'late p50':>8} "
        f"{'p99':>6} "
        f"{'max':>6}   {'gap p99':>7} {'max':>6} {'fr/s':>5}   {'srv CPU':>7} {'ms/call-s':>9} "
        f"{'cli CPU':>7}  verdict"
    )
    print(header)
    print("-" * len(header))
    held, broken, slipped = 0, False, 0
    per_call: list[tuple[int, float]] = []  # (calls, server CPU ms per call-second)
    for level in args.levels:
        if slipped >= 2:
            print(f"{level:>5}  skipped: the two levels before it slipped", flush=True)
            continue
        r = run_level(level, args.level_seconds, args.warm, args.profile)
        s = r["server"]
        if r["server_cpu"] < 0.9:  # not saturated: the CPU a call needs, not a share
            per_call.append((level, r["server_cpu"] * 1000 / max(1, r["ready"])))
        up = r["ready"] == level and r["live"] >= level and r["dropped"] == 0
        ok = up and s["p99"] <= SLIP_MS
        broken = broken or not ok
        slipped = 0 if ok else slipped + 1
        if not broken:
            held = level  # held counts unbroken levels only
        print(
            f"{level:>5} {len(r['split']):>5} {r['setup_s']:>7.1f} {r['ready']:>4} "
            f"{r['dropped']:>4}   "
            f"{s['p50']:>8.1f} {s['p99']:>6.1f} {s['max']:>6.1f}   {r['gap_p99']:>7.1f} "
            f"{r['gap_max']:>6.1f} {r['frames_per_call_s']:>5.1f}   {r['server_cpu']:>7.0%} "
            f"{r['server_cpu'] * 1000 / max(1, r['ready']):>9.2f} {r['client_cpu']:>7.0%}  "
            f"{'holds' if ok else 'SLIPS'}",
            flush=True,
        )
    print(
        f"late: the server track's frame lateness against its pts clock (ms); gap: inter-arrival "
        f"of the server's decoded frames at the clients (ms, worst client process); fr/s: frames "
        f"per call-second at the clients (50 on time); a level slips when the server's p99 "
        f"lateness > {SLIP_MS:g} ms, or a call fails or drops"
    )
    print(
        f"held pacing up to {held} concurrent calls; goal: >= {CALLS_GOAL} calls: "
        f"{'MET' if held >= CALLS_GOAL else 'MISSED'} ({held})"
    )
    if per_call:
        # Pacing slips on a busy machine long before the server's core is used up (a
        # process that sleeps between ticks waits for the CPU at every wake-up): the CPU a
        # call needs says what a quiet core could hold.
        level, ms = per_call[-1]
        print(
            f"CPU bound: at {level} calls the server needs {ms:.1f} ms per call-second, so one "
            f"core holds at most ~{1000 / ms:.0f} calls (pacing needs headroom below that); "
            f"load average now {os.getloadavg()[0]:.2f}: re-run the levels on a quiet machine"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=10, help="sessions per CPU row")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per CPU row")
    parser.add_argument(
        "--levels", type=int, nargs="+", default=[10, 25, 50, 75], help="concurrent calls"
    )
    parser.add_argument(
        "--level-seconds", type=float, default=6.0, help="measured window per level"
    )
    parser.add_argument("--warm", type=float, default=2.0, help="seconds after all calls are up")
    parser.add_argument("--only", choices=("cpu", "calls"), action="append", help="run only these")
    parser.add_argument("--profile", help="write a cProfile of the server process here (per level)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--transport", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.profile)
        return
    if args.worker:
        worker(args)
        return
    if args.quick:
        args.sessions, args.seconds, args.levels = 3, 3.0, [5, 10]
        args.level_seconds, args.warm = 3.0, 1.0
    started = time.perf_counter()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server in its own process "
        "(CPU 0, "
        "a fresh one per row), clients in fresh processes (CPU 1); loopback (ICE on 127.0.0.1); "
        f"load average {os.getloadavg()[0]:.2f} at the start\n"
    )
    parts = args.only or ["cpu", "calls"]
    if "cpu" in parts:
        report_cpu(args)
    if "calls" in parts:
        report_calls(args)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
