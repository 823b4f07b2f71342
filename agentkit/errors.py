"""The exception tree of agentkit: one root, three families.

```
AgentKitError
├── UserError                 a mistake in what the developer wrote
│   ├── DefinitionError       an agent, tool, handoff or guardrail defined wrongly in Python
│   ├── ConfigError           a YAML definition file that is wrong (file, line, column, field)
│   └── CompileError          a setting the chosen protocol dialect cannot express
├── SessionError              a live session failed
│   ├── TransportError        the connection could not be opened or was lost
│   │   ├── ConnectionClosed  the connection is closed (`clean`, `code`)
│   │   └── ReconnectFailed   every reconnect attempt failed
│   ├── ProtocolError         a frame that does not follow the wire protocol
│   ├── ProviderError         an `error` event from the realtime service, with its code
│   └── SessionLimitError     a runner's `max_concurrent_sessions` is reached
└── ControlFlowSignal         raised on purpose to change the flow of a run
    ├── ToolArgumentsError    the model called a tool with arguments that break its schema
    ├── ToolTimeoutError      a tool ran past its timeout
    └── GuardrailTripped      a guardrail's tripwire fired
```

Recoverable provider errors reach the app as events; only fatal ones raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AgentKitError",
    "CompileError",
    "ConfigError",
    "ConnectionClosed",
    "ControlFlowSignal",
    "DefinitionError",
    "GuardrailTripped",
    "ProtocolError",
    "ProviderError",
    "ReconnectFailed",
    "SessionError",
    "SessionLimitError",
    "SourceLocation",
    "ToolArgumentsError",
    "ToolTimeoutError",
    "TransportError",
    "UserError",
]


class AgentKitError(Exception):
    """Root of every exception agentkit raises on purpose."""


class UserError(AgentKitError):
    """A mistake in what the developer wrote; the message says how to fix it."""


class DefinitionError(UserError):
    """An agent, tool, handoff or guardrail defined wrongly in Python."""


@dataclass(frozen=True)
class SourceLocation:
    """Where in a definition file something stands (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ConfigError(UserError):
    """A definition file that is wrong.

    `str()` reads `agents.yaml:12:5: agents.sales.tools[0]: expected ..., got ...`, the form
    editors and CI logs turn into links.
    """

    def __init__(
        self,
        message: str,
        *,
        location: SourceLocation | None = None,
        path: str = "",
        expected: str | None = None,
    ) -> None:
        self.location = location
        self.path = path
        self.expected = expected
        self.detail = message
        prefix = f"{location}: " if location is not None else ""
        field = f"{path}: " if path else ""
        super().__init__(f"{prefix}{field}{message}")


class CompileError(UserError):
    """A setting that the target dialect (GA or beta) cannot express.

    Raised instead of silently dropping the field.
    """

    def __init__(self, message: str, *, field: str, dialect: str) -> None:
        self.field = field
        self.dialect = dialect
        super().__init__(f"{field}: {message} (dialect {dialect!r})")


class SessionError(AgentKitError):
    """A live session failed."""


class TransportError(SessionError):
    """The connection could not be opened, or was lost."""


class ConnectionClosed(TransportError):
    """The connection is closed; `clean` is True when it closed normally (code 1000/1001).

    Raised by a transport's `send` and `receive` once the connection is gone; the session
    turns it into a reconnect or, without a reconnect policy, the end of the session.
    """

    def __init__(
        self, message: str = "connection closed", *, clean: bool = True, code: int | None = None
    ) -> None:
        self.clean = clean
        self.code = code
        super().__init__(message)

class ReconnectFailed(TransportError):
    """Every reconnect attempt failed (and there was no text fallback, or it failed too).

    `attempts` is how many were made; the last attempt's error is chained as `__cause__`.
    """

    def __init__(self, message: str, *, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(message)


class SessionLimitError(SessionError):
    """A session could not start: its runner already runs `limit` sessions."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"this runner already runs its maximum of {limit} concurrent sessions")


class ProtocolError(SessionError):
    """A frame that does not follow the wire protocol."""


class ProviderError(SessionError):
    """An `error` event from the realtime service.

    Carries the wire fields so callers can branch on `code` (`session_expired`,
    `conversation_already_has_active_response`, ...).
    """

    def __init__(
        self,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        event_id: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        self.type = type
        self.code = code
        self.param = param
        self.event_id = event_id
        self.raw = raw
        super().__init__(f"{code or type}: {message}")


class ControlFlowSignal(AgentKitError):
    """Raised on purpose to change the flow of a run, not to report a bug."""


class ToolTimeoutError(ControlFlowSignal):
    """A tool ran past its timeout."""

    def __init__(self, tool_name: str, timeout: float) -> None:
        self.tool_name = tool_name
        self.timeout = timeout
        super().__init__(f"tool {tool_name!r} timed out after {timeout:g}s")


class GuardrailTripped(ControlFlowSignal):
    """A guardrail's tripwire fired."""

    def __init__(self, guardrail_name: str, details: Any = None) -> None:
        self.guardrail_name = guardrail_name
        self.details = details
        super().__init__(f"guardrail {guardrail_name!r} tripped")


class ToolArgumentsError(ControlFlowSignal):
    """The model called a tool with arguments that do not fit its JSON Schema.

    The runtime turns it into a `function_call_output` the model can recover from.
    """

    def __init__(self, tool_name: str, message: str) -> None:
        self.tool_name = tool_name
        self.message = message
        super().__init__(f"invalid arguments for tool {tool_name!r}: {message}")
