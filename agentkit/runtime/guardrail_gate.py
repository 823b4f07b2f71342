"""The guardrail gate: what waits for input and output checks, and what a trip does.

Owns the checks in flight, the typed messages held until they pass, the spoken turns whose
response is held back (`_gate`, `_gated_responses`, `_held`), the responses a trip blocked,
the output-check progress per assistant item, and the items we deleted ourselves.

* Typed input is checked before it is sent, and released in the order it was typed.
* An audio turn's response is held back (audio, text and calls) until the turn's transcript
  passed the input checks, or until `input_check_timeout_s` (kept by `runtime.watchdog`).
* The assistant's transcript is checked every `output_debounce_chars` and once more before
  it is reported final.
* A trip cancels, clears, truncates, marks the item, and asks for the safe reply.

The checks themselves run in the runtime (`RunGuardrails` → `guardrails_finished`).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .. import protocol as p
from ..agent import RealtimeAgent
from ..errors import AgentKitError
from ..events import (
    AssistantTranscript,
    ErrorEvent,
    GuardrailTripped,
    HistoryUpdated,
    SessionEvent,
    UserTranscript,
)
from ..guardrails import Guardrail
from ..history import History
from ..protocol.sealed import sealed_constructor
from ..protocol.wire_types import Dialect, ItemId, ResponseId
from ..settings import SessionSettings
from .commands import Command, RunGuardrails
from .live import refused_outputs
from .policy import GuardrailVerdict, SessionPolicy

__all__ = ["GuardrailGate", "OutputTrack"]

_new_HistoryUpdated = sealed_constructor(HistoryUpdated)


@dataclass(slots=True)
class _Check:
    """A guardrail run in flight: what it is about."""

    stage: Literal["input", "output"]
    item_id: ItemId
    text: str
    response_id: ResponseId | None = None
    typed: bool = False  # a typed message, held until it passes
    final: bool = False  # the final transcript, held until it passes


@dataclass(slots=True)
class OutputTrack:
    """Output-guardrail progress on one assistant item."""

    response_id: ResponseId
    chars: int = 0
    checked: int = 0
    final_text: str | None = None
    tripped: bool = False


@dataclass(slots=True)
class _Typed:
    """A typed message waiting for its input checks, released in the order it was sent."""

    item_id: ItemId
    text: str
    passed: bool = False


class GuardrailGate:
    """Supervisor part: input and output gating and trips (see the module docs)."""

    # From the other parts (see `runtime.core`):
    agent: RealtimeAgent[Any]
    settings: SessionSettings
    history: History
    policy: SessionPolicy
    output_audio_buffer: bool
    dialect: Dialect
    _now: float
    _commands: list[Command]
    _active_response: ResponseId | None
    _interrupted_responses: set[ResponseId]
    _emit: Callable[[SessionEvent], None]
    _send: Callable[[str], None]
    _send_user_text: Callable[[ItemId, str], None]
    _cancel: Callable[[ResponseId], None]
    _cut_off: Callable[[ResponseId], None]
    _stop_item: Callable[[ItemId, float], bool]
    _activity: Callable[[float], None]
    _request_response: Callable[..., None]
    receive_event: Callable[[p.ServerEvent, float], None]

    def _init_gate(self) -> None:
        self._check_ids = 0
        self._checks: dict[int, _Check] = {}
        self._typed: deque[_Typed] = deque()
        self._gate: dict[ItemId, float] = {}  # user audio items awaiting input checks → deadline
        self._gated_responses: set[ResponseId] = set()
        self._blocked_responses: set[ResponseId] = set()
        self._held: list[p.ServerEvent] = []
        self._out: dict[ItemId, OutputTrack] = {}
        self._deleted_by_us: set[ItemId] = set()

    def guardrails_finished(self, check_id: int, verdict: GuardrailVerdict, now: float) -> None:
        """A `RunGuardrails` finished: release what waited for it, or act on the trip."""
        self._now = now
        check = self._checks.pop(check_id, None)
        if check is None:
            return
        for name, message in verdict.errors:
            self._emit(
                ErrorEvent(
                    AgentKitError(f"guardrail {name!r} failed: {message}"), "guardrail_error"
                )
            )
        tripped = verdict.tripped
        if check.stage == "input":
            if tripped is not None:
                self._input_tripped(check, tripped, verdict, now)
            elif check.typed:
                for typed in self._typed:
                    if typed.item_id == check.item_id:
                        typed.passed = True
                self._release_typed()
            else:
                self._release_gate(check.item_id, now)
            return
        track = self._out.get(check.item_id)
        if track is None or track.tripped:
            return
        if tripped is not None:
            self._output_tripped(check, track, tripped, verdict, now)
        elif check.final and track.final_text is not None:
            self._emit_final(check.item_id, track.final_text)
            del self._out[check.item_id]

    # -- input ------------------------------------------------------------------------------

    def _hold_typed(self, item_id: ItemId, text: str) -> bool:
        """Hold a typed message for the input checks; False when the agent has none."""
        guardrails = tuple(self.agent.input_guardrails)
        if not guardrails:
            return False
        self._typed.append(_Typed(item_id, text))
        self._start_check(_Check("input", item_id, text, typed=True), guardrails)
        return True

    def _start_check(self, check: _Check, guardrails: tuple[Guardrail, ...]) -> None:
        self._check_ids += 1
        self._checks[self._check_ids] = check
        self._commands.append(
            RunGuardrails(self._check_ids, check.stage, guardrails, check.text, self.agent)
        )

    def _release_typed(self) -> None:
        # In order: a message that passed waits for the ones typed before it.
        while self._typed and self._typed[0].passed:
            typed = self._typed.popleft()
            self._send_user_text(typed.item_id, typed.text)

    def _drop_held(self) -> None:
        """The connection dropped: held responses died with it."""
        self._gate.clear()
        self._gated_responses.clear()
        self._held.clear()

    def _release_gate(self, item_id: ItemId, now: float) -> None:
        if self._gate.pop(item_id, None) is None or self._gate:
            return
        held, self._held = self._held, []
        self._gated_responses.clear()
        for event in held:
            self.receive_event(event, now)

    @property
    def _transcribed(self) -> bool:
        # Without input transcription no transcript ever comes: holding a response for one
        # would silence the agent, so audio turns are only gated when it is on (always on Live).
        return (
            self.dialect == "live"
            or self.settings.merged(self.agent.settings).input_transcription is not None
        )

    def _on_committed(self, event: p.InputAudioBufferCommitted, now: float) -> None:
        self._activity(now)
        if self.agent.input_guardrails and self._transcribed:
            self._gate[event.item_id] = now + self.policy.guardrails.input_check_timeout_s

    def _on_user_transcript(self, event: p.InputAudioTranscriptionCompleted, now: float) -> None:
        self._activity(now)
        item = self.history.set_text(event.item_id, event.transcript)
        self._emit(UserTranscript(event.item_id, event.transcript))
        if item is not None:
            self._emit(_new_HistoryUpdated(item))
        if event.item_id in self._gate:
            self._start_check(
                _Check("input", event.item_id, event.transcript),
                tuple(self.agent.input_guardrails),
            )

    def _on_user_transcript_failed(
        self, event: p.InputAudioTranscriptionFailed, now: float
    ) -> None:
        if event.item_id in self._gate:
            # Nothing to check: let the response through rather than hold it forever.
            self._release_gate(event.item_id, now)

    def _input_tripped(
        self, check: _Check, guardrail: Guardrail, verdict: GuardrailVerdict, now: float
    ) -> None:
        item = self.history.mark_guardrail(check.item_id, guardrail.name)
        if item is not None:
            self._emit(_new_HistoryUpdated(item))
        cancelled: ResponseId | None = None
        if check.typed:
            # Never sent: the model does not see it. Later typed messages still go in order.
            self._typed = deque(t for t in self._typed if t.item_id != check.item_id)
            self._release_typed()
        else:
            # The turn is in the service's conversation: take it out so the model never acts
            # on it, and drop everything its response produced (held, never shown).
            self._gate.pop(check.item_id, None)
            blocked = set(self._gated_responses)
            self._blocked_responses |= blocked
            for rid in blocked:
                self._cut_off(rid)
                finished = any(
                    isinstance(e, p.ResponseDone) and e.response_id == rid for e in self._held
                )
                if rid == self._active_response and not finished:
                    cancelled = rid
                    self._cancel(rid)
            self._deleted_by_us.add(check.item_id)
            self._send(p.encode_item_delete(check.item_id))
            held, self._held = self._held, []
            self._gated_responses.clear()
            if self.dialect == "live":
                self._refuse_held_calls(held)
            # Only the ends of the blocked responses matter now (bookkeeping, no output).
            for event in held:
                if isinstance(event, p.ResponseDone):
                    self.receive_event(event, now)
        self._tripped(check, guardrail, verdict, "input", cancelled)

    def _refuse_held_calls(self, held: list[p.ServerEvent]) -> None:
        # Live cannot cancel a delegated response: it waits for its calls' outputs. Each
        # blocked call gets a refusal, and the backend is asked to go on (`runtime.live`).
        outputs = refused_outputs(held)
        for item in outputs:
            self._send(p.encode_item_create(item))
        if outputs:
            self._send(p.encode_response_create(None))

    # -- output -----------------------------------------------------------------------------

    def _track_output(self, item_id: ItemId, response_id: ResponseId, added: int) -> None:
        guardrails = self.agent.output_guardrails
        if not guardrails:
            return
        track = self._out.get(item_id)
        if track is None:
            track = self._out[item_id] = OutputTrack(response_id)
        track.chars += added
        if self.policy.output_check_due(track.chars, track.checked):
            track.checked = track.chars
            current = self.history.get(item_id)
            if current is not None:
                self._start_check(
                    _Check("output", item_id, current.text, response_id), tuple(guardrails)
                )

    def _on_transcript_done(self, event: p.ResponseOutputAudioTranscriptDone, now: float) -> None:
        self._on_assistant_text_done(event.item_id, event.response_id, event.transcript)

    def _on_text_done(self, event: p.ResponseOutputTextDone, now: float) -> None:
        self._on_assistant_text_done(event.item_id, event.response_id, event.text)

    def _on_assistant_text_done(
        self, item_id: ItemId, response_id: ResponseId, text: str
    ) -> None:
        if response_id in self._interrupted_responses:
            return  # the service truncates what was not heard; the delta text stands
        track = self._out.get(item_id)
        if track is not None and track.tripped:
            return
        guardrails = self.agent.output_guardrails
        if guardrails:
            # Final only once the whole text passed: a tripped answer is never reported final.
            self.history.set_text(item_id, text)
            if track is None:
                track = self._out[item_id] = OutputTrack(response_id)
            track.final_text = text
            self._start_check(
                _Check("output", item_id, text, response_id, final=True), tuple(guardrails)
            )
            return
        self._emit_final(item_id, text)

    def _emit_final(self, item_id: ItemId, text: str) -> None:
        item = self.history.set_text(item_id, text)
        self._emit(AssistantTranscript(item_id, text))
        if item is not None:
            self._emit(_new_HistoryUpdated(item))

    def _output_tripped(
        self,
        check: _Check,
        track: OutputTrack,
        guardrail: Guardrail,
        verdict: GuardrailVerdict,
        now: float,
    ) -> None:
        track.tripped = True
        track.final_text = None
        rid = track.response_id
        self._cut_off(rid)
        cancelled = None
        if rid == self._active_response:
            cancelled = rid
            self._cancel(rid)
        if self.output_audio_buffer:
            # WebRTC/SIP: the service is still playing buffered audio; after the cancel.
            self._send(p.encode_output_audio_clear())
        if not self._stop_item(check.item_id, now) and self.history.get(check.item_id) is not None:
            # Text output (nothing played): take the whole item out of the model's context.
            self._deleted_by_us.add(check.item_id)
            self._send(p.encode_item_delete(check.item_id))
        item = self.history.mark_guardrail(check.item_id, guardrail.name)
        if item is not None:
            self._emit(_new_HistoryUpdated(item))
        self._tripped(check, guardrail, verdict, "output", cancelled)

    def _tripped(
        self,
        check: _Check,
        guardrail: Guardrail,
        verdict: GuardrailVerdict,
        stage: Literal["input", "output"],
        cancelled: ResponseId | None,
    ) -> None:
        """Report a trip and ask for what the agent says instead."""
        reply, instructions = self.policy.reply_after_trip(guardrail, stage)
        self._emit(
            GuardrailTripped(
                guardrail.name,
                stage,
                verdict.details,
                check.text,
                check.item_id,
                cancelled,
                reply,
            )
        )
        self._request_response({"instructions": instructions})

    def _on_item_deleted(self, event: p.ConversationItemDeleted, now: float) -> None:
        if event.item_id in self._deleted_by_us:
            # We took it out of the model's context (a guardrail trip); the history keeps
            # it, marked.
            self._deleted_by_us.discard(event.item_id)
        else:
            deleted = self.history.delete(event.item_id)
            if deleted is not None:
                self._emit(_new_HistoryUpdated(dataclasses.replace(deleted, status="deleted")))
