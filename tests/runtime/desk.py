"""The guarded help-desk agent and helpers the guardrail, approval, reconnect and
watchdog tests share."""

from __future__ import annotations

import base64
from typing import Any

from support import feed, new_supervisor

from agentkit import (
    InputTranscription,
    RealtimeAgent,
    SessionSettings,
    blocked_terms,
    input_guardrail,
    output_guardrail,
    tool,
)
from agentkit.runtime.policy import (
    GuardrailVerdict,
)
from agentkit.runtime.supervisor import RunGuardrails, Supervisor

PCM_100MS = base64.b64encode(b"\x01\x00" * 2400).decode()


no_insults = input_guardrail(
    blocked_terms(["idiot"]), name="civil", safe_reply="Let's keep it civil."
)


no_secrets = output_guardrail(blocked_terms(["password"]), name="no_secrets")


@tool(needs_approval=True)
def refund(order_id: str) -> str:
    """Refund an order."""
    return f"refunded {order_id}"


agent = RealtimeAgent(
    name="Desk",
    instructions="Help.",
    tools=[refund],
    input_guardrails=[no_insults],
    output_guardrails=[no_secrets],
)


TRANSCRIBED = SessionSettings(input_transcription=InputTranscription(model="whisper-1"))


def make(desk_agent: RealtimeAgent[Any] = agent, **kw: Any) -> Supervisor:
    sup = new_supervisor(desk_agent, kw.pop("settings", TRANSCRIBED), **kw)
    sup.connecting()
    sup.connected()
    sup.data_to_send()
    sup.events_to_emit()
    return sup


def run_checks(sup: Supervisor, tripped: bool, now: float = 0.0) -> list[RunGuardrails]:
    """Answer every pending guardrail command, as the runtime does after running them."""
    checks = [c for c in sup.commands() if isinstance(c, RunGuardrails)]
    for check in checks:
        guardrail = check.guardrails[0]
        verdict = GuardrailVerdict(guardrail, {"matched": "x"}) if tripped else GuardrailVerdict()
        sup.guardrails_finished(check.check_id, verdict, now)
    return checks


def created(sup: Supervisor, rid: str = "resp_1") -> None:
    feed(sup, {"type": "response.created", "response": {"id": rid}})


def done(sup: Supervisor, rid: str = "resp_1", status: str = "completed") -> None:
    feed(sup, {"type": "response.done", "response": {"id": rid, "status": status, "output": []}})


def stream(sup: Supervisor, kind: str, rid: str, item: str, **kw: Any) -> None:
    feed(
        sup,
        {
            "type": kind,
            "response_id": rid,
            "item_id": item,
            "output_index": 0,
            "content_index": 0,
            **kw,
        },
        kw.pop("now", 0.0),
    )


def assistant_item(sup: Supervisor, item: str = "a1") -> None:
    feed(
        sup,
        {
            "type": "conversation.item.added",
            "item": {"id": item, "type": "message", "role": "assistant", "status": "in_progress"},
        },
    )


def call(sup: Supervisor, call_id: str, rid: str = "resp_1", now: float = 0.0) -> None:
    feed(
        sup,
        {
            "type": "response.output_item.done",
            "response_id": rid,
            "output_index": 0,
            "item": {
                "id": f"item_{call_id}",
                "type": "function_call",
                "call_id": call_id,
                "name": "refund",
                "arguments": '{"order_id": "7"}',
            },
        },
        now,
    )


@tool
async def lookup() -> str:
    """Look something up."""
    return "found"


plain = RealtimeAgent(name="Plain", instructions="Help.", tools=[lookup])

