"""Handoffs: a tool the model calls to pass the conversation to another agent.

`handoff(agent)` gives the `transfer_to_<name>` tool; a plain agent listed in an agent's
`handoffs` becomes the same. The runtime swaps the session to the target's configuration when
the model calls it, and the new agent speaks first.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ValidationError

from .context import RunContext
from .errors import DefinitionError, ToolArgumentsError
from .tools import ToolDefinition, ensure_strict_schema

if TYPE_CHECKING:
    from .agent import RealtimeAgent

__all__ = ["Handoff", "OnHandoff", "as_handoff", "default_handoff_tool_name", "handoff"]

OnHandoff = Callable[..., Awaitable[None] | None]
"""`on_handoff(ctx)` or, with an `input_type`, `on_handoff(ctx, input)`; sync or async."""

_EMPTY_OBJECT: Mapping[str, Any] = {
    "type": "object",
    "properties": {},
    "required": [],
    "additionalProperties": False,
}


def default_handoff_tool_name(agent_name: str) -> str:
    """`transfer_to_<agent name in snake case>`, the name peers and the docs use."""
    slug = re.sub(r"[^0-9A-Za-z]+", "_", agent_name).strip("_").lower()
    return f"transfer_to_{slug}"[:64]


@dataclass(frozen=True, eq=False)
class Handoff:
    """A transfer to another agent, offered to the model as a function tool.

    Attributes:
        target: The agent to transfer to, or its name (resolved when definitions are loaded
            from YAML, where agents may refer to each other before they exist).
        tool_name: The function name the model calls.
        description: What the model is told about when to transfer.
        on_handoff: Called when the model transfers, before the swap.
        input_type: A pydantic model for arguments the model must give with the transfer
            (a reason, a summary...); validated before `on_handoff` sees it.
    """

    target: RealtimeAgent[Any] | str
    tool_name: str
    description: str
    on_handoff: OnHandoff | None = None
    input_type: type[BaseModel] | None = None
    parameters: Mapping[str, Any] = field(default_factory=lambda: dict(_EMPTY_OBJECT))

    @property
    def agent_name(self) -> str:
        """The target agent's name."""
        return self.target if isinstance(self.target, str) else self.target.name

    def definition(self) -> ToolDefinition:
        """The neutral tool form the compiler renders."""
        return ToolDefinition(self.tool_name, self.description, self.parameters)

    def parse_input(self, arguments: str) -> BaseModel | None:
        """Validate the model's transfer arguments against `input_type` (None without one)."""
        if self.input_type is None:
            return None
        try:
            data = orjson.loads(arguments or "{}")
            return self.input_type.model_validate(data)
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise ToolArgumentsError(self.tool_name, str(exc)) from exc

    async def run_callback(self, ctx: RunContext[Any], value: BaseModel | None) -> None:
        """Run `on_handoff` (sync or async) with the validated input when there is one."""
        if self.on_handoff is None:
            return
        result = self.on_handoff(ctx, value) if self.input_type is not None else self.on_handoff(ctx)
        if inspect.isawaitable(result):
            await result


def handoff(
    agent: RealtimeAgent[Any] | str,
    *,
    tool_name: str | None = None,
    description: str | None = None,
    on_handoff: OnHandoff | None = None,
    input_type: type[BaseModel] | None = None,
) -> Handoff:
    """Offer the model a transfer to `agent`.

    Args:
        agent: The target agent (or its name, for definitions that refer ahead).
        tool_name: Defaults to `transfer_to_<agent name>`.
        description: Defaults to a sentence built from the agent's `handoff_description`.
        on_handoff: Called as `on_handoff(ctx)`, or `on_handoff(ctx, input)` with `input_type`.
        input_type: A pydantic model of arguments the model must give.
    """
    name = agent if isinstance(agent, str) else agent.name
    if not name:
        raise DefinitionError("handoff target has no name")
    if on_handoff is not None:
        _check_callback_arity(on_handoff, 2 if input_type is not None else 1, name)
    if description is None:
        extra = "" if isinstance(agent, str) else (agent.handoff_description or "")
        description = f"Transfer the conversation to the {name} agent. {extra}".strip()
    parameters: Mapping[str, Any] = _EMPTY_OBJECT
    if input_type is not None:
        if not (isinstance(input_type, type) and issubclass(input_type, BaseModel)):
            raise DefinitionError(f"handoff to {name!r}: input_type must be a pydantic model")
        parameters = ensure_strict_schema(input_type.model_json_schema())
    return Handoff(
        target=agent,
        tool_name=tool_name or default_handoff_tool_name(name),
        description=description,
        on_handoff=on_handoff,
        input_type=input_type,
        parameters=dict(parameters),
    )


def _check_callback_arity(callback: Callable[..., Any], expected: int, target: str) -> None:
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):  # builtins without a signature: trust the developer
        return
    try:
        signature.bind(*([None] * expected))
    except TypeError as exc:
        shape = "on_handoff(ctx, input)" if expected == 2 else "on_handoff(ctx)"
        raise DefinitionError(
            f"handoff to {target!r}: on_handoff must accept {shape} ({exc})"
        ) from exc


def as_handoff(item: RealtimeAgent[Any] | Handoff) -> Handoff:
    """A plain agent in `handoffs` becomes `handoff(agent)`."""
    return item if isinstance(item, Handoff) else handoff(item)


