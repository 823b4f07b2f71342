"""Client mistakes and the `error` event that answers them.

A client event the service would reject raises `ClientError` deep in the session; the
session catches it at the door (`ServerSession.handle_event`) and answers with an `error`
event built by `error_body`. The HTTP endpoints and the fault interpreter build their error
bodies with the same function, so the field order on the wire is the same everywhere.
"""

from __future__ import annotations

from typing import Any

from ..protocol.client_schema import MAX_EVENT_ID_LENGTH

__all__ = ["ClientError", "describe", "error_body"]


class ClientError(Exception):
    """A client event the service would answer with an `error` event."""

    def __init__(self, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param


def error_body(
    message: str,
    code: str | None,
    *,
    param: str | None = None,
    event_id: Any = None,
    kind: str = "invalid_request_error",
) -> dict[str, Any]:
    """The `error` object of an `error` event (`event_id`: the client event it answers, kept
    only when it is a string, as the service does, and no longer than an event id may be:
    a megabyte of id is refused, not sent back)."""
    return {
        "type": kind,
        "code": code,
        "message": message,
        "param": param,
        "event_id": event_id if isinstance(event_id, str) and len(event_id) <= MAX_EVENT_ID_LENGTH else None,
    }


def describe(exc: BaseException) -> str:
    """`exc` and what caused it, on one line (the server logs no tracebacks: a client's bad
    input is not the server's failure, and a log line per request is what operators read)."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        text += f" (caused by {type(cause).__name__}: {cause})"
    return " ".join(text.split())
