"""The tools this plugin registers under the `agentkit.tools` entry-point group.

They find the queue through the run context, so the plugin needs no knowledge of the app's
context type: a context with a `helpdesk_queue` attribute (a `HelpdeskQueue`) wins; otherwise
the file named by `AGENTKIT_HELPDESK_DB`. A context may also offer `helpdesk_customer` (a
string identifying the caller) so tickets say who is waiting.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from agentkit import FunctionTool, RunContext, tool

from .queue import HelpdeskQueue, Priority

__all__ = ["ENV_VAR", "TOOLS", "HelpdeskNotConfigured", "escalate_to_human", "queue_for", "ticket_status"]

ENV_VAR = "AGENTKIT_HELPDESK_DB"

# A rough figure the model can tell the caller; the queue position is the real information.
_MINUTES_PER_TICKET = 4


class HelpdeskNotConfigured(RuntimeError):
    """Neither the run context nor the environment says where the queue is."""


def queue_for(ctx: RunContext[Any] | None) -> HelpdeskQueue:
    """The queue for this run: the context's `helpdesk_queue`, else `$AGENTKIT_HELPDESK_DB`."""
    queue = getattr(ctx.context, "helpdesk_queue", None) if ctx is not None else None
    if isinstance(queue, HelpdeskQueue):
        return queue
    path = os.environ.get(ENV_VAR)
    if path:
        return HelpdeskQueue(path)
    raise HelpdeskNotConfigured(
        f"no helpdesk queue: give the run context a `helpdesk_queue` or set {ENV_VAR}"
    )


def _customer(ctx: RunContext[Any] | None) -> str | None:
    value = getattr(ctx.context, "helpdesk_customer", None) if ctx is not None else None
    return value if isinstance(value, str) and value else None


@tool(timeout=10)
def escalate_to_human(
    ctx: RunContext[Any],
    reason: Annotated[
        Literal["customer_request", "policy_exception", "complaint", "technical_issue", "other"],
        "Why a person is needed.",
    ],
    summary: Annotated[
        str,
        "What the caller needs and what was already tried, so nobody asks them to repeat it.",
    ],
    priority: Annotated[Priority, "urgent only for safety, legal or repeated-failure cases."],
    callback_number: Annotated[
        str | None, "A number to call back on, if the caller gave one; otherwise null."
    ],
) -> dict[str, Any]:
    """Hand the caller over to a human: file a ticket in the helpdesk queue.

    Use it when the caller asks for a person, or when their request needs a decision you are
    not allowed to make. Tell the caller their ticket reference and place in the queue.
    """
    queue = queue_for(ctx)
    agent = ctx.agent.name if ctx is not None and ctx.agent is not None else None
    ticket = queue.file(
        reason=reason,
        summary=summary,
        priority=priority,
        customer=_customer(ctx),
        callback=callback_number,
        agent=agent,
    )
    position = queue.position(ticket.id) or 1
    if ctx is not None:
        ctx.add_breadcrumb(f"helpdesk ticket {ticket.reference} filed ({priority})")
    return {
        "ticket": ticket.reference,
        "position_in_queue": position,
        "estimated_wait_minutes": position * _MINUTES_PER_TICKET,
    }


@tool
def ticket_status(
    ctx: RunContext[Any],
    ticket: Annotated[str, "The ticket reference, like HD-000042."],
) -> dict[str, Any]:
    """Look up a helpdesk ticket: whether it is waiting, being handled, or resolved."""
    digits = "".join(ch for ch in ticket if ch.isdigit())
    found = queue_for(ctx).get(int(digits)) if digits else None
    if found is None:
        return {"found": False, "ticket": ticket}
    result: dict[str, Any] = {"found": True, "ticket": found.reference, "status": found.status}
    if found.status == "open":
        result["position_in_queue"] = queue_for(ctx).position(found.id)
    if found.resolution:
        result["resolution"] = found.resolution
    return result


TOOLS: list[FunctionTool] = [escalate_to_human, ticket_status]
"""The whole package, registered as the `helpdesk` plugin."""
