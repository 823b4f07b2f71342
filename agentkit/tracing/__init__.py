"""OpenTelemetry traces and latency metrics of live sessions.

A `SessionTracer` watches one session the way the app does: it is fed the session's typed
events (and the decoded wire events, for what the session does not report: speech start and
stop, usage) and turns them into spans and metric points. A few hooks cover what no event
says: when a `response.create` went out, typed and push-to-talk turns, and the
context managers under which tools, handoff callbacks and guardrails run, so that their own
instrumented calls nest under the right span.

```
agentkit.session                         transport, dialect, model, conversation id, status
└── invoke_agent Triage                  one per stretch an agent is active
    └── agentkit.user_turn               speech start → stop (transcript: opt-in)
        └── generate_content gpt-realtime   one per response: id, status, usage, TTFA
            ├── execute_tool lookup_order   name, call id, error/timeout/cancelled
            ├── agentkit.tool_approval      approved, by
            ├── agentkit.handoff            from, to; until the new agent speaks
            └── agentkit.guardrails         stage, names, tripped
```

`agentkit.reconnect` spans sit under the session span. Interruptions and truncations are span
events of the response they cut. Nothing is recorded per audio frame, and audio frames do not
even reach the tracer: the session's `Supervisor` reports to it only the events it reads
(`Supervisor.observe_with`), and of an item's audio only its first chunk. Turn and response
spans reach the SDK in groups, with their real times (`TracingConfig.defer_spans`): the SDK's
per-span work, most of tracing's cost, runs warm that way.

Privacy: transcripts, tool arguments and results, guardrail texts and refusal messages are
recorded only with `TracingConfig(capture_content=True)` (or the environment variable
`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`, the GenAI instrumentations'
switch). Audio never is.

Where things are:

| module | what |
| --- | --- |
| `config` | `TracingConfig` (what a runner's sessions record), `setup_tracing` (SDK exporters) |
| `instrumentation` | `Instrumentation`: a runner's tracer, instruments and privacy choice |
| `tracer` | `SessionTracer`: one session's spans and metric points |
| `turns`, `tools`, `handoffs`, `guardrails`, `reconnects` | the tracer's parts: caller turn (and its response latency), tool and approval, transfer, guardrail round, reconnect spans |
| `payloads` | what the tracer reads of wire payloads (token usage, VAD silence) |
| `session_span` | the session's root span, its events and final status |
| `records` | what the tracer holds of an open turn or response |
| `latency` | response latency, defined once (`ResponseLatency`), read by the tracer and by the console's `agentkit.cli.latency.LatencyMeter` |
| `metrics` | the instruments (histograms, counters kept as tallies) |
| `deferred` | spans handed to the SDK in groups |
| `conventions` | span, metric and attribute names; the privacy switch |

Names follow the OpenTelemetry GenAI semantic conventions (`gen_ai.*`, checked against
`opentelemetry-semantic-conventions` by the tests) where one exists, `agentkit.*` otherwise.
The tracer and meter come from the global providers unless the `TracingConfig` injects its
own. A session started with neither injected providers nor an SDK installed runs without a
`SessionTracer` at all (`Instrumentation.active`), so unconfigured apps pay one `None` check
per event.
"""

from __future__ import annotations

from .config import ExporterName, TracingConfig, TracingSetup, setup_tracing
from .conventions import *  # noqa: F403 - the names, as `agentkit.tracing.X` always offered them
from .conventions import CAPTURE_CONTENT_ENV, RESPONSE_CREATE_PREFIX
from .guardrails import GuardrailCheck
from .handoffs import HandoffCall
from .instrumentation import Instrumentation
from .latency import ResponseLatency
from .tracer import SessionTracer

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "RESPONSE_CREATE_PREFIX",
    "ExporterName",
    "GuardrailCheck",
    "HandoffCall",
    "Instrumentation",
    "ResponseLatency",
    "SessionTracer",
    "TracingConfig",
    "TracingSetup",
    "setup_tracing",
]
