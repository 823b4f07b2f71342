"""agentkit: realtime voice agents on the OpenAI Realtime protocol.

Declare agents in Python or YAML, compile them to `session.update` payloads (GA or beta), and
run them against the service or the embedded local server.

`import agentkit` loads what defining and compiling agents needs; the runtime (runner,
session, transports, tracing), the YAML loader and the WebRTC stack (aiortc, PyAV) load on
first use of their names, so a process pays for what it uses.
"""

from typing import TYPE_CHECKING

from .agent import RealtimeAgent
from .compiler import (
    SessionConfig,
    build_session_config,
    compile_agent_swap,
    compile_agents,
    compile_session_update,
    render_session,
)
from .context import RunContext
from .errors import (
    AgentKitError,
    CompileError,
    ConfigError,
    ConnectionClosed,
    ControlFlowSignal,
    DefinitionError,
    GuardrailTripped,
    ProtocolError,
    ProviderError,
    ReconnectFailed,
    SessionError,
    SessionLimitError,
    ToolArgumentsError,
    ToolTimeoutError,
    TransportError,
    UserError,
)
from .guardrails import (
    GuardrailResult,
    InputGuardrail,
    OutputGuardrail,
    blocked_regex,
    blocked_terms,
    input_guardrail,
    max_length,
    output_guardrail,
)
from .handoffs import Handoff, handoff
from .history import History, HistoryItem
from .lazy import lazy_exports
from .policy import (
    ApprovalSettings,
    GuardrailSettings,
    QualityPolicy,
    ReconnectPolicy,
    SessionLimits,
    ToolErrorFormatter,
    ToolFailure,
)
from .protocol.live_config import LiveOptions
from .settings import (
    InputTranscription,
    RealtimeTracingConfig,
    RetentionRatioTruncation,
    SemanticVad,
    ServerVad,
    SessionSettings,
    ToolChoiceFunction,
)
from .telephony.dtmf import DtmfHandoff, DtmfReply, DtmfToolCall
from .tools import FunctionTool, HostedMCPTool, tool

if TYPE_CHECKING:
    from .events import SessionEvent, SessionStatus
    from .loader import Definitions, load_definitions, load_definitions_from_string
    from .runner import RealtimeRunner
    from .session import RealtimeSession
    from .tracing import TracingConfig, setup_tracing
    from .transports import (
        AzureTransport,
        Transport,
        WebRTCTransport,
        WebSocketTransport,
        azure_transport,
        memory_transport_pair,
    )

__all__ = [
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

# Names loaded on first use (see the module docstring), by the subpackage that holds them.
_LAZY = {
    "Definitions": ".loader",
    "load_definitions": ".loader",
    "load_definitions_from_string": ".loader",
    "SessionEvent": ".events",
    "SessionStatus": ".events",
    "RealtimeRunner": ".runner",
    "RealtimeSession": ".session",
    "TracingConfig": ".tracing",
    "setup_tracing": ".tracing",
    "AzureTransport": ".transports",
    "Transport": ".transports",
    "WebRTCTransport": ".transports",
    "WebSocketTransport": ".transports",
    "azure_transport": ".transports",
    "memory_transport_pair": ".transports",
}

__getattr__ = lazy_exports(__name__, _LAZY)
