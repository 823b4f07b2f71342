"""How tracing is configured: `TracingConfig`, what a runner's sessions record and where it
goes, and `setup_tracing`, which installs SDK providers exporting to the console or to an
OTLP collector (for `agentkit run --trace` and scripts).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TextIO

from opentelemetry import metrics, trace

from ..errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

__all__ = ["ExporterName", "TracingConfig", "TracingSetup", "setup_tracing"]


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """How a runner's sessions are traced.

    Attributes:
        enabled: `False` skips instrumentation entirely (not even no-op calls).
        tracer_provider: Where spans go; the global provider when `None`.
        meter_provider: Where metric points go; the global provider when `None`.
        capture_content: Record transcripts, tool arguments and results in spans. `None`
            reads `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (off unless `true`).
            Audio is never recorded.
        defer_spans: Hand the spans of turns and responses (and the latency samples of
            their turns) to the SDK in groups of this many, with their real times, instead
            of one by one as each ends. At a turn every few seconds the SDK's code runs cold
            every time, and a group costs about a third less CPU. `1` hands each over as it
            ends (what `setup_tracing("console")` asks for, to watch spans live). A span that
            something needs live (the parent of a tool call's span) is made at once.
        defer_max_s: How long the oldest of a group may wait (the session's clock) before
            the group goes anyway, for a session gone quiet; a session's end sends the rest.
    """

    enabled: bool = True
    tracer_provider: trace.TracerProvider | None = None
    meter_provider: metrics.MeterProvider | None = None
    capture_content: bool | None = None
    defer_spans: int = 16
    defer_max_s: float = 30.0

    def __post_init__(self) -> None:
        if type(self.defer_spans) is not int or self.defer_spans < 1:
            raise ConfigError(f"defer_spans must be an integer >= 1, got {self.defer_spans!r}")
        if not self.defer_max_s > 0:
            raise ConfigError(f"defer_max_s must be > 0 seconds, got {self.defer_max_s!r}")



ExporterName = Literal["console", "otlp", "none"]


@dataclass(slots=True)
class TracingSetup:
    """SDK providers made by `setup_tracing`; call `shutdown()` before exiting so the last
    spans and metric points are exported."""

    tracer_provider: SdkTracerProvider | None = None
    meter_provider: SdkMeterProvider | None = None
    defer_spans: int = 16
    _closed: bool = field(default=False, repr=False)

    @property
    def config(self) -> TracingConfig:
        """A `TracingConfig` that sends a runner's sessions to these providers."""
        return TracingConfig(
            enabled=self.tracer_provider is not None,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            defer_spans=self.defer_spans,
        )

    def shutdown(self) -> None:
        """Flush and close the exporters (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def setup_tracing(
    exporter: ExporterName | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    set_global: bool = True,
) -> TracingSetup:
    """Install OpenTelemetry SDK providers exporting to the console or to an OTLP collector,
    for `agentkit run --trace console|otlp` and for scripts.

    Args:
        exporter: `console`, `otlp` or `none`; `None` reads `OTEL_TRACES_EXPORTER` (and does
            nothing when it is unset). `OTEL_SDK_DISABLED=true` turns everything off.
        environ: The environment (`os.environ` by default). The SDK itself reads the other
            standard variables: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
            `OTEL_EXPORTER_OTLP_ENDPOINT` / `_HEADERS`, `OTEL_METRIC_EXPORT_INTERVAL`...
        out: Where the console exporter writes (stderr by default, so it does not mix with a
            console UI on stdout).
        set_global: Also install the providers globally, so tools' own instrumented calls
            (HTTP clients, databases) join the session's traces.

    Raises:
        ConfigError: `otlp` without the `otlp` extra installed, or an unknown exporter name.
    """
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return TracingSetup()
    name = exporter if exporter is not None else env.get("OTEL_TRACES_EXPORTER", "none")
    name = name.strip().lower()
    if name == "none":
        return TracingSetup()
    if name not in ("console", "otlp"):
        raise ConfigError(f"unknown trace exporter {name!r}: use console, otlp or none")

    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
        SpanExporter,
    )

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "agentkit"}))
    span_exporter: SpanExporter
    metric_exporter: MetricExporter
    processor: SpanProcessor
    if name == "console":
        stream = out if out is not None else sys.stderr
        span_exporter = ConsoleSpanExporter(out=stream)
        metric_exporter = ConsoleMetricExporter(out=stream)
        processor = SimpleSpanProcessor(span_exporter)
    else:
        # Imported by name: the exporter is the optional `otlp` extra, absent from most
        # installs (and from the type checker's view of them).
        try:
            traces = importlib.import_module(
                "opentelemetry.exporter.otlp.proto.http.trace_exporter"
            )
            metrics_module = importlib.import_module(
                "opentelemetry.exporter.otlp.proto.http.metric_exporter"
            )
        except ImportError as exc:
            raise ConfigError(
                "--trace otlp needs the OTLP exporter: pip install 'agentkit[otlp]'"
            ) from exc
        span_exporter = traces.OTLPSpanExporter()
        metric_exporter = metrics_module.OTLPMetricExporter()
        processor = BatchSpanProcessor(span_exporter)
    tracer_provider = SdkTracerProvider(resource=resource)
    tracer_provider.add_span_processor(processor)
    meter_provider = SdkMeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter)]
    )
    if set_global:
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
    # On the console someone watches spans as they come: no groups (`defer_spans`).
    return TracingSetup(tracer_provider, meter_provider, defer_spans=1 if name == "console" else 16)
