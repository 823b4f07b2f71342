"""Logging: agentkit's loggers, credentials redacted from every record they write.

With DEBUG logging on, `websockets` writes every handshake header (`> Authorization: Bearer
sk-...` on a client, `< api-key: ...` on a server). agentkit hands `websockets` its own
loggers (made by `get_logger`), and each carries a `RedactingFilter`, so a key never reaches a
handler, whatever level or handler the app configured:

```python
import logging
logging.basicConfig(level=logging.DEBUG)  # safe: keys are redacted at the source
```

What is redacted (the value, not the name, so a log still says which header was sent):

- the values of `Authorization`, `Proxy-Authorization`, `api-key` and `x-api-key` headers, and
  of `api_key`, `client_secret` and `access_token` fields (`key: value`, `key=value`, JSON);
- the key carried in the browser's `openai-insecure-api-key.<key>` WebSocket subprotocol;
- anything shaped like an OpenAI key: `sk-...` (API keys, project keys), `ek_...` (ephemeral
  client secrets), `rk-...`/`sess-...`.

A filter on a logger sees only the records made on that logger, not its children's, so every
agentkit module takes its logger from `get_logger`. The filter formats a record only when the
record is emitted: a disabled level costs nothing.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Final

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "configure_logging",
    "console_logging",
    "get_logger",
    "redact",
]

REDACTED: Final = "[redacted]"

_VALUE = r"[^\s,;'\"}\]]+"
_PATTERNS: Final = (
    # Headers, as `websockets` logs them (`> Authorization: Bearer x`) or as in a dict repr.
    re.compile(
        r"(?i)\b((?:proxy-)?authorization|x-api-key|api-key)(['\"]?\s*[:=]\s*['\"]?)"
        rf"(?:(bearer|basic)\s+)?{_VALUE}"
    ),
    # Fields that hold a secret, in JSON, a repr or a query string.
    re.compile(
        rf"(?i)\b(api[_-]?key|client[_-]?secret|access[_-]?token)(['\"]?\s*[:=]\s*['\"]?){_VALUE}"
    ),
    re.compile(rf"(?i)(openai-insecure-api-key\.){_VALUE}"),
    # OpenAI-shaped keys wherever they stand.
    re.compile(r"\b(?:sk|rk|ek|sess)[-_][A-Za-z0-9_\-]{6,}"),
)


def _header(match: re.Match[str]) -> str:
    scheme = f"{match.group(3)} " if match.group(3) else ""
    return f"{match.group(1)}{match.group(2)}{scheme}{REDACTED}"


def _field(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def _prefix(match: re.Match[str]) -> str:
    return f"{match.group(1)}{REDACTED}"


_REPLACEMENTS: Final = (_header, _field, _prefix, lambda _match: REDACTED)


def redact(text: str) -> str:
    """`text` with every credential it holds replaced by `[redacted]`."""
    for pattern, replacement in zip(_PATTERNS, _REPLACEMENTS, strict=True):
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and its formatted traceback) with credentials redacted.

    The record is kept (the filter never drops one); its `msg` becomes the redacted, formatted
    message and `args` empty, so every handler downstream sees only the redacted text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER: Final = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """The logger `name`, with the redacting filter installed (once)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


LEVELS: Final = ("debug", "info", "warning", "error")


def configure_logging(level: str) -> None:
    """Send log records at `level` and above to stderr, one line each (the CLI's `--log-level`).

    Only agentkit's loggers (and the `websockets` loggers agentkit hands its connections) are
    turned up; other libraries keep their own level.
    """
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_FILTER)  # also covers records of loggers made before this call
    root = get_logger("agentkit")
    root.setLevel(level.upper())
    root.addHandler(handler)


class _OneLine(logging.Formatter):
    """`warning: message`, and the traceback only when asked for."""

    def __init__(self, tracebacks: bool) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname.lower()}: {record.getMessage()}"
        if self.tracebacks and (record.exc_text or record.exc_info):
            text = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
            line = f"{line}\n{redact(text)}"
        return line


def console_logging(*, verbose: bool = False, skip: tuple[str, ...] = ()) -> logging.Handler:
    """The CLI's default when no `--log-level` is given: agentkit's warnings and errors on
    stderr, one line each (`warning: ...`); tracebacks only with `verbose`.

    Args:
        verbose: Add each record's traceback (`--verbose`).
        skip: Loggers whose records the caller shows its own way (the console renders a
            failed tool as one line, so `agentkit.tools` is skipped unless `verbose`).

    Returns the handler, installed on the `agentkit` logger, for the caller to remove.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_OneLine(tracebacks=verbose))
    handler.addFilter(_FILTER)
    if skip and not verbose:
        handler.addFilter(lambda record: not record.name.startswith(skip))
    get_logger("agentkit").addHandler(handler)
    return handler
