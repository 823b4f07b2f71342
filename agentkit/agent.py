"""`RealtimeAgent`: what one voice agent is told, what it can do, and whom it can hand off to."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic

from .context import RunContext, TContext
from .errors import DefinitionError
from .guardrails import InputGuardrail, OutputGuardrail
from .handoffs import Handoff, as_handoff
from .settings import SessionSettings
from .telephony.dtmf import DtmfAction, check_dtmf_map
from .tools import FunctionTool, HostedMCPTool, ToolDefinition, ToolSource

__all__ = ["InstructionsFunction", "RealtimeAgent", "walk_agents"]

_REFER_URI = re.compile(r"^(?:sips?:[^\s@]+@[^\s@]+|sips?:[^\s@]+|tel:\+?[0-9*#(). -]+)$")

InstructionsFunction = Callable[[RunContext[Any]], str | Awaitable[str]]
"""Instructions computed per run from the context (sync or async)."""


@dataclass(eq=False)
class RealtimeAgent(Generic[TContext]):
    """A realtime agent.

    Agents may hand off to each other in cycles, so `handoffs` is a list you may append to
    after both agents exist.

    Attributes:
        name: Unique among the agents of a run; shown in transcripts and traces.
        instructions: The system prompt, or a function of the run context returning it.
        handoff_description: Tells other agents' models when to transfer here.
        tools: Function tools the model may call while this agent is active.
        handoffs: Agents (or `handoff(...)` objects) this agent may transfer to.
        input_guardrails: Checks on what the caller says while this agent is active.
        output_guardrails: Checks on what this agent says.
        voice: This agent's voice; kept once the session has produced audio, because the
            service refuses a voice change then.
        settings: Overrides of the session settings while this agent is active (only the
            fields set on it count).
        mcp_servers: MCP servers whose tools this agent offers: `HostedMCPTool`s (the service
            calls them; GA only) and local servers (`agentkit.mcp`: agentkit calls them, and
            their tools run like function tools).
        dtmf: What the caller's keypad does while this agent is active: a key or a sequence
            (`"0"`, `"*9"`) mapped to a `DtmfHandoff`, `DtmfToolCall` or `DtmfReply`
            (see `agentkit.telephony.dtmf`; sequences must be prefix-free).
        refer_to: On a SIP call, a `sip:` or `tel:` URI the call is transferred to (SIP
            REFER) once this agent has taken over and spoken its first answer: a handoff to
            it ends with the caller put through to a person or another line.
    """

    name: str
    instructions: str | InstructionsFunction | None = None
    handoff_description: str | None = None
    tools: list[FunctionTool] = field(default_factory=list)
    handoffs: list[RealtimeAgent[Any] | Handoff] = field(default_factory=list)
    input_guardrails: list[InputGuardrail] = field(default_factory=list)
    output_guardrails: list[OutputGuardrail] = field(default_factory=list)
    voice: str | None = None
    settings: SessionSettings | None = None
    mcp_servers: list[HostedMCPTool | ToolSource] = field(default_factory=list)
    dtmf: dict[str, DtmfAction] = field(default_factory=dict)
    refer_to: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DefinitionError("an agent needs a non-empty name")
        if self.instructions is not None and not (
            isinstance(self.instructions, str) or callable(self.instructions)
        ):
            raise DefinitionError(
                f"agent {self.name!r}: instructions must be a string or a function of the run "
                f"context, got {type(self.instructions).__name__}"
            )
        if self.settings is not None and not isinstance(self.settings, SessionSettings):
            raise DefinitionError(
                f"agent {self.name!r}: settings must be a SessionSettings, "
                f"got {type(self.settings).__name__}"
            )
        self.dtmf = check_dtmf_map(self.name, self.dtmf)
        if self.refer_to is not None and not _REFER_URI.match(str(self.refer_to)):
            raise DefinitionError(
                f"agent {self.name!r}: refer_to must be a sip:, sips: or tel: URI "
                f"(tel:+14155550123, sip:desk@example.com), got {self.refer_to!r}"
            )
        self.tools = list(self.tools)
        self.handoffs = list(self.handoffs)
        self.input_guardrails = list(self.input_guardrails)
        self.output_guardrails = list(self.output_guardrails)
        self.mcp_servers = list(self.mcp_servers)
        for server in self.mcp_servers:
            if not isinstance(server, HostedMCPTool) and not callable(getattr(server, "tools", None)):
                raise DefinitionError(
                    f"agent {self.name!r}: mcp_servers takes HostedMCPTool objects and local "
                    f"MCP servers (agentkit.mcp), got {type(server).__name__}"
                )
        for t in self.tools:
            if not isinstance(t, FunctionTool):
                raise DefinitionError(
                    f"agent {self.name!r}: tools must be FunctionTool objects (decorate the "
                    f"function with @tool), got {type(t).__name__}"
                )
        for g, kind, cls in (
            *((g, "input_guardrails", InputGuardrail) for g in self.input_guardrails),
            *((g, "output_guardrails", OutputGuardrail) for g in self.output_guardrails),
        ):
            if not isinstance(g, cls):
                raise DefinitionError(
                    f"agent {self.name!r}: {kind} takes {cls.__name__} objects "
                    f"(@{'input' if cls is InputGuardrail else 'output'}_guardrail), "
                    f"got {type(g).__name__}"
                )

    def clone(self, **changes: Any) -> RealtimeAgent[TContext]:
        """A copy with some fields replaced (lists are copied, not shared)."""
        return dataclasses.replace(self, **changes)

    def handoff_list(self) -> list[Handoff]:
        """The handoffs, with plain agents turned into `transfer_to_<name>` handoffs."""
        return [as_handoff(h) for h in self.handoffs]

    def tool_definitions(self) -> list[ToolDefinition]:
        """Every tool the model sees while this agent is active: its tools, then handoffs.

        Raises:
            DefinitionError: two tools (or a tool and a handoff) share a name.
        """
        definitions = [t.definition() for t in self.tools]
        definitions += [t.definition() for t in self.source_tools()]
        definitions += [h.definition() for h in self.handoff_list()]
        seen: set[str] = set()
        for d in definitions:
            if d.name in seen:
                raise DefinitionError(
                    f"agent {self.name!r}: two tools are named {d.name!r}; tool and handoff "
                    "names must be unique per agent"
                )
            seen.add(d.name)
        return definitions

    def find_tool(self, name: str) -> FunctionTool | Handoff | None:
        """The tool or handoff the model called by this name, if this agent offers it."""
        for t in self.tools:
            if t.name == name:
                return t
        for t in self.source_tools():
            if t.name == name:
                return t
        for h in self.handoff_list():
            if h.tool_name == name:
                return h
        return None

    def source_tools(self) -> list[FunctionTool]:
        """The tools the agent's local MCP servers offer now (their cached lists)."""
        return [
            t
            for server in self.mcp_servers
            if not isinstance(server, HostedMCPTool)
            for t in server.tools()
        ]

    def hosted_mcp_tools(self) -> list[HostedMCPTool]:
        """The hosted MCP servers the service calls for this agent."""
        return [s for s in self.mcp_servers if isinstance(s, HostedMCPTool)]

    async def resolve_instructions(self, ctx: RunContext[TContext]) -> str:
        """The instructions for this run: the string, or the function's result."""
        if self.instructions is None:
            return ""
        if isinstance(self.instructions, str):
            return self.instructions
        value = self.instructions(ctx)
        if inspect.isawaitable(value):
            value = await value
        if not isinstance(value, str):
            raise DefinitionError(
                f"agent {self.name!r}: instructions function returned "
                f"{type(value).__name__}, expected str"
            )
        return value

    def static_instructions(self) -> str | None:
        """The instructions when they are a plain string (None when computed per run)."""
        if self.instructions is None:
            return ""
        return self.instructions if isinstance(self.instructions, str) else None


def walk_agents(start: RealtimeAgent[Any]) -> list[RealtimeAgent[Any]]:
    """Every agent reachable from `start` through handoffs, `start` first, each once."""
    seen: dict[int, RealtimeAgent[Any]] = {}
    stack: list[RealtimeAgent[Any]] = [start]
    while stack:
        agent = stack.pop(0)
        if id(agent) in seen:
            continue
        seen[id(agent)] = agent
        for h in agent.handoff_list():
            if not isinstance(h.target, str):
                stack.append(h.target)
    return list(seen.values())


