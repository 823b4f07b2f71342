"""Spec results shown to people and to CI: `format_result` (one spec, per turn ✓/✗ and each
failed expectation's diff), `summary_line`, and `junit_xml` (one `testsuite` per spec file,
one `testcase` per turn, a failure's text the same diff).

    return.spec.yaml (return opened headphones, local server)
      ✓ turn 1 (line 4) 'Sure, it's 415 555 0142.'  12 ms
      ✗ turn 2 (line 9) 'I want a refund.'  9 ms
          tool call: expected lookup_order(order_id="42"), got: none
          handoff: expected a handoff to returns, got: none
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from .run import SpecResult, TurnResult

__all__ = ["format_result", "junit_xml", "summary_line"]

PASS = "✓"
FAIL = "✗"
NOT_RUN = "-"


def format_result(result: SpecResult) -> str:
    """The spec's report: a header, a line per turn, the diff under each failed turn."""
    lines = [f"{result.path} ({result.name}, {result.endpoint})"]
    for turn in result.turns:
        mark = PASS if turn.passed else NOT_RUN if _not_run(turn) else FAIL
        timing = "" if _not_run(turn) else f"  {turn.duration_s * 1000:.0f} ms"
        lines.append(f"  {mark} turn {turn.index + 1} (line {turn.line}) {turn.user!r}{timing}")
        lines += [f"      {failure}" for failure in turn.failures]
        if turn.error is not None:
            lines.append(f"      {turn.error}")
    lines += [f"  {FAIL} {failure}" for failure in result.final]
    if result.error is not None and not result.turns:
        lines.append(f"  {FAIL} {result.error}")
    return "\n".join(lines)


def summary_line(results: Sequence[SpecResult]) -> str:
    """`2 specs: 1 passed, 1 failed; 7 turns: 6 passed, 1 failed (0.4 s)`."""
    turns = [t for r in results for t in r.turns]
    failed_specs = sum(not r.passed for r in results)
    not_run = sum(_not_run(t) for t in turns)
    failed_turns = sum(not t.passed for t in turns) - not_run
    seconds = sum(r.duration_s for r in results)
    text = (
        f"{len(results)} spec{'s' if len(results) != 1 else ''}: "
        f"{len(results) - failed_specs} passed, {failed_specs} failed; "
        f"{len(turns)} turns: {len(turns) - failed_turns - not_run} passed, {failed_turns} failed"
    )
    if not_run:
        text += f", {not_run} not run"
    return f"{text} ({seconds:.1f} s)"


def junit_xml(results: Sequence[SpecResult]) -> str:
    """The results as JUnit XML (the format CI services read)."""
    root = ET.Element("testsuites", name="agentkit test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results:
        suite = ET.SubElement(root, "testsuite", name=result.name, file=str(result.path))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for turn in result.turns:
            case = _case(suite, result, f"turn {turn.index + 1}: {turn.user}", turn.duration_s)
            case.set("line", str(turn.line))
            counts["tests"] += 1
            if _not_run(turn):
                ET.SubElement(case, "skipped", message=turn.error or "not run")
                counts["skipped"] += 1
            elif turn.error is not None:
                _problem(case, "error", turn.error, [turn.error, *map(str, turn.failures)])
                counts["errors"] += 1
            elif turn.failures:
                _problem(case, "failure", str(turn.failures[0]), [str(f) for f in turn.failures])
                counts["failures"] += 1
        if result.final or (result.error is not None and not result.turns):
            case = _case(suite, result, "final agent" if result.final else "spec", 0.0)
            counts["tests"] += 1
            if result.final:
                _problem(case, "failure", str(result.final[0]), [str(f) for f in result.final])
                counts["failures"] += 1
            else:
                _problem(case, "error", result.error or "", [result.error or ""])
                counts["errors"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{result.duration_s:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(r.duration_s for r in results):.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _case(suite: ET.Element, result: SpecResult, name: str, seconds: float) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", classname=result.name, name=name, file=str(result.path),
        time=f"{seconds:.3f}",
    )


def _problem(case: ET.Element, kind: str, message: str, lines: list[str]) -> None:
    ET.SubElement(case, kind, message=message).text = "\n".join(lines)


def _not_run(turn: TurnResult) -> bool:
    return turn.record is None and turn.error is not None
