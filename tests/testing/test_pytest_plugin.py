"""The pytest plugin, as a user's repository meets it: a test file with the `agentkit` marker
and the `caller` fixture, run by pytest in a fresh folder (pytester, in a subprocess so the
plugin loads from its entry point as it does for users)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import pytest

from agentkit.testing import Approval, contains, regex

pytestmark = pytest.mark.agentkit(agents="agents.yaml", script="script.yaml")


async def test_refill(caller):
    await caller.say("Do I have a prescription for amoxicillin? I'm Ada Byron.")
    caller.expect.tool_call("find_prescription", patient=contains("Ada"), drug="amoxicillin")
    caller.expect.says(contains="2 refills")
    await caller.say("Please refill it.", approvals=[Approval("refill", "approve")])
    caller.expect.handoff("refills")
    caller.expect.tool_call("refill", prescription_drug=regex("^amox"))
    caller.expect.approval("refill", "approve")
    caller.expect.agent("refills")


async def test_missing_handoff(caller):
    await caller.say("Do I have a prescription for amoxicillin? I'm Ada Byron.")
    caller.expect.handoff("refills")


async def test_session_and_server(local_server, agentkit_session):
    assert local_server.url.startswith("ws://127.0.0.1:")
    assert agentkit_session.current_agent.name == "desk"
'''


def _project(pytester: pytest.Pytester, desk: Path) -> None:
    for name in ("agents.yaml", "tools.py", "script.yaml"):
        shutil.copy(desk / name, pytester.path / name)


def test_the_fixtures_work_in_a_users_test_file(pytester: pytest.Pytester, desk: Path) -> None:
    _project(pytester, desk)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_pharmacy=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*AssertionError: turn *Ada Byron.*:",
        "*handoff: expected a handoff to refills, got: none",
    ])


def test_strict_mode_needs_the_asyncio_marker(pytester: pytest.Pytester, desk: Path) -> None:
    _project(pytester, desk)
    pytester.makeini("[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_strict='''
import pytest

@pytest.mark.asyncio
@pytest.mark.agentkit(agents="agents.yaml", script="script.yaml")
async def test_lookup(caller):
    await caller.say("Do I have a prescription for amoxicillin? I'm Ada Byron.")
    caller.expect.tool_calls("find_prescription")
'''
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_spec_files_are_collected(pytester: pytest.Pytester, desk: Path) -> None:
    _project(pytester, desk)
    shutil.copy(desk / "refill.spec.yaml", pytester.path / "refill.agentkit.yaml")
    broken = (desk / "refill.spec.yaml").read_text().replace("handoff: refills", "handoff: desk")
    (pytester.path / "broken.agentkit.yaml").write_text(broken)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*handoff: expected a handoff to desk, got: desk -> refills"])


def test_a_test_without_agents_is_told_how_to_name_them(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_none="async def test_x(caller):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*name the agents under test: @pytest.mark.agentkit(agents=*"])
