"""`agentkit.server.errors`: the `error` object every refusal of the server carries, and the
one-line descriptions in its logs."""

from __future__ import annotations

from agentkit.server.errors import ClientError, describe, error_body


def test_the_error_body_has_the_services_fields_in_its_order() -> None:
    body = error_body("Unknown parameter: 'x'.", "unknown_parameter", param="x", event_id="evt_1")
    assert list(body.items()) == [
        ("type", "invalid_request_error"),
        ("code", "unknown_parameter"),
        ("message", "Unknown parameter: 'x'."),
        ("param", "x"),
        ("event_id", "evt_1"),
    ]
    # Only a string event id is echoed back, as the service does.
    assert error_body("m", None, event_id=5)["event_id"] is None
    assert error_body("m", "c", kind="server_error")["type"] == "server_error"


def test_a_client_error_keeps_message_code_and_param() -> None:
    error = ClientError("Cancellation failed: no active response found.", "response_cancel_not_active")
    assert (str(error), error.code, error.param) == (error.message, "response_cancel_not_active", None)


def test_describe_is_one_line_with_the_cause() -> None:
    try:
        try:
            raise OSError("broken\npipe")
        except OSError as exc:
            raise RuntimeError("write   failed") from exc
    except RuntimeError as error:
        assert describe(error) == "RuntimeError: write failed (caused by OSError: broken pipe)"
    assert describe(ValueError("x")) == "ValueError: x"
