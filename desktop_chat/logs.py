"""Logging to a rotating file in the user's log folder; keys are masked on the way out."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from desktop_chat.redaction import RedactingFilter

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every log file, rotated ones included, is created readable by its owner only."""

    def _open(self):  # type: ignore[no-untyped-def]  # noqa: ANN202
        fd = os.open(self.baseFilename, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)


def setup_logging(log_file: Path, debug: bool = False, to_stderr: bool = False) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not log_file.exists():
        os.close(os.open(log_file, os.O_CREAT | os.O_WRONLY, 0o600))
    handler: logging.Handler = PrivateRotatingFileHandler(
        log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handlers = [handler]
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
