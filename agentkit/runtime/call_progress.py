"""Tool-call progress: the arguments of a function call as the model writes them.

The service streams a call's JSON arguments in `response.function_call_arguments.delta`
events, which carry the call id but not the tool's name: that comes first, in the
`response.output_item.added` that opens the call's item. This part remembers the name per
call id from there, adds each delta to the arguments so far and emits `ToolCallProgress`;
`response.function_call_arguments.done` forgets the call (it starts on
`response.output_item.done`, in `runtime.calls`).

A few deltas per call, never per audio frame: the cost is a dict lookup and a string
concatenation per delta. A response blocked by a guardrail reports no progress, as it
starts no call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .. import protocol as p
from ..agent import RealtimeAgent
from ..events import SessionEvent, ToolCallProgress
from ..protocol.sealed import sealed_constructor
from ..protocol.wire_types import CallId, ResponseId

__all__ = ["CallProgress"]

_new_ToolCallProgress = sealed_constructor(ToolCallProgress)

_MAX_TRACKED: Final = 64
"""Calls tracked at once: a call whose `done` never came (a cancelled response) is
forgotten once this many newer ones are tracked."""


class CallProgress:
    """Supervisor part: `ToolCallProgress` events from argument deltas (see the module docs)."""

    # From the other parts (see `runtime.core`):
    agent: RealtimeAgent[Any]
    _blocked_responses: set[ResponseId]
    _emit: Callable[[SessionEvent], None]

    def _init_progress(self) -> None:
        # call id -> [tool name, arguments so far]
        self._progress: dict[CallId, list[str]] = {}

    def _track_call_progress(self, event: p.ResponseOutputItemAdded) -> None:
        call = event.function_call
        if call is None:
            return
        progress = self._progress
        if len(progress) >= _MAX_TRACKED:
            del progress[next(iter(progress))]
        progress[call.call_id] = [call.name, ""]

    def _on_arguments_delta(self, event: p.ResponseFunctionCallArgumentsDelta, now: float) -> None:
        tracked = self._progress.get(event.call_id)
        if tracked is None or event.response_id in self._blocked_responses:
            return
        tracked[1] += event.delta
        self._emit(_new_ToolCallProgress(event.call_id, tracked[0], tracked[1], self.agent.name))

    def _on_arguments_done(self, event: p.ResponseFunctionCallArgumentsDone, now: float) -> None:
        self._progress.pop(event.call_id, None)
