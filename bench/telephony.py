"""Concurrent Twilio phone calls held by one process: the bridge (`agentkit.telephony`, under
uvicorn) and the local realtime server in the same event loop, as `agentkit serve` with the
embedded model would run.

Each simulated call is what Twilio does on a `<Connect><Stream>`: a signed WebSocket, then
caller audio as `media` messages of G.711 μ-law every `--chunk-ms` (Twilio: 20 ms), every
`mark` echoed at once (instant playback). The agent greets with a long answer paced in real
time (`pace="realtime"`), so both directions stream through the bridge for the whole window.

Reported per level:

- `held`: calls that stayed up and kept receiving the agent's audio through the window;
- `late p50/p99`: lateness of the agent's audio reaching "Twilio" (arrival of chunk k minus
  first arrival + k x chunk duration), which says whether the process keeps real time;
- `cpu ms/s`: the serving process's CPU milliseconds per call-second (from /proc), the figure
  that says how many calls one core carries;
- `conversions`: audio conversions (μ-law/A-law codec, resampling) made on the bridge's path
  during the window: the serving process counts every call of `agentkit.audio`'s converters
  whose stack passes through the bridge, session or transport code. The local server's own
  speech synthesis (the model's side) is not the bridge's path and is not counted. 0 is the
  proof that μ-law goes through untouched;
- `bytes in/out`: μ-law bytes Twilio sent / received in the window.

    .venv/bin/python bench/telephony.py                      # 50 100 200 calls, 10 s each
    .venv/bin/python bench/telephony.py --levels 200 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pybase64
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-twilio-token"
LONG_REPLY = (
    "Thanks for calling Northwind Goods. I can help with orders, returns and purchases. "
    "Your last payment arrived on time, your plan renews next month, and there are no open "
    "tickets on your account. While I look that up, could you tell me the phone number on "
    "your account, and one of your order numbers, digit by digit please?"
)


# -- the serving process -----------------------------------------------------------------------

def _count_conversions() -> list[int]:
    """Wrap `agentkit.audio`'s converters to count the calls made on the bridge's path."""
    import inspect

    from agentkit import audio

    counter = [0]
    model_side = str(ROOT / "agentkit" / "server")
    bridge_paths = (
        str(ROOT / "agentkit" / "telephony"),
        str(ROOT / "agentkit" / "session"),
        str(ROOT / "agentkit" / "transports"),
        str(ROOT / "agentkit" / "runtime"),
    )

    def _on_bridge_path() -> bool:
        # The local server (the model's side: its VAD, its speech synthesis) is not the
        # bridge's path, even where its frames are parsed by the shared transports/frames.py.
        files = []
        frame = inspect.currentframe()
        while frame is not None:
            files.append(frame.f_code.co_filename)
            frame = frame.f_back
        if any(f.startswith(model_side) for f in files):
            return False
        return any(f.startswith(bridge_paths) for f in files)

    def counted(name: str) -> None:
        original = getattr(audio, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            if _on_bridge_path():
                counter[0] += 1
            return original(*args, **kwargs)

        setattr(audio, name, wrapper)

    for name in ("convert", "ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode", "resample",
                 "decode_to_pcm16", "encode_from_pcm16"):
        counted(name)
    original_init = audio.Converter.__init__

    def converter_init(self: object, *args: object, **kwargs: object) -> None:
        if _on_bridge_path():
            counter[0] += 1
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]

    audio.Converter.__init__ = converter_init  # type: ignore[method-assign]
    # The counter must see a conversion made from the bridge's code, or its 0 proves nothing.
    probe = compile("audio.convert(bytes(320), 'pcm16', 'g711_ulaw')", bridge_paths[0] + "/probe.py", "exec")
    exec(probe, {"audio": audio})
    assert counter[0] >= 1, "the conversion counter does not see the bridge's path"
    counter[0] = 0
    return counter


async def _serve() -> None:
    conversions = _count_conversions()
    from agentkit import RealtimeAgent, RealtimeRunner
    from agentkit.server import LocalRealtimeServer
    from agentkit.settings import SessionSettings
    from agentkit.telephony import TelephonyConfig, app
    from agentkit.telephony.serving import bind, serve

    script = {"turns": [], "fallback": LONG_REPLY, "greeting": [{"say": LONG_REPLY}]}
    async with LocalRealtimeServer(script=script, pace="realtime", speech_engine="synthetic",
                                   response_latency=0.0, audio_chunk_ms=100) as server:
        settings = SessionSettings(input_audio_format="g711_ulaw", output_audio_format="g711_ulaw")
        runner = RealtimeRunner(RealtimeAgent("desk", instructions="Help."), settings=settings)
        sock = bind()
        host, port = sock.getsockname()[:2]
        config = TelephonyConfig(public_url=f"http://{host}:{port}", realtime_url=server.url,
                                 api_key="sk-bench", twilio_auth_token=TOKEN)
        async with serve(app(runner, config), sock):
            print(port, flush=True)
            loop = asyncio.get_running_loop()
            # "count" on stdin: report the conversions so far; EOF: stop.
            while await loop.run_in_executor(None, sys.stdin.readline):
                print(conversions[0], flush=True)


# -- the load generator ------------------------------------------------------------------------

@dataclass
class Call:
    lateness: list[float] = field(default_factory=list)
    received: int = 0
    sent: int = 0
    first: float | None = None
    received_ms: float = 0.0
    alive: bool = True
    last: float = 0.0


async def _call(url: str, call: Call, chunk_ms: int, stop: asyncio.Event, measuring: list[bool]) -> None:
    from agentkit.telephony import sign_twilio

    sid = "MZ" + os.urandom(16).hex()
    payload = pybase64.b64encode(b"\xff" * (8 * chunk_ms)).decode()  # μ-law silence
    media = orjson.dumps({"event": "media", "streamSid": sid, "media": {"track": "inbound", "payload": payload}}).decode()
    try:
        async with websockets.connect(url, additional_headers={"X-Twilio-Signature": sign_twilio(TOKEN, url, ())},
                                      compression=None, max_queue=None) as ws:
            await ws.send(orjson.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}).decode())
            await ws.send(orjson.dumps({"event": "start", "streamSid": sid, "start": {"streamSid": sid, "callSid": "CA" + sid[2:]}}).decode())

            async def read() -> None:
                async for raw in ws:
                    now = time.monotonic()
                    if raw.startswith('{"event":"media"'):
                        data = pybase64.b64decode(orjson.loads(raw)["media"]["payload"])
                        if call.first is None:
                            call.first = now
                        elif measuring[0]:
                            call.lateness.append((now - call.first - call.received_ms / 1000) * 1000)
                        call.received_ms += len(data) / 8
                        if measuring[0]:
                            call.received += len(data)
                        call.last = now
                    elif raw.startswith('{"event":"mark"'):
                        await ws.send(raw)  # played at once

            reader = asyncio.get_running_loop().create_task(read())
            start = time.monotonic()
            k = 0
            while not stop.is_set():
                await ws.send(media)
                if measuring[0]:
                    call.sent += 8 * chunk_ms
                k += 1
                await asyncio.sleep(max(0.0, start + k * chunk_ms / 1000 - time.monotonic()))
            reader.cancel()
    except (OSError, websockets.exceptions.WebSocketException):
        call.alive = False


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _level(port: int, proc: subprocess.Popen[str], calls_n: int, seconds: float, chunk_ms: int) -> dict[str, object]:
    url = f"ws://127.0.0.1:{port}/twilio/media"
    stop = asyncio.Event()
    measuring = [False]
    calls = [Call() for _ in range(calls_n)]
    tasks = []
    for call in calls:  # ramp up: 20 calls at a time
        tasks.append(asyncio.get_running_loop().create_task(_call(url, call, chunk_ms, stop, measuring)))
        if len(tasks) % 20 == 0:
            await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)  # every greeting under way
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("count\n")
    proc.stdin.flush()
    conversions_before = int(proc.stdout.readline())
    cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
    measuring[0] = True
    await asyncio.sleep(seconds)
    measuring[0] = False
    cpu1, t1 = _cpu_seconds(proc.pid), time.monotonic()
    proc.stdin.write("count\n")
    proc.stdin.flush()
    conversions = int(proc.stdout.readline()) - conversions_before
    now = time.monotonic()
    held = sum(1 for c in calls if c.alive and c.first is not None and now - c.last < 1.0)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    late = sorted(x for c in calls for x in c.lateness)
    return {
        "calls": calls_n,
        "held": held,
        "late_p50": statistics.median(late) if late else float("nan"),
        "late_p99": late[int(len(late) * 0.99)] if late else float("nan"),
        "cpu_ms_per_call_s": (cpu1 - cpu0) * 1000 / (calls_n * (t1 - t0)),
        "cpu_cores": (cpu1 - cpu0) / (t1 - t0),
        "conversions": conversions,
        "bytes_in": sum(c.sent for c in calls),
        "bytes_out": sum(c.received for c in calls),
    }


async def _main(levels: list[int], seconds: float, chunk_ms: int) -> None:
    print(f"# {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; chunk {chunk_ms} ms; window {seconds:g} s")
    print(f"{'calls':>6} {'held':>5} {'late p50':>9} {'late p99':>9} {'cpu ms/s':>9} {'cores':>6} {'conversions':>11} {'bytes in':>10} {'bytes out':>10}")
    for calls_n in levels:
        proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            r = await _level(port, proc, calls_n, seconds, chunk_ms)
        finally:
            if proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
            proc.terminate()
            proc.wait(timeout=10)
        print(f"{r['calls']:>6} {r['held']:>5} {r['late_p50']:>7.0f}ms {r['late_p99']:>7.0f}ms "
              f"{r['cpu_ms_per_call_s']:>9.2f} {r['cpu_cores']:>6.2f} {r['conversions']:>11} {r['bytes_in']:>10} {r['bytes_out']:>10}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--chunk-ms", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve())
    else:
        asyncio.run(_main(args.levels, args.seconds, args.chunk_ms))


if __name__ == "__main__":
    main()
