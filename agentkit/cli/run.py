"""`agentkit run TARGET`: run an agent definition live and watch the conversation.

TARGET is a definition file (`agents.yaml`) or `module:agent`, a Python import path (or
`path/to/file.py:agent`) to a `RealtimeAgent`.

Where it connects, first match wins:

1. `--local`: the embedded local server, whatever is configured;
2. `--url URL`: that endpoint (`OPENAI_API_KEY` as bearer token when set);
3. `--azure-deployment NAME`, or `AZURE_OPENAI_ENDPOINT` + `AZURE_OPENAI_API_KEY`: Azure OpenAI;
4. `OPENAI_API_KEY`: OpenAI;
5. nothing configured: the local server (`LocalRealtimeServer`) started in-process, playing
   the conversation script's model side, so a first run works on a fresh machine.

What the caller does: `--audio-in FILE.wav` streams a recording; `--interactive` (default
when stdin is a terminal and there is no script) reads typed lines; otherwise the script's
caller turns are played (`--script FILE`, else the definition file's `script:`). Against a
real model with no script, stdin is read line by line.

Exit status: 0 when the conversation completed; 1 for a user's mistake (bad file, bad
option, unreachable URL; one line on stderr via `UserError`) or a conversation that could not
complete (the summary is still printed).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import inspect
import os
import sys
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import anyio
from rich.console import Console

from .. import audio as pcm
from ..agent import RealtimeAgent, walk_agents
from ..caller import Caller, CallerTurn, ConversationError, Pace
from ..errors import AgentKitError, ConfigError, TransportError, UserError
from ..events import AudioOut, SessionEvent
from ..loader import load_definitions
from ..policy import ReconnectPolicy
from ..protocol.dialects import Dialect
from ..runner import RealtimeRunner
from ..server import LocalRealtimeServer
from ..server.script import Script, load_script
from ..settings import SessionSettings
from ..tracing import TracingConfig, setup_tracing
from ..tracing.latency import LatencyMeter
from ..transports.websocket import OPENAI_REALTIME_URL, WebSocketTransport, realtime_url
from .console import ConsoleRenderer

__all__ = [
    "AudioRecorder",
    "Connection",
    "Target",
    "choose_connection",
    "configure_run",
    "load_target",
    "run_command",
]

AZURE_API_VERSION = "2025-04-01-preview"
"""The Azure OpenAI API version of the beta realtime endpoint."""
_LOCAL_KEY = "agentkit-local"  # the local server wants a bearer token, any will do


# -- what to run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What `agentkit run` was pointed at, resolved.

    Attributes:
        name: As the user wrote it.
        starting_agent: The agent the session starts with.
        settings: The session settings (`SessionSettings()` for a Python agent).
        agents: Every agent's name, for the console's speaker column.
        script: The conversation script named by the definition file, if any.
        context_factory: Builds the tools' context, once per session.
    """

    name: str
    starting_agent: RealtimeAgent[Any]
    settings: SessionSettings
    agents: tuple[str, ...]
    script: Path | None = None
    context_factory: Callable[[], Any] | None = None
    all_agents: Mapping[str, RealtimeAgent[Any]] = field(default_factory=dict)

    def runner(
        self, dialect: Dialect, tracing: TracingConfig | None = None
    ) -> RealtimeRunner[Any]:
        """A runner for one session; `raw_events` on, for the VAD and `response.done` events
        the caller and the latency meter read."""
        runner: RealtimeRunner[Any] = RealtimeRunner(
            self.starting_agent,
            settings=self.settings,
            dialect=dialect,
            raw_events=True,
            tracing=tracing,
            # A live call should survive a dropped connection: reconnect with backoff and
            # replay the conversation (see docs/resilience.md).
            reconnect=ReconnectPolicy(),
        )
        runner.agents.update(self.all_agents)
        return runner


def load_target(spec: str) -> Target:
    """A definition file or `module:agent`, loaded; `UserError` with a clear message if not."""
    path = Path(spec)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file() or ":" not in spec:
        if not path.exists() and ":" not in spec:
            raise UserError(
                f"{spec}: no such file (give a definition file like agents.yaml, "
                "or module:agent for a Python agent)"
            )
        definitions = load_definitions(path)
        return Target(
            name=spec,
            starting_agent=definitions.starting_agent,
            settings=definitions.settings,
            agents=tuple(definitions.agents),
            script=definitions.script,
            context_factory=definitions.context_factory,
            all_agents=dict(definitions.agents),
        )
    agent = _import_agent(spec)
    agents = walk_agents(agent)
    return Target(
        name=spec,
        starting_agent=agent,
        settings=SessionSettings(),
        agents=tuple(a.name for a in agents),
        all_agents={a.name: a for a in agents},
    )


def _import_agent(spec: str) -> RealtimeAgent[Any]:
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise UserError(f"{spec!r}: expected module:agent, like my_app.agents:support")
    try:
        if module_name.endswith(".py") or "/" in module_name or os.sep in module_name:
            module = _import_file(Path(module_name))
        else:
            # Like `python -m`: the current directory is importable.
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except UserError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise UserError(f"{spec}: module {module_name!r} not found") from exc
        raise UserError(f"{spec}: importing {module_name!r} failed: {_short(exc)}") from exc
    except Exception as exc:
        raise UserError(f"{spec}: importing {module_name!r} failed: {_short(exc)}") from exc
    target: object = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UserError(f"{spec}: {module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not isinstance(target, RealtimeAgent):
        raise UserError(
            f"{spec}: {attribute} is a {type(target).__name__}, not a RealtimeAgent"
        )
    return target


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    name = f"_agentkit_run_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _short(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- where to connect -------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    """Where the session connects.

    Attributes:
        kind: `local` (the embedded server), `url`, `openai` or `azure`.
        url: The WebSocket URL (None for `local`: known once the server listens).
        api_key: Sent as `Authorization: Bearer`.
        headers: Extra headers (Azure's `api-key`).
    """

    kind: Literal["local", "url", "openai", "azure"]
    url: str | None = None
    api_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        """True when a real (or at least not embedded) service plays the model."""
        return self.kind != "local"


def choose_connection(
    *,
    model: str,
    dialect: Dialect,
    env: Mapping[str, str],
    url: str | None = None,
    azure_deployment: str | None = None,
    local: bool = False,
) -> Connection:
    """Pick the endpoint from the options and the environment (see the module docs)."""
    if local:
        return Connection("local")
    openai_key = env.get("OPENAI_API_KEY") or None
    if url is not None:
        if urlsplit(url).scheme not in ("ws", "wss", "http", "https"):
            raise UserError(f"--url {url!r}: expected a ws:// or wss:// URL")
        full = url if "model=" in url or "deployment=" in url else realtime_url(model, url)
        return Connection("url", _ws_scheme(full), openai_key or _LOCAL_KEY)
    endpoint = env.get("AZURE_OPENAI_ENDPOINT") or None
    azure_key = env.get("AZURE_OPENAI_API_KEY") or None
    if azure_deployment is not None or (endpoint and azure_key):
        if not (endpoint and azure_key):
            raise UserError(
                "--azure-deployment needs AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY set"
            )
        deployment = azure_deployment or env.get("AZURE_OPENAI_DEPLOYMENT") or model
        base = _ws_scheme(endpoint.rstrip("/"))
        if dialect == "beta":
            full = f"{base}/openai/realtime?api-version={AZURE_API_VERSION}&deployment={deployment}"
        else:
            full = f"{base}/openai/v1/realtime?model={deployment}"
        return Connection("azure", full, None, {"api-key": azure_key})
    if openai_key:
        return Connection("openai", realtime_url(model, OPENAI_REALTIME_URL), openai_key)
    return Connection("local")


def _ws_scheme(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme))


# -- the agent's audio ------------------------------------------------------------------------


class AudioRecorder:
    """Keeps the agent's audio, decoded to PCM16 at 24 kHz, for `--record`.

    Responses follow each other without the silences between them: the file is what the
    agent said, not a timeline of the call.
    """

    def __init__(self, output_format: pcm.AudioFormat) -> None:
        self.output_format: pcm.AudioFormat = output_format
        self.pcm16 = bytearray()

    def caller_turn(self, turn: CallerTurn) -> None:
        """Not recorded: only the agent's audio is kept."""

    def turn_ended(self, at: float) -> None:
        """Not recorded."""

    def audio_sent(self, end_ms: float, at: float) -> None:
        """Not recorded."""

    def observe(self, event: SessionEvent, at: float) -> None:
        """Keep each audio delta, decoded."""
        if isinstance(event, AudioOut):
            self.pcm16 += pcm.convert(event.audio, self.output_format, "pcm16")

    def write(self, path: Path) -> None:
        """Write the WAV file."""
        pcm.write_wav(path, bytes(self.pcm16), rate=pcm.PCM16_SAMPLE_RATE)


# -- the command ------------------------------------------------------------------------------


def configure_run(parser: argparse.ArgumentParser) -> None:
    """The arguments of `agentkit run`."""
    parser.add_argument("target", help="a definition file (agents.yaml) or module:agent")
    parser.add_argument(
        "--script", metavar="FILE", type=Path,
        help="the conversation script to play (default: the definition file's script:)",
    )
    parser.add_argument(
        "--pace", choices=("realtime", "fast"), default="realtime",
        help="local server and caller audio at real-time pace (default), or as fast as possible",
    )
    parser.add_argument("--url", help="connect to this realtime WebSocket URL")
    parser.add_argument(
        "--azure-deployment", metavar="NAME",
        help="connect to this Azure OpenAI deployment (with AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--local", action="store_true",
        help="use the embedded local server even when an API key or Azure is configured",
    )
    parser.add_argument(
        "--dialect", choices=("ga", "beta"), default="ga",
        help="the protocol dialect: ga (gpt-realtime, default) or beta (preview, Azure)",
    )
    parser.add_argument(
        "--interactive", action="store_true",
        help="type the caller's lines (default when stdin is a terminal and there is no script)",
    )
    parser.add_argument(
        "--audio-in", metavar="FILE.wav", type=Path,
        help="send this recording as the caller's audio (resampled to the session's format)",
    )
    parser.add_argument(
        "--record", metavar="FILE.wav", type=Path,
        help="save the agent's audio as a WAV file (PCM16, 24 kHz)",
    )
    parser.add_argument("--no-color", action="store_true", help="plain output, no colors")
    parser.add_argument(
        "--trace", choices=("console", "otlp", "none"), default=None,
        help="export OpenTelemetry traces and metrics: console (to stderr) or otlp "
        "(OTEL_EXPORTER_OTLP_ENDPOINT, needs agentkit[otlp]); default: OTEL_TRACES_EXPORTER",
    )
    parser.add_argument(
        "--turn-timeout", type=float, default=30.0, metavar="SECONDS",
        help="how long one turn may take before the run fails (default 30)",
    )


@dataclass(frozen=True)
class _Plan:
    """What the caller does, decided before connecting."""

    script: Script | None
    script_path: Path | None
    interactive: bool
    recording: bytes | None


def run_command(args: argparse.Namespace) -> int:
    """Run `agentkit run` with parsed arguments; returns the exit status."""
    target = load_target(args.target)
    if args.turn_timeout <= 0:
        raise UserError("--turn-timeout must be positive")
    dialect: Dialect = args.dialect
    connection = choose_connection(
        model=target.settings.model,
        dialect=dialect,
        env=os.environ,
        url=args.url,
        azure_deployment=args.azure_deployment,
        local=args.local,
    )
    plan = _plan(args, target, connection)
    if args.record is not None and not args.record.parent.is_dir():
        raise UserError(f"--record {args.record}: the folder {args.record.parent} does not exist")
    console = Console(file=sys.stdout, highlight=False, emoji=False, soft_wrap=False)
    if args.no_color:
        # Plain text, not just no colors: no bold or dim escapes either (logs, screen readers).
        console = Console(
            file=sys.stdout, color_system=None, highlight=False, emoji=False, soft_wrap=False
        )
    if not console.is_terminal:
        console.width = max(console.width, 120)
    # Reads the standard OTEL_* variables (and OTEL_TRACES_EXPORTER when --trace is absent).
    tracing = setup_tracing(args.trace)
    # Everything loaded so far (definitions, pydantic, websockets, OpenTelemetry) lives as
    # long as the process: move it out of the collector's reach, or each full collection
    # walks it again and pauses the call for tens of milliseconds (see docs/run.md).
    gc.collect()
    gc.freeze()
    try:
        run = _Run(target, connection, plan, args, console, tracing.config)
        return anyio.run(run.main)
    finally:
        tracing.shutdown()  # exports the last spans and the metrics


def _plan(args: argparse.Namespace, target: Target, connection: Connection) -> _Plan:
    script_path: Path | None = args.script if args.script is not None else target.script
    script = _load_script(script_path) if script_path is not None else None
    recording = _read_recording(args.audio_in) if args.audio_in is not None else None
    interactive = bool(args.interactive)
    if not interactive and recording is None and args.script is None:
        if _stdin_is_terminal() and script is None:
            interactive = True
        elif connection.remote and script is None:
            interactive = True  # a real model and nothing scripted: read the caller's lines
    if not interactive and recording is None and script is None:
        raise UserError(
            f"{target.name} names no conversation script for the local server: pass "
            "--script FILE, --audio-in FILE.wav or --interactive"
        )
    return _Plan(script, script_path, interactive, recording)


def _load_script(path: Path) -> Script:
    if not path.is_file():
        raise UserError(f"--script {path}: no such file")
    try:
        return load_script(path)
    except ConfigError:
        raise
    except Exception as exc:  # a script the loader could not even parse as YAML
        raise UserError(f"{path}: not a conversation script ({_short(exc)})") from exc


def _read_recording(path: Path) -> bytes:
    try:
        data = pcm.read_wav(path, rate=pcm.PCM16_SAMPLE_RATE)
    except FileNotFoundError as exc:
        raise UserError(f"--audio-in {path}: no such file") from exc
    except (OSError, EOFError, wave.Error, ValueError) as exc:
        raise UserError(f"--audio-in {path}: not a readable PCM WAV file ({exc})") from exc
    if not data:
        raise UserError(f"--audio-in {path}: the recording is empty")
    return data


class _Run:
    """One `agentkit run`: the server (if local), the session, the caller, the console."""

    def __init__(
        self,
        target: Target,
        connection: Connection,
        plan: _Plan,
        args: argparse.Namespace,
        console: Console,
        tracing: TracingConfig | None = None,
    ) -> None:
        self.target = target
        # No exporter chosen: the runner's default, the global providers (an app launched
        # under `opentelemetry-instrument` is traced by the SDK it installed).
        self.tracing = tracing if tracing is not None and tracing.enabled else None
        self.connection = connection
        self.plan = plan
        self.args = args
        self.pace: Pace = args.pace
        effective = target.settings.merged(target.starting_agent.settings)
        self.meter = LatencyMeter(audio_output=effective.audio_output)
        self.recorder = AudioRecorder(effective.output_audio_format)
        self.renderer = ConsoleRenderer(
            console, agents=target.agents, live=console.is_terminal
        )
        self.interactive_tty = plan.interactive and _stdin_is_terminal()
        self.connected = False

    async def main(self) -> int:
        renderer = self.renderer
        try:
            async with self._endpoint() as (url, api_key, headers):
                return await self._converse(url, api_key, headers)
        finally:
            # Whatever the agent said before a failure is still worth keeping.
            if self.args.record is not None and self.connected:
                self.recorder.write(self.args.record)
                seconds = len(self.recorder.pcm16) / (2 * pcm.PCM16_SAMPLE_RATE)
                renderer.info(f"agent audio saved to {self.args.record} ({seconds:.1f} s)")

    @asynccontextmanager
    async def _endpoint(self) -> AsyncIterator[tuple[str, str | None, Mapping[str, str]]]:
        connection = self.connection
        if connection.remote:
            assert connection.url is not None
            self.renderer.info(f"agentkit run {self.target.name} → {_redact(connection.url)}")
            yield connection.url, connection.api_key, connection.headers
            return
        server = LocalRealtimeServer(script=self.plan.script or Script(turns=()), pace=self.pace)
        async with server:
            self.renderer.info(
                f"agentkit run {self.target.name} → local realtime server {server.url} "
                f"({self.pace} pace; no API key needed)"
            )
            yield realtime_url(self.target.settings.model, server.url), _LOCAL_KEY, {}

    async def _converse(self, url: str, api_key: str | None, headers: Mapping[str, str]) -> int:
        plan, renderer = self.plan, self.renderer
        if plan.script is not None and plan.script_path is not None:
            name = f"{plan.script.name!r} " if plan.script.name else ""
            renderer.info(f"script {name}({plan.script_path}, {len(plan.script.turns)} caller turns)")
        speak = True
        engine: Literal["synthetic", "espeak"] = "synthetic"
        if self.connection.remote:
            # A real model transcribes speech: synthetic babble would be heard as noise.
            speak = pcm.espeak_available()
            engine = "espeak"
            if not speak and plan.script is not None:
                renderer.info("espeak-ng is not installed: the script's spoken turns are sent as text")
        transport = WebSocketTransport(
            url, api_key=api_key, dialect=self.args.dialect, headers=dict(headers)
        )
        runner = self.target.runner(self.args.dialect, self.tracing)
        try:
            async with AsyncExitStack() as stack:
                context = await _enter_context(stack, self.target.context_factory)
                session = runner.session(transport, context=context)
                await stack.enter_async_context(session)
                self.connected = True
                caller = Caller(
                    session,
                    self.target.settings,
                    pace=self.pace,
                    observers=[self.meter, self.recorder, renderer],
                    turn_timeout=self.args.turn_timeout,
                    speak=speak,
                    speech_engine=engine,
                )
                async with caller:
                    await self._play(caller)
                    if caller.failure is not None:
                        raise caller.failure
        except TransportError as exc:
            if not self.connected:
                raise UserError(f"cannot connect to {_redact(url)}: {exc}") from exc
            return self._failed(str(exc))
        except ConversationError as exc:
            return self._failed(str(exc))
        except AgentKitError as exc:
            if isinstance(exc, UserError):
                raise
            return self._failed(f"{type(exc).__name__}: {exc}")
        renderer.summary(self.meter)
        tool_calls = len(self.meter.tools)
        handoffs = len(renderer.handoffs)
        renderer.success(
            f"conversation completed: {len(self.meter.turns)} caller turns, "
            f"{tool_calls} tool calls, {handoffs} handoff{'s' if handoffs != 1 else ''}"
        )
        return 0

    async def _play(self, caller: Caller) -> None:
        plan = self.plan
        script = plan.script
        if plan.recording is not None:
            if script is not None and script.greeting:
                await caller.greet()
            name = self.args.audio_in.name
            seconds = len(plan.recording) / (2 * pcm.PCM16_SAMPLE_RATE)
            await caller.send_recording(plan.recording, f"♪ {name} ({seconds:.1f} s)")
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

    def _failed(self, message: str) -> int:
        self.renderer.summary(self.meter)
        self.renderer.failure(message)
        return 1


_PROMPT = "[bold white]caller>[/] "


def _stdin_is_terminal() -> bool:
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


def _read_stdin_line() -> str | None:
    line = sys.stdin.readline()
    return line if line else None


async def _enter_context(stack: AsyncExitStack, factory: Callable[[], Any] | None) -> Any:
    """Build the session's context, closed when `stack` unwinds: entered as a (sync or
    async) context manager when it is one, else its `close()` / `aclose()` called."""
    if factory is None:
        return None
    made = factory()
    if hasattr(made, "__aenter__") and hasattr(made, "__aexit__"):
        return await stack.enter_async_context(made)
    if hasattr(made, "__enter__") and hasattr(made, "__exit__"):
        return stack.enter_context(made)
    aclose = getattr(made, "aclose", None)
    if callable(aclose):
        stack.push_async_callback(_await, aclose)
        return made
    close = getattr(made, "close", None)
    if callable(close):
        stack.callback(close)
    return made


async def _await(function: Callable[[], Awaitable[Any] | Any]) -> None:
    result = function()
    if inspect.isawaitable(result):
        await result


def _redact(url: str) -> str:
    """The URL as shown to people (no query secrets, like an Azure `api-key` parameter)."""
    parts = urlsplit(url)
    if "key" not in parts.query.lower():
        return url
    return urlunsplit(parts._replace(query="…"))

