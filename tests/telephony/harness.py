"""Shared pieces of the telephony tests: the phone app served on a free port, and the
sessions it opens, with the events they emitted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from agentkit.events import SessionEvent
from agentkit.runner import RealtimeRunner
from agentkit.session import RealtimeSession
from agentkit.telephony import CallScreen, TelephonyConfig, app
from agentkit.telephony.serving import bind, serve

TWILIO_TOKEN = "twilio-auth-token-for-tests"
WEBHOOK_SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtcGhvbmUtdGVzdHMtMTIzNDU2Nzg="

WATCHED = (
    "audio_interrupted", "handoff", "tool_end", "dtmf", "assistant_transcript", "error", "agent_start",
    "status",
)


@dataclass
class Watched:
    """The sessions the phone app opened, and what they emitted."""

    sessions: list[RealtimeSession[Any]] = field(default_factory=list)
    events: list[SessionEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event: SessionEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def until(self, condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
        try:
            async with asyncio.timeout(timeout):
                while not (found := condition()):
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            seen = [(e.type, getattr(e, "transcript", "")) for e in self.events]
            raise AssertionError(f"no {what}: {seen[-20:]}") from None
        return found


def watch(runner: RealtimeRunner[Any]) -> Watched:
    """Record every session `runner` starts from now on (the app starts them)."""
    watched = Watched()
    start = runner.session

    def session(*args: Any, **kwargs: Any) -> RealtimeSession[Any]:
        made = start(*args, **kwargs)
        watched.sessions.append(made)
        for name in WATCHED:
            made.on(name, watched.record)  # type: ignore[arg-type]
        return made

    runner.session = session  # type: ignore[method-assign]
    return watched


@asynccontextmanager
async def phone_app(
    runner: RealtimeRunner[Any], *, screen: CallScreen | None = None, **options: Any
) -> AsyncIterator[TelephonyConfig]:
    """The phone app for `runner`, served on a free port; yields its configuration."""
    sock = bind()
    host, port = sock.getsockname()[:2]
    config = TelephonyConfig(public_url=f"http://{host}:{port}", **options)
    async with serve(app(runner, config, screen=screen), sock):
        yield config
