"""What the caller does in `agentkit run`: decided before connecting, then played.

`--audio-in FILE.wav` streams a recording; `--interactive` (default when stdin is a terminal
and there is no script) reads typed lines; otherwise the script's caller turns are played
(`--script FILE`, else the definition file's `script:`). Against a real model with no
script, stdin is read line by line.

`plan_turns` checks the files (and the script's tool and agent names against the agents,
`script_check`) and makes that choice (a `UserError` when there is nothing to
play); `TurnPlayer` drives a `Caller` through it once the session is up.
"""

from __future__ import annotations

import sys
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio

from .. import audio as pcm
from ..caller import Caller
from ..errors import UserError
from ..server.script import Script
from .connection import Connection
from .console import ConsoleRenderer
from .script_check import load_checked_script
from .target import Target, file_not_found

__all__ = ["Plan", "TurnPlayer", "plan_turns"]


@dataclass(frozen=True)
class Plan:
    """What the caller does, decided before connecting.

    Attributes:
        script: The conversation script, if one is played or only greets.
        script_path: Where the script came from.
        interactive: Typed (or piped) lines are read after the script's greeting.
        recording: `--audio-in`, as PCM16 at 24 kHz.
        recording_name: The recording's file name, as the console shows it.
    """

    script: Script | None
    script_path: Path | None
    interactive: bool
    recording: bytes | None
    recording_name: str = ""


def plan_turns(
    *,
    target: Target,
    connection: Connection,
    script: Path | None,
    audio_in: Path | None,
    interactive: bool,
) -> Plan:
    """Decide what the caller does from the options (`--script`, `--audio-in`,
    `--interactive`), the target's own script, stdin and where the run connects."""
    script_path: Path | None = script if script is not None else target.script
    loaded = (
        load_checked_script(script_path, target.all_agents) if script_path is not None else None
    )
    recording = _read_recording(audio_in) if audio_in is not None else None
    if not interactive and recording is None and script is None:
        if _stdin_is_terminal() and loaded is None:
            interactive = True
        elif connection.remote and loaded is None:
            interactive = True  # a real model and nothing scripted: read the caller's lines
    if not interactive and recording is None and loaded is None:
        raise UserError(
            f"{target.name} names no conversation script for the local server: pass "
            "--script FILE, --audio-in FILE.wav or --interactive"
        )
    name = audio_in.name if audio_in is not None else ""
    return Plan(loaded, script_path, interactive, recording, name)


def _read_recording(path: Path) -> bytes:
    try:
        data = pcm.read_wav(path, rate=pcm.PCM16_SAMPLE_RATE)
    except FileNotFoundError as exc:
        raise file_not_found(path, option="--audio-in") from exc
    except (OSError, EOFError, wave.Error, ValueError) as exc:
        raise UserError(f"--audio-in {path}: not a readable PCM WAV file ({exc})") from exc
    if not data:
        raise UserError(f"--audio-in {path}: the recording is empty")
    return data


class TurnPlayer:
    """Plays a `Plan` through a `Caller`: the recording, the script, then typed lines."""

    def __init__(self, plan: Plan, renderer: ConsoleRenderer) -> None:
        self.plan = plan
        self.renderer = renderer
        self.interactive_tty = plan.interactive and _stdin_is_terminal()

    async def play(self, caller: Caller) -> None:
        """Play every caller turn the plan holds; returns when the caller is done."""
        plan = self.plan
        script = plan.script
        if plan.recording is not None:
            if script is not None and script.greeting:
                await caller.greet()
            seconds = len(plan.recording) / (2 * pcm.PCM16_SAMPLE_RATE)
            await caller.send_recording(plan.recording, f"♪ {plan.recording_name} ({seconds:.1f} s)")
        elif plan.interactive:
            if script is not None and script.greeting:
                await caller.greet()
        elif script is not None:
            await caller.play(script)
        if plan.interactive:
            await self._interactive(caller)

    async def _interactive(self, caller: Caller) -> None:
        renderer = self.renderer
        tty = self.interactive_tty
        if tty:
            renderer.info("type what the caller says; an empty line or Ctrl-D ends the call")
            renderer.echo_typed = False
        read: Callable[[], str | None] = self._prompt if tty else _read_stdin_line
        while True:
            line = await anyio.to_thread.run_sync(read, abandon_on_cancel=True)
            if line is None or (tty and not line.strip()) or line.strip() in ("/quit", "/exit"):
                return
            if line.strip():
                await caller.say(line.strip(), "text")

    def _prompt(self) -> str | None:
        try:
            return self.renderer.console.input(_PROMPT)
        except EOFError:
            return None


_PROMPT = "[bold white]caller>[/] "


def _stdin_is_terminal() -> bool:
    """True when a person types at stdin (not a pipe, a file, or a closed stream)."""
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


def _read_stdin_line() -> str | None:
    line = sys.stdin.readline()
    return line if line else None
