"""The subcommands of `agentkit`: the `COMMANDS` table, each command's arguments and work.

Every subcommand is one `Command` in `COMMANDS`: its name, help, a function adding its
arguments, and a function running it. A new subcommand is one more entry; `main` (in
`agentkit.cli`) needs no change. Heavy modules (the server, the runtime, rich) are imported
inside the commands that need them, so `agentkit validate` stays fast.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from ..agent import RealtimeAgent, walk_agents
from ..errors import UserError
from ..loader import Definitions, DefinitionWarning, load_definitions

__all__ = ["COMMANDS", "Command", "build_parser", "print_warnings"]


@dataclass(frozen=True)
class Command:
    """One subcommand.

    Attributes:
        name: What the user types (`agentkit <name>`).
        help: One line for `agentkit --help`.
        configure: Adds the subcommand's arguments to its parser.
        run: Runs it with the parsed arguments; returns the exit status. Raise `UserError`
            for a user's mistake: `main` prints it and exits 1.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _out() -> TextIO:
    # Looked up per call so tests capturing sys.stdout see the output.
    return sys.stdout


# -- validate -------------------------------------------------------------------------------


def _configure_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the definition file (agents.yaml)")
    parser.add_argument(
        "--script", metavar="FILE", type=Path,
        help="also check this conversation script's tools and agents against the file "
        "(the file's own script: is always checked)",
    )
    parser.add_argument(
        "--strict", action="store_true",
        help="treat warnings (a tool no agent uses, a key indented into the instructions "
        "text) as errors: exit 1",
    )


def _run_validate(args: argparse.Namespace) -> int:
    definitions = load_definitions(args.file)
    scripts = [p for p in (definitions.script, args.script) if p is not None]
    if scripts:
        from .script_check import load_checked_script

        for script in scripts:
            load_checked_script(script, definitions.agents)
    if args.strict and definitions.warnings:
        print_warnings(definitions.warnings, strict=True)
        return 1  # and no "OK" summary
    print(_summary(definitions), file=_out())
    print_warnings(definitions.warnings)
    return 0


def print_warnings(warnings: Sequence[DefinitionWarning], *, strict: bool = False) -> None:
    """Each warning on its own line on stderr (`error:` under `--strict`)."""
    for warning in warnings:
        print(f"{'error' if strict else 'warning'}: {warning}", file=sys.stderr)


def _summary(definitions: Definitions) -> str:
    """What a definition file declares, in the shape a reviewer checks it."""
    start = definitions.starting_agent
    reachable = {id(a) for a in walk_agents(start)}
    lines = [f"{definitions.path}: OK", f"  starting agent: {start.name}"]
    lines.append(f"  agents ({len(definitions.agents)}):")
    for agent in definitions.agents.values():
        lines.append(f"    {agent.name}{'' if id(agent) in reachable else '  (unreachable)'}")
        lines.append(f"      tools: {_names(t.name for t in agent.tools)}")
        handoffs = (f"{h.agent_name} ({h.tool_name})" for h in agent.handoff_list())
        lines.append(f"      handoffs: {_names(handoffs)}")
        guards = [*(f"in:{g.name}" for g in agent.input_guardrails)]
        guards += [f"out:{g.name}" for g in agent.output_guardrails]
        lines.append(f"      guardrails: {_names(guards)}")
    lines.append(f"  tools ({len(definitions.tools)}): {_names(definitions.tools)}")
    lines.append(f"  guardrails ({len(definitions.guardrails)}): {_names(definitions.guardrails)}")
    if definitions.script is not None:
        lines.append(f"  script: {definitions.script}")
    if definitions.warnings:
        count = len(definitions.warnings)
        lines.append(f"  warnings: {count} (on stderr)")
    return "\n".join(lines)


def _names(items: Iterable[str]) -> str:
    listed = list(items)
    return ", ".join(listed) if listed else "-"


# -- compile --------------------------------------------------------------------------------


def _configure_compile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="TARGET",
        help="a definition file (agents.yaml) or module:agent, as `agentkit run` takes",
    )
    parser.add_argument(
        "--agent", metavar="NAME", help="print only this agent's payload (default: every agent "
        "reachable from the starting agent, keyed by name)"
    )
    parser.add_argument(
        "--dialect", choices=("ga", "beta", "live"), default=None,
        help="the protocol dialect: ga (gpt-realtime), beta (Azure preview) or live (GPT-Live: "
        "each agent's session.start); default: the file's `dialect:`, else ga",
    )


def _run_compile(args: argparse.Namespace) -> int:
    from ..compiler import compile_agents, compile_session_update
    from .target import load_target

    target = load_target(args.target)
    dialect = args.dialect or target.dialect or "ga"
    payload: object
    if args.agent is not None:
        agent = _agent_named(target.name, target.all_agents, args.agent)
        payload = compile_session_update(agent, target.settings, dialect=dialect, live=target.live)
    else:
        payload = compile_agents(target.starting_agent, target.settings, dialect=dialect, live=target.live)
    _out().write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _agent_named(
    source: str, agents: Mapping[str, RealtimeAgent[Any]], name: str
) -> RealtimeAgent[Any]:
    from ..loader.schema import did_you_mean

    if name in agents:
        return agents[name]
    known = ", ".join(agents)
    raise UserError(
        f"{source} has no agent {name!r}{did_you_mean(name, agents)}; its agents are {known}"
    )


# -- schema ---------------------------------------------------------------------------------


def _configure_schema(parser: argparse.ArgumentParser) -> None:
    del parser  # no arguments


def _run_schema(args: argparse.Namespace) -> int:
    from ..loader.schema import agents_schema_text

    _out().write(agents_schema_text())
    return 0


# -- server ---------------------------------------------------------------------------------


def _configure_server(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    parser.add_argument("--script", metavar="FILE", help="a conversation script to play")
    parser.add_argument(
        "--pace", choices=("realtime", "fast"), default="realtime",
        help="send audio at real-time pace, or as fast as possible (tests)",
    )
    parser.add_argument(
        "--api-key", dest="api_keys", action="append", metavar="KEY",
        help="accept only these bearer tokens (repeatable; default: accept any)",
    )
    parser.add_argument(
        "--response-latency", metavar="MS|MIN-MAX[:SEED]",
        help="the model's delay before each answer, fixed or uniform with a seed "
        "(default: the script's response_latency_ms, else 300-700 at realtime pace, 0 at fast)",
    )


def _run_server(args: argparse.Namespace) -> int:
    # Imported here: the server pulls in websockets and audio code the other commands do not need.
    from .server import run_server_command

    # `response_latency` only when given: unset, the script's or the pace's default applies.
    latency = {"response_latency": args.response_latency} if args.response_latency is not None else {}
    return run_server_command(
        host=args.host, port=args.port, script=args.script, pace=args.pace, api_keys=args.api_keys,
        **latency,
    )


# -- run ------------------------------------------------------------------------------------


def _configure_run(parser: argparse.ArgumentParser) -> None:
    from .run import configure_run

    configure_run(parser)


def _run_run(args: argparse.Namespace) -> int:
    # Imported here: the runtime, the server and rich are not needed by the other commands.
    from .run import run_command

    return run_command(args)


# -- test -----------------------------------------------------------------------------------


def _configure_test(parser: argparse.ArgumentParser) -> None:
    from ..testing.command import configure_test

    configure_test(parser)


def _run_test(args: argparse.Namespace) -> int:
    # Imported here, like `run`: the runtime and the server.
    from ..testing.command import run_test_command

    return run_test_command(args)


# -- serve ----------------------------------------------------------------------------------


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    from .serve import configure_serve

    configure_serve(parser)


def _run_serve(args: argparse.Namespace) -> int:
    # Imported here: Starlette, uvicorn and the runtime are for this command only.
    from .serve import serve_command

    return serve_command(args)


def _configure_plugins(parser: argparse.ArgumentParser) -> None:
    from .plugins import configure_plugins

    configure_plugins(parser)


def _run_plugins(args: argparse.Namespace) -> int:
    from .plugins import print_plugins

    return print_plugins(args, _out())


# -- worker, transcript (durable sessions: agentkit.store) ---------------------------------


def _configure_worker(parser: argparse.ArgumentParser) -> None:
    from .worker import configure_worker

    configure_worker(parser)


def _run_worker(args: argparse.Namespace) -> int:
    from .worker import run_worker_command

    return run_worker_command(args)


def _configure_transcript(parser: argparse.ArgumentParser) -> None:
    from .transcript import configure_transcript

    configure_transcript(parser)


def _run_transcript(args: argparse.Namespace) -> int:
    from .transcript import run_transcript_command

    return run_transcript_command(args)


COMMANDS: tuple[Command, ...] = (
    Command("validate", "check a definition file and summarize it", _configure_validate, _run_validate),
    Command("compile", "print the session.update payloads of a definition file or module:agent", _configure_compile, _run_compile),
    Command("schema", "print the JSON Schema of definition files (for editors)", _configure_schema, _run_schema),
    Command("server", "run the local realtime server", _configure_server, _run_server),
    Command("run", "run an agent live and show the conversation (local server when no key)", _configure_run, _run_run),
    Command("test", "run conversation specs against the local server (or a real service): exit 1 on a failure", _configure_test, _run_test),
    Command("serve", "serve a web page for browser voice calls to the agents over WebRTC (local server when no key)", _configure_serve, _run_serve),
    Command("plugins", "list the tools and guardrails installed packages provide", _configure_plugins, _run_plugins),
    Command("worker", "serve apps' WebSocket sessions as one of N stateless workers sharing a Redis", _configure_worker, _run_worker),
    Command("transcript", "print a stored conversation as JSON (items, tool calls, handoffs, latencies)", _configure_transcript, _run_transcript),
)
"""Every subcommand, in the order `--help` lists them."""


def _version() -> str:
    try:
        return importlib.metadata.version("agentkit")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree, not installed
        return "unknown"


def build_parser(commands: Sequence[Command] | None = None) -> argparse.ArgumentParser:
    """The argument parser with one subparser per command (default: `COMMANDS`)."""
    if commands is None:
        commands = COMMANDS
    parser = argparse.ArgumentParser(
        prog="agentkit",
        description="Realtime voice agents: validate and compile definitions, run the local server.",
    )
    parser.add_argument("--version", action="version", version=f"agentkit {_version()}")
    _add_log_level(parser, default=None)
    _add_verbose(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.configure(sub)
        # Also after the command (`agentkit run x --log-level debug`); absent there, it
        # leaves the value given before the command alone.
        _add_log_level(sub, default=argparse.SUPPRESS)
        _add_verbose(sub, default=argparse.SUPPRESS)
        sub.set_defaults(_run=command.run)
    return parser


def _add_verbose(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--verbose", "-v", action="store_true", default=default,
        help="show the traceback of a failing tool (and of any warning agentkit logs)",
    )


def _add_log_level(parser: argparse.ArgumentParser, *, default: str | None) -> None:
    from ..logs import LEVELS

    parser.add_argument(
        "--log-level", choices=LEVELS, default=default, metavar="LEVEL",
        help=f"log agentkit's records at this level and above to stderr ({', '.join(LEVELS)}); "
        "credentials are redacted",
    )
