"""`agentkit run`'s caller side: what it plays (a recording, a script, typed lines), decided
from the options, the definition file and stdin, then played through the `Caller`."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from agentkit import audio
from agentkit.cli.connection import Connection
from agentkit.cli.console import ConsoleRenderer
from agentkit.cli.target import load_target
from agentkit.cli.turns import Plan, TurnPlayer, plan_turns
from agentkit.errors import UserError

DATA = Path(__file__).parents[1] / "data" / "run"
TINY = DATA / "tiny_agent.py"
TINY_SCRIPT = DATA / "tiny_script.yaml"
CONTEXT_AGENTS = DATA / "context_agents.yaml"  # names tiny_script.yaml as its `script:`
LOCAL = Connection("local")
REMOTE = Connection("openai", "wss://api.openai.com/v1/realtime?model=gpt-realtime", "sk-x")


@pytest.fixture(autouse=True)
def piped_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a terminal, as under CI: nobody types unless a test says so."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def plan(target: str, connection: Connection = LOCAL, **options: object) -> Plan:
    chosen: dict[str, object] = {"script": None, "audio_in": None, "interactive": False, **options}
    return plan_turns(target=load_target(target), connection=connection, **chosen)  # type: ignore[arg-type]


def test_the_definition_files_script_plays_by_default() -> None:
    chosen = plan(str(CONTEXT_AGENTS))
    assert chosen.script_path == TINY_SCRIPT
    assert chosen.script is not None and len(chosen.script.turns) == 2
    assert not chosen.interactive and chosen.recording is None


def test_nothing_to_play_on_the_local_server_is_a_user_error() -> None:
    with pytest.raises(UserError, match="names no conversation script for the local server"):
        plan(f"{TINY}:agent")


def test_a_real_model_with_nothing_scripted_reads_the_callers_lines() -> None:
    assert plan(f"{TINY}:agent", REMOTE).interactive


def test_a_recording_is_read_at_24_khz(tmp_path: Path) -> None:
    recording = tmp_path / "caller.wav"
    audio.write_wav(recording, b"\x01\x00" * 8_000, rate=8_000)  # one second at 8 kHz
    chosen = plan(f"{TINY}:agent", audio_in=recording)
    assert chosen.recording is not None
    assert len(chosen.recording) == 2 * 24_000
    assert chosen.recording_name == "caller.wav"
    empty = tmp_path / "empty.wav"
    audio.write_wav(empty, b"", rate=24_000)
    with pytest.raises(UserError, match="the recording is empty"):
        plan(f"{TINY}:agent", audio_in=empty)


def test_a_broken_script_is_a_user_error(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("turns: [unclosed\n")
    with pytest.raises(UserError, match=r"script\.yaml:2:1: invalid YAML"):  # located, as YAML errors are
        plan(f"{TINY}:agent", script=script)
    script.write_bytes(b"\xff\xfe not text")
    with pytest.raises(UserError, match=r"script\.yaml: not a conversation script \(UnicodeDecodeError: "):
        plan(f"{TINY}:agent", script=script)


class FakeCaller:
    """Records what the player asked the caller to do."""

    def __init__(self) -> None:
        self.done: list[str] = []

    async def greet(self) -> None:
        self.done.append("greet")

    async def play(self, script: object) -> None:
        self.done.append("play")

    async def send_recording(self, pcm16: bytes, label: str) -> None:
        self.done.append(f"recording {label}")

    async def say(self, text: str, mode: str) -> None:
        self.done.append(f"say {text} ({mode})")


def renderer() -> ConsoleRenderer:
    return ConsoleRenderer(Console(file=io.StringIO()), agents=("weather",), live=False)


async def test_a_recording_follows_the_scripts_greeting() -> None:
    base = plan(str(CONTEXT_AGENTS))
    one_second = b"\x00\x00" * 24_000
    chosen = Plan(base.script, base.script_path, False, one_second, "caller.wav")
    caller = FakeCaller()
    await TurnPlayer(chosen, renderer()).play(caller)  # type: ignore[arg-type]
    assert caller.done == ["greet", "recording ♪ caller.wav (1.0 s)"]


async def test_piped_lines_are_said_as_text_until_quit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello\n\n  next one \n/exit\nnever\n"))
    caller = FakeCaller()
    await TurnPlayer(plan(f"{TINY}:agent", interactive=True), renderer()).play(caller)  # type: ignore[arg-type]
    # Piped, an empty line is skipped, not the end of the call (only a terminal's is).
    assert caller.done == ["say hello (text)", "say next one (text)"]


async def test_a_script_is_played_whole() -> None:
    caller = FakeCaller()
    await TurnPlayer(plan(str(CONTEXT_AGENTS)), renderer()).play(caller)  # type: ignore[arg-type]
    assert caller.done == ["play"]
