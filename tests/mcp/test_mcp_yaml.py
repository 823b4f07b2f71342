"""`mcp_servers:` in agents.yaml, guardrails from installed packages (`plugin:`, the
`agentkit.guardrails` entry points), and `agentkit plugins`."""

from __future__ import annotations

import sys
from typing import Any

import orjson
import pytest
from mcp_helpers import HERE, Conversation, events_until, of_type

from agentkit.cli import main
from agentkit.errors import ConfigError
from agentkit.loader import load_definitions_from_string
from agentkit.mcp import MCPServerHTTP, MCPServerStdio
from agentkit.tools import HostedMCPTool

ENV = {"PYTHON": sys.executable}

FILE = """\
version: 1
mcp_servers:
  weather_local:
    type: stdio
    command: ${PYTHON}
    args: [weather_server.py]
    needs_approval: [get_weather]
    timeout: 5
  weather_remote:
    type: http
    url: http://127.0.0.1:9/mcp
    allowed_tools: [get_weather]
  weather_hosted:
    type: hosted
    url: https://mcp.example.com/mcp
    require_approval: never
    authorization_env: WEATHER_TOKEN
agents:
  forecaster:
    instructions: Weather.
    mcp_servers: [weather_local, weather_remote, weather_hosted]
"""


def load(text: str, **env: str) -> Any:
    return load_definitions_from_string(text, filename="agents.yaml", env={**ENV, **env}, base_dir=HERE)


def test_mcp_servers_are_declared_in_yaml() -> None:
    defs = load(FILE)
    local, remote, hosted = defs.agents["forecaster"].mcp_servers
    assert isinstance(local, MCPServerStdio) and local.command == sys.executable
    assert local.cwd == HERE and local.needs_approval == frozenset({"get_weather"})
    assert isinstance(remote, MCPServerHTTP) and remote.allowed_tools == frozenset({"get_weather"})
    assert isinstance(hosted, HostedMCPTool) and hosted.authorization_env == "WEATHER_TOKEN"
    assert hosted.require_approval == "never" and defs.mcp_servers["weather_hosted"] is hosted


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("    timeout: 5\n", "    timeout: 5\n    retries: 3\n"), 9, "retries"),
        (("    url: http://127.0.0.1:9/mcp\n", "    url: ftp://x\n"), 11, "url"),
        (("    type: hosted\n", "    type: remote\n"), 14, "type"),
        (("weather_remote, weather_hosted]", "weather_remote, weather_hostd]"), 21, "did you mean 'weather_hosted'"),
    ],
)
def test_mistakes_are_reported_at_their_line(change: tuple[str, str], line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(FILE.replace(*change))
    assert caught.value.location is not None and caught.value.location.line == line
    assert words in str(caught.value)


GUARDED = """\
version: 1
guardrails:
  no_card_numbers: {plugin: pii_card_numbers}
agents:
  support:
    instructions: Help with orders.
    input_guardrails: [no_card_numbers]
"""

CARD_SCRIPT = {
    "turns": [
        {"user": "My card is 4111 1111 1111 1111", "mode": "text", "steps": [{"say": "Thanks, charging it."}]},
        {"user": "My order is 4111 1111 1111 1112", "mode": "text", "steps": [{"say": "Looking it up."}]},
    ]
}


async def test_a_guardrail_plugin_named_in_yaml_trips_on_a_card_number(
    conversation: Conversation,
) -> None:
    agent = load(GUARDED).agents["support"]
    async with conversation(agent, CARD_SCRIPT) as session:
        await session.send_text("My card is 4111 1111 1111 1111")
        events = await events_until(session, "assistant_transcript")
        (tripped,) = of_type(events, "guardrail_tripped")
        assert tripped.guardrail_name == "no_card_numbers" and tripped.stage == "input"
        assert tripped.details["kinds"] == ["card_number"]
        assert "4111 1111 1111 1111" not in orjson.dumps(dict(tripped.details)).decode()
        assert events[-1].transcript == "For your security, please don't read card numbers out on this call."
        # A number that fails the Luhn check (an order number) goes through.
        await session.send_text("My order is 4111 1111 1111 1112")
        events = await events_until(session, "assistant_transcript")
    assert not of_type(events, "guardrail_tripped")
    assert events[-1].transcript == "Looking it up."


def test_an_unknown_guardrail_plugin_is_reported_with_what_is_installed() -> None:
    with pytest.raises(ConfigError) as caught:
        load(GUARDED.replace("pii_card_numbers", "pii_card_number"))
    message = str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == 3
    assert "agentkit.guardrails" in message and "did you mean 'pii_card_numbers'" in message


def test_agentkit_plugins_lists_tools_and_guardrails_by_package(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    pii = out[out.index("agentkit-pii") :]
    assert "guardrail pii_card_numbers" in pii and "agentkit_pii.guardrails:card_numbers" in pii
    assert "tool      escalate_to_human" in out[out.index("agentkit-helpdesk") :]
    assert main(["plugins", "--json"]) == 0
    listed = orjson.loads(capsys.readouterr().out)
    assert {"package": "agentkit-pii", "group": "agentkit.guardrails", "name": "pii_emails"}.items() <= next(
        e for e in listed if e["name"] == "pii_emails"
    ).items()


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("card 4111-1111-1111-1111 please", ["card_number"]),
        ("amex 3782 822463 10005", ["card_number"]),
        ("order 1234 5678 9012 3456", []),  # 16 digits, Luhn fails
        ("mail me at jo.doe+x@example.co.uk", ["email"]),
        ("call 0612345678", []),
    ],
)
def test_the_pii_detector(text: str, found: list[str]) -> None:
    from agentkit_pii import find_pii, redact

    assert [f.kind for f in find_pii(text)] == found
    if found:
        assert "1111" not in redact(text).replace("ending 1111", "") and redact(text) != text

