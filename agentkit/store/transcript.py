"""Transcripts: a stored conversation as one JSON document, for people and other programs.

`transcript(state)` turns a `SessionState` into a plain dict (`agentkit transcript SESSION_ID`
prints it): the items in order, each tool call with its arguments, output, status and
timing, the handoffs, the guardrail trips and each response's latency. Its shape
(`"format": "agentkit.transcript/1"`):

```json
{
  "format": "agentkit.transcript/1",
  "session_id": "call-42",
  "created_at": 1767000000.0, "updated_at": 1767000042.5, "ended": true,
  "content": true, "agent": "Billing",
  "items": [{"id": "...", "kind": "message", "role": "user", "text": "...", "agent": "Support"}],
  "tool_calls": [{"call_id": "...", "name": "lookup_order", "arguments": "{...}",
                  "output": "{...}", "status": "done", "error": null, "duration_ms": 12.5}],
  "handoffs": [{"from": "Support", "to": "Billing", "call_id": "...", "at": 1767000020.1}],
  "guardrail_trips": [{"guardrail": "no_profanity", "stage": "input", "at": 1767000030.0}],
  "responses": [{"response_id": "...", "agent": "Support", "status": "completed",
                 "latency_ms": 412.0, "duration_ms": 1830.2}],
  "settings": {...}
}
```

Retention is the store's (`DurableSessions(retention_s=...)`: a Redis TTL renewed at each
write). With `RecordPolicy(content=False)` the store never had the content: the items have
no text and the calls no arguments or outputs (`"content": false` says so).
"""

from __future__ import annotations

from typing import Any

import orjson

from ..history import HistoryItem
from ..protocol.wire_types import JsonObject
from .state import SessionState

__all__ = ["FORMAT", "transcript", "transcript_json"]

FORMAT = "agentkit.transcript/1"
"""The `format` of a transcript document."""


def _item(item: HistoryItem) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.item_id, "kind": item.kind}
    for name in ("role", "status", "call_id", "name", "arguments", "output", "audio_end_ms"):
        value = getattr(item, name)
        if value is not None:
            data[name] = value
    if item.kind in ("message", "breadcrumb"):
        data["text"] = item.text
    if item.images:
        data["images"] = list(item.images)
    if item.agent_name is not None:
        data["agent"] = item.agent_name
    if item.guardrail is not None:
        data["guardrail"] = item.guardrail
    return data


def transcript(state: SessionState) -> JsonObject:
    """The conversation `state` holds, as a transcript document (see the module docs)."""
    calls: list[dict[str, Any]] = []
    outputs = {i.call_id: i for i in state.items if i.kind == "function_call_output"}
    for item in state.items:
        if item.kind != "function_call" or item.call_id is None:
            continue
        record = state.calls.get(item.call_id)
        output = outputs.get(item.call_id)
        call: dict[str, Any] = {
            "call_id": item.call_id,
            "name": item.name,
            "agent": item.agent_name,
            "arguments": item.arguments,
            "output": output.output if output is not None else None,
            "status": record.status if record is not None else ("done" if output else "not_started"),
            "error": record.error if record is not None else None,
            "started_at": record.started_at if record is not None else None,
            "ended_at": record.ended_at if record is not None else None,
            "duration_ms": (
                round((record.ended_at - record.started_at) * 1000, 1)
                if record is not None and record.ended_at is not None
                else None
            ),
        }
        if output is not None and output.output and record is not None and record.error is None:
            # A call answered by `plan_resume` has no record of its end: its output says.
            try:
                parsed = orjson.loads(output.output)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict) and parsed.get("error") in ("worker_lost", "not_run"):
                call["error"] = parsed["error"]
        calls.append(call)
    log = state.log
    return {
        "format": FORMAT,
        "session_id": state.session_id,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "ended": state.ended,
        "content": state.content,
        "agent": state.agent,
        "items": [_item(i) for i in state.items],
        "tool_calls": calls,
        "handoffs": [
            {k: v for k, v in e.items() if k != "type"} for e in log if e.get("type") == "handoff"
        ],
        "guardrail_trips": [
            {k: v for k, v in e.items() if k != "type"}
            for e in log
            if e.get("type") == "guardrail_tripped"
        ],
        "responses": [
            {k: v for k, v in e.items() if k != "type"} for e in log if e.get("type") == "response"
        ],
        "settings": state.settings,
    }


def transcript_json(state: SessionState, *, indent: bool = True) -> str:
    """`transcript(state)` as JSON text."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(transcript(state), option=option).decode()
