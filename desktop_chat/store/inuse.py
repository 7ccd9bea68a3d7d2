"""Whether any process has the database open: a shared lock every Store holds.

Restoring a backup replaces the database file, which must not happen under a process
that has it open (the window, `desktop-chat serve`, a command still running). Each open
Store holds a shared advisory lock (flock) on `<database>.in-use`; a restore takes it
exclusively, which fails while anyone holds it. The system drops the lock however a
process ends. Windows has no flock: there the check is skipped.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

RESTORE_WAIT = 10.0  # seconds an opening process waits for a restore under way


class InUse:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(f"{database.name}.in-use")
        self._fd: int | None = None

    def _try(self, mode: int) -> bool | None:
        """True: locked; False: someone else holds it; None: the file cannot be made."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:  # a read-only folder or a full disk
            log.info("Cannot open %s: %s", self.path, exc.strerror)
            return None
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def share(self) -> None:
        """Say this process has the database open; wait a little for a restore under way."""
        if fcntl is None:
            return
        deadline = time.monotonic() + RESTORE_WAIT
        while self._try(fcntl.LOCK_SH) is False:
            if time.monotonic() > deadline:
                log.warning("A restore still holds %s; opening anyway", self.path)
                return
            time.sleep(0.05)

    def take(self) -> bool:
        """Hold it alone; False while any other process has the database open."""
        return fcntl is None or self._try(fcntl.LOCK_EX) is not False

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
