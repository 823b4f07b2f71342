"""What tracing costs a live call: CPU per session-second of two-way audio, in one run.

A session-second is what the runtime does for one second of a conversation in which both
sides talk: the caller's 50 frames of 20 ms audio encoded and queued, the model's 20 audio
deltas of 50 ms decoded and handled by the real `Supervisor`, a few transcript deltas, and
every fourth second a turn boundary (speech started/stopped, `response.created`, the
transcript, `response.done` with usage). No sockets: the figure is the runtime's own CPU,
the part tracing adds to.

Three modes over the same frames:

* **off**: no `SessionTracer` at all (what `TracingConfig(enabled=False)` gives);
* **no-op**: a `SessionTracer` on OpenTelemetry's no-op providers (what an app that never
  configured an SDK gets by default);
* **sdk**: the OpenTelemetry SDK with a `SimpleSpanProcessor` into an in-memory exporter and
  an in-memory metric reader (the exporter's own I/O is left out: it runs in the batch
  processor's thread in production).

The tracer is fed the way the runtime integration does: every decoded wire event before the
supervisor handles it, every session event as delivered, every sent frame. Sessions are
`--session-seconds` long, so session start and end are counted too. Each figure is the median
of `--repeat` runs; the overhead is relative to **off**. The goal is under 5 %.

Run: `.venv/bin/python bench/tracing.py`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pybase64
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentkit import protocol as p
from agentkit._supervisor import Supervisor
from agentkit.agent import RealtimeAgent
from agentkit.tracing import Instrumentation, SessionTracer, TracingConfig

CALLER_FRAME = b"\x00\x01" * 480  # 20 ms of PCM16 at 24 kHz
MODEL_DELTA = b"\x00\x01" * 1200  # 50 ms


def wire(event: dict[str, object]) -> str:
    return orjson.dumps(event).decode()


def second_of_frames(second: int) -> list[str]:
    """The server frames of one session-second; every fourth second has a turn boundary."""
    rid, item = f"resp_{second // 4}", f"item_a{second // 4}"
    frames: list[str] = []
    if second % 4 == 0:
        user = f"item_u{second // 4}"
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
    for i in range(20):
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
    if second % 4 == 3:
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


def run_session(
    seconds: list[list[str]], make_tracer: Callable[[Callable[[], float]], SessionTracer | None]
) -> None:
    """One session through the supervisor, fed to a tracer the way the runtime would."""
    clock = time.monotonic
    supervisor = Supervisor(RealtimeAgent(name="support", instructions="Help."))
    tracer = make_tracer(clock)
    supervisor.connecting()
    supervisor.connected()
    for frames in seconds:
        for _ in range(50):
            supervisor.send_audio(CALLER_FRAME)
        for frame in frames:
            event = p.decode_server_event(frame)
            if tracer is not None:
                tracer.observe(event)
            supervisor.receive_event(event, clock())
            sent = supervisor.data_to_send()
            delivered = supervisor.events_to_emit()
            supervisor.commands()
            if tracer is not None:
                for out in sent:
                    tracer.frame_sent(out)
                for session_event in delivered:
                    tracer.observe(session_event)
        sent = supervisor.data_to_send()
        if tracer is not None:
            for out in sent:
                tracer.frame_sent(out)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--session-seconds", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=5, help="sessions per measurement")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    seconds = [second_of_frames(s) for s in range(args.session_seconds)]
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    modes: dict[str, Callable[[Callable[[], float]], SessionTracer | None]] = {
        "off": lambda clock: None,
        "no-op": instrumented(
            TracingConfig(
                tracer_provider=trace.NoOpTracerProvider(),
                meter_provider=metrics.NoOpMeterProvider(),
            )
        ),
        "sdk": instrumented(
            TracingConfig(
                tracer_provider=tracer_provider,
                meter_provider=MeterProvider(metric_readers=[reader]),
            )
        ),
    }
    results: dict[str, list[float]] = {mode: [] for mode in modes}
    total = args.session_seconds * args.sessions
    for _ in range(args.repeat):
        # Interleaved, so drift (thermal, other load) hits every mode alike.
        for mode, make in modes.items():
            exporter.clear()
            start = time.process_time()
            for _ in range(args.sessions):
                run_session(seconds, make)
            results[mode].append((time.process_time() - start) / total)
    spans = len(exporter.get_finished_spans()) / args.sessions

    base = statistics.median(results["off"])
    print(
        f"CPU per session-second of two-way audio ({args.session_seconds} s sessions, "
        f"{args.sessions} per run, median of {args.repeat}); sdk: {spans:.0f} spans per session"
    )
    print(f"{'mode':<8}{'us/session-s':>14}{'overhead':>10}")
    for mode, values in results.items():
        median = statistics.median(values)
        print(f"{mode:<8}{median * 1e6:>14.1f}{(median / base - 1) * 100:>9.2f}%")


if __name__ == "__main__":
    main()
