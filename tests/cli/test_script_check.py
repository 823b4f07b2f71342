"""`agentkit run`'s script check: every tool and agent a script names exists in the run's
agents, else one located error with a "did you mean", before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.cli.script_check import check_script
from agentkit.cli.target import load_target
from agentkit.errors import ConfigError
from agentkit.server.script import load_script, parse_script

DATA = Path(__file__).parents[1] / "data" / "run"
AGENTS = load_target(f"{DATA / 'tiny_agent.py'}:agent").all_agents  # weather → travel

HEAD = "turns:\n  - user: Hi\n    steps:\n"


def error_for(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "script.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        check_script(load_script(path), path, AGENTS)
    return info.value


@pytest.mark.parametrize(("steps", "where", "message"), [
    (
        "      - call: get_weathr\n",
        "4:15: turns[0].steps[0].call",
        "unknown tool 'get_weathr' (did you mean 'get_weather'?); expected a tool one of the "
        "agents has (get_weather, transfer_to_travel)",
    ),
    (
        "      - say: ok\n      - handoff: travl\n",
        "5:18: turns[0].steps[1].handoff",
        "unknown agent 'travl' (did you mean 'travel'?); expected an agent some agent hands off "
        "to (transfer_to_travel)",
    ),
    (
        "      - handoff: weather\n",
        "4:18: turns[0].steps[0].handoff",
        "no agent hands off to 'weather' (the step calls 'transfer_to_weather')",
    ),
    (
        "      - say: ok\n        when: {has_tool: transfer_to_travl}\n",
        "5:26: turns[0].steps[0].when.has_tool",
        "unknown tool 'transfer_to_travl' (did you mean 'transfer_to_travel'?)",
    ),
    (
        "      - say: ok\n        when: {lacks_tool: [get_weather, lookup]}\n",
        "5:42: turns[0].steps[0].when.lacks_tool[1]",
        "unknown tool 'lookup'",
    ),
])
def test_a_name_no_agent_has_is_located_and_explained(
    tmp_path: Path, steps: str, where: str, message: str
) -> None:
    error = error_for(tmp_path, HEAD + steps)
    assert str(error).startswith(f"{tmp_path / 'script.yaml'}:{where}: {message}")


def test_alternatives_and_the_greeting_are_checked_too(tmp_path: Path) -> None:
    error = error_for(tmp_path, "greeting:\n  - call: get_weather\n" + HEAD + "      - say: ok\n"
                      "    alternatives:\n      - when: {has_tool: get_wether}\n        steps: []\n")
    assert ": turns[0].alternatives[0].when.has_tool: unknown tool 'get_wether'" in str(error)
    error = error_for(tmp_path, "greeting:\n  - call: get_wether\n" + HEAD + "      - say: ok\n")
    assert str(error).startswith(f"{tmp_path / 'script.yaml'}:2:11: greeting[0].call: ")


def test_names_the_agents_have_pass() -> None:
    check_script(load_script(DATA / "tiny_script.yaml"), DATA / "tiny_script.yaml", AGENTS)
    script = parse_script(
        HEAD + "      - call: transfer_to_travel\n      - handoff: transfer_to_travel\n"
        "      - say: ok\n        when: {has_tool: [get_weather], lacks_tool: transfer_to_travel}\n"
    )
    check_script(script, None, AGENTS)


def test_an_inline_script_is_reported_without_a_line() -> None:
    with pytest.raises(ConfigError) as info:
        check_script(parse_script(HEAD + "      - call: nope\n"), None, AGENTS)
    assert str(info.value).startswith("turns[0].steps[0].call: unknown tool 'nope'")
