"""Masking of API keys in any text that leaves the process (logs, errors, events).

It sits below every other module so that the streaming client, the engine and the
logging setup can all mask keys without depending on where keys are stored.
"""

from __future__ import annotations

import logging
import re
import threading


class _Redactor:
    """Remembers every key this process has seen so that logs and errors can mask them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if len(secret) < 6:
            return
        with self._lock:
            self._secrets.add(secret)
            self._pattern = re.compile(
                "|".join(re.escape(s) for s in sorted(self._secrets, key=len, reverse=True))
            )

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub("***", text) if pattern is not None else text


redact = _Redactor()


class RedactingFilter(logging.Filter):
    """A logging filter that masks known keys in every record, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True
