"""Conversation scripts: what the caller says each turn and what the model does.

One YAML file serves both sides of a test conversation: the local server's `ScriptedModel`
plays the model's part, and a runner (`agentkit run`) reads the same file to know what the
caller says each turn and whether to speak it (synthesized audio) or type it.

```yaml
name: order status                 # optional
greeting:                          # optional: what the model says on a response with no user turn
  - say: Hello! How can I help?
turns:
  - user: Where is my order 42?    # the caller's line (the transcript of the audio turn)
    mode: audio                    # audio (default) | text
    steps:
      - say: Let me check that.
      - call: lookup_order         # a function call; the response ends here
        arguments: {order_id: "42"}
      - say: "Order {{ output.order_id }} is {{ output.status }}."  # after the tool output
  - user: I want a refund
    alternatives:                  # first alternative whose `when:` holds wins
      - when: {has_tool: transfer_to_billing}
        steps:
          - handoff: billing       # calls transfer_to_billing
          - say: Billing here. I can refund that.
            when: {instructions_contain: billing}   # a step may carry its own condition
    steps:                         # used when no alternative holds
      - say: I can't do refunds, sorry.
fallback: Sorry, I did not get that.   # optional: reply to input no turn covers
idle_prompt: Are you still there?      # optional: reply on an idle timeout
faults:                                # optional: see agentkit.server.faults
  - {at_event: response.function_call_arguments.done, action: drop}
response_latency_ms: {min: 200, max: 600, seed: 1}   # optional; or a number (fixed)
```

`response_latency_ms`: how long the model takes before a response's first output (see
`ResponseLatency`); unset, the server's option or its pace's default applies.

Steps: `say: TEXT` (templated: `{{ output.a.b }}` reads the last tool output's JSON,
`{{ user }}` the caller's line), `call: TOOL` with `arguments:`, `handoff: AGENT` (calls
`transfer_to_AGENT`, or the named tool if it already starts with `transfer_to_`).
Conditions (`when:`): `has_tool`, `lacks_tool`, `instructions_contain`, `instructions_lack`
(each a string or a list; all must hold), evaluated against the session's instructions and
tools when the response starts.

`load_script(path | yaml text | dict)` validates the whole script and raises
`ConfigError` with file, line, column and field path on the first mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from ..errors import ConfigError, SourceLocation
from .faults import Fault, parse_fault
from .session_config import ResponseLatency

__all__ = [
    "Alternative",
    "CallTool",
    "Condition",
    "Handoff",
    "Say",
    "Script",
    "Step",
    "Turn",
    "load_script",
    "parse_script",
]


@dataclass(frozen=True)
class Condition:
    """A `when:` test on the session's current tools and instructions (all parts must hold)."""

    has_tools: tuple[str, ...] = ()
    lacks_tools: tuple[str, ...] = ()
    instructions_contain: tuple[str, ...] = ()
    instructions_lack: tuple[str, ...] = ()


@dataclass(frozen=True)
class Say:
    """The model speaks (or types) `text`."""

    text: str
    when: Condition | None = None


@dataclass(frozen=True)
class CallTool:
    """The model calls a function tool; the response ends with the call."""

    name: str
    arguments: dict[str, Any]
    when: Condition | None = None


@dataclass(frozen=True)
class Handoff:
    """The model transfers to another agent by calling its `transfer_to_...` tool."""

    agent: str
    when: Condition | None = None

    @property
    def tool_name(self) -> str:
        """The tool the model calls (`transfer_to_<agent>`)."""
        if self.agent.startswith("transfer_to_"):
            return self.agent
        return "transfer_to_" + "".join(c if c.isalnum() else "_" for c in self.agent.lower())


Step = Say | CallTool | Handoff


@dataclass(frozen=True)
class Alternative:
    """Steps used when `when` holds at the start of the turn."""

    when: Condition
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Turn:
    """One caller turn and the model's steps for it."""

    user: str
    mode: Literal["audio", "text"] = "audio"
    steps: tuple[Step, ...] = ()
    alternatives: tuple[Alternative, ...] = ()


@dataclass(frozen=True)
class Script:
    """A whole conversation script."""

    turns: tuple[Turn, ...]
    name: str = ""
    greeting: tuple[Step, ...] = ()
    fallback: str = ""
    idle_prompt: str = "Are you still there?"
    faults: tuple[Fault, ...] = ()
    source: str | None = None
    response_latency: ResponseLatency | None = None
    """`response_latency_ms`: the model's delay before each response's first output."""


# --- loading -----------------------------------------------------------------------------------


class _Loader:
    """Turns a YAML node tree into plain data while remembering where each path came from."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[str, SourceLocation] = {}

    def data(self, node: yaml.Node, path: str) -> Any:
        self.marks[path] = SourceLocation(
            self.file, node.start_mark.line + 1, node.start_mark.column + 1
        )
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                out[key] = self.data(value_node, f"{path}.{key}" if path else key)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.data(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        # Scalars: let PyYAML's resolver decide the type, as safe_load would.
        return yaml.safe_load(yaml.serialize(node))

    def locate(self, path: str) -> SourceLocation | None:
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path.rsplit(".", 1)[0] if "." in path else ""
        return self.marks.get("")


def load_script(source: str | Path | Mapping[str, Any] | Script) -> Script:
    """Load a script from a file path, YAML text, an inline dict, or return a `Script` as is."""
    if isinstance(source, Script):
        return source
    if isinstance(source, Mapping):
        loader = _Loader("<inline>")
        return _build(dict(source), loader)
    if isinstance(source, Path) or ("\n" not in source and source.endswith((".yaml", ".yml"))):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read script: {exc}", path="") from exc
        return parse_script(text, file=str(path))
    return parse_script(source)


def parse_script(text: str, *, file: str = "<script>") -> Script:
    """Parse and validate YAML script text."""
    loader = _Loader(file)
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        location = SourceLocation(file, mark.line + 1, mark.column + 1) if mark else None
        raise ConfigError(f"invalid YAML: {exc}", location=location) from exc
    if node is None:
        raise ConfigError("empty script", location=SourceLocation(file, 1, 1), expected="mapping")
    data = loader.data(node, "")
    script = _build(data, loader)
    return Script(**{**script.__dict__, "source": file})


def _fail(loader: _Loader, path: str, message: str, expected: str | None = None) -> ConfigError:
    return ConfigError(message, location=loader.locate(path), path=path, expected=expected)


def _check_keys(loader: _Loader, data: dict[str, Any], path: str, allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            raise _fail(loader, where, f"unknown field {key!r}", ", ".join(sorted(allowed)))


def _string(loader: _Loader, value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(loader, path, f"got {value!r}", "string")
    return value


def _build(data: Any, loader: _Loader) -> Script:
    if not isinstance(data, dict):
        raise _fail(loader, "", f"got {type(data).__name__}", "mapping with turns")
    _check_keys(loader, data, "", {"name", "greeting", "turns", "fallback", "idle_prompt", "faults", "description", "response_latency_ms"})
    turns_data = data.get("turns", [])
    if not isinstance(turns_data, list):
        raise _fail(loader, "turns", f"got {turns_data!r}", "list of turns")
    turns = tuple(_turn(loader, turn, f"turns[{i}]") for i, turn in enumerate(turns_data))
    faults_data = data.get("faults", [])
    if not isinstance(faults_data, list):
        raise _fail(loader, "faults", f"got {faults_data!r}", "list of faults")
    faults = tuple(
        parse_fault(item, path=f"faults[{i}]", locate=loader.locate) for i, item in enumerate(faults_data)
    )
    return Script(
        turns=turns,
        name=_string(loader, data.get("name", ""), "name"),
        greeting=_steps(loader, data.get("greeting", []), "greeting"),
        fallback=_string(loader, data.get("fallback", ""), "fallback"),
        idle_prompt=_string(loader, data.get("idle_prompt", "Are you still there?"), "idle_prompt"),
        faults=faults,
        response_latency=_latency(loader, data["response_latency_ms"], "response_latency_ms") if "response_latency_ms" in data else None,
    )


def _latency(loader: _Loader, data: Any, path: str) -> ResponseLatency:
    expected = "milliseconds (a number) or {min: MS, max: MS, seed: N}"

    def number(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise _fail(loader, where, f"got {value!r}", "a number of milliseconds >= 0")
        return float(value)

    if not isinstance(data, dict):
        return ResponseLatency.fixed(number(data, path))
    _check_keys(loader, data, path, {"min", "max", "seed"})
    for key in ("min", "max"):
        if key not in data:
            raise _fail(loader, path, f"missing field {key!r}", expected)
    low, high = number(data["min"], f"{path}.min"), number(data["max"], f"{path}.max")
    if high < low:
        raise _fail(loader, f"{path}.max", f"max {data['max']!r} is below min {data['min']!r}", "max >= min")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _fail(loader, f"{path}.seed", f"got {seed!r}", "an integer")
    return ResponseLatency(low, high, seed)


def _turn(loader: _Loader, data: Any, path: str) -> Turn:
    if not isinstance(data, dict):
        raise _fail(loader, path, f"got {data!r}", "mapping with user and steps")
    _check_keys(loader, data, path, {"user", "mode", "steps", "alternatives"})
    if "user" not in data:
        raise _fail(loader, path, "missing field 'user'", "the caller's line")
    mode = data.get("mode", "audio")
    if mode not in ("audio", "text"):
        raise _fail(loader, f"{path}.mode", f"got {mode!r}", "audio | text")
    alternatives: list[Alternative] = []
    alt_data = data.get("alternatives", [])
    if not isinstance(alt_data, list):
        raise _fail(loader, f"{path}.alternatives", f"got {alt_data!r}", "list")
    for i, alt in enumerate(alt_data):
        where = f"{path}.alternatives[{i}]"
        if not isinstance(alt, dict):
            raise _fail(loader, where, f"got {alt!r}", "mapping with when and steps")
        _check_keys(loader, alt, where, {"when", "steps"})
        if "when" not in alt:
            raise _fail(loader, where, "missing field 'when'", "a condition")
        condition = _condition(loader, alt["when"], f"{where}.when")
        alternatives.append(Alternative(condition, _steps(loader, alt.get("steps", []), f"{where}.steps")))
    return Turn(
        user=_string(loader, data["user"], f"{path}.user"),
        mode=mode,
        steps=_steps(loader, data.get("steps", []), f"{path}.steps"),
        alternatives=tuple(alternatives),
    )


def _steps(loader: _Loader, data: Any, path: str) -> tuple[Step, ...]:
    if not isinstance(data, list):
        raise _fail(loader, path, f"got {data!r}", "list of steps")
    return tuple(_step(loader, step, f"{path}[{i}]") for i, step in enumerate(data))


def _step(loader: _Loader, data: Any, path: str) -> Step:
    if not isinstance(data, dict):
        raise _fail(loader, path, f"got {data!r}", "say | call | handoff")
    kinds = [k for k in ("say", "call", "handoff") if k in data]
    if len(kinds) != 1:
        raise _fail(loader, path, f"a step has exactly one of say, call, handoff; got {sorted(data)}", "say | call | handoff")
    kind = kinds[0]
    when = _condition(loader, data["when"], f"{path}.when") if "when" in data else None
    if kind == "say":
        _check_keys(loader, data, path, {"say", "when"})
        return Say(_string(loader, data["say"], f"{path}.say"), when)
    if kind == "handoff":
        _check_keys(loader, data, path, {"handoff", "when"})
        return Handoff(_string(loader, data["handoff"], f"{path}.handoff"), when)
    _check_keys(loader, data, path, {"call", "arguments", "when"})
    arguments = data.get("arguments", {})
    if not isinstance(arguments, dict):
        raise _fail(loader, f"{path}.arguments", f"got {arguments!r}", "mapping of tool arguments")
    return CallTool(_string(loader, data["call"], f"{path}.call"), arguments, when)


def _condition(loader: _Loader, data: Any, path: str) -> Condition:
    if not isinstance(data, dict):
        raise _fail(loader, path, f"got {data!r}", "mapping of conditions")
    names = {"has_tool", "lacks_tool", "instructions_contain", "instructions_lack"}
    _check_keys(loader, data, path, names)

    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise _fail(loader, f"{path}.{key}", f"got {value!r}", "string or list of strings")
        return tuple(items)

    return Condition(
        has_tools=strings("has_tool"),
        lacks_tools=strings("lacks_tool"),
        instructions_contain=strings("instructions_contain"),
        instructions_lack=strings("instructions_lack"),
    )
