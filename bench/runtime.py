"""What the runtime costs around the wire: agentkit vs openai-agents' `RealtimeRunner`, same server.

Three measurements, each run for both frameworks against the same `LocalRealtimeServer`, which
runs in its own process (pinned to CPU 0; every client runs in a fresh process pinned to
CPU 1), loopback only:

1. **Tool turnaround.** The time between `response.function_call_arguments.done` reaching the
   client's socket and the `function_call_output` item, then the `response.create`, leaving
   it, with a trivial async tool. A probe wraps the `websockets` connection class all three
   clients use (`SocketProbe`): *in* when the event loop hands it the bytes holding
   `arguments.done`, *out* when it writes a frame. Everything the client does in between is in
   the interval: decoding `arguments.done`, `output_item.done`, `conversation.item.done`,
   `response.done` (which both frameworks must wait for before a `response.create`),
   dispatching the tool, encoding and sending. A **raw** floor (bare asyncio sockets,
   `bench/rawfloor.py`) is what no client can beat; a **floor** client (raw `websockets` + orjson,
   the least any client can do) measures what `websockets` itself costs; a framework's
   *added* time at pXX is its pXX minus the floor's median: the whole tail is charged to the
   framework, none to noise.
2. **CPU per session-second of two-way audio.** K sessions each stream 100 ms of PCM16 up
   every 100 ms (real time) while the server (real-time pace) speaks a long answer after
   another; the client consumes every event. Client CPU (`time.process_time`) over the
   measured window, per session-second and per audio delta received (everything amortised:
   uplink appends, transcript deltas, ...). Then a **downlink burst**: one session, the server
   at `fast` pace sends whole answers at once; client CPU / audio deltas received isolates
   the per-delta cost (transcript deltas and response events amortised in).
3. **Memory per idle session.** N idle sessions, connected and configured, each with a task
   draining its events; RSS and `tracemalloc` growth / N, measured in separate processes
   (tracemalloc inflates RSS) after one warm-up session and `gc.collect()`.

Run: `.venv/bin/python bench/runtime.py` (about a minute and a half; `--quick` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pybase64

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LONG_REPLY = (
    "Thanks for waiting. I have looked at your account and everything seems to be in order. "
    "Your last payment arrived on time, your plan renews next month, and there are no open "
    "tickets. Is there anything else I can help you with today, or shall we wrap up here?"
)
AUDIO_SCRIPT: dict[str, Any] = {"turns": [], "fallback": LONG_REPLY}
CHUNK = bytes(4800)  # 100 ms of 24 kHz PCM16 silence: the server VAD hears no turn
MODEL_QUERY = "?model=gpt-realtime"
FRAMEWORKS = ("agentkit", "openai-agents")
GC_MODE = "freeze"  # set from --gc; passed to every client process


def tool_script(calls: int) -> dict[str, Any]:
    """One user turn whose answer is `calls` tool calls in a row, then a short sentence."""
    steps: list[dict[str, Any]] = [{"call": "ping", "arguments": {}}] * calls
    return {"turns": [{"user": "go", "mode": "text", "steps": [*steps, {"say": "Done."}]}]}


def _pin(cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        if len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, {cpu})


# --- the socket-boundary probe (tool turnaround) -------------------------------------------------


class SocketProbe:
    """Timestamps at the client's socket, the same for every client: all three use the
    `websockets` asyncio connection, so the probe wraps that class once.

    * in: `Connection.data_received(bytes)`, called by the event loop with what it just read
      from the socket, before websockets parses it (server frames are not masked, so the
      event type can be found in the raw bytes);
    * out: `Connection.send_data()`, which hands the frames built by `Protocol.send_text` to
      `transport.write` (the kernel has them when it returns).
    """

    def __init__(self) -> None:
        self.samples: list[tuple[float, float, float]] = []  # ->output, ->create, done->create
        self._args_done = self._response_done = self._output = 0.0
        self._waiting = False
        self._outgoing = ""

    def install(self) -> None:
        from websockets.asyncio.connection import Connection
        from websockets.protocol import Protocol

        probe, clock = self, time.perf_counter
        send_data, send_text = Connection.send_data, Protocol.send_text
        # The event loop hands read bytes to the connection class's `data_received`; a
        # client may subclass it (agentkit's transport parses whole frames itself), so every
        # class that defines its own is wrapped, and the outermost call takes the stamp.
        depth = [0]

        def probed(data_received: Callable[[Any, bytes], None]) -> Callable[[Any, bytes], None]:
            def probed_data_received(self: Any, data: bytes) -> None:
                if not depth[0]:
                    now = clock()
                    if b'"response.function_call_arguments.done"' in data:
                        probe._args_done, probe._output, probe._waiting = now, 0.0, True
                    if b'"response.done"' in data:
                        probe._response_done = now
                depth[0] += 1
                try:
                    data_received(self, data)
                finally:
                    depth[0] -= 1

            return probed_data_received

        for cls in _connection_classes(Connection):
            if "data_received" in vars(cls):
                cls.data_received = probed(vars(cls)["data_received"])  # type: ignore[method-assign]

        def probed_send_text(self: Any, data: bytes, fin: bool = True) -> None:
            if b'"response.create"' in data:
                probe._outgoing = "create"
            elif b"function_call_output" in data:
                probe._outgoing = "output"
            send_text(self, data, fin)

        def probed_send_data(self: Any) -> None:
            send_data(self)
            if probe._outgoing:
                probe.sent(probe._outgoing, clock())
                probe._outgoing = ""

        Connection.send_data = probed_send_data  # type: ignore[method-assign]
        Protocol.send_text = probed_send_text  # type: ignore[method-assign]

    def sent(self, kind: str, now: float) -> None:
        if not self._waiting:
            return
        if kind == "output" and not self._output:
            self._output = now
        elif kind == "create":
            self._waiting = False
            self.samples.append(
                (
                    self._output - self._args_done,
                    now - self._args_done,
                    now - self._response_done,
                )
            )


def _connection_classes(base: type) -> list[type]:
    """`base` and all its subclasses loaded so far (the framework imported first)."""
    found, todo = [base], [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


# --- the server process ----------------------------------------------------------------------------


def serve(tool_calls: int) -> None:
    """The server process: three local servers; prints their URLs, runs until terminated."""
    _pin(0)
    from agentkit.server import LocalRealtimeServer

    async def main() -> None:
        async with (
            LocalRealtimeServer(script=tool_script(tool_calls), pace="fast") as tools,
            LocalRealtimeServer(script=AUDIO_SCRIPT, pace="realtime") as live,
            LocalRealtimeServer(script=AUDIO_SCRIPT, pace="fast") as burst,
        ):
            print(
                json.dumps({"tools": tools.url, "live": live.url, "burst": burst.url}), flush=True
            )
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


# --- clients ---------------------------------------------------------------------------------------


class Client:
    """One framework's session behind a tiny common interface (what the workloads need)."""

    async def open(self, url: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def send_text(self, text: str) -> None:
        raise NotImplementedError

    async def send_audio(self, chunk: bytes) -> None:
        raise NotImplementedError

    def events(self) -> Any:
        """Async iterator of (kind, event): kind in audio, tool_end, agent_end, other."""
        raise NotImplementedError


class FrameworkClient(Client):
    """What both frameworks' session objects do alike: `send_audio` and typed events."""

    _session: Any

    async def send_audio(self, chunk: bytes) -> None:
        await self._session.send_audio(chunk)

    async def events(self) -> Any:
        async for event in self._session:
            kind = event.type
            yield (kind if kind in ("audio", "tool_end", "agent_end") else "other"), event


class AgentkitClient(FrameworkClient):
    def __init__(self, with_tool: bool, traced: bool = False) -> None:
        from agentkit import RealtimeAgent, tool
        from agentkit.runner import RealtimeRunner
        from agentkit.tracing import TracingConfig

        @tool
        async def ping() -> str:
            """Answer at once."""
            return "ok"

        agent = RealtimeAgent(
            name="bench", instructions="Benchmark agent.", tools=[ping] if with_tool else []
        )
        # agentkit+otel: what production runs (the SDK, a batch span processor, metrics);
        # plain agentkit: tracing off, the base the overhead is relative to.
        tracing = _sdk_tracing() if traced else TracingConfig(enabled=False)
        self._runner = RealtimeRunner(agent, tracing=tracing)
        self._stack = contextlib.AsyncExitStack()
        self._session: Any = None

    async def open(self, url: str) -> None:
        from agentkit.transports import WebSocketTransport

        transport = WebSocketTransport(url + MODEL_QUERY, api_key="x")
        self._session = await self._stack.enter_async_context(self._runner.session(transport))

    async def close(self) -> None:
        await self._stack.aclose()

    async def send_text(self, text: str) -> None:
        await self._session.send_text(text)


class OpenAIAgentsClient(FrameworkClient):
    def __init__(self, with_tool: bool) -> None:
        from agents import function_tool
        from agents.realtime import RealtimeAgent, RealtimeRunner

        @function_tool
        async def ping() -> str:
            """Answer at once."""
            return "ok"

        agent = RealtimeAgent(
            name="bench", instructions="Benchmark agent.", tools=[ping] if with_tool else []
        )
        # One runner per session: a runner's model holds one connection (see the peer notes).
        self._runner = RealtimeRunner(agent)
        self._session: Any = None

    async def open(self, url: str) -> None:
        self._session = await self._runner.run(
            model_config={"url": url + MODEL_QUERY, "api_key": "x"}
        )
        await self._session.enter()

    async def close(self) -> None:
        await self._session.close()

    async def send_text(self, text: str) -> None:
        await self._session.send_message(text)


class FloorClient(Client):
    """No framework: raw `websockets`, orjson and pybase64, the least any client must do."""

    def __init__(self) -> None:
        self._ws: Any = None

    async def open(self, url: str) -> None:
        from websockets.asyncio.client import connect

        self._ws = await connect(
            url + MODEL_QUERY, additional_headers={"Authorization": "Bearer x"}, max_size=None
        )

    async def close(self) -> None:
        await self._ws.close()

    async def send_text(self, text: str) -> None:
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
        await self._ws.send(
            orjson.dumps({"type": "conversation.item.create", "item": item}).decode()
        )
        await self._ws.send('{"type":"response.create"}')

    async def send_audio(self, chunk: bytes) -> None:
        encoded = pybase64.b64encode(chunk).decode()
        await self._ws.send('{"type":"input_audio_buffer.append","audio":"' + encoded + '"}')

    async def events(self) -> Any:
        async for frame in self._ws:
            event = orjson.loads(frame)
            kind = event["type"]
            if kind == "response.output_audio.delta":
                yield "audio", pybase64.b64decode(event["delta"], validate=True)
            elif kind == "response.done":
                yield "agent_end", event
            else:
                yield "other", event


def _sdk_tracing() -> Any:
    """The OpenTelemetry SDK as production wires it: spans through a `BatchSpanProcessor`
    (into memory: no network), metrics into a reader; the default `TracingConfig`."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit.tracing import TracingConfig

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return TracingConfig(tracer_provider=tracer_provider, meter_provider=meter_provider)


def make_client(framework: str, *, with_tool: bool = False) -> Client:
    if framework == "floor":
        return FloorClient()
    if framework in ("agentkit", "agentkit+otel"):
        return AgentkitClient(with_tool, traced=framework == "agentkit+otel")
    return OpenAIAgentsClient(with_tool)


# --- workloads (each runs in its own client process) ---------------------------------------------


async def tool_floor_session(url: str) -> int:
    """The least a client can do: raw websockets, answer each call at once, ask for the next
    response on `response.done`."""
    from websockets.asyncio.client import connect

    async with connect(
        url + MODEL_QUERY,
        additional_headers={"Authorization": "Bearer x"},
        compression=None,
        max_size=None,
    ) as ws:
        user = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "go"}],
        }
        await ws.send(orjson.dumps({"type": "conversation.item.create", "item": user}).decode())
        await ws.send('{"type":"response.create"}')
        answered = 0
        pending = False
        async for frame in ws:
            if frame.startswith('{"type":"response.output_audio'):
                continue
            event = orjson.loads(frame)
            kind = event["type"]
            if kind == "response.output_item.done" and event["item"]["type"] == "function_call":
                output = {
                    "type": "function_call_output",
                    "call_id": event["item"]["call_id"],
                    "output": "ok",
                }
                await ws.send(
                    orjson.dumps({"type": "conversation.item.create", "item": output}).decode()
                )
                pending = True
            elif kind == "response.done":
                if not pending:
                    break
                pending = False
                answered += 1
                await ws.send('{"type":"response.create"}')
    return answered


async def tool_framework_session(framework: str, url: str, calls: int) -> int:
    client = make_client(framework, with_tool=True)
    await client.open(url)
    ended = 0
    try:
        await client.send_text("go")
        async with asyncio.timeout(120):
            async for kind, _ in client.events():
                if kind == "tool_end":
                    ended += 1
                elif kind == "agent_end" and ended >= calls:
                    break  # the follow-up after the last call has been asked for
    finally:
        await client.close()
    return ended


async def tool_turnaround(framework: str, url: str, sessions: int, calls: int) -> dict[str, Any]:
    """`sessions` sessions one after another, each making `calls` tool calls."""
    if framework == "raw":  # no websockets library to probe: it stamps its own socket
        from rawfloor import tool_raw_session

        answered, samples = 0, []
        for _ in range(sessions):
            calls_made, stamped = await tool_raw_session(url)
            answered, samples = answered + calls_made, samples + stamped
        return {"calls": answered, "samples": samples}
    _import_client(framework)  # its connection class must exist before the probe wraps it
    probe = SocketProbe()
    probe.install()
    answered = 0
    for _ in range(sessions):
        if framework == "floor":
            answered += await tool_floor_session(url)
        else:
            answered += await tool_framework_session(framework, url, calls)
    return {"calls": answered, "samples": probe.samples}


async def audio_live(framework: str, url: str, sessions: int, seconds: float) -> dict[str, Any]:
    """K two-way sessions in real time; client CPU over the measured window."""
    loop = asyncio.get_running_loop()
    counts = {"deltas": 0, "appends": 0, "responses": 0}
    stop = asyncio.Event()
    ready: list[bool] = []

    async def one() -> None:
        client = make_client(framework)
        await client.open(url)

        async def sender() -> None:
            next_at = loop.time()
            while not stop.is_set():
                await client.send_audio(CHUNK)
                counts["appends"] += 1
                next_at += 0.1
                await asyncio.sleep(max(0.0, next_at - loop.time()))

        task = asyncio.create_task(sender())
        try:
            await client.send_text("Tell me about my account.")
            first = True
            async for kind, _ in client.events():
                if stop.is_set():
                    break
                if kind == "audio":
                    counts["deltas"] += 1
                    if first:
                        first = False
                        ready.append(True)
                elif kind == "agent_end":
                    counts["responses"] += 1
                    await client.send_text("Tell me more.")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.close()

    tasks = [asyncio.create_task(one()) for _ in range(sessions)]
    async with asyncio.timeout(30):
        while len(ready) < sessions:
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # settle: every session streaming both ways
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    start = dict(counts)
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    done = {k: counts[k] - start[k] for k in counts}
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"cpu_s": cpu, "wall_s": wall, "sessions": sessions, **done}


async def audio_burst(framework: str, url: str, responses: int) -> dict[str, Any]:
    """One session; the server sends each whole answer at once; client CPU per delta."""
    client = make_client(framework)
    await client.open(url)
    deltas = 0
    done = 0
    try:
        # Warm-up answer (lazy imports, first-use caches), not measured.
        await client.send_text("Warm up.")
        events = client.events()
        async for kind, _ in events:
            if kind == "agent_end":
                break
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        await client.send_text("Tell me about my account.")
        async with asyncio.timeout(120):
            async for kind, _ in events:
                if kind == "audio":
                    deltas += 1
                elif kind == "agent_end":
                    done += 1
                    if done == responses:
                        break
                    await client.send_text("Tell me more.")
        cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    finally:
        await client.close()
    return {"cpu_s": cpu, "wall_s": wall, "deltas": deltas, "responses": done}


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def idle_memory(framework: str, url: str, sessions: int, traced: bool) -> dict[str, Any]:
    """Growth per idle session (connected, configured, one task draining its events)."""
    clients: list[Client] = []
    drains: list[asyncio.Task[None]] = []

    async def drain(client: Client) -> None:
        async for _ in client.events():
            pass

    async def open_one() -> None:
        client = make_client(framework)
        await client.open(url)
        clients.append(client)
        drains.append(asyncio.create_task(drain(client)))

    if traced:
        tracemalloc.start()
    await open_one()  # warm-up: imports, caches, the first connection's one-time costs
    await asyncio.sleep(0.5)
    gc.collect()
    rss0 = _rss()
    traced0 = tracemalloc.get_traced_memory()[0] if traced else 0
    for _ in range(sessions):
        await open_one()
    await asyncio.sleep(1.0)  # session.created / session.updated handled everywhere
    gc.collect()
    rss1 = _rss()
    traced1 = tracemalloc.get_traced_memory()[0] if traced else 0
    for task in drains:
        task.cancel()
    for client in clients:
        with contextlib.suppress(Exception):
            await client.close()
    return {
        "sessions": sessions,
        "rss_per_session": (rss1 - rss0) / sessions,
        "traced_per_session": (traced1 - traced0) / sessions if traced else None,
    }


def _import_client(framework: str) -> None:
    """What a client process loads at startup, before it takes calls."""
    import websockets.asyncio.client  # noqa: F401

    if framework.startswith("agentkit"):
        import agentkit.runner
        import agentkit.transports  # noqa: F401
    elif framework == "openai-agents":
        import agents
        import agents.realtime  # noqa: F401


def worker(args: argparse.Namespace) -> None:
    _pin(1)
    import logging

    logging.disable(logging.WARNING)  # the peer logs at warning level on some server events
    scenario, framework, url = args.worker, args.framework, args.url
    if args.gc == "freeze":
        # The same for the three clients: what a service does once its startup is done
        # (docs/run.md). Without it, each full collection walks the startup heap again.
        _import_client(framework)
        gc.collect()
        gc.freeze()
    job: Callable[[], Awaitable[dict[str, Any]]]
    if scenario == "tool":
        job = lambda: tool_turnaround(framework, url, args.sessions, args.calls)  # noqa: E731
    elif scenario == "live":
        job = lambda: audio_live(framework, url, args.sessions, args.seconds)  # noqa: E731
    elif scenario == "burst":
        job = lambda: audio_burst(framework, url, args.responses)  # noqa: E731
    else:
        traced = scenario == "traced"
        job = lambda: idle_memory(framework, url, args.sessions, traced)  # noqa: E731
    print(json.dumps(asyncio.run(job())), flush=True)


# --- the orchestrator ------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[str]
    urls: dict[str, str] = field(default_factory=dict)


def run_worker(scenario: str, framework: str, url: str, **options: Any) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", scenario, "--framework", framework]
    command += ["--url", url, "--gc", GC_MODE]
    for key, value in options.items():
        command += [f"--{key}", str(value)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{scenario}/{framework} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0] if __doc__ else None,
    )
    parser.add_argument("--calls", type=int, default=400, help="tool calls measured per client")
    parser.add_argument("--warmup", type=int, default=25, help="first calls not counted")
    parser.add_argument(
        "--calls-per-session",
        type=int,
        default=50,
        help="tool calls in one session before the next starts (the history grows with them)",
    )
    parser.add_argument("--sessions", type=int, default=10, help="two-way audio sessions")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured audio window")
    parser.add_argument("--responses", type=int, default=10, help="answers in the burst run")
    parser.add_argument("--idle", type=int, default=50, help="idle sessions per framework")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--only", choices=("tools", "audio", "memory"), action="append", help="run only these"
    )
    parser.add_argument(
        "--gc",
        choices=("freeze", "default"),
        default="freeze",
        help="every client process freezes its startup heap (gc.freeze) before its "
        "workload (default), or leaves the collector as it is",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--framework", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    if args.worker:
        worker(args)
        return
    global GC_MODE
    GC_MODE = args.gc
    if args.quick:
        args.calls, args.warmup, args.sessions, args.seconds = 60, 10, 3, 3.0
        args.calls_per_session = 35
        args.responses, args.idle = 3, 10

    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.calls_per_session)],
        stdout=subprocess.PIPE,
        text=True,
    )
    server = Server(process)
    try:
        assert process.stdout is not None
        server.urls = json.loads(process.stdout.readline())
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server in its own process"
            " (CPU 0), each client in a fresh process (CPU 1); loopback; client gc: "
            f"{'gc.freeze() after startup (all three)' if args.gc == 'freeze' else 'default'}\n"
        )
        parts = args.only or ["tools", "audio", "memory"]
        if "tools" in parts:
            report_tools(server, args)
        if "audio" in parts:
            report_audio(server, args)
        if "memory" in parts:
            report_memory(server, args)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


def report_tools(server: Server, args: argparse.Namespace) -> None:
    rows: dict[str, list[list[float]]] = {}
    sessions = -(-(args.calls + args.warmup) // args.calls_per_session)
    total = sessions * args.calls_per_session
    for framework in ("raw", "floor", *FRAMEWORKS):
        result = run_worker(
            "tool",
            framework,
            server.urls["tools"],
            sessions=sessions,
            calls=args.calls_per_session,
        )
        samples = result["samples"][args.warmup :]
        if result["calls"] < total or len(samples) < total - args.warmup - sessions:
            raise RuntimeError(f"{framework}: {result['calls']} calls, {len(samples)} samples")
        rows[framework] = samples
    floor_median = statistics.median(s[1] for s in rows["floor"]) * 1e6
    print(
        f"1. Tool turnaround: arguments.done reaches the client -> output / response.create "
        f"leave it ({len(rows['floor'])} calls per client after {args.warmup} warm-up, "
        f"{args.calls_per_session} per session; µs)"
    )
    header = (
        f"{'client':<15} {'->output p50':>12} {'p95':>7} {'p99':>7}   "
        f"{'->create p50':>12} {'p95':>7} {'p99':>7}   {'added p50':>9} {'p95':>7} {'p99':>7}"
    )
    print(header)
    print("-" * len(header))
    added: dict[str, list[float]] = {}
    for name, samples in rows.items():
        out = [s[0] * 1e6 for s in samples]
        create = [s[1] * 1e6 for s in samples]
        extra = [pct(create, q) - floor_median for q in (50, 95, 99)]
        added[name] = extra
        print(
            f"{name:<15} {pct(out, 50):>12.0f} {pct(out, 95):>7.0f} {pct(out, 99):>7.0f}   "
            f"{pct(create, 50):>12.0f} {pct(create, 95):>7.0f} {pct(create, 99):>7.0f}   "
            + " ".join(f"{v:>{w}.0f}" for v, w in zip(extra, (9, 7, 7), strict=True))
        )
    raw = statistics.median(s[1] for s in rows["raw"])
    print(
        "against the raw floor (bare asyncio socket, hand-cut frames, orjson; bench/rawfloor.py),"
        " p50 ->create: "
        + ", ".join(
            f"{name} {statistics.median(s[1] for s in rows[name]) / raw:.2f}x"
            for name in ("floor", *FRAMEWORKS)
        )
    )
    ours, peer = added["agentkit"], added["openai-agents"]
    ratios = [p / o if o > 0 else float("inf") for p, o in zip(peer, ours, strict=True)]
    print(
        f"openai-agents / agentkit added time: p50 {ratios[0]:.1f}x, p95 {ratios[1]:.1f}x, "
        f"p99 {ratios[2]:.1f}x"
    )
    print(
        f"goal: agentkit added p99 <= 1000 µs: {'MET' if ours[2] <= 1000 else 'MISSED'} "
        f"({ours[2]:.0f} µs); >= 5x lower than openai-agents: "
        f"{'MET' if ratios[2] >= 5 else 'MISSED'} ({ratios[2]:.1f}x at p99)\n"
    )


def report_audio(server: Server, args: argparse.Namespace) -> None:
    clients = ("floor", *FRAMEWORKS, "agentkit+otel")
    live = {
        f: run_worker("live", f, server.urls["live"], sessions=args.sessions, seconds=args.seconds)
        for f in clients
    }
    burst = {
        f: run_worker("burst", f, server.urls["burst"], responses=args.responses) for f in clients
    }
    print(
        f"2. Client CPU, two-way audio: {args.sessions} sessions x {args.seconds:g} s in real "
        "time (100 ms up every 100 ms, server speaking), then a downlink burst"
    )
    header = (
        f"{'client':<15} {'deltas':>7} {'appends':>8} {'CPU s':>7} {'ms CPU/sess-s':>14} "
        f"{'µs/delta*':>9}   {'burst deltas':>12} {'CPU s':>7} {'µs/delta':>9}"
    )
    print(header)
    print("-" * len(header))
    per_delta: dict[str, tuple[float, float]] = {}
    for name in clients:
        r, b = live[name], burst[name]
        session_seconds = r["sessions"] * r["wall_s"]
        live_us = r["cpu_s"] / max(1, r["deltas"]) * 1e6
        burst_us = b["cpu_s"] / max(1, b["deltas"]) * 1e6
        per_delta[name] = (live_us, burst_us)
        print(
            f"{name:<15} {r['deltas']:>7} {r['appends']:>8} {r['cpu_s']:>7.2f} "
            f"{r['cpu_s'] * 1000 / session_seconds:>14.2f} {live_us:>9.0f}   "
            f"{b['deltas']:>12} {b['cpu_s']:>7.2f} {burst_us:>9.0f}"
        )
    traced_live, _ = per_delta["agentkit+otel"]
    print(
        f"tracing (OpenTelemetry SDK, batch processor) over a real socket session: "
        f"+{(traced_live / per_delta['agentkit'][0] - 1) * 100:.1f}% client CPU per delta "
        f"(goal < 5%)"
    )
    (live_ours, burst_ours), (live_peer, burst_peer) = (per_delta[f] for f in FRAMEWORKS)
    live_floor, burst_floor = per_delta["floor"]
    print(
        f"agentkit / openai-agents CPU per delta: two-way {live_ours / live_peer:.2f}, "
        f"burst {burst_ours / burst_peer:.2f}; above the floor (framework's own work): "
        f"two-way {(live_ours - live_floor) / (live_peer - live_floor):.2f}, "
        f"burst {(burst_ours - burst_floor) / (burst_peer - burst_floor):.2f}"
    )
    print(
        "* two-way µs/delta: all client CPU in the window / audio deltas received (the uplink "
        "appends, timers and transcript deltas included); the burst isolates the downlink"
    )
    ratio = burst_ours / burst_peer
    print(
        f"goal: agentkit per-delta CPU (burst) <= 0.5 x openai-agents: "
        f"{'MET' if ratio <= 0.5 else 'MISSED'} ({ratio:.2f})\n"
    )


def report_memory(server: Server, args: argparse.Namespace) -> None:
    rss = {f: run_worker("rss", f, server.urls["live"], sessions=args.idle) for f in FRAMEWORKS}
    traced = {
        f: run_worker("traced", f, server.urls["live"], sessions=args.idle) for f in FRAMEWORKS
    }
    print(f"3. Memory per idle session ({args.idle} sessions, each with a draining task; KiB)")
    header = f"{'client':<15} {'RSS/session':>12} {'tracemalloc/session':>20}"
    print(header)
    print("-" * len(header))
    for name in FRAMEWORKS:
        print(
            f"{name:<15} {rss[name]['rss_per_session'] / 1024:>12.1f} "
            f"{traced[name]['traced_per_session'] / 1024:>20.1f}"
        )
    ours, peer = (traced[f]["traced_per_session"] for f in FRAMEWORKS)
    ours_rss, peer_rss = (rss[f]["rss_per_session"] for f in FRAMEWORKS)
    print(
        f"openai-agents / agentkit: tracemalloc {peer / ours:.1f}x, RSS {peer_rss / ours_rss:.1f}x"
    )


if __name__ == "__main__":
    main()
