"""The `agentkit` command line: validate and compile definition files, print the schema, serve,
run an agent live.

What is where:

- here: `main`, the console script's entry point (`agentkit.cli:main`);
- `commands`: the subcommand table `COMMANDS`, the argument parser, and the small commands
  (`validate`, `compile`, `schema`, `server`'s options);
- `run`: `agentkit run`, with `target` (what to run, also for `compile`), `connection`
  (where it connects), `turns` (what the caller does), `script_check` (the script's tools and
  agents checked against the definitions, also for `validate`) and `recorder` (`--record`);
- `script_check`: a conversation script checked against the agents before a run;
- `server`: `agentkit server`; `console`: the live transcript and latency summary, measured by
  `latency` (`LatencyMeter`);
- `agentkit test` lives in `agentkit.testing` (specs, runner, pytest plugin).

`--log-level LEVEL` (before or after the command) logs agentkit's records at LEVEL and above
to stderr, credentials redacted (`agentkit.logs.configure_logging`).

Exit status: 0 on success, 1 for a mistake in what the user wrote (any `UserError`, shown as
one clear message on stderr, never a traceback), 2 for a malformed command line (argparse),
130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import UserError
from ..logs import configure_logging, console_logging, get_logger
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
    with _logging(args.log_level, verbose=args.verbose):
        try:
            return run(args)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130


@contextmanager
def _logging(level: str | None, *, verbose: bool = False) -> Iterator[None]:
    """`--log-level`: agentkit's records to stderr for this command; without it, warnings as
    one line each (a failing tool is the console's to show, its traceback `--verbose`'s).
    Put back as it was afterwards (a test or an embedding app calls `main` more than once)."""
    logger = get_logger("agentkit")
    handlers, previous = list(logger.handlers), logger.level
    if level is None:
        console_logging(verbose=verbose, skip=("agentkit.tools",))
    else:
        configure_logging(level)
    try:
        yield
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(previous)
