"""Keys never reach a log record, at any level: the redacting filter and where it is installed."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from agentkit import WebSocketTransport
from agentkit.logs import REDACTED, configure_logging, get_logger, redact
from agentkit.server import LocalRealtimeServer

API_KEY = "sk-proj-Abc123def456ghi789jkl"
AZURE_KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"> Authorization: Bearer {API_KEY}", API_KEY),
        (f"< authorization: bearer {API_KEY}", API_KEY),
        (f"> api-key: {AZURE_KEY}", AZURE_KEY),
        (f"{{'Authorization': 'Bearer {API_KEY}', 'x': 1}}", API_KEY),
        (f'{{"client_secret": {{"value": "ek_{AZURE_KEY}"}}}}', AZURE_KEY),
        (f"< Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.{AZURE_KEY}", AZURE_KEY),
        (f"connecting with api_key={AZURE_KEY}", AZURE_KEY),
        (f"unexpected key {API_KEY} in text", API_KEY),
        (f'{{"value": "ek_{AZURE_KEY}", "expires_at": 1}}', AZURE_KEY),
    ],
)
def test_redact_removes_the_secret_and_keeps_the_context(text: str, secret: str) -> None:
    clean = redact(text)
    assert secret not in clean
    assert REDACTED in clean


def test_redact_leaves_ordinary_text_alone() -> None:
    text = '> GET /v1/realtime?model=gpt-realtime HTTP/1.1 {"max_output_tokens": 200, "skip": 1}'
    assert redact(text) == text


def test_a_filtered_logger_redacts_message_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = get_logger("agentkit.test.redaction")
    with caplog.at_level(logging.DEBUG):
        logger.debug("> %s: %s", "Authorization", f"Bearer {API_KEY}")
        try:
            raise RuntimeError(f"refused key {API_KEY}")
        except RuntimeError:
            logger.exception("connect failed")
    assert len(caplog.records) == 2
    text = caplog.text
    assert API_KEY not in text
    assert "Authorization: Bearer [redacted]" in text
    assert "RuntimeError: refused key [redacted]" in text


@pytest.fixture
def everything_at_debug() -> Iterator[list[logging.LogRecord]]:
    """Every record of every logger, at DEBUG, as a user's `basicConfig(level=DEBUG)` gets."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)  # what a real handler would write, traceback included
            records.append(record)

    root = logging.getLogger()
    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter())
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


def _written(records: list[logging.LogRecord]) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in records
    )


async def test_no_key_in_any_record_of_a_client_and_the_local_server_at_debug(
    everything_at_debug: list[logging.LogRecord],
) -> None:
    async with LocalRealtimeServer(api_keys=[API_KEY]) as server:
        ephemeral = server.mint_client_secret(seconds=60)
        for key in (API_KEY, ephemeral):
            transport = WebSocketTransport(server.url, api_key=key)
            await transport.connect()
            first = await transport.receive()
            assert b"session.created" in (first if isinstance(first, bytes) else first.encode())
            await transport.close()
        refused = WebSocketTransport(server.url, api_key="sk-wrong-0123456789abcdef")
        with pytest.raises(Exception, match="401"):
            await refused.connect()
    written = _written(everything_at_debug)
    # The handshakes were logged (the test sees DEBUG records), with their keys redacted.
    assert "Authorization: Bearer [redacted]" in written
    for secret in (API_KEY, ephemeral, "sk-wrong-0123456789abcdef"):
        assert secret not in written


def test_configure_logging_turns_agentkit_up_with_redaction(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = logging.getLogger("agentkit")
    handlers, level = list(logger.handlers), logger.level
    try:
        configure_logging("debug")
        # A logger made without `get_logger` is still covered by the CLI's handler.
        logging.getLogger("agentkit.elsewhere").debug("Authorization: Bearer %s", API_KEY)
        err = capsys.readouterr().err
        assert "agentkit.elsewhere" in err and API_KEY not in err and REDACTED in err
        with pytest.raises(ValueError, match="debug, info, warning, error"):
            configure_logging("loud")
    finally:
        logger.handlers[:], logger.level = handlers, level
