"""What tracing costs a live call: CPU per session-second of two-way audio, in one run.

A session-second is what the runtime does for one second of a conversation in which both
sides talk: the caller's 50 frames of 20 ms audio sent with `session.send_audio`, the
model's 20 audio deltas of 50 ms and a few transcript deltas delivered to the app, and
every fourth second (`--turn-every`) a turn boundary (speech started/stopped, `response.created`, the
transcript, `response.done` with usage; the caller's speech cuts the previous answer's
playback, so a truncation too).

**session** (the figure that matters) runs the whole pump: a `RealtimeSession` from a
`RealtimeRunner` over the in-memory transport pair, its read loop, timer loop, flushes and
event queue, an app task iterating the events, and a feeder playing the server (pre-encoded
frames pushed into the pair; the client's frames are left unread, so the server side costs
next to nothing). **core** feeds the same frames to the sans-I/O `Supervisor` alone, which
reports to the tracer as in the session: the tracer's share of the smallest possible base.

Modes, over the same frames:

* **off**: `TracingConfig(enabled=False)`;
* **unconfigured**: the default (`tracing=None`) with no SDK installed, what most apps get:
  the session finds no provider and runs without a tracer (session only);
* **no-op**: a tracer on OpenTelemetry's no-op providers, injected explicitly;
* **sdk**: the OpenTelemetry SDK with a `BatchSpanProcessor` into an in-memory exporter and
  an in-memory metric reader, with the default `TracingConfig` (turn and response spans
  handed to the SDK in groups: `defer_spans=16`); **sdk 1-by-1** the same with
  `defer_spans=1`, each span handed over as it ends. The batch processor is what production runs (and what
  `setup_tracing("otlp")` installs): a span's end only queues it, the export runs in the
  processor's thread. That thread's CPU still counts (`time.process_time` is the whole
  process's); only an exporter's network I/O is left out. `SimpleSpanProcessor`, which
  exports on the session's thread, measured the same within noise (2 spans per turn).

Each figure is the median of `--repeat` runs (modes interleaved, so drift hits each alike,
after one unmeasured warm-up round); the overhead is relative to **off**, and "paired" is
the median of each repeat's ratio to the **off** run of the same repeat. The goal is under
5 %.

Run: `.venv/bin/python bench/tracing.py` (`--quick` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import orjson
import pybase64
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentkit.agent import RealtimeAgent
from agentkit.events import AudioOut
from agentkit.runner import RealtimeRunner
from agentkit.runtime.supervisor import Supervisor
from agentkit.tracing import Instrumentation, SessionTracer, TracingConfig
from agentkit.transports import memory_transport_pair

CALLER_FRAME = b"\x00\x01" * 480  # 20 ms of PCM16 at 24 kHz
MODEL_DELTA = b"\x00\x01" * 1200  # 50 ms
DELTAS_PER_SECOND = 20


def wire(event: dict[str, object]) -> str:
    return orjson.dumps(event).decode()


def second_of_frames(second: int, turn_every: int = 4) -> list[str]:
    """The server frames of one session-second; every `turn_every`-th second has a turn
    boundary."""
    turn = second // turn_every
    rid, item = f"resp_{turn}", f"item_a{turn}"
    frames: list[str] = []
    if second % turn_every == 0:
        user = f"item_u{turn}"
        frames += [
            wire(
                {"type": "input_audio_buffer.speech_started", "item_id": user, "audio_start_ms": 0}
            ),
            wire(
                {"type": "input_audio_buffer.speech_stopped", "item_id": user, "audio_end_ms": 900}
            ),
            wire({"type": "response.created", "response": {"id": rid, "status": "in_progress"}}),
            wire(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": user,
                    "content_index": 0,
                    "transcript": "I'd like to return my headphones please.",
                }
            ),
        ]
    audio = pybase64.b64encode(MODEL_DELTA).decode()
    for i in range(DELTAS_PER_SECOND):
        frames.append(
            wire(
                {
                    "type": "response.output_audio.delta",
                    "response_id": rid,
                    "item_id": item,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": audio,
                }
            )
        )
        if i % 4 == 0:
            frames.append(
                wire(
                    {
                        "type": "response.output_audio_transcript.delta",
                        "response_id": rid,
                        "item_id": item,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": "sure, one moment ",
                    }
                )
            )
    if second % turn_every == turn_every - 1:
        frames.append(
            wire(
                {
                    "type": "response.done",
                    "response": {
                        "id": rid,
                        "status": "completed",
                        "output": [],
                        "usage": {"input_tokens": 120, "output_tokens": 60},
                    },
                }
            )
        )
    return frames


def run_core(
    seconds: list[list[str]], make_tracer: Callable[[Callable[[], float]], SessionTracer | None]
) -> None:
    """One session through the supervisor alone, reporting to a tracer the way the session
    has it do (`Supervisor.observe_with`)."""
    clock = time.monotonic
    supervisor = Supervisor(RealtimeAgent(name="support", instructions="Help."))
    tracer = make_tracer(clock)
    supervisor.observe_with(tracer)
    supervisor.connecting()
    supervisor.connected()
    for frames in seconds:
        for _ in range(50):
            supervisor.send_audio(CALLER_FRAME)
        for frame in frames:
            supervisor.receive_frame(frame, clock())
            supervisor.data_to_send()
            supervisor.events_to_emit()
            supervisor.commands()
        supervisor.data_to_send()
    supervisor.disconnected()
    if tracer is not None:
        tracer.end()


def instrumented(config: TracingConfig) -> Callable[[Callable[[], float]], SessionTracer]:
    instrumentation = Instrumentation(config, environ={})

    def make(clock: Callable[[], float]) -> SessionTracer:
        return instrumentation.start_session(
            model="gpt-realtime",
            agent_name="support",
            transport="memory",
            dialect="ga",
            clock=clock,
        )

    return make


AGENT = RealtimeAgent(name="support", instructions="Help.")


async def run_sessions(seconds: list[list[str]], runner: RealtimeRunner[Any], count: int) -> None:
    """`count` sessions through the full pump, one after another."""
    for _ in range(count):
        client, server = memory_transport_pair()
        async with runner.session(client) as session:
            audio_seen = 0

            async def app() -> None:
                nonlocal audio_seen
                async for event in session:
                    if type(event) is AudioOut:
                        audio_seen += 1

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(app)
                expected = 0
                with anyio.fail_after(30):
                    for frames in seconds:
                        # The caller's second of audio and the model's, interleaved.
                        for index, frame in enumerate(frames):
                            await server.send_frame(frame)
                            if index % 2 == 0:
                                for _ in range(2):
                                    await session.send_audio(CALLER_FRAME)
                        expected += DELTAS_PER_SECOND
                        while audio_seen < expected:  # let the session catch up
                            await anyio.sleep(0)
                tasks.cancel_scope.cancel()  # the app stops listening; the session closes
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--session-seconds", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=5, help="sessions per measurement")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--turn-every", type=int, default=4, help="seconds between turn boundaries (>= 2)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.session_seconds, args.sessions, args.repeat = 8, 1, 1

    seconds = [second_of_frames(s, args.turn_every) for s in range(args.session_seconds)]
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    sdk = TracingConfig(tracer_provider=tracer_provider, meter_provider=meter_provider)
    sdk_one_by_one = TracingConfig(
        tracer_provider=tracer_provider, meter_provider=meter_provider, defer_spans=1
    )
    no_op = TracingConfig(
        tracer_provider=trace.NoOpTracerProvider(), meter_provider=metrics.NoOpMeterProvider()
    )
    runners: dict[str, RealtimeRunner[Any]] = {
        "off": RealtimeRunner(AGENT, tracing=TracingConfig(enabled=False)),
        "unconfigured": RealtimeRunner(AGENT),
        "no-op": RealtimeRunner(AGENT, tracing=no_op),
        "sdk": RealtimeRunner(AGENT, tracing=sdk),
        "sdk 1-by-1": RealtimeRunner(AGENT, tracing=sdk_one_by_one),
    }
    cores: dict[str, Callable[[Callable[[], float]], SessionTracer | None]] = {
        "off": lambda clock: None,
        "no-op": instrumented(no_op),
        "sdk": instrumented(sdk),
        "sdk 1-by-1": instrumented(sdk_one_by_one),
    }
    total = args.session_seconds * args.sessions
    session_results: dict[str, list[float]] = {mode: [] for mode in runners}
    core_results: dict[str, list[float]] = {mode: [] for mode in cores}
    spans = 0.0
    for runner in runners.values():  # warm-up (imports, first-call costs), not measured
        anyio.run(run_sessions, seconds, runner, 1)
    for _ in range(args.repeat):
        for mode, runner in runners.items():
            exporter.clear()
            start = time.process_time()
            anyio.run(run_sessions, seconds, runner, args.sessions)
            if mode.startswith("sdk"):
                # The run's exports count in its CPU time: its spans, and one collection of
                # the metrics (a periodic reader's, every 60 s: these 5 sessions of 60 s, had
                # they run at once; the counters' observations are made then).
                tracer_provider.force_flush()
                reader.get_metrics_data()
            session_results[mode].append((time.process_time() - start) / total)
            if mode == "sdk":
                spans = len(exporter.get_finished_spans()) / args.sessions
        for mode, make in cores.items():
            exporter.clear()
            start = time.process_time()
            for _ in range(args.sessions):
                run_core(seconds, make)
            if mode.startswith("sdk"):
                tracer_provider.force_flush()
                reader.get_metrics_data()
            core_results[mode].append((time.process_time() - start) / total)

    print(
        f"CPU per session-second of two-way audio ({args.session_seconds} s sessions, "
        f"{args.sessions} per run, median of {args.repeat}, a turn every {args.turn_every} s); "
        f"sdk: {spans:.0f} spans per session"
    )
    for title, results in (("session", session_results), ("core", core_results)):
        base = statistics.median(results["off"])
        print(
            f"{title:<14}{'us/session-s':>14}{'overhead':>10}{'paired':>9}"
            f"{'paired q1-q3':>16}{'spread (min-max)':>19}"
        )
        for mode, values in results.items():
            median = statistics.median(values)
            spread = f"{min(values) * 1e6:.0f}-{max(values) * 1e6:.0f}"
            # Each repeat against the `off` run next to it: slow drift of the machine cancels.
            paired = [(v / o - 1) * 100 for v, o in zip(values, results["off"], strict=True)]
            q1, _, q3 = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired * 3
            print(
                f"  {mode:<12}{median * 1e6:>14.1f}{(median / base - 1) * 100:>9.2f}%"
                f"{statistics.median(paired):>8.2f}%{f'{q1:.2f}..{q3:.2f}%':>16}{spread:>19}"
            )


if __name__ == "__main__":
    main()
