"""The server side of each browser call: a `RealtimeSession` over the call's sideband.

Once a call exists (relayed by `POST /api/calls`, or reported by the page after it
connected with an ephemeral key), `Calls.attach(call_id)` opens the control WebSocket to it
(`Provider.sideband_url`: the realtime URL with `?call_id=`) and runs the agents there with
the runner's `session()`: the same supervisor, tool runner, handoffs, guardrails, approvals
and tracing as every other session. The browser holds the media; the server holds the
tools and the key.

Each call is one task in the app's task group: it opens the session, greets (asks for a
first response) when configured, and publishes what the page should see on the call's
`EventChannel`. It ends when the service ends the call (the sideband closes), when the page
hangs up (`end()`), or when the app stops; then its channel says `ended`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
from anyio.abc import TaskGroup

from ..cli.target import enter_context
from ..errors import AgentKitError
from ..logs import get_logger
from ..runner import RealtimeRunner
from ..session import RealtimeSession
from ..transports.websocket import WebSocketTransport
from .channel import EventChannel, page_event
from .provider import Provider

__all__ = ["CALL_ID", "Call", "Calls"]

logger = get_logger("agentkit.serve")

CALL_ID: Final = re.compile(r"^rtc_[A-Za-z0-9_-]{1,120}$")
"""What a call id looks like (`rtc_...`): anything else is refused at the door."""


@dataclass
class Call:
    """One live call: its events, its session once attached, the scope that ends it."""

    call_id: str
    channel: EventChannel = field(default_factory=EventChannel)
    session: RealtimeSession[Any] | None = None
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    ready: anyio.Event = field(default_factory=anyio.Event)
    """Set once the session is connected (or failed to)."""


class Calls:
    """The live calls of a `serve` app, by call id (see the module docs).

    Args:
        runner: Starts each call's session.
        provider: Where the sidebands connect, with which key.
        context_factory: Builds the tools' context once per call (entered as a context
            manager when it is one, closed after the call).
        greet: Ask for a first response once attached (the agent speaks first).
        max_calls: Calls at once; one more is refused.
    """

    def __init__(
        self,
        runner: RealtimeRunner[Any],
        provider: Provider,
        *,
        context_factory: Callable[[], Any] | None = None,
        greet: bool = True,
        max_calls: int = 100,
    ) -> None:
        self.runner = runner
        self.provider = provider
        self.context_factory = context_factory
        self.greet = greet
        self.max_calls = max_calls
        self.live: dict[str, Call] = {}
        self._group: TaskGroup | None = None

    def bind(self, group: TaskGroup | None) -> None:
        """Run calls in `group` (the app's lifespan); `None` when the app stops."""
        self._group = group

    def full(self) -> bool:
        """Whether another call would exceed `max_calls`."""
        return len(self.live) >= self.max_calls

    def attach(self, call_id: str) -> Call:
        """Start the sideband session of `call_id` (once: a second attach returns the call)."""
        call = self.live.get(call_id)
        if call is not None:
            return call
        if self._group is None:
            raise RuntimeError("the app is not running (no lifespan)")
        call = self.live[call_id] = Call(call_id)
        self._group.start_soon(self._run, call, name=f"agentkit serve call {call_id}")
        return call

    async def end(self, call_id: str) -> bool:
        """Hang up `call_id` at the provider and stop its session; False when unknown."""
        call = self.live.get(call_id)
        if call is None:
            return False
        try:
            await self.provider.hangup(call_id)
        except AgentKitError as exc:  # already gone there: ending it here is what matters
            logger.info("hangup of %s: %s", call_id, exc)
        call.scope.cancel()
        return True

    async def _run(self, call: Call) -> None:
        reason = "hung up"
        try:
            with call.scope:
                reason = await self._converse(call)
        except AgentKitError as exc:
            reason = f"failed: {exc}"
            logger.warning("call %s: %s", call.call_id, exc)
        except Exception as exc:
            # A bug in a tool's context or the app must end this call only, never the app's
            # task group (and with it every other call).
            reason = "failed: server error"
            logger.error("call %s failed: %s: %s", call.call_id, type(exc).__name__, exc)
        finally:
            call.ready.set()
            self.live.pop(call.call_id, None)
            call.channel.close(reason)

    async def _converse(self, call: Call) -> str:
        provider = self.provider
        transport = WebSocketTransport(
            provider.sideband_url(call.call_id),
            api_key=provider.api_key,
            dialect=provider.dialect,
            headers=dict(provider.headers),
        )
        async with AsyncExitStack() as stack:
            context = await enter_context(stack, self.context_factory)
            session = self.runner.session(transport, context=context)
            await stack.enter_async_context(session)
            call.session = session
            call.ready.set()
            publish = call.channel.publish
            publish({"type": "agent", "agent": session.current_agent.name})
            if self.greet:
                await session.respond()
            async for event in session:
                shown = page_event(event)
                if shown is not None:
                    publish(shown)
        return "the call ended"
