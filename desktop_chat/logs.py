"""Logging to a rotating file in the user's log folder; keys are masked on the way out.

A log file that cannot be written (a read-only home folder, a full disk) never stops the
app: it says so once on stderr, and warnings go there instead.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from desktop_chat.redaction import RedactingFilter

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def _unwritable(log_file: Path, exc: BaseException | None, then: str) -> None:
    reason = getattr(exc, "strerror", None) or str(exc)
    print(f"desktop-chat: cannot write the log file {log_file} ({reason}); {then}", file=sys.stderr)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every log file, rotated ones included, is created readable by its owner only."""

    _failed = False

    def _open(self):  # type: ignore[no-untyped-def]  # noqa: ANN202
        fd = os.open(self.baseFilename, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)

    def handleError(self, record: logging.LogRecord) -> None:
        """Once the disk refuses a line, say so once, not with a traceback per record."""
        if not self._failed:
            self._failed = True
            _unwritable(Path(self.baseFilename), sys.exc_info()[1], "later lines are left out.")


def setup_logging(log_file: Path, debug: bool = False, to_stderr: bool = False) -> None:
    handlers: list[logging.Handler] = []
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not log_file.exists():
            os.close(os.open(log_file, os.O_CREAT | os.O_WRONLY, 0o600))
        handlers.append(
            PrivateRotatingFileHandler(
                log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
            )
        )
    except OSError as exc:
        _unwritable(log_file, exc, "warnings are shown here instead.")
        stderr = logging.StreamHandler()
        stderr.setLevel(logging.DEBUG if debug else logging.WARNING)
        handlers.append(stderr)
    else:
        if to_stderr or debug:
            handlers.append(logging.StreamHandler())
    root = logging.getLogger()
    for h in handlers:
        h.setFormatter(logging.Formatter(FORMAT))
        h.addFilter(RedactingFilter())
        root.addHandler(h)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # The HTTP stack logs request lines at DEBUG; they can carry URLs but never headers.
    for noisy in ("httpx2", "httpcore2", "openai", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.INFO if debug else logging.WARNING)
    # peewee logs every SQL statement with its values at DEBUG: conversation text stays out.
    logging.getLogger("peewee").setLevel(logging.WARNING)
