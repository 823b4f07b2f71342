"""The `agentkit` command line: validate and compile definition files, print the schema, serve,
run an agent live.

What is where:

- here: `main`, the console script's entry point (`agentkit.cli:main`);
- `commands`: the subcommand table `COMMANDS`, the argument parser, and the small commands
  (`validate`, `compile`, `schema`, `server`'s options);
- `run`: `agentkit run`, with `target` (what to run), `connection` (where it connects),
  `turns` (what the caller does) and `recorder` (`--record`);
- `server`: `agentkit server`; `console`: the live transcript and latency summary.

Exit status: 0 on success, 1 for a mistake in what the user wrote (any `UserError`, shown as
one clear message on stderr, never a traceback), 2 for a malformed command line (argparse),
130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..errors import UserError
from .commands import COMMANDS, Command, build_parser

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status (the console script's entry point)."""
    # `COMMANDS` looked up here, at call time: a test (or an embedding app) may swap the table.
    parser = build_parser(COMMANDS)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (status 2)
        return exit_.code if isinstance(exit_.code, int) else 2
    run: Callable[[argparse.Namespace], int] = args._run
    try:
        return run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
