"""Mutation testing of the runtime core, module by module, each against its own tests.

`make mutate` runs this. For each module of `MODULES` it copies the project into a
scratch folder (the worktree is never mutated), lets cosmic-ray list the module's mutants,
keeps a fixed sample of them (`--sample`, seeded: the same mutants every run, so scores
compare across commits), runs each against that module's tests only (`pytest -x`), and
prints the score: killed / (killed + survived). Mutants the interpreter rejects
("incompetent") count as neither.

    python bench/mutate.py                          # every module, 60 mutants each
    python bench/mutate.py agentkit/history.py      # one module
    python bench/mutate.py --sample 0 --survivors   # every mutant, and print the survivors

A whole module takes one to three minutes on one core (a pytest start per mutant).
"""

from __future__ import annotations

import argparse
import ast
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each module with the tests that are about it, and the sample: `[tool.agentkit.mutate]` in
# pyproject.toml. A survivor here that the whole suite kills is still a hole: the module's
# own tests should say it.
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["agentkit"]["mutate"]
MODULES: dict[str, list[str]] = CONFIG["modules"]

_IGNORE = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.sqlite", "site")


def _config(module: str, tests: list[str], timeout: float) -> str:
    # `-p no:cacheprovider` comes from pyproject; `-x`: one failure kills the mutant.
    command = f"{sys.executable} -m pytest -x -q --no-header -p no:randomly {' '.join(tests)}"
    return (
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {command!r}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )


def _annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the annotations of functions and class fields are: (start, end) as (line, col).

    Every module here has `from __future__ import annotations`: an annotation is a string
    nobody evaluates at run time, so `str | None` → `str + None` is an equivalent mutant by
    construction. Skipping them keeps the sample on code that runs.
    """
    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            annotations = [a.annotation for a in every] + [node.returns]
        elif isinstance(node, ast.AnnAssign):
            annotations = [node.annotation]
        for a in annotations:
            if a is not None and a.end_lineno is not None and a.end_col_offset is not None:
                spans.append(((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)))
    return spans


def _sample(db: Path, source: str, size: int, seed: int) -> int:
    """Drop the annotation mutants, keep `size` of the rest (all when `size` is 0); returns
    how many there were to sample from."""
    spans = _annotation_spans(source)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT w.job_id, s.start_pos_row, s.start_pos_col, s.operator_name, s.occurrence "
            "FROM work_items w JOIN mutation_specs s ON s.job_id = w.job_id"
        ).fetchall()
        drop = [
            job
            for job, row, col, *_ in rows
            if any(start <= (row, col) < end for start, end in spans)
        ]
        dropped = set(drop)
        # In source order, not by job id: cosmic-ray's job ids are random UUIDs, so sorting
        # by them made the seeded sample a different one on every run.
        kept = sorted(
            (row, col, operator, occurrence, job)
            for job, row, col, operator, occurrence in rows
            if job not in dropped
        )
        jobs = [job for *_, job in kept]
        if size and len(jobs) > size:
            keep = set(random.Random(seed).sample(jobs, size))
            drop += [job for job in jobs if job not in keep]
        conn.executemany("DELETE FROM mutation_specs WHERE job_id = ?", [(j,) for j in drop])
        conn.executemany("DELETE FROM work_items WHERE job_id = ?", [(j,) for j in drop])
    return len(jobs)


def _results(db: Path) -> tuple[int, int, int, list[str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT r.test_outcome, r.diff, s.start_pos_row FROM work_results r "
            "JOIN mutation_specs s ON s.job_id = r.job_id ORDER BY s.start_pos_row"
        ).fetchall()
    killed = sum(1 for outcome, _, _ in rows if outcome == "KILLED")
    survived = [diff for outcome, diff, _ in rows if outcome == "SURVIVED"]
    incompetent = sum(1 for outcome, _, _ in rows if outcome == "INCOMPETENT")
    return killed, len(survived), incompetent, survived


def run_module(
    module: str, tests: list[str], *, size: int, seed: int, timeout: float, show: bool
) -> float | None:
    """Mutate `module` against `tests`; print and return its score."""
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="agentkit-mutate-") as scratch:
        work = Path(scratch) / "src"
        shutil.copytree(ROOT, work, ignore=_IGNORE)
        (work / "mutate.toml").write_text(_config(module, tests, timeout))
        db = work / "session.sqlite"
        # The copy first on the path: the tests import the mutated package, not the editable
        # install of the worktree.
        env = {"PYTHONPATH": str(work), "PATH": f"{bin_dir}:/usr/bin:/bin"}
        cosmic_ray = [str(bin_dir / "cosmic-ray")]
        subprocess.run([*cosmic_ray, "init", "mutate.toml", str(db)], cwd=work, env=env, check=True)
        total = _sample(db, (work / module).read_text(), size, seed)
        subprocess.run([*cosmic_ray, "exec", "mutate.toml", str(db)], cwd=work, env=env, check=True)
        killed, survived, incompetent, diffs = _results(db)
    scored = killed + survived
    score = killed / scored if scored else None
    shown = f"{score:6.1%}" if score is not None else "   n/a"
    print(
        f"{module:40} {shown}  killed {killed:3}  survived {survived:3}  "
        f"incompetent {incompetent:2}  (of {total} mutants)",
        flush=True,
    )
    if show:
        for diff in diffs:
            print(diff)
    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all)")
    parser.add_argument("--sample", type=int, default=CONFIG["sample"], help="mutants per module; 0: all")
    parser.add_argument("--seed", type=int, default=CONFIG["seed"])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    parser.add_argument("--survivors", action="store_true", help="print surviving mutants")
    parser.add_argument("--min", type=float, default=0.0, help="fail below this score (0-1)")
    args = parser.parse_args(argv)
    chosen = args.modules or list(MODULES)
    unknown = [m for m in chosen if m not in MODULES]
    if unknown:
        parser.error(f"no tests mapped for {', '.join(unknown)}; add them to [tool.agentkit.mutate.modules]")
    low = []
    for module in chosen:
        score = run_module(
            module,
            MODULES[module],
            size=args.sample,
            seed=args.seed,
            timeout=args.timeout,
            show=args.survivors,
        )
        if score is not None and score < args.min:
            low.append(module)
    if low:
        print(f"below {args.min:.0%}: {', '.join(low)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
