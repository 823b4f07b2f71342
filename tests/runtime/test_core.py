"""`agentkit.runtime.core`: the supervisor's shared outputs (each drained once), nothing sent
while offline, status changes reported once, and the client's item ids."""

from __future__ import annotations

import orjson
from support import frames, new_supervisor
from triage import make, triage

from agentkit.events import SessionStatus, StatusChanged
from agentkit.runtime.core import TEXT_ONLY, to_json


def test_each_output_is_drained_by_reading_it() -> None:
    sup = make()
    sup.send_raw({"type": "response.create"})
    assert sup.has_data_to_send() and sup.has_data_to_send()  # looking does not drain
    assert [orjson.loads(f)["type"] for f in sup.data_to_send()] == ["response.create"]
    assert not sup.has_data_to_send() and sup.data_to_send() == []
    sup.disconnected()
    assert sup.events_to_emit() == [StatusChanged(SessionStatus.CONNECTED, SessionStatus.DISCONNECTED)]
    assert sup.events_to_emit() == [] and sup.commands() == []


def test_nothing_is_sent_while_the_connection_is_down() -> None:
    sup = new_supervisor(triage)
    sup.send_raw({"type": "response.create"})
    assert not sup.has_data_to_send()
    sup.connecting()
    sup.connected()
    assert [f["type"] for f in frames(sup)] == ["session.update"]  # not the earlier event
    sup.disconnected(reconnecting=True)
    sup.send_raw({"type": "response.create"})
    assert frames(sup) == []


def test_a_status_change_is_reported_once() -> None:
    sup = new_supervisor(triage)
    sup.connecting()
    sup.connecting()
    sup.connected()
    sup.disconnected(reconnecting=True)
    assert sup.events_to_emit() == [
        StatusChanged(SessionStatus.DISCONNECTED, SessionStatus.CONNECTING),
        StatusChanged(SessionStatus.CONNECTING, SessionStatus.CONNECTED),
        StatusChanged(SessionStatus.CONNECTED, SessionStatus.RECONNECTING),
    ]
    assert sup.status is SessionStatus.RECONNECTING


def test_typed_messages_get_short_increasing_client_ids() -> None:
    sup = make()
    for text in ("one", "two"):
        sup.send_text(text)
    ids = [f["item"]["id"] for f in frames(sup) if f["type"] == "conversation.item.create"]
    assert ids == ["ak_item_1", "ak_item_2"]
    assert all(len(i) <= 32 for i in ids)  # the service's limit on client ids


def test_helpers() -> None:
    assert to_json({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert TEXT_ONLY.output_modalities == ("text",) and TEXT_ONLY.model_fields_set == {"output_modalities"}
