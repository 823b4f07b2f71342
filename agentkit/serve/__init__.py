"""`agentkit.serve`: browser voice agents over WebRTC, with the key and the tools on the server.

```python
from agentkit import RealtimeRunner
from agentkit.serve import Provider, create_app

app = create_app(RealtimeRunner(agent), Provider(realtime_url, api_key=key, model="gpt-realtime"))
# uvicorn.run(app)   -- or `agentkit serve agents.yaml`
```

The browser holds the media (its microphone and speaker, over WebRTC to the service); the
server holds the key, mints ephemeral keys, relays the SDP offer with the compiled session,
and runs the agents' tools, handoffs, guardrails and approvals in a sideband session
attached to the call. See `docs/serve.md`.

| module | concept |
| --- | --- |
| `app.py` | `create_app`: the routes and what they share (`ServeState`) |
| `provider.py` | `Provider`: the service's endpoints derived from one URL; keys, SDP relay, hangup |
| `sideband.py` | `Calls`: each call's server-side session over its sideband |
| `channel.py` | the page's event channel: session events as server-sent events per call |
| `security.py` | origin allow-list, body limit, per-client rate limit, JSON errors |
| `static/` | the page: `index.html`, `app.js`, `app.css` (no build step) |

Starlette and uvicorn are imported here only: `import agentkit` does not load them.
"""

from .app import ServeState, create_app
from .channel import EventChannel, page_event
from .provider import MAX_KEY_EXPIRY_S, MIN_KEY_EXPIRY_S, Provider
from .security import OriginGuard, RateLimit, RateLimiter
from .sideband import Call, Calls

__all__ = [
    "MAX_KEY_EXPIRY_S",
    "MIN_KEY_EXPIRY_S",
    "Call",
    "Calls",
    "EventChannel",
    "OriginGuard",
    "Provider",
    "RateLimit",
    "RateLimiter",
    "ServeState",
    "create_app",
    "page_event",
]
