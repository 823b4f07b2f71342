"""Beta ↔ GA as a whole: the event name tables, whole server and client events."""

from __future__ import annotations

from openai_conformance import server_event_types, validate_server_event

from agentkit.protocol.dialects import (
    GA_ONLY_SERVER_EVENTS,
    SERVER_EVENT_BETA_TO_GA,
    SERVER_EVENT_GA_TO_BETA,
    client_event_beta_to_ga,
    response_ga_to_beta,
    server_event_beta_to_ga,
    server_event_ga_to_beta,
)


def test_event_name_tables_are_inverse_and_match_the_sdk() -> None:
    assert {v: k for k, v in SERVER_EVENT_GA_TO_BETA.items()} == dict(SERVER_EVENT_BETA_TO_GA)
    ga, beta = server_event_types("ga"), server_event_types("beta")
    for ga_name, beta_name in SERVER_EVENT_GA_TO_BETA.items():
        assert ga_name in ga and beta_name in beta
    assert "response.output_audio.delta" not in beta
    assert all(name in ga and name not in beta for name in GA_ONLY_SERVER_EVENTS)


def test_server_events_render_for_beta_and_validate() -> None:
    response = {
        "id": "resp_1",
        "object": "realtime.response",
        "status": "completed",
        "output_modalities": ["audio"],
        "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "ash"}},
        "output": [{"id": "item_1", "type": "message", "role": "assistant", "object": "realtime.item", "status": "completed", "content": [{"type": "output_audio", "transcript": "hi"}]}],
    }
    done = {"type": "response.done", "event_id": "e1", "response": response}
    validate_server_event(done, "ga")
    beta = server_event_ga_to_beta(done)
    assert beta is not None
    validate_server_event(beta, "beta")
    assert beta["response"]["modalities"] == ["text", "audio"]
    assert beta["response"]["output"][0]["content"][0]["type"] == "audio"
    back = server_event_beta_to_ga(beta)
    assert back == done
    delta = {"type": "response.output_audio.delta", "event_id": "e", "response_id": "r", "item_id": "i", "output_index": 0, "content_index": 0, "delta": "AA=="}
    assert server_event_ga_to_beta(delta) == {**delta, "type": "response.audio.delta"}
    assert server_event_ga_to_beta({"type": "conversation.item.done", "item": {}}) is None
    added = {"type": "conversation.item.added", "event_id": "e", "item": {"id": "i", "type": "message", "role": "user", "content": []}}
    assert server_event_ga_to_beta(added)["type"] == "conversation.item.created"  # type: ignore[index]
    assert response_ga_to_beta({"status": "in_progress"}) == {"status": "in_progress"}


def test_client_event_beta_to_ga() -> None:
    event = {"type": "session.update", "event_id": "c1", "session": {"voice": "ash"}}
    assert client_event_beta_to_ga(event) == {"type": "session.update", "event_id": "c1", "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}}}
