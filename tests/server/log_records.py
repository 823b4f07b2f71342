"""A logging handler that keeps every record, for tests that assert what the logs hold."""

from __future__ import annotations

import logging


class Records(logging.Handler):
    """Every record at DEBUG and above, in `records`."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
