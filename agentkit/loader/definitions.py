"""The meaning pass: a structurally checked document becomes `Definitions`.

`load_definitions` runs the three passes (`yaml_source` parses, `schema` checks the
structure, this module the meaning): imports and plugins resolve (through `importer`),
references between sections exist, settings pass their range checks, names are unique per
agent, and handoffs are linked once every agent exists.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..agent import RealtimeAgent
from ..errors import ConfigError, DefinitionError
from ..guardrails import (
    BUILTIN_GUARDRAILS,
    Guardrail,
    InputGuardrail,
    OutputGuardrail,
    input_guardrail,
)
from ..handoffs import Handoff, handoff
from ..mcp import MCPServer, MCPServerHTTP, MCPServerStdio
from ..protocol.live_config import LiveOptions
from ..protocol.wire_types import Dialect
from ..settings import SessionSettings
from ..telephony.dtmf import DtmfAction, DtmfHandoff, DtmfReply, DtmfToolCall, dtmf_map_problem
from ..tools import FunctionTool, HostedMCPTool, MCPApproval, ToolSource, tool
from .importer import GUARDRAIL_ENTRY_POINT_GROUP, Importer, describe_object, tool_package
from .lint import DefinitionWarning, lint
from .schema import check_structure, describe_value, did_you_mean
from .yaml_source import JsonPath, SourceDocument, format_path, parse_yaml, read_source

__all__ = ["Definitions", "load_definitions", "load_definitions_from_string"]

_T = TypeVar("_T")
_Staged = TypeVar("_Staged", InputGuardrail, OutputGuardrail)

@dataclass(frozen=True)
class Definitions:
    """Everything one definition file declares, resolved and checked.

    Attributes:
        path: The file the definitions came from (`<string>` for text).
        settings: The session settings shared by all agents.
        agents: Every agent by name, handoffs already pointing at agent objects.
        starting_agent: The agent a session starts with.
        script: The conversation script for the local server, if the file names one.
        tools: Every declared tool by name (the name the model calls).
        guardrails: Every declared guardrail by name; agents hold input/output copies.
        mcp_servers: Every declared MCP server by name: `HostedMCPTool`s and local servers
            (`agentkit.mcp`); agents list them in `mcp_servers`.
        context_factory: Builds the object tools receive as `RunContext.context`; the
            runtime calls it once per session. `None` when the file declares no `context`.
        warnings: What is valid but probably a mistake (see `agentkit.loader.lint`): a tool
            or guardrail no agent uses, a key-like line inside `instructions: |`.
        dialect: The protocol the file asks for (`dialect:`), if it names one.
        live: The file's `live:` options (GPT-Live), if it has them.
    """

    path: Path
    settings: SessionSettings
    agents: dict[str, RealtimeAgent[Any]]
    starting_agent: RealtimeAgent[Any]
    script: Path | None
    tools: dict[str, FunctionTool]
    guardrails: dict[str, Guardrail] = dataclasses.field(default_factory=dict)
    context_factory: Callable[[], Any] | None = None
    warnings: tuple[DefinitionWarning, ...] = ()
    mcp_servers: dict[str, HostedMCPTool | MCPServer] = dataclasses.field(default_factory=dict)
    dialect: Dialect | None = None
    live: LiveOptions | None = None


def load_definitions(path: str | Path, *, env: Mapping[str, str] | None = None) -> Definitions:
    """Load and check a definition file.

    Modules named in `function:` paths are looked up next to the file first. `${VAR}` takes its
    value from `env` when given (and only from it), else from `os.environ`.

    Raises:
        ConfigError: anything wrong with the file, located to its line and column.
    """
    file = Path(path)
    text = read_source(file)
    return _Loader(
        text,
        filename=str(path),
        base_dir=file.resolve().parent,
        env=os.environ if env is None else env,
        path=file,
    ).load()


def load_definitions_from_string(
    text: str,
    *,
    filename: str = "<string>",
    env: Mapping[str, str] | None = None,
    base_dir: str | Path | None = None,
) -> Definitions:
    """Load definitions from YAML text; relative paths and modules resolve from `base_dir`.

    `base_dir` defaults to the current directory. `filename` is only what errors show.
    """
    folder = Path(base_dir) if base_dir is not None else Path.cwd()
    return _Loader(
        text,
        filename=filename,
        base_dir=folder.resolve(),
        env=os.environ if env is None else env,
        path=Path(filename),
    ).load()


class _Loader:
    """One load: the parsed document plus the sections resolved so far."""

    def __init__(
        self, text: str, *, filename: str, base_dir: Path, env: Mapping[str, str], path: Path
    ) -> None:
        self.text = text
        self.filename = filename
        self.base_dir = base_dir
        self.env = env
        self.path = path
        self.importer = Importer(base_dir)
        self.doc: SourceDocument

    def load(self) -> Definitions:
        self.doc = parse_yaml(self.text, filename=self.filename, env=self.env)
        data = self.doc.data
        if not isinstance(data, Mapping):
            raise self.doc.error(
                (),
                f"the top level must be a mapping, got {describe_value(self.doc, (), data)}",
                expected="a mapping with 'version', 'agents' and the other sections",
            )
        check_structure(self.doc)
        settings = self.settings(("settings",), data.get("settings"))
        tools = {
            name: self.tool(("tools", name), name, spec)
            for name, spec in data.get("tools", {}).items()
        }
        guardrails = {
            name: self.guardrail(("guardrails", name), name, spec)
            for name, spec in data.get("guardrails", {}).items()
        }
        mcp_servers = {
            name: self.mcp_server(("mcp_servers", name), name, spec)
            for name, spec in data.get("mcp_servers", {}).items()
        }
        agents = {
            name: self.agent(("agents", name), name, spec, tools, guardrails, mcp_servers)
            for name, spec in data["agents"].items()
        }
        for name, spec in data["agents"].items():
            self.link_handoffs(("agents", name), agents[name], spec.get("handoffs", []), agents)
        for name, spec in data["agents"].items():
            # After the handoffs: a key may lead to any agent this one hands off to.
            agents[name].dtmf = self.dtmf(("agents", name, "dtmf"), agents[name], spec.get("dtmf", {}))
        return Definitions(
            path=self.path,
            settings=settings,
            agents=agents,
            starting_agent=self.starting_agent(data, agents),
            script=self.script(data.get("script")),
            tools=tools,
            guardrails=guardrails,
            context_factory=self.context_factory(data.get("context")),
            warnings=lint(self.doc),
            mcp_servers=mcp_servers,
            dialect=data.get("dialect"),
            live=self.live_options(data.get("live")),
        )

    def live_options(self, value: Mapping[str, Any] | None) -> LiveOptions | None:
        # The schema checked the keys and types; `LiveOptions` checks the rest.
        if value is None:
            return None
        options = dict(value)
        if "degrade" in options:
            options["degrade"] = frozenset(options["degrade"])
        try:
            return LiveOptions(**options)
        except ValueError as exc:
            raise self.doc.error(("live",), str(exc), expected="valid Live options") from exc

    # -- settings -------------------------------------------------------------------------

    def settings(self, path: JsonPath, data: Mapping[str, Any] | None) -> SessionSettings:
        try:
            return SessionSettings.model_validate(dict(data or {}))
        except ValidationError as exc:
            raise self.pydantic_error(path, data or {}, exc) from exc

    def pydantic_error(
        self, path: JsonPath, data: Mapping[str, Any], exc: ValidationError
    ) -> ConfigError:
        """Map the first pydantic error back onto the YAML value it is about."""
        err = exc.errors(include_url=False)[0]
        inner, dropped = _align(data, err["loc"])
        where = (*path, *inner)
        message = str(err["msg"]).removeprefix("Value error, ")
        owner = f" {dropped[-1]}" if dropped else ""
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1])
            return self.doc.error(
                where,
                f"unknown key {key!r}: not a setting of{owner or ' this mapping'}",
                expected=f"only the keys{owner} accepts (see `agentkit schema`)",
                key=True,
            )
        got = describe_value(self.doc, where, err.get("input"))
        return self.doc.error(where, f"{message}; got {got}", expected=message, say_expected=False)

    # -- tools ----------------------------------------------------------------------------

    def tool(self, path: JsonPath, name: str, spec: Mapping[str, Any]) -> FunctionTool:
        overrides = {
            key: spec[key]
            for key in ("description", "parameters", "timeout", "needs_approval", "cancellable")
            if key in spec
        }
        if "function" in spec:
            where: JsonPath = (*path, "function")
            target = self.importer.resolve(self.doc, where, spec["function"])
            if inspect.isclass(target) or not callable(target):
                raise self.doc.error(
                    where,
                    f"{spec['function']} is {describe_object(target)}, not a function",
                    expected="a function or a @tool",
                )
        else:
            target = self.plugin_tool(path, name, spec)
            where = (*path, "plugin")
        try:
            return _as_tool(target, name, overrides)
        except DefinitionError as exc:
            raise self.doc.error(where, str(exc), expected="a function usable as a tool") from exc

    def plugin_tool(self, path: JsonPath, name: str, spec: Mapping[str, Any]) -> object:
        ep_name: str = spec["plugin"]
        loaded = self.importer.entry_point(self.doc, (*path, "plugin"), ep_name)
        package = tool_package(loaded)
        if package is None:
            if "tool" in spec:
                raise self.doc.error(
                    (*path, "tool"),
                    f"plugin {ep_name!r} provides a single tool, so 'tool' does not apply",
                    expected="'tool' only with a plugin that provides several tools",
                    key=True,
                )
            return loaded
        wanted: str = spec.get("tool", name)
        if wanted not in package:
            where = (*path, "tool") if "tool" in spec else (*path, "plugin")
            raise self.doc.error(
                where,
                f"plugin {ep_name!r} has no tool {wanted!r}{did_you_mean(wanted, package)}",
                expected=f"one of {', '.join(sorted(package))} (name it with 'tool:')",
            )
        return package[wanted]

    # -- guardrails -----------------------------------------------------------------------

    def guardrail(self, path: JsonPath, name: str, spec: Mapping[str, Any]) -> Guardrail:
        safe_reply: str | None = spec.get("safe_reply")
        if "builtin" in spec:
            factory = BUILTIN_GUARDRAILS[spec["builtin"]]
            arguments = {k: v for k, v in spec.items() if k not in ("builtin", "safe_reply")}
            try:
                check = factory(**arguments)
            except DefinitionError as exc:
                first_arg = next(iter(arguments), "builtin")
                raise self.doc.error(
                    (*path, first_arg), str(exc), expected=f"valid arguments for {spec['builtin']}"
                ) from exc
            return Guardrail(name=name, check=check, safe_reply=safe_reply)
        if "plugin" in spec:
            where = (*path, "plugin")
            target = self.importer.entry_point(
                self.doc, where, spec["plugin"], group=GUARDRAIL_ENTRY_POINT_GROUP
            )
        else:
            where = (*path, "function")
            target = self.importer.resolve(self.doc, where, spec["function"])
        if isinstance(target, Guardrail):
            return Guardrail(name=name, check=target.check, safe_reply=safe_reply or target.safe_reply)
        try:
            made = input_guardrail(_checked_callable(target), name=name, safe_reply=safe_reply)
        except DefinitionError as exc:
            raise self.doc.error(where, str(exc), expected="a function check(ctx, text)") from exc
        return Guardrail(name=name, check=made.check, safe_reply=safe_reply)

    # -- MCP servers ----------------------------------------------------------------------

    def mcp_server(
        self, path: JsonPath, name: str, spec: Mapping[str, Any]
    ) -> HostedMCPTool | MCPServer:
        """A `type: hosted` server (the service calls it), or a local `stdio` / `http` one."""
        kind = spec["type"]
        try:
            if kind == "hosted":
                approval: MCPApproval = spec.get("require_approval", "always")  # schema-checked
                return HostedMCPTool(
                    server_label=name,
                    server_url=spec["url"],
                    allowed_tools=_names(spec.get("allowed_tools")),
                    require_approval=approval if isinstance(approval, str) else tuple(approval),
                    headers=spec.get("headers", {}),
                    authorization_env=spec.get("authorization_env"),
                    server_description=spec.get("description"),
                )
            asks = spec.get("needs_approval", False)
            options: dict[str, Any] = {
                "allowed_tools": _names(spec.get("allowed_tools")),
                "needs_approval": asks if isinstance(asks, bool) else tuple(asks),
                "timeout": spec.get("timeout"),
            }
            if kind == "stdio":
                return MCPServerStdio(
                    name,
                    spec["command"],
                    spec.get("args", []),
                    env=spec.get("env"),
                    cwd=self.base_dir / spec.get("cwd", "."),
                    **options,
                )
            return MCPServerHTTP(name, spec["url"], headers=spec.get("headers"), **options)
        except DefinitionError as exc:
            raise self.doc.error(path, str(exc), expected="a valid MCP server") from exc

    # -- agents ---------------------------------------------------------------------------

    def agent(
        self,
        path: JsonPath,
        name: str,
        spec: Mapping[str, Any],
        tools: Mapping[str, FunctionTool],
        guardrails: Mapping[str, Guardrail],
        mcp_servers: Mapping[str, HostedMCPTool | MCPServer],
    ) -> RealtimeAgent[Any]:
        settings = self.settings((*path, "settings"), spec["settings"]) if "settings" in spec else None
        if "voice" in spec and settings is not None and settings.explicitly_set("voice"):
            raise self.doc.error(
                (*path, "settings", "voice"),
                "the voice is given twice, as 'voice' and as 'settings.voice'",
                expected="the voice given once",
                key=True,
            )
        agent_tools = [
            self.reference((*path, "tools", i), ref, tools, "tool")
            for i, ref in enumerate(spec.get("tools", []))
        ]
        self.unique((*path, "tools"), spec.get("tools", []), "tool")
        inputs = [
            _staged(InputGuardrail, self.reference((*path, "input_guardrails", i), ref, guardrails, "guardrail"))
            for i, ref in enumerate(spec.get("input_guardrails", []))
        ]
        self.unique((*path, "input_guardrails"), spec.get("input_guardrails", []), "guardrail")
        outputs = [
            _staged(OutputGuardrail, self.reference((*path, "output_guardrails", i), ref, guardrails, "guardrail"))
            for i, ref in enumerate(spec.get("output_guardrails", []))
        ]
        self.unique((*path, "output_guardrails"), spec.get("output_guardrails", []), "guardrail")
        servers: list[HostedMCPTool | ToolSource] = [
            self.reference((*path, "mcp_servers", i), ref, mcp_servers, "mcp_server")
            for i, ref in enumerate(spec.get("mcp_servers", []))
        ]
        self.unique((*path, "mcp_servers"), spec.get("mcp_servers", []), "mcp_server")
        return RealtimeAgent(
            name=name,
            instructions=self.instructions(path, spec),
            handoff_description=spec.get("handoff_description"),
            tools=agent_tools,
            input_guardrails=inputs,
            output_guardrails=outputs,
            voice=spec.get("voice"),
            settings=settings,
            mcp_servers=servers,
            refer_to=spec.get("refer_to"),
        )

    def dtmf(
        self, path: JsonPath, agent: RealtimeAgent[Any], spec: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, DtmfAction]:
        """The agent's keypad map: each key's action, naming what the agent offers."""
        keys: dict[str, DtmfAction] = {}
        handoffs = sorted(
            h.target if isinstance(h.target, str) else h.target.name for h in agent.handoff_list()
        )
        tools = [t.name for t in agent.tools]
        for raw, action in spec.items():
            where: JsonPath = (*path, raw)
            if "handoff" in action:
                target = str(action["handoff"])
                if target not in handoffs:
                    raise self.doc.error(
                        (*where, "handoff"),
                        f"agent {agent.name!r} does not hand off to {target!r}"
                        f"{did_you_mean(target, handoffs)}",
                        expected=f"one of its handoffs ({', '.join(map(repr, handoffs)) or 'none'})",
                    )
                keys[raw] = DtmfHandoff(target)
            elif "tool" in action:
                name = str(action["tool"])
                if name not in tools:
                    raise self.doc.error(
                        (*where, "tool"),
                        f"agent {agent.name!r} has no tool {name!r}{did_you_mean(name, tools)}",
                        expected=f"one of its tools ({', '.join(map(repr, tools)) or 'none'})",
                    )
                keys[raw] = DtmfToolCall(name, dict(action.get("arguments", {})))
            else:
                keys[raw] = DtmfReply(str(action["say"]))
        problem = dtmf_map_problem(keys)
        if problem is not None:
            at, message = problem
            raise self.doc.error(
                (*path, at) if at is not None else path, message,
                expected="prefix-free key sequences", key=at is not None,
            )
        return keys

    def instructions(self, path: JsonPath, spec: Mapping[str, Any]) -> str | None:
        if "instructions_file" not in spec:
            text: str | None = spec.get("instructions")
            return text
        where = (*path, "instructions_file")
        file = self.base_dir / str(spec["instructions_file"])
        try:
            return file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = "not found" if isinstance(exc, FileNotFoundError) else f"unreadable ({exc})"
            raise self.doc.error(
                where, f"instructions file {str(file)!r} is {reason}", expected="a UTF-8 text file"
            ) from exc

    def reference(self, path: JsonPath, ref: str, table: Mapping[str, _T], kind: str) -> _T:
        if ref in table:
            return table[ref]
        section = f"{kind}s"
        known = ", ".join(repr(k) for k in sorted(table)) or f"none: the file has no '{section}' section"
        raise self.doc.error(
            path,
            f"unknown {kind} {ref!r}{did_you_mean(ref, table)}",
            expected=f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} declared under '{section}' ({known})",
        )

    def unique(self, path: JsonPath, refs: Sequence[str], kind: str) -> None:
        seen: dict[str, int] = {}
        for i, ref in enumerate(refs):
            if ref in seen:
                raise self.doc.error(
                    (*path, i),
                    f"{kind} {ref!r} is listed twice (first at {format_path((*path, seen[ref]))})",
                    expected=f"each {kind} once per agent",
                )
            seen[ref] = i

    def link_handoffs(
        self,
        path: JsonPath,
        agent: RealtimeAgent[Any],
        specs: Sequence[str | Mapping[str, Any]],
        agents: Mapping[str, RealtimeAgent[Any]],
    ) -> None:
        """Add the agent's handoffs once every agent exists (handoffs may form cycles)."""
        # Tool names the model sees must be unique per agent, handoff tools included.
        taken: dict[str, JsonPath] = {
            t.name: (*path, "tools", i) for i, t in enumerate(agent.tools)
        }
        for i, spec in enumerate(specs):
            where: JsonPath = (*path, "handoffs", i)
            options = {"agent": spec} if isinstance(spec, str) else dict(spec)
            target_path = where if isinstance(spec, str) else (*where, "agent")
            target_name: str = options["agent"]
            target = self.reference(target_path, target_name, agents, "agent")
            if target is agent:
                raise self.doc.error(
                    target_path,
                    f"agent {agent.name!r} hands off to itself",
                    expected="another agent's name",
                )
            on_handoff = self.optional_import(where, options, "on_handoff")
            input_type = self.optional_import(where, options, "input_type")
            if input_type is not None and not (
                isinstance(input_type, type) and issubclass(input_type, BaseModel)
            ):
                raise self.doc.error(
                    (*where, "input_type"),
                    f"{options['input_type']} is {describe_object(input_type)}",
                    expected="a pydantic model class",
                )
            try:
                made: Handoff = handoff(
                    target,
                    tool_name=options.get("tool_name"),
                    description=options.get("description"),
                    on_handoff=on_handoff,
                    input_type=input_type,
                )
            except DefinitionError as exc:
                raise self.doc.error(where, str(exc), expected="a valid handoff") from exc
            if made.tool_name in taken:
                raise self.doc.error(
                    where,
                    f"tool name {made.tool_name!r} is already used by "
                    f"{format_path(taken[made.tool_name])}",
                    expected="tool and handoff names unique per agent (set 'tool_name')",
                )
            taken[made.tool_name] = where
            agent.handoffs.append(made)

    def optional_import(self, path: JsonPath, options: Mapping[str, Any], key: str) -> Any:
        if key not in options:
            return None
        return self.importer.resolve(self.doc, (*path, key), options[key])

    # -- the rest ---------------------------------------------------------------------------

    def starting_agent(
        self, data: Mapping[str, Any], agents: Mapping[str, RealtimeAgent[Any]]
    ) -> RealtimeAgent[Any]:
        name = data.get("starting_agent")
        if name is None:
            if len(agents) == 1:
                return next(iter(agents.values()))
            raise self.doc.error(
                ("agents",),
                "missing 'starting_agent': there is more than one agent",
                expected=f"starting_agent: one of {', '.join(agents)}",
                key=True,
            )
        return self.reference(("starting_agent",), name, agents, "agent")

    def script(self, value: str | None) -> Path | None:
        if value is None:
            return None
        file = self.base_dir / value
        if not file.is_file():
            reason = "is a directory" if file.is_dir() else "does not exist"
            raise self.doc.error(
                ("script",),
                f"script {str(file)!r} {reason}",
                expected="a conversation script file, relative to this file",
            )
        return file

    def context_factory(self, value: str | None) -> Callable[[], Any] | None:
        if value is None:
            return None
        target = self.importer.resolve(self.doc, ("context",), value)
        if not callable(target):
            raise self.doc.error(
                ("context",), f"{value} is {describe_object(target)}", expected="a callable returning the context"
            )
        factory: Callable[[], Any] = target
        return factory


def _align(data: Any, loc: Sequence[int | str]) -> tuple[JsonPath, list[str]]:
    """Split a pydantic error location into the part that exists in the data and the rest.

    Pydantic inserts union branch tags (`semantic_vad`, `int`, `literal['inf']`) into
    locations; those are not keys of the YAML. They are returned apart, since they still say
    which shape the value was checked as.
    """
    out: list[str | int] = []
    dropped: list[str] = []
    node = data
    for part in loc:
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            out.append(part)
            node = node[part]
        elif part is not loc[-1]:  # the last part missing is a missing key, not a tag
            dropped.append(str(part))
    return tuple(out), dropped


def _as_tool(target: object, name: str, overrides: Mapping[str, Any]) -> FunctionTool:
    """A `FunctionTool` named `name`, from a tool or a plain function, with YAML overrides."""
    if isinstance(target, FunctionTool):
        changes: dict[str, Any] = {"name": name, **overrides}
        if "parameters" in overrides:
            # A raw schema replaces the one read off the signature, and with it the conversion
            # of arguments to the signature's types.
            changes["args_model"] = None
        return dataclasses.replace(target, **changes)
    return tool(_checked_callable(target), name=name, **overrides)


def _checked_callable(target: object) -> Callable[..., Any]:
    if inspect.isclass(target) or not callable(target):
        raise DefinitionError(f"expected a function, got {describe_object(target)}")
    return target


def _names(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _staged(cls: type[_Staged], guard: Guardrail) -> _Staged:
    return cls(name=guard.name, check=guard.check, safe_reply=guard.safe_reply)
