"""`RealtimeSession`: one live conversation, pumped between a transport and the supervisor.

- `live`: `RealtimeSession`, the public async API (lifecycle, events, app calls);
- `pump`: its I/O half (read loop, flush, timers, reconnects), around the sans-I/O
  `Supervisor` of `agentkit.runtime`.
"""

from .live import EventHandler, RealtimeSession

__all__ = ["EventHandler", "RealtimeSession"]
