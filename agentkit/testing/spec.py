"""Conversation specs: a YAML file saying what a caller says and what must happen each turn.

```yaml
name: return opened headphones
agents: ../agents.yaml                  # a definition file, or module:agent (path/to/file.py:agent)
script: ../conversations/return.yaml    # the local server's model side (or per-turn `model:`)
turns:
  - user: Sure, it's 415 555 0142, and the order is A1001.
    expect:
      tool_calls:
        - name: verify_customer
          arguments: {order_number: A1001, phone_number: {regex: "415"}}
      says: {contains: verified}
  - user: I'd like to return the headphones.
    expect:
      handoff: returns
      agent: returns
      latency_ms: {max: 2000}
expect_final_agent: returns
```

Paths are relative to the spec. A turn's `user:` may be left out when `script:` is given: it
is then the script's turn at the same place (and its `mode:`). `mode:` is `text` (default) or
`audio` (synthesized speech through the session's turn detection).

Instead of a script file, each turn may give the model's steps inline (`model:`, the steps of
a conversation script: `say`, `call` with `arguments`, `handoff`, each with an optional
`when:`), and the spec a `greeting:`.

`expect:` (every key optional; what is not given is not checked):

- `tool_calls`: calls that must happen in this order (others may come between); each a name
  or `{name, arguments}`, whose arguments are matched field by field (`agentkit.testing.matchers`);
  `tool_calls: []` says no tool may be called;
- `handoff: AGENT`: the conversation passes to AGENT in this turn;
- `guardrail: NAME`: the guardrail NAME trips;
- `approval: {tool, decide: approve | reject, message}` (or a list): the tool asks for
  approval, and the spec answers it;
- `says`: text the agent says, or `{contains, regex, not_contains}`;
- `agent: NAME`: the agent in charge once the turn settled;
- `latency_ms: {max: N}`: the response latency (`agentkit.tracing.latency`) stays under N.

`load_spec` checks the file against `SPEC_SCHEMA`, then every tool, agent and guardrail name
against the agents (with "did you mean"), and the script against the agents, each mistake a
`ConfigError` located at its file, line and column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..agent import RealtimeAgent
from ..cli.script_check import check_script, load_checked_script
from ..cli.target import Target, load_target
from ..errors import ConfigError, UserError
from ..loader.schema import did_you_mean
from ..loader.yaml_source import JsonPath, SourceDocument, parse_yaml, read_source
from ..server.script import Script, load_script
from .matchers import Matcher, TextMatcher
from .spec_schema import check_spec_structure

__all__ = [
    "Approval",
    "Expectations",
    "ExpectedCall",
    "Spec",
    "SpecTurn",
    "load_spec",
    "resolve_target",
]

DEFAULT_TURN_TIMEOUT = 30.0
"""Seconds a turn may take to settle unless the spec says `turn_timeout:`."""


@dataclass(frozen=True)
class ExpectedCall:
    """A tool call a turn must make; only the arguments named are checked."""

    name: str
    arguments: Mapping[str, Matcher]

    def describe(self) -> str:
        """`lookup_order(order_id="42")`, as a failure shows it."""
        shown = ", ".join(f"{k}={m.describe()}" for k, m in self.arguments.items())
        return f"{self.name}({shown})"

    def matches(self, name: str, arguments: Mapping[str, object]) -> bool:
        """Whether a call of `name` with `arguments` is this one."""
        return name == self.name and all(
            key in arguments and matcher.matches(arguments[key])
            for key, matcher in self.arguments.items()
        )


@dataclass(frozen=True)
class Approval:
    """An approval the turn's tool asks for, and the spec's answer."""

    tool: str
    decide: Literal["approve", "reject"]
    message: str | None = None


@dataclass(frozen=True)
class Expectations:
    """What must happen in one turn; `None` parts are not checked. A spec's turn always
    checks `approvals` (empty: the turn asks for none)."""

    tool_calls: tuple[ExpectedCall, ...] | None = None
    handoff: str | None = None
    guardrail: str | None = None
    approvals: tuple[Approval, ...] | None = None
    says: TextMatcher | None = None
    agent: str | None = None
    latency_max_ms: float | None = None


@dataclass(frozen=True)
class SpecTurn:
    """One caller turn and its expectations; `line` is where it starts in the spec."""

    user: str
    mode: Literal["text", "audio"] = "text"
    expect: Expectations = Expectations()
    line: int = 0


@dataclass(frozen=True)
class Spec:
    """A loaded, checked conversation spec.

    Attributes:
        path: The spec file.
        name: Its `name:` (the file's stem when it has none).
        target: The agents under test.
        script: The local server's model side (None: the server answers every line with its
            fallback).
        turns: The caller's turns and their expectations.
        expect_final_agent: The agent that must be in charge at the end.
        turn_timeout: Seconds one turn may take to settle.
    """

    path: Path
    name: str
    target: Target
    script: Script | None
    turns: tuple[SpecTurn, ...]
    expect_final_agent: str | None = None
    turn_timeout: float = DEFAULT_TURN_TIMEOUT


def load_spec(path: str | Path, *, env: Mapping[str, str] | None = None) -> Spec:
    """Read and check the spec at `path` (see the module docs).

    Args:
        path: The spec file.
        env: Expands `${VAR}` in the spec (default: the process environment).

    Raises:
        ConfigError: A mistake located in the spec, its script or the definition file.
        UserError: A file that cannot be read or a target that cannot be loaded.
    """
    path = Path(path)
    doc = parse_yaml(read_source(path), filename=str(path), env=os.environ if env is None else env)
    check_spec_structure(doc)
    data: dict[str, Any] = doc.data
    target = _target(doc, path.parent)
    script = _script(doc, path.parent, target)
    _Names.of(target.all_agents).check(doc)
    turns = tuple(
        _turn(doc, i, raw, script if "script" in data else None)
        for i, raw in enumerate(data["turns"])
    )
    return Spec(
        path=path,
        name=str(data.get("name") or path.name.split(".")[0]),
        target=target,
        script=script,
        turns=turns,
        expect_final_agent=data.get("expect_final_agent"),
        turn_timeout=float(data.get("turn_timeout", DEFAULT_TURN_TIMEOUT)),
    )


def resolve_target(written: str, base: Path) -> str:
    """A spec's `agents:` made relative to the spec's folder: a file path, or the file of a
    `path/to/file.py:agent`; a dotted `module:agent` is imported as written."""
    module, colon, attribute = written.rpartition(":")
    if colon and not written.endswith((".yaml", ".yml")):
        if module.endswith(".py") or "/" in module or os.sep in module:
            return f"{base / module}:{attribute}"
        return written
    return str(base / written)


def _target(doc: SourceDocument, base: Path) -> Target:
    try:
        return load_target(resolve_target(doc.data["agents"], base))
    except ConfigError:
        raise  # located in the definition file already
    except UserError as exc:
        raise doc.error(("agents",), str(exc), say_expected=False) from exc


def _script(doc: SourceDocument, base: Path, target: Target) -> Script | None:
    data = doc.data
    inline = [i for i, turn in enumerate(data["turns"]) if "model" in turn]
    if "script" in data:
        if inline:
            raise doc.error(
                ("turns", inline[0], "model"),
                "a spec with script: takes the model's steps from it",
                expected="script: or per-turn model:, not both",
            )
        path = base / data["script"]
        if not path.is_file():
            raise doc.error(("script",), f"{path}: file not found", expected="a conversation script")
        return load_checked_script(path, target.all_agents)
    if not inline and "greeting" not in data:
        return None
    raw = {
        "greeting": data.get("greeting", []),
        "turns": [
            {"user": t.get("user", ""), "mode": t.get("mode", "text"), "steps": t.get("model", [])}
            for t in data["turns"]
        ],
    }
    for where, steps in [(("greeting",), raw["greeting"])] + [
        (("turns", i, "model"), t["steps"]) for i, t in enumerate(raw["turns"])
    ]:
        for j, step in enumerate(steps):
            kinds = [k for k in ("say", "call", "handoff") if k in step]
            if len(kinds) != 1:
                raise doc.error(
                    (*where, j), f"a step has exactly one of say, call, handoff; got {sorted(step)}",
                    expected="say | call | handoff",
                )
    try:
        script = load_script(raw)
        check_script(script, None, target.all_agents)
    except ConfigError as exc:
        raise _relocate(doc, exc) from exc
    return script


def _relocate(doc: SourceDocument, error: ConfigError) -> ConfigError:
    """A script error on the inline script (`turns[0].steps[1].call`) located in the spec
    (`turns[0].model[1].call`)."""
    path: list[str | int] = []
    for part in re.findall(r"\[(\d+)\]|([^.\[\]]+)", error.path):
        index, key = part
        path.append(int(index) if index else ("model" if key == "steps" else key))
    return doc.error(tuple(path), error.detail, expected=error.expected)


def _turn(doc: SourceDocument, index: int, raw: dict[str, Any], script: Script | None) -> SpecTurn:
    where: JsonPath = ("turns", index)
    user, mode = raw.get("user"), raw.get("mode")
    if user is None:
        if script is None or index >= len(script.turns):
            scripted = "" if script is None else f" (the script has {len(script.turns)} turns)"
            raise doc.error(
                where, f"missing required key 'user'{scripted}",
                expected="what the caller says, or a script turn to take it from",
            )
        user, mode = script.turns[index].user, mode or script.turns[index].mode
    return SpecTurn(
        user=user,
        mode=mode or "text",
        expect=_expectations(doc, (*where, "expect"), raw.get("expect", {})),
        line=doc.location(where).line,
    )


def _expectations(doc: SourceDocument, where: JsonPath, raw: dict[str, Any]) -> Expectations:
    calls = raw.get("tool_calls")
    approvals = raw.get("approval", [])
    says = raw.get("says")
    latency = raw.get("latency_ms")
    return Expectations(
        tool_calls=None if calls is None else tuple(_call(c) for c in calls),
        handoff=raw.get("handoff"),
        guardrail=raw.get("guardrail"),
        approvals=tuple(
            Approval(a["tool"], a["decide"], a.get("message"))
            for a in (approvals if isinstance(approvals, list) else [approvals])
        ),
        says=None if says is None else _says(doc, (*where, "says"), says),
        agent=raw.get("agent"),
        latency_max_ms=None if latency is None else float(latency["max"]),
    )


def _call(raw: str | dict[str, Any]) -> ExpectedCall:
    if isinstance(raw, str):
        return ExpectedCall(raw, {})
    arguments = raw.get("arguments", {})
    return ExpectedCall(raw["name"], {k: Matcher.parse(v) for k, v in arguments.items()})


def _says(doc: SourceDocument, where: JsonPath, raw: str | dict[str, Any]) -> TextMatcher:
    if isinstance(raw, str):
        return TextMatcher(contains=(raw,))

    def texts(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        return (value,) if isinstance(value, str) else tuple(value)

    regex = raw.get("regex")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            raise doc.error((*where, "regex"), f"invalid regular expression: {exc}",
                            expected="a Python regular expression") from exc
    return TextMatcher(texts("contains"), regex, texts("not_contains"))


@dataclass(frozen=True)
class _Names:
    """The names a spec may use: every agent's, tool's (handoff tools too) and guardrail's."""

    agents: tuple[str, ...]
    tools: tuple[str, ...]
    guardrails: tuple[str, ...]

    @classmethod
    def of(cls, agents: Mapping[str, RealtimeAgent[Any]]) -> _Names:
        tools = {t.name for a in agents.values() for t in a.tools}
        tools |= {h.tool_name for a in agents.values() for h in a.handoff_list()}
        guards = {g.name for a in agents.values() for g in a.input_guardrails}
        guards |= {g.name for a in agents.values() for g in a.output_guardrails}
        return cls(tuple(agents), tuple(sorted(tools)), tuple(sorted(guards)))

    def check(self, doc: SourceDocument) -> None:
        """A located `ConfigError` for the first name in the spec no agent has."""
        data = doc.data
        if "expect_final_agent" in data:
            self._known(doc, ("expect_final_agent",), data["expect_final_agent"], self.agents, "agent")
        for i, turn in enumerate(data["turns"]):
            expect = turn.get("expect", {})
            where: JsonPath = ("turns", i, "expect")
            for key in ("handoff", "agent"):
                if key in expect:
                    self._known(doc, (*where, key), expect[key], self.agents, "agent")
            if "guardrail" in expect:
                self._known(doc, (*where, "guardrail"), expect["guardrail"], self.guardrails, "guardrail")
            for j, call in enumerate(expect.get("tool_calls", [])):
                name = call if isinstance(call, str) else call["name"]
                path: JsonPath = (*where, "tool_calls", j) if isinstance(call, str) else (*where, "tool_calls", j, "name")
                self._known(doc, path, name, self.tools, "tool")
            approvals = expect.get("approval", [])
            for j, approval in enumerate(approvals if isinstance(approvals, list) else [approvals]):
                path = (*where, "approval", j, "tool") if isinstance(approvals, list) else (*where, "approval", "tool")
                self._known(doc, path, approval["tool"], self.tools, "tool")

    @staticmethod
    def _known(
        doc: SourceDocument, path: JsonPath, name: str, names: tuple[str, ...], kind: str
    ) -> None:
        if name in names:
            return
        listed = ", ".join(names) or f"the agents have no {kind}s"
        raise doc.error(
            path, f"unknown {kind} {name!r}{did_you_mean(name, names)}",
            expected=f"{'an' if kind == 'agent' else 'a'} {kind} of the agents under test ({listed})",
        )
