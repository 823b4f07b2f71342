"""`agentkit run TARGET`: run an agent definition live and watch the conversation.

The command itself: its options, then one `_Run` that starts the local server when nothing
else is configured, opens the session, lets the caller play its turns and prints the
transcript and latency summary. The parts it puts together:

- `target`: what runs (a definition file or `module:agent`);
- `connection`: where it connects (`--local`, `--url`, Azure, OpenAI, else the local server);
- `turns`: what the caller does (a recording, a script, typed lines);
- `recorder`: `--record`, the agent's audio as a WAV file;
- `console`: the live transcript and the summary.

Exit status: 0 when the conversation completed; 1 for a user's mistake (bad file, bad
option, unreachable URL; one line on stderr via `UserError`) or a conversation that could not
complete (the summary is still printed).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Literal

import anyio
from rich.console import Console

from .. import audio as pcm
from ..caller import Caller, ConversationError, Pace
from ..errors import AgentKitError, TransportError, UserError
from ..protocol.dialects import Dialect
from ..server import LocalRealtimeServer
from ..server.script import Script
from ..tracing import TracingConfig, setup_tracing
from ..transports.base import Transport
from ..transports.webrtc import WebRTCTransport
from ..transports.websocket import WebSocketTransport, realtime_url
from .commands import print_warnings
from .connection import (
    LOCAL_KEY,
    Connection,
    add_connection_arguments,
    choose_connection,
    redact,
    webrtc_base,
)
from .console import ConsoleRenderer
from .latency import LatencyMeter
from .recorder import AudioRecorder
from .target import Target, enter_context, load_target
from .turns import Plan, TurnPlayer, plan_turns

__all__ = [
    "AudioRecorder",
    "Connection",
    "Target",
    "choose_connection",
    "configure_run",
    "load_target",
    "run_command",
]


def configure_run(parser: argparse.ArgumentParser) -> None:
    """The arguments of `agentkit run`."""
    parser.add_argument(
        "target",
        help="a definition file (agents.yaml), or module:agent / path/to/file.py:agent for a "
        "Python agent; that module may also define `settings` (a SessionSettings) and `context` "
        "(what tools get as ctx.context, or a factory called once per session, entered when it "
        "makes a context manager)",
    )
    parser.add_argument(
        "--script", metavar="FILE", type=Path,
        help="the conversation script to play (default: the definition file's script:)",
    )
    parser.add_argument(
        "--pace", choices=("realtime", "fast"), default="realtime",
        help="local server and caller audio at real-time pace (default), or as fast as possible "
        "(with --transport webrtc the caller's audio stays real time: RTP is)",
    )
    add_connection_arguments(parser, verb="connect to", live=True)
    parser.add_argument(
        "--transport", choices=("websocket", "webrtc"), default="websocket",
        help="how to reach the model: a WebSocket (default) or a WebRTC call (audio over RTP)",
    )
    parser.add_argument(
        "--codec", choices=("opus", "pcmu", "pcma"), default="opus",
        help="the WebRTC audio codec (with --transport webrtc; default opus)",
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


def run_command(args: argparse.Namespace) -> int:
    """Run `agentkit run` with parsed arguments; returns the exit status."""
    target = load_target(args.target)
    if args.turn_timeout <= 0:
        raise UserError("--turn-timeout must be positive")
    dialect: Dialect = args.dialect or target.dialect or "ga"
    args.dialect = dialect
    if dialect == "live" and getattr(args, "transport", "websocket") == "webrtc":
        raise UserError("--dialect live runs over WebSocket only (Live's WebRTC creation is not supported yet)")
    connection = choose_connection(
        model=target.settings.model,
        dialect=dialect,
        env=os.environ,
        url=args.url,
        azure_deployment=args.azure_deployment,
        local=args.local,
    )
    plan = plan_turns(
        target=target,
        connection=connection,
        script=args.script,
        audio_in=args.audio_in,
        interactive=bool(args.interactive),
    )
    print_warnings(target.warnings)  # the definition file loads, but probably not as meant
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


class _Run:
    """One `agentkit run`: the server (if local), the session, the caller, the console."""

    def __init__(
        self,
        target: Target,
        connection: Connection,
        plan: Plan,
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
        self.turns = TurnPlayer(plan, self.renderer)
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
            self.renderer.info(f"agentkit run {self.target.name} → {redact(connection.url)}")
            yield connection.url, connection.api_key, connection.headers
            return
        server = LocalRealtimeServer(script=self.plan.script or Script(turns=()), pace=self.pace)
        async with server:
            live = self.args.dialect == "live"
            self.renderer.info(
                f"agentkit run {self.target.name} → local {'Live' if live else 'realtime'} "
                f"server {server.live_url if live else server.url} "
                f"({self.pace} pace; no API key needed)"
            )
            if self.args.dialect == "live":
                yield server.live_url, LOCAL_KEY, {}
            else:
                yield realtime_url(self.target.settings.model, server.url), LOCAL_KEY, {}

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
        transport: Transport
        caller_pace: Pace = self.pace
        if getattr(self.args, "transport", "websocket") == "webrtc":
            # RTP carries the caller's audio in real time, whatever the pace: audio sent
            # faster only piles up on the outbound track, and the turn's response waits for
            # it (the server's side may still be fast).
            caller_pace = "realtime"
            transport = WebRTCTransport(
                webrtc_base(url),
                api_key=api_key,
                model=self.target.settings.model,
                codec=self.args.codec,
                dialect=self.args.dialect,
                headers=dict(headers),
            )
        else:
            transport = WebSocketTransport(
                url, api_key=api_key, dialect=self.args.dialect, headers=dict(headers)
            )
        runner = self.target.runner(self.args.dialect, self.tracing)
        try:
            async with AsyncExitStack() as stack:
                context = await enter_context(stack, self.target.context_factory)
                session = runner.session(transport, context=context)
                await stack.enter_async_context(session)
                self.connected = True
                caller = Caller(
                    session,
                    self.target.settings,
                    pace=caller_pace,
                    observers=[self.meter, self.recorder, renderer],
                    turn_timeout=self.args.turn_timeout,
                    speak=speak,
                    speech_engine=engine,
                )
                async with caller:
                    await self.turns.play(caller)
                    if caller.failure is not None:
                        raise caller.failure
        except TransportError as exc:
            if not self.connected:
                raise UserError(f"cannot connect to {redact(url)}: {exc}") from exc
            return self._failed(str(exc))
        except ConversationError as exc:
            return self._failed(str(exc))
        except AgentKitError as exc:
            if isinstance(exc, UserError):
                raise
            return self._failed(f"{type(exc).__name__}: {exc}")
        renderer.summary(self.meter)
        tool_calls = len(self.meter.tools)
        failed = len(renderer.failed_tools)
        handoffs = len(renderer.handoffs)
        renderer.success(
            f"conversation completed: {len(self.meter.turns)} caller turns, "
            f"{tool_calls} tool calls{f' ({failed} failed)' if failed else ''}, "
            f"{handoffs} handoff{'s' if handoffs != 1 else ''}"
        )
        return 0

    def _failed(self, message: str) -> int:
        self.renderer.summary(self.meter)
        self.renderer.failure(message)
        return 1
