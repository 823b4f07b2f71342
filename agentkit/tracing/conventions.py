"""The names tracing writes: span and metric names, attribute keys, and the privacy switch.

Names follow the OpenTelemetry GenAI semantic conventions (`gen_ai.*`) where one exists,
`agentkit.*` otherwise. The GenAI ones are spelled out here rather than imported: the module
that holds them is `_incubating` and moves between releases; `tests/tracing/test_conventions.py`
checks every one against the installed `opentelemetry-semantic-conventions`.

Privacy: transcripts, tool arguments and results, guardrail texts and refusal messages are
content, recorded only when content capture is on (`TracingConfig.capture_content`, or
`CAPTURE_CONTENT_ENV=true`). Audio never is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypeGuard

__all__ = [
    "ACTIVE_SESSIONS",
    "APPROVAL_SPAN",
    "CAPTURE_CONTENT_ENV",
    "ERRORS",
    "ERROR_TYPE",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_OUTPUT_TYPE",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_RESPONSE_FINISH_REASONS",
    "GEN_AI_RESPONSE_ID",
    "GEN_AI_TOOL_CALL_ARGUMENTS",
    "GEN_AI_TOOL_CALL_ID",
    "GEN_AI_TOOL_CALL_RESULT",
    "GEN_AI_TOOL_NAME",
    "GEN_AI_TOOL_TYPE",
    "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "GUARDRAILS_SPAN",
    "GUARDRAIL_TRIPS",
    "HANDOFF_DURATION",
    "HANDOFF_SPAN",
    "INTERRUPTIONS",
    "RECONNECTS",
    "RECONNECT_SPAN",
    "RESPONSE_CREATE_PREFIX",
    "RESPONSE_LATENCY",
    "RESPONSE_LATENCY_ATTRIBUTE",
    "SESSION_SPAN",
    "TIME_TO_FIRST_AUDIO",
    "TOOL_DURATION",
    "TOOL_FAILURES",
    "USER_TURN_SPAN",
    "TurnDetection",
    "error_type",
    "is_object",
]

CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The environment variable that turns content capture on when `capture_content` is unset
(the same switch the OpenTelemetry GenAI instrumentations read)."""

# --- attribute names ------------------------------------------------------------------------
# GenAI semantic conventions (opentelemetry-semantic-conventions 0.66b2).
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
ERROR_TYPE: Final = "error.type"

# Span and metric names.
SESSION_SPAN: Final = "agentkit.session"
USER_TURN_SPAN: Final = "agentkit.user_turn"
HANDOFF_SPAN: Final = "agentkit.handoff"
GUARDRAILS_SPAN: Final = "agentkit.guardrails"
APPROVAL_SPAN: Final = "agentkit.tool_approval"
RECONNECT_SPAN: Final = "agentkit.reconnect"

RESPONSE_LATENCY: Final = "agentkit.turn.response_latency"
TIME_TO_FIRST_AUDIO: Final = "agentkit.response.time_to_first_audio"
TOOL_DURATION: Final = "agentkit.tool.duration"
HANDOFF_DURATION: Final = "agentkit.handoff.duration"
INTERRUPTIONS: Final = "agentkit.interruptions"
GUARDRAIL_TRIPS: Final = "agentkit.guardrail.trips"
RECONNECTS: Final = "agentkit.reconnects"
ERRORS: Final = "agentkit.errors"
TOOL_FAILURES: Final = "agentkit.tool.failures"
ACTIVE_SESSIONS: Final = "agentkit.sessions.active"

RESPONSE_LATENCY_ATTRIBUTE: Final = "agentkit.turn.response_latency_s"
"""The response span attribute holding its turn's response latency (the same number as the
`RESPONSE_LATENCY` histogram's point; see `agentkit.tracing.latency`)."""

RESPONSE_CREATE_PREFIX: Final = '{"type":"response.create"'
"""How a `response.create` frame starts, as `protocol.encode_response_create` writes it (the
`type` key first, pinned by a test): the only client frame `SessionTracer.frame_sent` reads.
The session may skip the others (every audio append) before calling it."""

TurnDetection = Literal["server_vad", "text", "push_to_talk"]
"""How a caller turn ended: server VAD heard silence, typed text was sent, push-to-talk
was released."""


def is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    """A JSON object: a dict as decoded (checked first: a `Mapping` check is an ABC's, ten
    times slower), or any other mapping."""
    return type(value) is dict or (value is not None and isinstance(value, Mapping))


def error_type(error: BaseException) -> str:
    """The `error.type` of an exception: its provider code if it has one, else its class."""
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else type(error).__name__
