"""`agentkit test SPEC...`: run conversation specs and report.

Each spec runs against the local server at `fast` pace unless `--url`, `--azure-deployment`
or a key in the environment picks a real service, exactly as for `agentkit run`
(`agentkit.cli.connection`); `--local` forces the local server. A spec that does not load
is reported (located, like a definition file's error) and counted failed; the others still
run. Exit status: 0 when every spec passed, 1 otherwise; `--junit FILE` also writes JUnit XML.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..cli.connection import add_connection_arguments, choose_connection
from ..errors import UserError
from .report import format_result, junit_xml, summary_line
from .run import SpecResult, run_spec
from .spec import load_spec

__all__ = ["configure_test", "run_test_command"]


def configure_test(parser: argparse.ArgumentParser) -> None:
    """The arguments of `agentkit test`."""
    parser.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="conversation spec files")
    parser.add_argument("--junit", metavar="FILE", type=Path, help="also write the results as JUnit XML")
    add_connection_arguments(parser, verb="evaluate against")
    parser.add_argument(
        "--pace", choices=("fast", "realtime"), default="fast",
        help="the local server's and the caller's pace (default fast)",
    )


def run_test_command(args: argparse.Namespace) -> int:
    """Run `agentkit test` with parsed arguments; returns the exit status."""
    if args.junit is not None and not args.junit.parent.is_dir():
        raise UserError(f"--junit {args.junit}: the folder {args.junit.parent} does not exist")
    results = [_run_one(path, args) for path in args.specs]
    print(summary_line(results), file=sys.stdout)
    if args.junit is not None:
        args.junit.write_text(junit_xml(results), encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1


def _run_one(path: Path, args: argparse.Namespace) -> SpecResult:
    try:
        spec = load_spec(path)
        connection = choose_connection(
            model=spec.target.settings.model,
            dialect=args.dialect,
            env=os.environ,
            url=args.url,
            azure_deployment=args.azure_deployment,
            local=args.local,
        )
        result = run_spec(spec, connection=connection, pace=args.pace, dialect=args.dialect)
    except UserError as exc:
        result = SpecResult(path, path.name.split(".")[0], "not run", error=f"error: {exc}")
    print(format_result(result), file=sys.stdout, flush=True)
    return result
