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

The modules, from the wire in:

| module | concept |
| --- | --- |
| `app.py` | `LocalRealtimeServer`: routing, opening sessions, wiring the parts below |
| `http.py` | the route table and the plain HTTP endpoints (`/healthz`, `client_secrets`) |
| `keys.py` | API keys and ephemeral keys |
| `connection.py` | the WebSocket connection (POST bodies, bad requests answered with a 400, one-line logs, the direct frame receive path) |
| `hub.py` | a live session and its connections (primary and sideband) |
| `delivery.py` | paced delivery: the shared timers, batch writes, the per-session pump |
| `fault_actions.py` | what each fault action does (`faults.py`: when faults fire) |
| `session.py` | `ServerSession`, the sans-I/O core's façade and client-event dispatch |
| `session_config.py` | the session object, its defaults and `session.update` |
| `items.py` | the conversation and `conversation.item.*` |
| `input_audio.py` | the input audio buffer and turn detection (`vad.py`: the detector) |
| `responses.py` | response planning, pacing, completion and cancellation |
| `outbox.py` | ids and the queue of paced outbound events |
| `errors.py` | `ClientError` and the `error` event body (client events are checked first by `agentkit.protocol.client_schema`) |
| `model.py`, `script.py` | what produces responses; the YAML scripts |
| `webrtc.py` | the WebRTC endpoint (`POST /v1/realtime/calls`): calls, RTP audio, the data channel, media faults |

A SIP or Twilio endpoint adds an HTTP route (`http.py`) and a connection kind that joins a
`Hub` (`hub.py`), feeding the same `ServerSession`, as the WebRTC endpoint does.
"""

from .app import LocalRealtimeServer
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
from .session import CloseConnection, ServerSession
from .session_config import Pace, ResponseLatency, SessionOptions
from .vad import VadConfig, VoiceActivityDetector
from .webrtc import CallHub, WebRTCEndpoint, WebRTCFaults

__all__ = [
    "Alternative",
    "CallHub",
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
    "ResponseLatency",
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
    "WebRTCEndpoint",
    "WebRTCFaults",
    "fallback_reply",
    "load_script",
    "parse_script",
]
