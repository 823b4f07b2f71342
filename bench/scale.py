"""Scale-out on Redis: what the session store adds to a session, and what workers hold.

One run measures, against the local server in its own process (pinned to CPU 0) and a
`redis-server` started here on a free port (in a temporary folder, no persistence):

1. **Tool turnaround with and without the Redis store.** The same agentkit client, once
   with a plain session and once with a `DurableSessions` session on Redis (the recorder
   observing, the writer batching, the tool's start made durable before it runs: one Redis
   round trip), alternating session by session. The interval is `bench/runtime.py`'s:
   `response.function_call_arguments.done` reaching the client's socket → the
   `function_call_output` leaving it (its `SocketProbe`). Goal: at most +0.2 ms at p50.
2. **Redis operations and bytes per session-minute.** K sessions at real-time pace, each a
   caller asking something every few seconds (a turn: the question, a tool call, a spoken
   answer of about four seconds, two seconds of silence), for a fixed window; Redis's own
   counters (`INFO stats`: commands processed, network bytes in and out) over the window,
   per session-minute; the writer's round trips; Redis memory per stored session.
3. **Sessions held by 1 and 2 worker processes.** `agentkit worker` processes on this
   machine (the local server's fast pace), N app sessions opened through their WebSocket
   and held (connected, configured, leases renewed): worker RSS per session, idle CPU of the
   workers (lease heartbeats), Redis commands per second while idle.

Run: `.venv/bin/python bench/scale.py` (about a minute and a half; `--quick` for a smoke
run). Needs `redis-server` (`apt-get install redis-server`) and the `redis` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_runtime", HERE / "runtime.py")
assert _spec is not None and _spec.loader is not None
bench_runtime = importlib.util.module_from_spec(_spec)
sys.modules["bench_runtime"] = bench_runtime
_spec.loader.exec_module(bench_runtime)
SocketProbe = bench_runtime.SocketProbe
tool_script = bench_runtime.tool_script
_pin = bench_runtime._pin

ANSWER = "Your account is in good standing, and your last order left the warehouse yesterday."
LIVE_SCRIPT: dict[str, Any] = {
    "turns": [
        {
            "user": "How is my account?",
            "mode": "text",
            "steps": [{"call": "ping", "arguments": {}}, {"say": ANSWER}],
        }
    ],
}
MODEL_QUERY = "?model=gpt-realtime"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- processes -------------------------------------------------------------------------------


def serve(tool_calls: int) -> None:
    """The server process: a fast server for tools and workers, a real-time one for calls."""
    _pin(0)
    from agentkit.server import LocalRealtimeServer

    async def main() -> None:
        async with (
            LocalRealtimeServer(script=tool_script(tool_calls), pace="fast") as tools,
            LocalRealtimeServer(script=LIVE_SCRIPT, pace="realtime") as live,
            LocalRealtimeServer(script=LIVE_SCRIPT, pace="fast") as idle,
        ):
            print(json.dumps({"tools": tools.url, "live": live.url, "idle": idle.url}), flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def start_redis(folder: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _ping_agent() -> Any:
    from agentkit import RealtimeAgent, tool

    @tool
    async def ping() -> str:
        """Answer at once."""
        return "ok"

    return RealtimeAgent(name="bench", instructions="Benchmark agent.", tools=[ping])


async def _redis_info(url: str) -> dict[str, Any]:
    from redis.asyncio import Redis

    client = Redis.from_url(url, decode_responses=True)
    try:
        info: dict[str, Any] = await client.info()
        return info
    finally:
        await client.aclose()


# --- 1. tool turnaround ------------------------------------------------------------------------


async def turnaround(url: str, redis_url: str, sessions: int, calls: int) -> dict[str, list[float]]:
    from agentkit import RealtimeRunner
    from agentkit.store import DurableSessions, RedisStore
    from agentkit.transports import WebSocketTransport

    probe = SocketProbe()
    probe.install()
    runner = RealtimeRunner(_ping_agent())
    store = RedisStore.from_url(redis_url)
    samples: dict[str, list[float]] = {"plain": [], "redis": []}
    async with DurableSessions(runner, store, owner="bench") as durable_sessions:
        for number in range(sessions + 1):  # the first of each is a warm-up
            for variant in ("plain", "redis"):
                transport = WebSocketTransport(url + MODEL_QUERY, api_key="x")
                start = len(probe.samples)
                async with contextlib.AsyncExitStack() as stack:
                    if variant == "plain":
                        session = await stack.enter_async_context(runner.session(transport))
                    else:
                        durable = await stack.enter_async_context(
                            durable_sessions.open(f"tools-{number}", transport)
                        )
                        session = durable.session
                    await session.send_text("go")
                    ended = 0
                    async with asyncio.timeout(60):
                        async for event in session:
                            if event.type == "tool_end":
                                ended += 1
                            elif event.type == "agent_end" and ended >= calls:
                                break
                if number:
                    samples[variant] += [s[0] * 1000 for s in probe.samples[start:]]
    await store.close()
    return samples


# --- 2. per session-minute -----------------------------------------------------------------------


async def per_minute(url: str, redis_url: str, sessions: int, seconds: float) -> dict[str, Any]:
    from agentkit import RealtimeRunner
    from agentkit.store import DurableSessions, RedisStore, StoreWriter
    from agentkit.transports import WebSocketTransport

    runner = RealtimeRunner(_ping_agent())
    store = RedisStore.from_url(redis_url)
    writer = StoreWriter(store)
    stop = asyncio.Event()
    ready: list[bool] = []
    turns = [0]
    empty = (await _redis_info(redis_url))["used_memory"]

    async with DurableSessions(runner, store, owner="bench", writer=writer) as durable_sessions:

        async def call(number: int) -> None:
            transport = WebSocketTransport(url + MODEL_QUERY, api_key="x")
            async with durable_sessions.open(f"call-{number}", transport) as durable:
                session = durable.session
                ready.append(True)
                while not stop.is_set():
                    await session.send_text("How is my account?")
                    async for event in session:
                        if (
                            event.type == "agent_end"
                            and event.status == "completed"
                            and session.history.items()[-1].kind == "message"
                        ):
                            break  # the spoken answer after the tool call
                    turns[0] += 1
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 2.0)  # the caller's pause

        tasks = [asyncio.create_task(call(n)) for n in range(sessions)]
        async with asyncio.timeout(30):
            while len(ready) < sessions:
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        before = await _redis_info(redis_url)
        trips, turns_before = writer.round_trips, turns[0]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        after = await _redis_info(redis_url)
        trips, done_turns = writer.round_trips - trips, turns[0] - turns_before
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    memory = ((await _redis_info(redis_url))["used_memory"] - empty) / sessions
    await store.close()
    minutes = sessions * wall / 60
    return {
        "sessions": sessions,
        "session_minutes": minutes,
        "turns_per_session_minute": done_turns / minutes,
        "commands": (after["total_commands_processed"] - before["total_commands_processed"]) / minutes,
        "round_trips": trips / minutes,
        "bytes_in": (after["total_net_input_bytes"] - before["total_net_input_bytes"]) / minutes,
        "bytes_out": (after["total_net_output_bytes"] - before["total_net_output_bytes"]) / minutes,
        "cpu_s_per_session_minute": cpu / minutes,
        "redis_memory_per_session": memory,
        "session_seconds_each": wall + 1.0,
    }


# --- 3. sessions held by workers -----------------------------------------------------------------


def _proc(pid: int) -> tuple[int, float]:
    """RSS (bytes) and CPU seconds (user + system) of a process."""
    with open(f"/proc/{pid}/statm") as statm:
        rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


async def held(url: str, redis_url: str, workers: int, sessions: int, idle_s: float) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    target = f"{HERE.parent / 'tests' / 'store' / 'store_agents.py'}:support"
    procs = []
    for _ in range(workers):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agentkit", "worker", target, "--redis", redis_url,
            "--url", url + MODEL_QUERY, "--port", "0",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        assert process.stdout is not None
        line = (await process.stdout.readline()).decode()
        procs.append((process, line.split("listening on ")[1].split("/v1/")[0]))
    await asyncio.sleep(0.5)
    base = {p.pid: _proc(p.pid) for p, _ in procs}
    connections = []
    try:
        for number in range(sessions):
            _, worker_url = procs[number % workers]
            connection = await connect(f"{worker_url}/v1/sessions/held-{workers}-{number}")
            hello = orjson.loads(await connection.recv())
            assert hello["type"] == "session"
            connections.append(connection)
        await asyncio.sleep(1.0)
        loaded = {p.pid: _proc(p.pid) for p, _ in procs}
        info0 = await _redis_info(redis_url)
        await asyncio.sleep(idle_s)
        info1 = await _redis_info(redis_url)
        idle = {p.pid: _proc(p.pid) for p, _ in procs}
    finally:
        for connection in connections:
            await connection.close()
        for process, _ in procs:
            process.kill()
            await process.wait()
    rss = sum(loaded[pid][0] - base[pid][0] for pid in base)
    cpu = sum(idle[pid][1] - loaded[pid][1] for pid in base)
    return {
        "workers": workers,
        "sessions": sessions,
        "rss_per_session": rss / sessions,
        "worker_rss": [loaded[pid][0] for pid in base],
        "idle_cpu_percent": 100 * cpu / idle_s,
        "idle_redis_commands_per_s": (
            info1["total_commands_processed"] - info0["total_commands_processed"]
        ) / idle_s,
    }


# --- the run -------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (a few seconds each)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tool-calls", type=int, default=30, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.tool_calls)
        return
    if shutil.which("redis-server") is None:
        raise SystemExit("bench/scale.py needs redis-server: apt-get install redis-server")
    quick = args.quick
    calls, sessions = (10, 2) if quick else (30, 6)
    live_sessions, live_s = (5, 8.0) if quick else (20, 30.0)
    held_sessions, idle_s = (20, 2.0) if quick else (200, 5.0)
    server = subprocess.Popen(
        [sys.executable, str(HERE / "scale.py"), "--serve", "--tool-calls", str(calls)],
        stdout=subprocess.PIPE, text=True,
    )
    folder = tempfile.mkdtemp(prefix="agentkit-scale-")
    redis, redis_url = start_redis(folder)
    try:
        assert server.stdout is not None
        urls = json.loads(server.stdout.readline())
        _pin(1)
        samples = asyncio.run(turnaround(urls["tools"], redis_url, sessions, calls))
        minute = asyncio.run(per_minute(urls["live"], redis_url, live_sessions, live_s))
        held1 = asyncio.run(held(urls["idle"], redis_url, 1, held_sessions, idle_s))
        held2 = asyncio.run(held(urls["idle"], redis_url, 2, held_sessions, idle_s))
    finally:
        server.terminate()
        redis.kill()
        shutil.rmtree(folder, ignore_errors=True)
    report(samples, minute, [held1, held2])


def report(samples: dict[str, list[float]], minute: dict[str, Any], held: list[dict[str, Any]]) -> None:
    plain, redis = samples["plain"], samples["redis"]
    print("1. Tool turnaround (arguments.done in -> function_call_output out), ms")
    print(f"   {'':<22}{'n':>5}{'p50':>9}{'p90':>9}{'p99':>9}")
    for name, values in (("plain session", plain), ("Redis store", redis)):
        print(f"   {name:<22}{len(values):>5}{pct(values, .5):>9.3f}{pct(values, .9):>9.3f}{pct(values, .99):>9.3f}")
    added = pct(redis, 0.5) - pct(plain, 0.5)
    print(f"   added by the store at p50: {added:+.3f} ms (goal: at most +0.2 ms)")
    print(f"   (means: plain {statistics.fmean(plain):.3f}, store {statistics.fmean(redis):.3f})")
    print()
    m = minute
    print(f"2. Per session-minute ({m['sessions']} real-time sessions, "
          f"{m['turns_per_session_minute']:.1f} turns per session-minute, each with a tool call)")
    print(f"   Redis commands: {m['commands']:.0f}   writer round trips: {m['round_trips']:.0f}")
    print(f"   bytes to Redis: {m['bytes_in'] / 1024:.1f} KiB   from Redis: {m['bytes_out'] / 1024:.1f} KiB")
    print(f"   client CPU (session + recorder): {m['cpu_s_per_session_minute'] * 1000:.0f} ms per session-minute")
    print(f"   Redis memory per stored session: {m['redis_memory_per_session'] / 1024:.1f} KiB "
          f"(after about {m['session_seconds_each']:.0f} s of conversation each)")
    print("   (Redis counts the commands a Lua script runs as commands too)")
    print()
    print("3. Sessions held (connected, configured, leases renewed), fast-pace server")
    for h in held:
        print(
            f"   {h['workers']} worker(s): {h['sessions']} sessions, "
            f"{h['rss_per_session'] / 1024:.0f} KiB RSS per session, "
            f"idle CPU {h['idle_cpu_percent']:.1f}% of a core, "
            f"Redis {h['idle_redis_commands_per_s']:.0f} commands/s while idle"
        )
    print()
    print(json.dumps({"turnaround_ms": {"plain_p50": pct(plain, .5), "redis_p50": pct(redis, .5),
                                        "added_p50": added},
                      "per_session_minute": minute, "held": held}))


if __name__ == "__main__":
    main()
