"""Running a conversation spec: `run_spec` plays a `Spec` against the local server (or a real
service) and returns a `SpecResult`, one `TurnResult` per caller turn. Nothing is printed:
`agentkit test` (`agentkit.testing.command`) and the pytest plugin show the results.

The local server plays the spec's script (or inline `model:` steps) at `fast` pace; with a
remote `Connection` (`--url`, a key, Azure; see `agentkit.cli.connection`) a real model
answers the same turns and the spec is an evaluation. Every turn is checked as it settles
and the conversation goes on after a failed one; a turn that does not settle (a timeout, a
lost session) fails with an error and the turns after it are not run.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from .. import audio as pcm
from ..caller import ConversationError, Pace
from ..cli.connection import LOCAL_KEY, Connection, redact
from ..cli.target import enter_context
from ..errors import AgentKitError, TransportError, UserError
from ..protocol.dialects import Dialect
from ..server import LocalRealtimeServer
from ..server.script import Script
from ..session import RealtimeSession
from ..transports.websocket import WebSocketTransport, realtime_url
from .check import Failure, check_final_agent, check_turn
from .conversation import RecordingCaller
from .record import TurnRecord
from .spec import Spec, load_spec

__all__ = ["SpecResult", "TurnResult", "arun_spec", "run_spec"]


@dataclass(frozen=True)
class TurnResult:
    """One caller turn's verdict.

    Attributes:
        index: The turn's place in the spec (0-based).
        user: What the caller said.
        line: Where the turn starts in the spec.
        failures: The expectations that did not hold.
        record: What happened (None for a turn that was not run).
        error: Why the turn could not complete, or was not run.
        duration_s: How long the turn took.
    """

    index: int
    user: str
    line: int
    failures: tuple[Failure, ...] = ()
    record: TurnRecord | None = None
    error: str | None = None
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        """True when the turn ran and met every expectation."""
        return not self.failures and self.error is None


@dataclass(frozen=True)
class SpecResult:
    """A spec's verdict.

    Attributes:
        path: The spec file.
        name: The spec's name.
        endpoint: Where it ran (`local server` or the redacted URL).
        turns: Each turn's result.
        final: Failures of `expect_final_agent`.
        error: Why the conversation could not start or go on, if it could not.
        duration_s: How long the whole spec took.
    """

    path: Path
    name: str
    endpoint: str
    turns: tuple[TurnResult, ...] = ()
    final: tuple[Failure, ...] = ()
    error: str | None = None
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        """True when every turn passed and the final agent is the expected one."""
        return self.error is None and not self.final and all(t.passed for t in self.turns)


def run_spec(
    spec: Spec | str | Path,
    *,
    connection: Connection | None = None,
    pace: Pace = "fast",
    dialect: Dialect = "ga",
) -> SpecResult:
    """Run `spec` (a `Spec` or a spec file) and return its result; see `arun_spec`."""
    loaded = spec if isinstance(spec, Spec) else load_spec(spec)
    result: SpecResult = anyio.run(_arun, loaded, connection, pace, dialect)
    return result


async def _arun(
    spec: Spec, connection: Connection | None, pace: Pace, dialect: Dialect
) -> SpecResult:
    return await arun_spec(spec, connection=connection, pace=pace, dialect=dialect)


async def arun_spec(
    spec: Spec | str | Path,
    *,
    connection: Connection | None = None,
    pace: Pace = "fast",
    dialect: Dialect = "ga",
) -> SpecResult:
    """Play `spec` and check every turn.

    Args:
        spec: A loaded `Spec`, or the path of a spec file (`load_spec`).
        connection: Where to connect (default: the embedded local server).
        pace: The local server's and the caller's pace (`fast` unless watching).
        dialect: The protocol dialect.

    Raises:
        UserError: The spec or its agents are wrong, or the endpoint cannot be reached.
    """
    loaded = spec if isinstance(spec, Spec) else load_spec(spec)
    return await _SpecRun(loaded, connection or Connection("local"), pace, dialect).main()


@dataclass
class _SpecRun:
    spec: Spec
    connection: Connection
    pace: Pace
    dialect: Dialect
    turns: list[TurnResult] = field(default_factory=list)
    endpoint: str = "local server"

    async def main(self) -> SpecResult:
        started = time.perf_counter()
        error: str | None = None
        final: list[Failure] = []
        connected = False
        try:
            async with self._endpoint() as (url, api_key, headers):
                transport = WebSocketTransport(
                    url, api_key=api_key, dialect=self.dialect, headers=dict(headers)
                )
                async with AsyncExitStack() as stack:
                    target = self.spec.target
                    context = await enter_context(stack, target.context_factory)
                    session = target.runner(self.dialect).session(transport, context=context)
                    await stack.enter_async_context(session)
                    connected = True
                    error = await self._play(
                        await stack.enter_async_context(self._caller(session))
                    )
                    final = check_final_agent(self.spec.expect_final_agent, session.current_agent.name)
        except TransportError as exc:
            if not connected:
                raise UserError(f"cannot connect to {self.endpoint}: {exc}") from exc
            error = f"connection lost: {exc}"
        except UserError:
            raise
        except AgentKitError as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._not_run(error)
        return SpecResult(
            path=self.spec.path,
            name=self.spec.name,
            endpoint=self.endpoint,
            turns=tuple(self.turns),
            final=tuple(final) if error is None else (),
            error=error,
            duration_s=time.perf_counter() - started,
        )

    def _caller(self, session: RealtimeSession[Any]) -> RecordingCaller:
        remote = self.connection.remote
        return RecordingCaller(
            session,
            self.spec.target.settings,
            pace=self.pace,
            turn_timeout=self.spec.turn_timeout,
            # A real model transcribes speech: synthetic babble would be heard as noise.
            speak=pcm.espeak_available() if remote else True,
            speech_engine="espeak" if remote else "synthetic",
        )

    async def _play(self, caller: RecordingCaller) -> str | None:
        """Each turn, checked; the error that stopped the conversation, if one did."""
        script = self.spec.script
        if script is not None and script.greeting and not self.connection.remote:
            await caller.greet()
        for index, turn in enumerate(self.spec.turns):
            started = time.perf_counter()
            try:
                record = await caller.say(turn.user, turn.mode, approvals=turn.expect.approvals or ())
            except ConversationError as exc:
                self.turns.append(
                    TurnResult(index, turn.user, turn.line, record=caller.recorder.current,
                               error=str(exc), duration_s=time.perf_counter() - started)
                )
                return "the conversation stopped"
            self.turns.append(
                TurnResult(
                    index, turn.user, turn.line, tuple(check_turn(turn.expect, record)), record,
                    duration_s=time.perf_counter() - started,
                )
            )
        return None

    def _not_run(self, error: str | None) -> None:
        for index in range(len(self.turns), len(self.spec.turns)):
            turn = self.spec.turns[index]
            self.turns.append(TurnResult(index, turn.user, turn.line, error=f"not run ({error})"))

    @asynccontextmanager
    async def _endpoint(self) -> AsyncIterator[tuple[str, str | None, Mapping[str, str]]]:
        connection = self.connection
        model = self.spec.target.settings.model
        if connection.remote:
            assert connection.url is not None
            self.endpoint = redact(connection.url)
            yield connection.url, connection.api_key, connection.headers
            return
        async with LocalRealtimeServer(script=self.spec.script or Script(turns=()), pace=self.pace) as server:
            yield realtime_url(model, server.url), LOCAL_KEY, {}
