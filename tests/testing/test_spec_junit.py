"""JUnit XML for CI: one testsuite per spec file, one testcase per turn, failures with the diff."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from agentkit.cli import main


def test_junit_xml_is_well_formed_and_counts_failures(desk: Path) -> None:
    broken = desk / "broken.spec.yaml"
    broken.write_text(
        (desk / "refill.spec.yaml").read_text().replace("handoff: refills", "handoff: desk")
    )
    junit = desk / "out" / "results.xml"
    junit.parent.mkdir()
    assert main(["test", str(desk / "refill.spec.yaml"), str(broken), "--junit", str(junit)]) == 1
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    good, bad = root.findall("testsuite")
    assert (good.get("name"), good.get("tests"), good.get("failures")) == ("refill amoxicillin", "2", "0")
    assert good.get("file") == str(desk / "refill.spec.yaml")
    assert (bad.get("tests"), bad.get("failures")) == ("2", "1")
    cases = bad.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "turn 1: Do I have a prescription for amoxicillin? I'm Ada Byron.",
        "turn 2: Please refill it.",
    ]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "handoff: expected a handoff to desk, got: desk -> refills"
    assert cases[1].get("line") == "13"


def test_a_spec_that_does_not_load_is_an_error_testcase(desk: Path) -> None:
    (desk / "bad.spec.yaml").write_text("agents: agents.yaml\n")
    junit = desk / "results.xml"
    assert main(["test", str(desk / "bad.spec.yaml"), "--junit", str(junit)]) == 1
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("errors")) == ("1", "1")
    error = root.find("testsuite/testcase/error")
    assert error is not None and "missing required key 'turns'" in (error.get("message") or "")


def test_a_turn_that_does_not_settle_stops_the_spec(desk: Path, capsys: object) -> None:
    spec = desk / "slow.spec.yaml"
    spec.write_text(
        "agents: agents.yaml\nturn_timeout: 0.001\nturns:\n  - user: Hi\n  - user: Bye\n"
    )
    junit = desk / "results.xml"
    assert main(["test", str(spec), "--junit", str(junit)]) == 1
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("errors"), root.get("skipped")) == ("2", "1", "1")
