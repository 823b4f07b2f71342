"""What `agentkit run` and `agentkit compile` run: a definition file or `module:agent`,
resolved to a `Target`.

TARGET is a definition file (`agents.yaml`) or `module:agent`, a Python import path (or
`path/to/file.py:agent`) to a `RealtimeAgent`. A file's folder goes first on `sys.path`, as
`python path/to/file.py` would put it, so the file imports its sibling modules.

A Python target's module may also define, next to the agent:

- `settings`: a `SessionSettings` for the session (default `SessionSettings()`; a `settings`
  of another type, like an app's own configuration, is left alone);
- `context`: what tools get as `ctx.context`. A callable (a class, a function, an
  `@asynccontextmanager`) is a factory, called once per session like a definition file's
  `context: module:factory`; anything else is the context itself. What it makes is entered
  as a (sync or async) context manager when it is one, else closed (`close()`/`aclose()`)
  after the session.

Each mistake (no such file, no such module or attribute, not an agent) is a `UserError` with
one clear line. `enter_context` builds the tools' context from the
target's factory for one session and closes it after.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import types
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..agent import RealtimeAgent, walk_agents
from ..errors import UserError
from ..loader import DefinitionWarning, load_definitions
from ..policy import ReconnectPolicy
from ..protocol.dialects import Dialect
from ..protocol.live_config import LiveOptions
from ..runner import RealtimeRunner
from ..settings import SessionSettings
from ..tracing import TracingConfig

__all__ = ["Target", "enter_context", "file_not_found", "load_target", "short_error"]


@dataclass(frozen=True)
class Target:
    """What `agentkit run` was pointed at, resolved.

    Attributes:
        name: As the user wrote it.
        starting_agent: The agent the session starts with.
        settings: The session settings (`SessionSettings()` for a Python agent).
        agents: Every agent's name, for the console's speaker column.
        script: The conversation script named by the definition file, if any.
        context_factory: Builds the tools' context, once per session.
        all_agents: Every agent by name (a definition file's unreachable ones too).
        warnings: The definition file's warnings (`agentkit.loader.lint`).
    """

    name: str
    starting_agent: RealtimeAgent[Any]
    settings: SessionSettings
    agents: tuple[str, ...]
    script: Path | None = None
    context_factory: Callable[[], Any] | None = None
    all_agents: Mapping[str, RealtimeAgent[Any]] = field(default_factory=dict)
    warnings: tuple[DefinitionWarning, ...] = ()
    dialect: Dialect | None = None
    live: LiveOptions | None = None

    def runner(
        self, dialect: Dialect, tracing: TracingConfig | None = None
    ) -> RealtimeRunner[Any]:
        """A runner for one session; `raw_events` on, for the VAD and `response.done` events
        the caller and the latency meter read."""
        runner: RealtimeRunner[Any] = RealtimeRunner(
            self.starting_agent,
            settings=self.settings,
            dialect=dialect,
            live=self.live,
            raw_events=True,
            tracing=tracing,
            # A live call should survive a dropped connection: reconnect with backoff and
            # replay the conversation (see docs/resilience.md).
            reconnect=ReconnectPolicy(),
        )
        runner.agents.update(self.all_agents)
        return runner


def file_not_found(path: str | Path, *, option: str = "", hint: str = "") -> UserError:
    """`agents.yaml: file not found`: the one wording every command uses for a missing file
    (`option` names the flag that gave it, `hint` says what was expected)."""
    flag = f"{option} " if option else ""
    return UserError(f"{flag}{path}: file not found{f' ({hint})' if hint else ''}")


def load_target(spec: str) -> Target:
    """A definition file or `module:agent`, loaded; `UserError` with a clear message if not."""
    path = Path(spec)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file() or ":" not in spec:
        if not path.exists() and ":" not in spec:
            hint = "" if path.suffix else "give a definition file like agents.yaml, or module:agent"
            raise file_not_found(spec, hint=hint)
        definitions = load_definitions(path)
        return Target(
            name=spec,
            starting_agent=definitions.starting_agent,
            settings=definitions.settings,
            agents=tuple(definitions.agents),
            script=definitions.script,
            context_factory=definitions.context_factory,
            all_agents=dict(definitions.agents),
            warnings=definitions.warnings,
            dialect=definitions.dialect,
            live=definitions.live,
        )
    module, agent = _import_agent(spec)
    agents = walk_agents(agent)
    return Target(
        name=spec,
        starting_agent=agent,
        settings=_module_settings(module),
        agents=tuple(a.name for a in agents),
        context_factory=_module_context(module),
        all_agents={a.name: a for a in agents},
    )


def _module_settings(module: types.ModuleType) -> SessionSettings:
    value = getattr(module, "settings", None)
    # Anything else named `settings` (an app's own config object or module) is not for us.
    return value if isinstance(value, SessionSettings) else SessionSettings()


def _module_context(module: types.ModuleType) -> Callable[[], Any] | None:
    value: object = getattr(module, "context", None)
    if value is None or isinstance(value, types.ModuleType):
        return None
    if callable(value):
        factory: Callable[[], Any] = value
        return factory
    return lambda: value


def _import_agent(spec: str) -> tuple[types.ModuleType, RealtimeAgent[Any]]:
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise UserError(f"{spec!r}: expected module:agent, like my_app.agents:support")
    try:
        if module_name.endswith(".py") or "/" in module_name or os.sep in module_name:
            module = _import_file(Path(module_name))
        else:
            # Like `python -m`: the current directory is importable.
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except UserError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise UserError(f"{spec}: module {module_name!r} not found") from exc
        raise UserError(f"{spec}: importing {module_name!r} failed: {short_error(exc)}") from exc
    except Exception as exc:
        raise UserError(f"{spec}: importing {module_name!r} failed: {short_error(exc)}") from exc
    target: object = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UserError(f"{spec}: {module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not isinstance(target, RealtimeAgent):
        raise UserError(
            f"{spec}: {attribute} is a {type(target).__name__}, not a RealtimeAgent"
        )
    return module, target


def _import_file(path: Path) -> types.ModuleType:
    if not path.is_file():
        raise file_not_found(path)
    name = f"_agentkit_run_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: not an importable Python file")
    # First, as `python path/to/file.py` has it: the file's sibling modules import (also
    # later, from a tool that imports lazily, so the folder stays on the path).
    folder = str(path.resolve().parent)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def short_error(exc: BaseException) -> str:
    """`KeyError: 'x'`: an exception as one line for a `UserError` message."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def enter_context(stack: AsyncExitStack, factory: Callable[[], Any] | None) -> Any:
    """Build the session's context, closed when `stack` unwinds: entered as a (sync or
    async) context manager when it is one, else its `close()` / `aclose()` called."""
    if factory is None:
        return None
    made = factory()
    if hasattr(made, "__aenter__") and hasattr(made, "__aexit__"):
        return await stack.enter_async_context(made)
    if hasattr(made, "__enter__") and hasattr(made, "__exit__"):
        return stack.enter_context(made)
    aclose = getattr(made, "aclose", None)
    if callable(aclose):
        stack.push_async_callback(_await, aclose)
        return made
    close = getattr(made, "close", None)
    if callable(close):
        stack.callback(close)
    return made


async def _await(function: Callable[[], object]) -> None:
    result = function()
    if inspect.isawaitable(result):
        await result
