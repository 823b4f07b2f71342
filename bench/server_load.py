"""How many concurrent sessions the local realtime server holds before its audio pacing slips.

Each simulated session streams both ways, like a phone call:

- client → server: `input_audio_buffer.append` with 100 ms of PCM16 every 100 ms (server VAD
  on, so every frame goes through the detector);
- server → client: one long spoken response after another (`response.create` again on each
  `response.done`), paced in real time: one 100 ms `response.output_audio.delta` per 100 ms.

The lateness of a delta is its arrival time minus its due time, where delta k of a response is
due at (arrival of the response's first delta) + k * 100 ms — so it measures whether the
server keeps up with real time, not loopback latency. The server runs in its own process,
pinned to CPU 0; the load generator runs in this process, pinned to CPU 1 (when there are two
CPUs), so they do not share a core. Loopback only; every level is bounded in time.

    .venv/bin/python bench/server_load.py                  # 50 100 200 400 600 800 sessions
    .venv/bin/python bench/server_load.py --levels 100 500 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import orjson
import pybase64
from websockets.asyncio.client import connect

LONG_REPLY = (
    "Thanks for waiting. I have looked at your account and everything seems to be in order. "
    "Your last payment arrived on time, your plan renews next month, and there are no open "
    "tickets. Is there anything else I can help you with today, or shall we wrap up here?"
)
SCRIPT = {"turns": [], "fallback": LONG_REPLY, "greeting": [{"say": LONG_REPLY}]}
DELTA_PREFIX = b'{"type":"response.output_audio.delta"'
APPEND = orjson.dumps(
    {"type": "input_audio_buffer.append", "audio": pybase64.b64encode(bytes(4800)).decode()}
).decode()


def _pin(cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        if len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, {cpu})


def serve(port: int) -> None:
    """The server process."""
    _pin(0)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from agentkit.server import LocalRealtimeServer

    async def main() -> None:
        async with LocalRealtimeServer(script=SCRIPT, port=port, pace="realtime"):
            print("ready", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@dataclass
class Stats:
    lateness_ms: list[float] = field(default_factory=list)
    deltas: int = 0
    appends: int = 0
    failures: int = 0
    connected: int = 0


async def one_session(url: str, stats: Stats, stop_at: float, measure_from: float) -> None:
    try:
        async with connect(url, additional_headers={"Authorization": "Bearer bench"}, max_size=None) as ws:
            stats.connected += 1

            async def sender() -> None:
                loop = asyncio.get_running_loop()
                next_at = loop.time()
                while loop.time() < stop_at:
                    await ws.send(APPEND)
                    stats.appends += 1
                    next_at += 0.1
                    await asyncio.sleep(max(0.0, next_at - loop.time()))

            task = asyncio.create_task(sender())
            await ws.send('{"type":"response.create"}')
            loop = asyncio.get_running_loop()
            first: float | None = None
            index = 0
            try:
                while loop.time() < stop_at:
                    raw = await asyncio.wait_for(ws.recv(decode=False), timeout=max(0.05, stop_at - loop.time()))
                    now = loop.time()
                    if raw.startswith(DELTA_PREFIX):
                        if first is None:
                            first = now
                        elif now >= measure_from:
                            stats.lateness_ms.append((now - (first + index * 0.1)) * 1000)
                        index += 1
                        stats.deltas += 1
                    elif b'"response.done"' in raw[:40]:
                        first, index = None, 0
                        await ws.send('{"type":"response.create"}')
            except TimeoutError:
                pass
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    except Exception:
        stats.failures += 1


async def run_level(port: int, sessions: int, seconds: float) -> Stats:
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
    stats = Stats()
    loop = asyncio.get_running_loop()
    ramp = min(5.0, sessions / 100)  # open connections gradually, as calls would arrive
    start = loop.time()
    measure_from = start + ramp + 2.0
    stop_at = measure_from + seconds
    tasks = []
    for _n in range(sessions):
        tasks.append(asyncio.create_task(one_session(url, stats, stop_at, measure_from)))
        await asyncio.sleep(ramp / sessions)
    await asyncio.gather(*tasks)
    return stats


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[50, 100, 200, 400, 600, 800])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per level")
    parser.add_argument("--slip-ms", type=float, default=100.0, help="p99 lateness that counts as slipping")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    _pin(1)
    print(f"{'sessions':>8} {'connected':>9} {'deltas/s':>9} {'appends/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'fail':>5}  verdict")
    held = 0
    for level in args.levels:
        port = _free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("server did not start")
            started = time.monotonic()
            stats = asyncio.run(run_level(port, level, args.seconds))
            elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
        late = sorted(stats.lateness_ms) or [float("nan")]
        p50 = statistics.median(late)
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        ok = stats.failures == 0 and stats.connected == level and p99 <= args.slip_ms
        if ok:
            held = level
        print(
            f"{level:>8} {stats.connected:>9} {stats.deltas / elapsed:>9.0f} {stats.appends / elapsed:>9.0f} "
            f"{p50:>7.1f} {p99:>7.1f} {late[-1]:>7.1f} {stats.failures:>5}  {'holds' if ok else 'SLIPS'}",
            flush=True,
        )
        if not ok and level > held * 2:
            break
    print(f"\nheld pacing (p99 lateness <= {args.slip_ms:g} ms) up to {held} concurrent sessions")


if __name__ == "__main__":
    main()
