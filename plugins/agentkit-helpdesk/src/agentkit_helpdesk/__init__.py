"""agentkit-helpdesk: escalation to a human through a local ticket queue.

Install it next to agentkit and name its tools in `agents.yaml`:

```yaml
tools:
  escalate_to_human: {plugin: escalate_to_human}
  ticket_status: {plugin: helpdesk}
```
"""

from .queue import HelpdeskQueue, Priority, Ticket, TicketStatus
from .tools import (
    ENV_VAR,
    TOOLS,
    HelpdeskNotConfigured,
    escalate_to_human,
    queue_for,
    ticket_status,
)

__all__ = [
    "ENV_VAR",
    "TOOLS",
    "HelpdeskNotConfigured",
    "HelpdeskQueue",
    "Priority",
    "Ticket",
    "TicketStatus",
    "escalate_to_human",
    "queue_for",
    "ticket_status",
]
