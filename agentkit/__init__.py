"""agentkit: realtime voice agents on the OpenAI Realtime protocol.

Declare agents in Python or YAML, compile them to `session.update` payloads (GA or beta), and
run them against the service or the embedded local server.
"""

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
    ControlFlowSignal,
    DefinitionError,
    GuardrailTripped,
    ProtocolError,
    ProviderError,
    SessionError,
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
from .loader import Definitions, load_definitions, load_definitions_from_string
from .settings import (
    InputTranscription,
    RetentionRatioTruncation,
    SemanticVad,
    ServerVad,
    SessionSettings,
    ToolChoiceFunction,
    TracingConfig,
)
from .tools import FunctionTool, tool

__all__ = [
    "AgentKitError",
    "CompileError",
    "ConfigError",
    "ControlFlowSignal",
    "DefinitionError",
    "Definitions",
    "FunctionTool",
    "GuardrailResult",
    "GuardrailTripped",
    "Handoff",
    "InputGuardrail",
    "InputTranscription",
    "OutputGuardrail",
    "ProtocolError",
    "ProviderError",
    "RealtimeAgent",
    "RetentionRatioTruncation",
    "RunContext",
    "SemanticVad",
    "ServerVad",
    "SessionConfig",
    "SessionError",
    "SessionSettings",
    "ToolArgumentsError",
    "ToolChoiceFunction",
    "ToolTimeoutError",
    "TracingConfig",
    "TransportError",
    "UserError",
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
    "output_guardrail",
    "render_session",
    "tool",
]
