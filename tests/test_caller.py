"""`SettleTracker`: when the agent is done with the caller's turn, decided from events alone."""

from __future__ import annotations

from typing import Any

from agentkit.caller import SettleTracker
from agentkit.events import (
    AgentEnd,
    AgentStart,
    AssistantTranscript,
    AssistantTranscriptDelta,
    AudioInterrupted,
    GuardrailTripped,
    RawServerEvent,
    SessionStatus,
    StatusChanged,
)
from agentkit.protocol import (
    InputAudioBufferCleared,
    InputAudioBufferSpeechStarted,
    InputAudioBufferSpeechStopped,
    ResponseDone,
)


def done(response_id: str, *outputs: dict[str, Any], status: str = "completed") -> RawServerEvent:
    return RawServerEvent(ResponseDone(response_id, status, {"output": list(outputs)}))


CALL = {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"}
MESSAGE = {"type": "message", "role": "assistant"}


def test_a_typed_turn_settles_after_its_response_and_final_transcript() -> None:
    tracker = SettleTracker()
    assert tracker.settled
    tracker.expect_response()
    assert not tracker.settled  # asked, not started
    tracker.observe(AgentStart("support", "r1"))
    tracker.observe(AssistantTranscriptDelta("i1", "r1", "Hel"))
    tracker.observe(done("r1", MESSAGE))
    tracker.observe(AgentEnd("support", "r1", "completed"))
    # Output guardrails release the final transcript after the response ended.
    assert not tracker.settled
    tracker.observe(AssistantTranscript("i1", "Hello"))
    assert tracker.settled


def test_function_calls_wait_for_the_follow_up_response() -> None:
    tracker = SettleTracker()
    tracker.expect_response()
    tracker.observe(AgentStart("support", "r1"))
    tracker.observe(done("r1", CALL))
    tracker.observe(AgentEnd("support", "r1", "completed"))
    assert not tracker.settled  # the tool output goes out, then one follow-up response
    tracker.observe(AgentStart("billing", "r2"))  # e.g. after a handoff: the new agent
    tracker.observe(done("r2", MESSAGE))
    tracker.observe(AgentEnd("billing", "r2", "completed"))
    assert tracker.settled


def test_a_cancelled_response_is_not_followed_up_and_its_items_close() -> None:
    tracker = SettleTracker()
    tracker.observe(AgentStart("support", "r1"))
    tracker.observe(AssistantTranscriptDelta("i1", "r1", "Let me"))
    tracker.observe(done("r1", CALL, status="cancelled"))
    tracker.observe(AgentEnd("support", "r1", "cancelled"))
    assert tracker.settled


def test_vad_turn_waits_for_the_barrier_then_the_response() -> None:
    tracker = SettleTracker()
    tracker.expect_barrier()  # audio streamed, `clear` sent
    tracker.observe(RawServerEvent(InputAudioBufferSpeechStarted("u1", 200)))
    assert not tracker.settled
    tracker.observe(RawServerEvent(InputAudioBufferSpeechStopped("u1", 2100)))
    tracker.observe(RawServerEvent(InputAudioBufferCleared()))
    assert not tracker.settled  # VAD ended the turn: a response is coming
    tracker.observe(AgentStart("support", "r1"))
    tracker.observe(AgentEnd("support", "r1", "completed"))
    assert tracker.settled and tracker.responses_started == 1


def test_silence_settles_with_no_response() -> None:
    tracker = SettleTracker()
    tracker.expect_barrier()
    tracker.observe(RawServerEvent(InputAudioBufferCleared()))
    assert tracker.settled and tracker.responses_started == 0


def test_a_guardrail_trip_waits_for_the_safe_reply() -> None:
    tracker = SettleTracker()
    tracker.observe(AgentStart("support", "r1"))
    tracker.observe(AssistantTranscriptDelta("i1", "r1", "4111 1111"))
    tracker.observe(AudioInterrupted("i1", 0, 800))
    tracker.observe(AgentEnd("support", "r1", "completed"))
    trip = GuardrailTripped("no_card_numbers", "output", {}, "4111 1111", "i1", "r1", "No.")
    tracker.observe(trip)
    assert not tracker.settled and tracker.awaiting == 1
    tracker.observe(AgentStart("support", "r2"))
    tracker.observe(AgentEnd("support", "r2", "completed"))
    assert tracker.settled


def test_a_barge_in_drops_the_follow_up() -> None:
    tracker = SettleTracker()
    tracker.observe(AgentStart("support", "r1"))
    tracker.observe(done("r1", CALL))
    tracker.observe(AgentEnd("support", "r1", "completed"))
    tracker.observe(RawServerEvent(InputAudioBufferSpeechStarted("u2", 0)))
    tracker.observe(RawServerEvent(InputAudioBufferSpeechStopped("u2", 900)))
    assert tracker.follow_up is False and tracker.awaiting == 1


def test_disconnect_ends_the_conversation() -> None:
    tracker = SettleTracker()
    tracker.observe(StatusChanged(SessionStatus.CONNECTED, SessionStatus.DISCONNECTED))
    assert tracker.ended


def test_a_typed_line_stopped_by_an_input_guardrail_settles_on_the_safe_reply() -> None:
    # The line is never sent, so it gets no answer of its own: the safe reply is the answer.
    tracker = SettleTracker()
    tracker.expect_typed_answer()
    tracker.observe(
        GuardrailTripped("civil", "input", {}, "you useless bot", "local_1", None, "Let's keep it civil.")
    )
    assert not tracker.settled  # the safe reply is on its way
    tracker.observe(AgentStart("support", "r1"))
    tracker.observe(AssistantTranscriptDelta("i1", "r1", "Let's"))
    tracker.observe(done("r1", MESSAGE))
    tracker.observe(AgentEnd("support", "r1", "completed"))
    tracker.observe(AssistantTranscript("i1", "Let's keep it civil."))
    assert tracker.settled


def test_an_output_trip_after_a_typed_line_was_answered_still_waits_for_the_safe_reply() -> None:
    tracker = SettleTracker()
    tracker.expect_typed_answer()
    tracker.observe(AgentStart("support", "r1"))
    tracker.observe(AssistantTranscriptDelta("i1", "r1", "Your card is 4111"))
    tracker.observe(GuardrailTripped("cards", "output", {}, "Your card is 4111", "i1", "r1", "No."))
    tracker.observe(AgentEnd("support", "r1", "cancelled"))
    assert not tracker.settled  # the safe reply
    tracker.observe(AgentStart("support", "r2"))
    tracker.observe(done("r2", MESSAGE))
    tracker.observe(AgentEnd("support", "r2", "completed"))
    assert tracker.settled
