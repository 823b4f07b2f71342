"""`Instrumentation`: a runner's tracer, meter instruments and privacy choice, resolved once;
`start_session` makes each session's `SessionTracer`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from opentelemetry import metrics, trace

from .config import TracingConfig
from .conventions import CAPTURE_CONTENT_ENV
from .metrics import global_sdk_installed, metrics_for
from .tracer import SessionTracer

__all__ = ["Instrumentation"]


class Instrumentation:
    """A runner's tracer, meter instruments and privacy choice; `start_session` makes the
    per-session observer.

    Build one per runner (instruments are created here, once). The providers are resolved
    now, but a global provider set later still takes effect: OpenTelemetry's global proxies
    forward to whatever is installed when a span starts.

    Args:
        config: The providers and content capture (defaults: global providers, no content).
        environ: Where `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is read
            (`os.environ` by default; tests pass a dict).
    """

    def __init__(
        self, config: TracingConfig | None = None, *, environ: Mapping[str, str] | None = None
    ) -> None:
        config = config if config is not None else TracingConfig()
        self._explicit = config.tracer_provider is not None or config.meter_provider is not None
        tracer_provider = config.tracer_provider or trace.get_tracer_provider()
        meter_provider = config.meter_provider or metrics.get_meter_provider()
        self.tracer = tracer_provider.get_tracer("agentkit")
        self.metrics = metrics_for(meter_provider)
        self.defer_spans = config.defer_spans
        self.defer_max_s = config.defer_max_s
        capture = config.capture_content
        if capture is None:
            env = os.environ if environ is None else environ
            capture = env.get(CAPTURE_CONTENT_ENV, "").strip().lower() == "true"
        self.capture_content = capture

    @property
    def active(self) -> bool:
        """Whether a session started now would record anything: providers were injected, or
        an SDK (any provider other than the API's default proxy) is installed globally.

        Sessions check this when they start and skip tracing when it is false, so an app
        that never configured OpenTelemetry pays one `None` check per event, not the no-op
        API's calls. A global provider installed later is picked up by the next session.
        """
        return self._explicit or global_sdk_installed()

    def start_session(
        self,
        *,
        model: str,
        agent_name: str,
        transport: str,
        dialect: str,
        clock: Callable[[], float] = time.monotonic,
        session_id: str | None = None,
        provider: str = "openai",
    ) -> SessionTracer:
        """Open the session and starting-agent spans and count the session as active.

        Args:
            model: The realtime model (`gen_ai.request.model`).
            agent_name: The starting agent.
            transport: What carries the session (`websocket`, `webrtc`, `memory`...).
            dialect: `ga` or `beta`.
            clock: The session's monotonic clock (seconds), the one its events are timed by.
            session_id: The conversation id; `None` takes the service's from `session.created`.
            provider: `gen_ai.provider.name`.
        """
        return SessionTracer(
            self,
            model=model,
            agent_name=agent_name,
            transport=transport,
            dialect=dialect,
            clock=clock,
            session_id=session_id,
            provider=provider,
        )
