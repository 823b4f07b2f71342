"""The typed server events themselves: what they carry beyond their fields."""

from __future__ import annotations

import orjson

from agentkit import protocol as p
from agentkit.errors import ProviderError


def test_server_error_to_exception_keeps_wire_fields() -> None:
    event = p.decode_server_event(
        orjson.dumps(
            {
                "type": "error",
                "event_id": "event_1",
                "error": {
                    "type": "invalid_request_error",
                    "code": "session_expired",
                    "message": "60 min",
                },
            }
        )
    )
    assert isinstance(event, p.ServerError)
    exc = event.to_exception()
    assert isinstance(exc, ProviderError)
    assert exc.code == "session_expired"
