"""A caller that keeps a record: `RecordingCaller` plays caller turns in a connected session
(through `agentkit.caller.Caller`, so each turn waits for the agent to settle), files what
happened in each turn into a `TurnRecord`, and answers the approval requests the turn's
`Approval`s name (any other request is rejected, and reported by the checks).

Both `agentkit test` (`agentkit.testing.run`) and the pytest plugin's `caller` fixture play
conversations through it, so a spec and a pytest test see the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Literal

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..caller import Caller, Pace
from ..events import ToolApprovalRequired
from ..session import RealtimeSession
from ..settings import SessionSettings
from .expect import Expect
from .record import TurnRecord, TurnRecorder
from .spec import Approval

__all__ = ["REJECTED_BY_TEST", "RecordingCaller"]

REJECTED_BY_TEST = "Not approved: the test does not expect this call."
"""What the model is told about a call whose approval no expectation answers."""


class RecordingCaller:
    """Plays caller turns and records each; use it as an async context manager inside the
    session's own `async with`.

    Args:
        session: A connected session built with `raw_events=True` (`Target.runner` does).
        settings: The session settings (each turn reads the current agent's turn detection).
        pace: `fast` (tests) or `realtime`.
        turn_timeout: Seconds a turn may take to settle.
        speak: False types `audio` turns (a real model cannot hear synthetic speech).
        speech_engine: For `audio` turns (`synthetic` is deterministic).
    """

    def __init__(
        self,
        session: RealtimeSession[Any],
        settings: SessionSettings,
        *,
        pace: Pace = "fast",
        turn_timeout: float = 30.0,
        speak: bool = True,
        speech_engine: Literal["auto", "synthetic", "espeak"] = "synthetic",
    ) -> None:
        self.session = session
        effective = settings.merged(session.current_agent.settings)
        self.recorder = TurnRecorder(audio_output=effective.audio_output)
        self.caller = Caller(
            session,
            settings,
            pace=pace,
            observers=[self.recorder],
            turn_timeout=turn_timeout,
            speak=speak,
            speech_engine=speech_engine,
        )
        self.approvals: Sequence[Approval] = ()
        self._task_group: anyio.abc.TaskGroup | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._send: MemoryObjectSendStream[ToolApprovalRequired] | None = None

    @property
    def records(self) -> list[TurnRecord]:
        """Every finished turn's record, in order."""
        return self.recorder.records

    @property
    def last(self) -> TurnRecord:
        """The last finished turn's record."""
        if not self.recorder.records:
            raise AssertionError("no caller turn was played yet")
        return self.recorder.records[-1]

    @property
    def expect(self) -> Expect:
        """Assertions on the last turn: `caller.expect.tool_call("lookup_order", order_id="42")`."""
        return Expect(self.last)

    async def __aenter__(self) -> RecordingCaller:
        send, receive = anyio.create_memory_object_stream[ToolApprovalRequired](100)
        self._send = send
        self._unsubscribe = self.session.on("tool_approval_required", send.send_nowait)
        await self.caller.__aenter__()
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._answer_approvals, receive)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._send is not None:
            self._send.close()
        task_group, self._task_group = self._task_group, None
        if task_group is not None:
            task_group.cancel_scope.cancel()
            await task_group.__aexit__(None, None, None)
        await self.caller.__aexit__(exc_type, exc, tb)

    async def say(
        self,
        text: str,
        mode: Literal["text", "audio"] = "text",
        *,
        approvals: Sequence[Approval] = (),
    ) -> TurnRecord:
        """One caller turn, typed or spoken, answered approvals included; returns its record.

        Raises:
            ConversationError: The turn did not settle in time, or the session ended.
        """
        self.approvals = approvals
        self.recorder.begin(text)
        await self.caller.say(text, mode)
        return self.recorder.end(self.session.current_agent.name)

    async def greet(self) -> TurnRecord:
        """Let the agent speak first; returns the greeting's record."""
        self.recorder.begin("")
        await self.caller.greet()
        return self.recorder.end(self.session.current_agent.name)

    async def _answer_approvals(self, requests: MemoryObjectReceiveStream[ToolApprovalRequired]) -> None:
        async with requests:
            async for request in requests:
                approval = next((a for a in self.approvals if a.tool == request.tool_name), None)
                if approval is not None and approval.decide == "approve":
                    await self.session.approve(request.call_id)
                else:
                    message = approval.message if approval is not None else REJECTED_BY_TEST
                    await self.session.reject(request.call_id, message)
