"""The public surface of `agentkit` is small, sorted and importable."""

import agentkit

# The public API, pinned: adding or removing a name is a decision, made here on purpose
# (and in the changelog), never a side effect of moving code.
PUBLIC_API = [
    "AgentKitError",
    "ApprovalSettings",
    "AzureTransport",
    "CompileError",
    "ConfigError",
    "ConnectionClosed",
    "ControlFlowSignal",
    "DefinitionError",
    "Definitions",
    "DtmfHandoff",
    "DtmfReply",
    "DtmfToolCall",
    "FunctionTool",
    "GuardrailResult",
    "GuardrailSettings",
    "GuardrailTripped",
    "Handoff",
    "History",
    "HistoryItem",
    "HostedMCPTool",
    "InputGuardrail",
    "InputTranscription",
    "LiveOptions",
    "OutputGuardrail",
    "ProtocolError",
    "ProviderError",
    "QualityPolicy",
    "RealtimeAgent",
    "RealtimeRunner",
    "RealtimeSession",
    "RealtimeTracingConfig",
    "ReconnectFailed",
    "ReconnectPolicy",
    "RetentionRatioTruncation",
    "RunContext",
    "SemanticVad",
    "ServerVad",
    "SessionConfig",
    "SessionError",
    "SessionEvent",
    "SessionLimitError",
    "SessionLimits",
    "SessionSettings",
    "SessionStatus",
    "ToolArgumentsError",
    "ToolChoiceFunction",
    "ToolErrorFormatter",
    "ToolFailure",
    "ToolTimeoutError",
    "TracingConfig",
    "Transport",
    "TransportError",
    "UserError",
    "WebRTCTransport",
    "WebSocketTransport",
    "azure_transport",
    "blocked_regex",
    "blocked_terms",
    "build_session_config",
    "compile_agent_swap",
    "compile_agents",
    "compile_session_update",
    "handoff",
    "input_guardrail",
    "load_definitions",
    "load_definitions_from_string",
    "max_length",
    "memory_transport_pair",
    "output_guardrail",
    "render_session",
    "setup_tracing",
    "tool",
]


def test_the_public_api_is_exactly_the_pinned_list() -> None:
    assert agentkit.__all__ == PUBLIC_API


def test_public_knobs_live_in_public_modules() -> None:
    # Every exported name is defined in a module without a leading underscore, so the docs
    # and users can import it from where it lives.
    private = [
        f"{name} ({getattr(agentkit, name).__module__})"
        for name in agentkit.__all__
        if any(part.startswith("_") for part in getattr(agentkit, name).__module__.split("."))
    ]
    assert private == []


def test_all_is_sorted_and_unique() -> None:
    assert list(agentkit.__all__) == sorted(set(agentkit.__all__))


def test_every_exported_name_exists() -> None:
    missing = [name for name in agentkit.__all__ if not hasattr(agentkit, name)]
    assert missing == []


def test_one_exception_root() -> None:
    errors = [
        getattr(agentkit, n)
        for n in agentkit.__all__
        if isinstance(getattr(agentkit, n), type) and issubclass(getattr(agentkit, n), Exception)
    ]
    assert errors, "the package exports its exceptions"
    assert all(issubclass(e, agentkit.AgentKitError) for e in errors)


def test_tracing_config_names_do_not_collide() -> None:
    # `TracingConfig` is the OpenTelemetry configuration a runner takes; the service's own
    # session tracing (a `session.update` field) is `RealtimeTracingConfig`, as in the SDK.
    from agentkit.settings import RealtimeTracingConfig
    from agentkit.tracing import TracingConfig

    assert agentkit.TracingConfig is TracingConfig
    assert agentkit.RealtimeTracingConfig is RealtimeTracingConfig
    assert not hasattr(agentkit.settings, "TracingConfig")
