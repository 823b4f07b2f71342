"""The metric instruments of a meter provider: latency and duration histograms, and the
counters kept as in-process tallies (`Tally`) that the SDK reads when it collects.

`metrics_for(provider)` hands every `Instrumentation` using a provider the same `Metrics`;
`global_sdk_installed()` says whether an app installed SDK providers globally at all.
`AgentAttributes` keeps a session's metric point attributes, one set per agent.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.util.types import AttributeValue

from .conventions import (
    ACTIVE_SESSIONS,
    ERRORS,
    GEN_AI_AGENT_NAME,
    GUARDRAIL_TRIPS,
    HANDOFF_DURATION,
    INTERRUPTIONS,
    RECONNECTS,
    RESPONSE_LATENCY,
    TIME_TO_FIRST_AUDIO,
    TOOL_DURATION,
    TOOL_FAILURES,
)

__all__ = ["AgentAttributes", "Metrics", "Tally", "global_sdk_installed", "metrics_for"]

# The API's default global meter provider. Private (there is no public name for it): if a
# future API moves it, any meter provider counts as an SDK, which only costs no-op calls.
_PROXY_METER_PROVIDER: type[metrics.MeterProvider] | None
try:
    from opentelemetry.metrics._internal import _ProxyMeterProvider

    _PROXY_METER_PROVIDER = _ProxyMeterProvider
except ImportError:  # pragma: no cover
    _PROXY_METER_PROVIDER = None

# Conversational latencies live between 50 ms and a few seconds; the SDK's default buckets
# (0, 5, 10, 25 ... 10000) are meant for milliseconds and would put them all in two buckets.
_LATENCY_BUCKETS: Final = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]
_DURATION_BUCKETS: Final = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]


_TallyKey = tuple[tuple[str, AttributeValue], ...]


class Tally:
    """A counter kept in the process and reported through an asynchronous (observable)
    counter when the SDK collects.

    A synchronous `Counter.add` costs the SDK about 20 µs (a measurement object, its
    attributes cleaned, sorted and hashed, an aggregation under a lock), paid on the
    session's thread at every turn that counts something; a tally costs a dict update and
    the SDK's work moves to the collection (once per export interval, on the reader's
    thread). Exported the same way: a monotonic sum per attribute set.
    """

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._counts: dict[_TallyKey, int] = {}
        # Sessions may run on several event loops (threads); collection runs on another.
        self._lock = threading.Lock()

    def add(self, attributes: Mapping[str, AttributeValue]) -> None:
        key = tuple(attributes.items())
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def observe(self, options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        with self._lock:
            counts = list(self._counts.items())
        return [metrics.Observation(count, dict(key)) for key, count in counts]


class Metrics:
    """The instruments of one meter provider, shared by every `Instrumentation` using it (see
    `metrics_for`): an SDK meter hands a second registration of an instrument name the
    first one, callbacks included, so tallies must be shared as well."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.response_latency = meter.create_histogram(
            RESPONSE_LATENCY,
            unit="s",
            description="End of the caller's speech (or typed turn) to the agent's first audio.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self.time_to_first_audio = meter.create_histogram(
            TIME_TO_FIRST_AUDIO,
            unit="s",
            description="A response.create sent to the first audio of its response.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self.tool_duration = meter.create_histogram(
            TOOL_DURATION,
            unit="s",
            description="A tool call dispatched to its output sent.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.handoff_duration = meter.create_histogram(
            HANDOFF_DURATION,
            unit="s",
            description="A transfer call to the first audio of the agent it transferred to.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self.interruptions = self._counter(
            meter, INTERRUPTIONS, "Assistant audio cut off by a barge-in or the app."
        )
        self.guardrail_trips = self._counter(
            meter, GUARDRAIL_TRIPS, "Guardrails that stopped input or output."
        )
        self.reconnects = self._counter(meter, RECONNECTS, "Reconnect attempts, by outcome.")
        self.errors = self._counter(meter, ERRORS, "Errors the session survived, by code.")
        self.tool_failures = self._counter(
            meter, TOOL_FAILURES, "Tool calls that produced no result, by kind."
        )
        self.active_sessions = meter.create_up_down_counter(
            ACTIVE_SESSIONS, description="Sessions open now."
        )

    @staticmethod
    def _counter(meter: metrics.Meter, name: str, description: str) -> Tally:
        tally = Tally()
        meter.create_observable_counter(name, [tally.observe], description=description)
        return tally


# One `Metrics` per meter provider, for as long as the provider lives.
_METRICS: weakref.WeakKeyDictionary[metrics.MeterProvider, Metrics] = weakref.WeakKeyDictionary()
_METRICS_LOCK = threading.Lock()


class AgentAttributes:
    """One session's metric point attributes, by agent (and turn detection): `common` (the
    provider and model) and the agent's name.

    Args:
        common: The attributes every point of the session carries.
    """

    __slots__ = ("_attribute_sets", "_common")

    def __init__(self, common: Mapping[str, str]) -> None:
        self._common = common
        self._attribute_sets: dict[tuple[str, str | None], dict[str, str]] = {}

    def of(self, agent: str, detection: str | None = None) -> Mapping[str, str]:
        """A metric point's attributes, built once per agent (and turn detection): the SDK
        copies and hashes them on every point, they are never mutated."""
        key = (agent, detection)
        attributes = self._attribute_sets.get(key)
        if attributes is None:
            attributes = {**self._common, GEN_AI_AGENT_NAME: agent}
            if detection is not None:
                attributes["agentkit.turn.detection"] = detection
            self._attribute_sets[key] = attributes
        return attributes


def metrics_for(provider: metrics.MeterProvider) -> Metrics:
    with _METRICS_LOCK:
        try:
            found = _METRICS.get(provider)
        except TypeError:  # pragma: no cover - a provider that cannot be weakly referenced
            return Metrics(provider.get_meter("agentkit"))
        if found is None:
            found = _METRICS[provider] = Metrics(provider.get_meter("agentkit"))
        return found



def global_sdk_installed() -> bool:
    """Whether an SDK (any provider other than the API's default proxy) is installed
    globally, for traces or for metrics."""
    # Until an app calls `set_tracer_provider` / `set_meter_provider`, the API hands out
    # proxies that forward to nothing.
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return True
    return _PROXY_METER_PROVIDER is None or not isinstance(
        metrics.get_meter_provider(), _PROXY_METER_PROVIDER
    )
