"""`agentkit.server`: a local server speaking the OpenAI Realtime protocol, for tests and demos.

```python
from agentkit.server import LocalRealtimeServer

async with LocalRealtimeServer(script="examples/support/conversation.yaml") as server:
    print(server.url)  # ws://127.0.0.1:PORT/v1/realtime
```

- `LocalRealtimeServer` — the asyncio WebSocket server (GA and beta dialects, sideband
  attach, API keys and ephemeral keys, pacing, fault injection).
- `ServerSession` — its sans-I/O session core, usable without sockets.
- `Script` / `load_script` — YAML conversation scripts read by both the server and runners.
- `ResponseModel` / `ScriptedModel` — what produces responses.
- `Fault` / `FaultPlan` — injected failures.
"""

from ._app import LocalRealtimeServer
from ._session import CloseConnection, Pace, ServerSession, SessionOptions
from .faults import Fault, FaultAction, FaultPlan
from .model import (
    ConversationEntry,
    FunctionCall,
    Message,
    ModelOutput,
    ResponseModel,
    ResponseRequest,
    ScriptedModel,
    fallback_reply,
)
from .script import (
    Alternative,
    CallTool,
    Condition,
    Handoff,
    Say,
    Script,
    Step,
    Turn,
    load_script,
    parse_script,
)
from .vad import VadConfig, VoiceActivityDetector

__all__ = [
    "Alternative",
    "CallTool",
    "CloseConnection",
    "Condition",
    "ConversationEntry",
    "Fault",
    "FaultAction",
    "FaultPlan",
    "FunctionCall",
    "Handoff",
    "LocalRealtimeServer",
    "Message",
    "ModelOutput",
    "Pace",
    "ResponseModel",
    "ResponseRequest",
    "Say",
    "Script",
    "ScriptedModel",
    "ServerSession",
    "SessionOptions",
    "Step",
    "Turn",
    "VadConfig",
    "VoiceActivityDetector",
    "fallback_reply",
    "load_script",
    "parse_script",
]
