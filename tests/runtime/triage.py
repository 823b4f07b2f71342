"""The triage agents and helpers the supervisor tests share (`test_supervisor.py`, ...)."""

from __future__ import annotations

import base64
from typing import Any

from support import feed, new_supervisor

from agentkit import RealtimeAgent, SessionSettings, tool
from agentkit.runtime.supervisor import Supervisor

PCM_100MS = b"\x01\x00" * 2400  # 4800 bytes = 100 ms of 24 kHz PCM16


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return q


@tool(cancellable=True)
async def slow_search(q: str) -> str:
    """Search slowly."""
    return q


billing = RealtimeAgent(name="Billing", instructions="You do billing.", voice="ash")


triage = RealtimeAgent(
    name="Triage",
    instructions="You triage.",
    tools=[lookup, slow_search],
    handoffs=[billing],
    voice="marin",
)


billing.handoffs.append(triage)


def make(
    agent: RealtimeAgent[Any] = triage, *, settings: SessionSettings | None = None, **kw: Any
) -> Supervisor:
    sup = new_supervisor(agent, settings, **kw)
    sup.connecting()
    sup.connected()
    sup.data_to_send()
    sup.events_to_emit()
    return sup


def created(sup: Supervisor, rid: str = "resp_1") -> None:
    feed(sup, {"type": "response.created", "response": {"id": rid, "status": "in_progress"}})


def done(sup: Supervisor, rid: str = "resp_1", status: str = "completed", output: Any = ()) -> None:
    feed(
        sup,
        {
            "type": "response.done",
            "response": {"id": rid, "status": status, "output": list(output)},
        },
    )


def call_item(call_id: str, name: str, arguments: str = '{"q": "x"}') -> dict[str, Any]:
    return {
        "id": f"item_{call_id}",
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def call_done(sup: Supervisor, call_id: str, name: str, rid: str = "resp_1", **kw: Any) -> None:
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": rid,
            "output_index": 0,
            "item": call_item(call_id, name, **kw),
        },
    )


def audio(sup: Supervisor, now: float, chunk: bytes = PCM_100MS, rid: str = "resp_1") -> None:
    feed(
        sup,
        {
            "type": "response.output_audio.delta",
            "response_id": rid,
            "item_id": "item_a",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(chunk).decode(),
        },
        now,
    )


def speech_started(sup: Supervisor, now: float) -> None:
    feed(
        sup,
        {"type": "input_audio_buffer.speech_started", "item_id": "item_u", "audio_start_ms": 0},
        now,
    )

