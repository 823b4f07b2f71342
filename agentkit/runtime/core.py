"""The state every part of the `Supervisor` shares: who speaks, the history, the outputs.

The supervisor is carved into parts, one concern each (`responses`, `calls`, `approvals`,
`guardrail_gate`, `playback`, `watchdog`, `dispatch`), combined into one object by
`Supervisor`. They are mixins rather than separate objects on purpose: the per-frame path
(an audio delta, a transcript delta) must cost what it did before the carve, with no extra
call layer or attribute chain (`bench/supervisor.py`). Each part owns its own state (set up
in its `_init_*` method) and names, as annotations at the top of its class, what it reads
from the other parts: that list is its interface.

`Core` is what they all use: the current agent and configuration, the history, the three
output buffers (`data_to_send`, `events_to_emit`, `commands`) and the connection status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import orjson

from ..agent import RealtimeAgent
from ..events import SessionEvent, SessionStatus, StatusChanged
from ..history import History
from ..protocol.dialects import Dialect
from ..protocol.live_encode import live_frames
from ..protocol.wire_types import ItemId
from ..settings import SessionSettings
from .commands import Command
from .config import RuntimeConfig
from .observer import SupervisorObserver
from .policy import SessionPolicy

__all__ = ["TEXT_ONLY", "Core", "Handler", "to_json"]

TEXT_ONLY = SessionSettings(output_modalities=("text",))
"""Laid over the settings once a session fell back to text."""

Handler = Callable[[Any, Any, float], None]
"""A wire-event handler: `handler(supervisor, event, now)` (see `runtime.dispatch`)."""


def to_json(value: object) -> str:
    """`value` as compact JSON text (a call's output)."""
    return orjson.dumps(value).decode()


class Core:
    """The shared state and outputs of a `Supervisor` (see the module docs)."""

    def _init_core(
        self,
        agent: RealtimeAgent[Any],
        config: RuntimeConfig,
        history: History,
        policy: SessionPolicy,
        handlers: Mapping[type, Handler],
    ) -> None:
        self.agent: RealtimeAgent[Any] = agent
        self.config = config
        self.settings: SessionSettings = config.settings
        self.dialect: Dialect = config.dialect
        self.raw_events = config.raw_events
        self.limits = config.limits
        self.policy = policy
        self.history = history
        self.status = SessionStatus.DISCONNECTED
        self.text_only = False
        self.audio_started = False
        self._online = False
        self._frames: list[str] = []
        self._events: list[SessionEvent] = []
        self._commands: list[Command] = []
        # Instrumentation (see `Supervisor.observe_with`): off by default, at the cost of one
        # check per event that is neither an audio chunk nor a transcript delta.
        self._observer: SupervisorObserver | None = None
        self._observed: AbstractSet[type] = frozenset()
        self._observe_deltas = False
        self._wire_handlers: Mapping[type, Handler] = handlers
        # The clock as last given (app calls and results may omit it).
        self._now = 0.0
        self._client_item_ids = 0

    # -- outputs ------------------------------------------------------------------------------

    def data_to_send(self) -> list[str]:
        """The client frames to send, in order; drains the buffer."""
        frames, self._frames = self._frames, []
        if self.dialect == "live":
            # Rendered at the edge, like beta's names (see `protocol/live_encode.py`).
            return [out for frame in frames for out in live_frames(frame)]
        return frames

    def has_data_to_send(self) -> bool:
        """Whether `data_to_send()` would return frames (without draining them)."""
        return bool(self._frames)

    def events_to_emit(self) -> list[SessionEvent]:
        """The events for the app, in order; drains the buffer."""
        events, self._events = self._events, []
        return events

    def commands(self) -> list[Command]:
        """Work to start or cancel, reconnects and closes; drains the buffer."""
        commands, self._commands = self._commands, []
        return commands

    def _emit(self, event: SessionEvent) -> None:
        self._events.append(event)
        if type(event) in self._observed:
            self._observer.observe(event)  # type: ignore[union-attr]

    def _send(self, frame: str) -> None:
        # While the connection is down nothing is sent: whatever a frame would have said is
        # in the history or the agent, and `connected()` replays both.
        if self._online:
            self._frames.append(frame)

    def _set_status(self, new: SessionStatus) -> None:
        if new is not self.status:
            old, self.status = self.status, new
            self._emit(StatusChanged(old, new))

    def _clock(self, now: float | None) -> None:
        if now is not None:
            self._now = now

    def _next_item_id(self) -> ItemId:
        # Client ids (≤ 32 characters, as the service requires) let the service's echo of an
        # item refresh the history entry recorded when it was made.
        self._client_item_ids += 1
        item_id = ItemId(f"ak_item_{self._client_item_ids}")
        while item_id in self.history:
            # A seeded history (a session resumed in another process) has ids of ours:
            # reusing one would make a new item refresh the old one instead of adding it.
            self._client_item_ids += 1
            item_id = ItemId(f"ak_item_{self._client_item_ids}")
        return item_id
