"""agentkit: realtime voice agents on the OpenAI Realtime protocol.

Declare agents in Python or YAML, compile them to `session.update` payloads (GA or beta), and
run them against the service or the embedded local server.
"""

from .agent import RealtimeAgent
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
from .settings import (
    InputTranscription,
    SemanticVad,
    ServerVad,
    SessionSettings,
)
from .tools import FunctionTool, tool

__all__ = [
    "AgentKitError",
    "CompileError",
    "ConfigError",
    "ControlFlowSignal",
    "DefinitionError",
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
    "RunContext",
    "SemanticVad",
    "ServerVad",
    "SessionError",
    "SessionSettings",
    "ToolArgumentsError",
    "ToolTimeoutError",
    "TransportError",
    "UserError",
    "blocked_regex",
    "blocked_terms",
    "handoff",
    "input_guardrail",
    "max_length",
    "output_guardrail",
    "tool",
]
