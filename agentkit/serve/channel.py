"""The page's event channel: what only the server knows, sent to the browser of one call.

The browser sees the service's events on its WebRTC data channel (transcripts, voice
activity, audio buffer), but tools, handoffs, guardrails and approvals run on the server, in
the call's sideband session. `page_event` turns those session events into small JSON objects;
`EventChannel` holds them for one call and streams them as server-sent events
(`GET /api/calls/{call_id}/events`, `text/event-stream`), each a `data:` line of JSON with a
`type`:

| `type` | fields |
| --- | --- |
| `agent` | `agent` (the agent now speaking: at the start and on each handoff) |
| `tool_call_progress` | `call_id`, `tool`, `arguments` (JSON so far), `agent` |
| `tool_start` / `tool_end` | `call_id`, `tool`, `arguments` / `output`, `error`, `message`, `agent` |
| `handoff` | `from_agent`, `to_agent`, `call_id` |
| `guardrail_tripped` | `guardrail`, `stage`, `text`, `safe_reply`, `details` |
| `tool_approval_required` / `_resolved` | `call_id`, `tool`, `arguments`, `timeout_s` / `approved`, `by` |
| `breadcrumb`, `error`, `status`, `ended` | `text`; `message`, `code`; `status`; `reason` |

A late subscriber (the page opens the stream after the SDP answer) first gets what was
published so far (the last `_KEPT`), so nothing between the answer and the stream is lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final

import anyio
import orjson
from anyio.streams.memory import MemoryObjectSendStream

from .. import events as e

__all__ = ["IGNORED_EVENTS", "PAGE_EVENTS", "EventChannel", "page_event", "sse"]

_KEPT: Final = 500
"""Events kept for subscribers that come late (and for a page that reconnects)."""
_QUEUE: Final = 256
"""Events buffered per subscriber that has not read them yet; a slower one is dropped."""

PageEvent = dict[str, Any]


def _tool(event: e.ToolStart) -> PageEvent:
    return {"call_id": event.call_id, "tool": event.tool_name, "arguments": event.arguments, "agent": event.agent_name}


PAGE_EVENTS: Final[Mapping[type, Callable[[Any], PageEvent]]] = {
    e.AgentStart: lambda v: {"type": "agent", "agent": v.agent_name},
    e.ToolCallProgress: lambda v: {"type": "tool_call_progress", **_tool(v)},
    e.ToolStart: lambda v: {"type": "tool_start", **_tool(v)},
    e.ToolEnd: lambda v: {
        "type": "tool_end", "call_id": v.call_id, "tool": v.tool_name, "output": v.output,
        "error": v.error, "message": v.message, "agent": v.agent_name,
    },
    e.HandoffEvent: lambda v: {"type": "handoff", "from_agent": v.from_agent, "to_agent": v.to_agent, "call_id": v.call_id},
    e.GuardrailTripped: lambda v: {
        "type": "guardrail_tripped", "guardrail": v.guardrail_name, "stage": v.stage,
        "text": v.text, "safe_reply": v.safe_reply, "details": dict(v.details),
    },
    e.ToolApprovalRequired: lambda v: {
        "type": "tool_approval_required", **_tool(v), "timeout_s": v.timeout_s, "default": v.default,
    },
    e.ToolApprovalResolved: lambda v: {
        "type": "tool_approval_resolved", "call_id": v.call_id, "tool": v.tool_name,
        "approved": v.approved, "by": v.by,
    },
    e.Breadcrumb: lambda v: {"type": "breadcrumb", "text": v.text, "call_id": v.call_id},
    e.ErrorEvent: lambda v: {"type": "error", "message": str(v.error), "code": v.code},
    e.StatusChanged: lambda v: {"type": "status", "status": v.new.value},
    e.Reconnecting: lambda v: {"type": "status", "status": "reconnecting", "reason": v.reason},
    e.SessionLimitReached: lambda v: {"type": "ended", "reason": v.limit},
    # Shown in the transcript as breadcrumbs, like the runtime's own.
    e.McpToolsListed: lambda v: {
        "type": "breadcrumb", "text": f"MCP server {v.server_label}: {', '.join(v.tool_names)}", "call_id": None,
    },
    e.DtmfReceived: lambda v: {
        "type": "breadcrumb", "text": f"keypad {v.key}" + (f" → {v.sequence}" if v.sequence else ""), "call_id": None,
    },
    e.StoreLagging: lambda v: {
        "type": "breadcrumb", "text": f"session store lagging ({v.pending} changes waiting)", "call_id": None,
    },
    e.StoreCaughtUp: lambda v: {
        "type": "breadcrumb", "text": f"session store caught up after {v.lagged_s:.1f} s", "call_id": None,
    },
}
"""The session events the page is sent, each with its converter."""

IGNORED_EVENTS: Final = frozenset({
    # The browser has these first-hand (data channel, its own audio and stats) or they
    # are bookkeeping: sending them again would only cost bandwidth.
    e.AgentEnd, e.AudioOut, e.AudioEnd, e.AudioInterrupted, e.UserTranscriptDelta,
    e.UserTranscript, e.AssistantTranscriptDelta, e.AssistantTranscript, e.HistoryAdded,
    e.HistoryUpdated, e.RawServerEvent, e.Reconnected, e.TextFallback, e.InputAudioDropped,
    e.EventsDropped, e.ConnectionQuality, e.QualityDegraded, e.QualityRecovered,
    e.CodecChanged,
})
"""The session events the page is not sent (a test checks the two sets cover them all)."""


def page_event(event: e.SessionEvent) -> PageEvent | None:
    """`event` as the page gets it, or `None` for an event the page is not sent."""
    convert = PAGE_EVENTS.get(type(event))
    return convert(event) if convert is not None else None


def sse(event: PageEvent) -> bytes:
    """One server-sent event: a `data:` line of JSON (anything not JSON becomes its text)."""
    return b"data: " + orjson.dumps(event, default=str) + b"\n\n"


class EventChannel:
    """The page events of one call: kept, and streamed to each subscriber (see module docs)."""

    def __init__(self) -> None:
        self._kept: deque[PageEvent] = deque(maxlen=_KEPT)
        self._subscribers: set[MemoryObjectSendStream[PageEvent]] = set()
        self.closed = False

    def publish(self, event: PageEvent) -> None:
        """Send `event` to every subscriber (a subscriber that fell behind is dropped)."""
        self._kept.append(event)
        for stream in list(self._subscribers):
            try:
                stream.send_nowait(event)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.discard(stream)
                stream.close()

    def close(self, reason: str) -> None:
        """The call ended: send `ended` and end every stream."""
        if self.closed:
            return
        self.publish({"type": "ended", "reason": reason})
        self.closed = True
        for stream in self._subscribers:
            stream.close()
        self._subscribers.clear()

    async def stream(self) -> AsyncIterator[bytes]:
        """What was published so far, then each new event, as server-sent events, until the
        call ends (or the subscriber goes away)."""
        send, receive = anyio.create_memory_object_stream[PageEvent](_QUEUE)
        backlog = list(self._kept)
        if self.closed:
            send.close()
        else:
            self._subscribers.add(send)
        try:
            yield b": agentkit call events\n\n"  # a comment: the browser sees the stream open
            for event in backlog:
                yield sse(event)
            async with receive:
                async for event in receive:
                    yield sse(event)
        finally:
            self._subscribers.discard(send)
            send.close()
