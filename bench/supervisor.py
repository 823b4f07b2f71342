"""What the sans-I/O core costs on its own: recorded sessions replayed through `Supervisor`.

No socket, no event loop, no task: the frames a `LocalRealtimeServer` sent to a real agentkit
session are recorded once (loopback, in process), then fed to a fresh `Supervisor` with
`receive_frame()`, draining `data_to_send()`, `events_to_emit()` and `commands()` after
every frame as the runtime does, and answering each `RunTool` at once with
`tool_finished()`. Two recordings:

* **tools**: one user turn answered by `--calls` tool calls in a row (the workload of
  `bench/runtime.py`'s tool turnaround): µs per call, and per frame type (decode + handle);
* **audio**: one long spoken answer at `fast` pace: µs per audio delta, the response's other
  events amortised in.

Fast to run (a few seconds), for iterating on the supervisor, history and decoder; confirm
with `bench/runtime.py`, which measures the whole client against a real socket.

Run: `.venv/bin/python bench/supervisor.py` (`--repeat N` replays, best and median reported).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentkit import RealtimeAgent, tool  # noqa: E402
from agentkit.protocol.decode import decode_server_event  # noqa: E402
from agentkit.runtime.supervisor import RunTool, Supervisor  # noqa: E402

LONG_REPLY = " ".join(
    ["Thanks for waiting. I have looked at your account and everything is in order."] * 8
)


@tool
async def ping() -> str:
    """Answer at once."""
    return "ok"


AGENT = RealtimeAgent(name="bench", instructions="Benchmark agent.", tools=[ping])


def tool_script(calls: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"call": "ping", "arguments": {}}] * calls
    return {"turns": [{"user": "go", "mode": "text", "steps": [*steps, {"say": "Done."}]}]}


async def record(script: dict[str, Any], stop_after_tools: int) -> list[str]:
    """The inbound frames of one session against the local server, until its first response
    after `stop_after_tools` tool calls ends."""
    from agentkit.runner import RealtimeRunner
    from agentkit.server import LocalRealtimeServer
    from agentkit.transports import WebSocketTransport

    frames: list[str] = []

    class Recording(WebSocketTransport):
        async def receive(self) -> str | bytes:
            frame = await super().receive()
            frames.append(frame if isinstance(frame, str) else frame.decode())
            return frame

    async with LocalRealtimeServer(script=script, pace="fast") as server:
        transport = Recording(server.url + "?model=gpt-realtime", api_key="x")
        async with RealtimeRunner(AGENT).session(transport) as session:
            await session.send_text("go")
            ended = 0
            async for event in session:
                if event.type == "tool_end":
                    ended += 1
                elif event.type == "agent_end" and ended >= stop_after_tools:
                    break
    return frames


def replay(frames: list[str], per_type: dict[str, list[float]] | None = None) -> float:
    """One fresh supervisor through `frames`, as the runtime drives it; seconds spent."""
    clock = time.perf_counter
    sup = Supervisor(AGENT)
    sup.connecting()
    sup.connected("Benchmark agent.", now=0.0)
    sup.send_text("go", 0.0)
    sup.data_to_send()
    sup.events_to_emit()
    sup.commands()
    total = 0.0
    for frame in frames:
        start = clock()
        sup.receive_frame(frame, 1.0)
        sup.data_to_send()
        sup.events_to_emit()
        commands = sup.commands()
        for command in commands:
            if type(command) is RunTool:
                sup.history.view()  # what the runtime gives the tool's RunContext
                sup.tool_finished(command.call_id, "ok")
                sup.data_to_send()
                sup.events_to_emit()
                sup.commands()
        sup.next_deadline()
        elapsed = clock() - start
        total += elapsed
        if per_type is not None:
            kind = decode_server_event(frame).type
            per_type[kind].append(elapsed)
    return total


def measure(frames: list[str], repeat: int) -> tuple[list[float], dict[str, list[float]]]:
    replay(frames)  # warm-up
    totals = []
    per_type: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        gc.collect()
        totals.append(replay(frames, per_type))
    return totals, per_type


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=50, help="tool calls in the recording")
    parser.add_argument("--repeat", type=int, default=30, help="replays of each recording")
    args = parser.parse_args()

    tool_frames = asyncio.run(record(tool_script(args.calls), args.calls))
    audio_frames = asyncio.run(
        record({"turns": [{"user": "go", "mode": "text", "steps": [{"say": LONG_REPLY}]}]}, 0)
    )
    gc.collect()
    gc.freeze()  # as bench/runtime.py's clients do after startup

    totals, per_type = measure(tool_frames, args.repeat)
    per_call = [t / args.calls * 1e6 for t in totals]
    print(
        f"tools: {len(tool_frames)} frames, {args.calls} calls, {args.repeat} replays; "
        f"µs per call: best {min(per_call):.0f}, median {statistics.median(per_call):.0f}"
    )
    print(f"  {'frame type':<44} {'count':>6} {'median µs':>10} {'µs/call':>8}")
    rows = sorted(per_type.items(), key=lambda kv: -sum(kv[1]))
    for kind, samples in rows:
        count = len(samples) // args.repeat
        print(
            f"  {kind:<44} {count:>6} {statistics.median(samples) * 1e6:>10.1f} "
            f"{sum(samples) / args.repeat / args.calls * 1e6:>8.1f}"
        )
    totals, per_type = measure(audio_frames, args.repeat)
    deltas = len(per_type["response.output_audio.delta"]) // args.repeat
    per_delta = [t / deltas * 1e6 for t in totals]
    audio_only = statistics.median(per_type["response.output_audio.delta"]) * 1e6
    print(
        f"audio: {len(audio_frames)} frames, {deltas} audio deltas; µs per delta (all frames "
        f"amortised): best {min(per_delta):.2f}, median {statistics.median(per_delta):.2f}; "
        f"one audio delta alone: median {audio_only:.2f}"
    )


if __name__ == "__main__":
    main()
