"""The compiler: agents and session settings in, the protocol's session events out.

| module | what |
| --- | --- |
| `compiler/sessions.py` | `build_session_config`, `render_session`, `compile_session_update`, `compile_agent_swap`, `compile_agents`: GA and beta `session.update` |
| `compiler/live.py` | `compile_live_start`, `compile_live_swap`: GPT-Live's `session.start` and its backend swaps |
"""

from __future__ import annotations

from .live import compile_live_start, compile_live_swap
from .sessions import (
    Dialect,
    SessionConfig,
    build_session_config,
    compile_agent_swap,
    compile_agents,
    compile_session_update,
    render_session,
)

__all__ = [
    "Dialect",
    "SessionConfig",
    "build_session_config",
    "compile_agent_swap",
    "compile_agents",
    "compile_live_start",
    "compile_live_swap",
    "compile_session_update",
    "render_session",
]
