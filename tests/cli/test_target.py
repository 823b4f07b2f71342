"""`agentkit run`'s target: a definition file or `module:agent` resolved to the agent that
starts, the agents the console names, and the tools' context made and closed per session."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from agentkit import SessionSettings
from agentkit.cli.target import enter_context, load_target
from agentkit.errors import UserError

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "examples" / "customer_service" / "agents.yaml"
TINY = Path(__file__).parents[1] / "data" / "run" / "tiny_agent.py"
ORDERS = TINY.parent / "orders_agent.py"


def test_a_definition_file_brings_its_agents_settings_and_script() -> None:
    target = load_target(str(EXAMPLE))
    assert target.name == str(EXAMPLE)
    assert target.starting_agent.name == "authentication"
    assert target.agents == ("authentication", "returns", "sales", "escalation")
    assert set(target.all_agents) == set(target.agents)
    assert target.script is not None and target.script.is_file()
    assert target.settings.input_audio_format == "g711_ulaw"  # the file's settings, not defaults


def test_a_python_agent_brings_every_agent_it_hands_off_to() -> None:
    target = load_target(f"{TINY}:agent")
    assert target.starting_agent.name == "weather"
    assert target.agents == ("weather", "travel")
    assert target.script is None and target.context_factory is None


def test_a_python_agents_module_brings_its_settings_and_context_factory() -> None:
    # orders_agent.py imports its sibling order_db.py by plain name: the folder is importable.
    target = load_target(f"{ORDERS}:agent")
    assert target.settings.voice == "marin" and target.settings.input_audio_format == "g711_ulaw"
    assert target.context_factory is not None
    assert type(target.context_factory()).__name__ == "OrderDb"


def test_a_context_that_is_not_callable_is_the_context_itself(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text(
        "from agentkit import RealtimeAgent\n"
        "context = {'tenant': 'acme'}\n"
        "agent = RealtimeAgent(name='a')\n"
    )
    target = load_target(f"{tmp_path / 'plain.py'}:agent")
    assert target.context_factory is not None and target.context_factory() == {"tenant": "acme"}
    assert target.settings == SessionSettings()  # no `settings` in the module: the defaults


def test_an_apps_own_settings_object_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from agentkit import RealtimeAgent\nsettings = {'database': 'sqlite://'}\n"
        "agent = RealtimeAgent(name='a')\n"
    )
    assert load_target(f"{tmp_path / 'app.py'}:agent").settings == SessionSettings()


@pytest.mark.parametrize(("spec", "message"), [
    ("agents", "agents: file not found (give a definition file like agents.yaml, or module:agent)"),
    (":agent", "expected module:agent, like my_app.agents:support"),
    ("missing_dir/nope.py:agent", "missing_dir/nope.py: file not found"),
    (f"{TINY}:agent.name.upper", "is a builtin_function_or_method, not a RealtimeAgent"),
])
def test_a_target_that_is_not_an_agent_is_a_user_error(spec: str, message: str) -> None:
    with pytest.raises(UserError) as info:
        load_target(spec)
    assert message in str(info.value)


class Closable:
    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_the_context_lives_as_long_as_the_session() -> None:
    made: list[Closable] = []

    def factory() -> Closable:
        made.append(Closable())
        return made[-1]

    async with AsyncExitStack() as stack:
        context = await enter_context(stack, factory)
        assert context is made[0] and not made[0].closed
    assert made[0].closed and len(made) == 1
    async with AsyncExitStack() as stack:
        assert await enter_context(stack, None) is None  # no `context:` in the file
