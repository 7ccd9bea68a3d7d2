"""Which conversations are replying, across processes: a lock file per reply in flight.

The engine's own guard (one reply per conversation) lives in one process, so two
`desktop-chat ask --conversation X`, or the window and the command line, both replied in
one conversation at once. A reply now also holds an exclusive advisory lock (flock) on
`<journal>/<conversation>.lock` from before its question is written until it is stored.
The system releases the lock however the process ends, `kill -9` included, so a crash
never leaves a conversation refused.

The file is removed while still locked when the reply ends; whoever opened it just
before then finds, once it gets the lock, that it holds a file no longer in the folder,
and opens the new one. Windows has no flock: there the guard stays per process.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from desktop_chat.engine.errors import ReplyInProgressError
from desktop_chat.engine.journal import ADVISORY_LOCKS, file_stem, try_lock

log = logging.getLogger(__name__)

SUFFIX = ".lock"
_ATTEMPTS = 10  # each retry means a holder let go at that very moment


class Claim:
    """A conversation's reply lock, held until `release()`."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    def release(self) -> None:
        """Remove the file, still holding it, then let go: idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            log.exception("Cannot remove reply lock %s", self.path)
        finally:
            os.close(fd)


class ReplyClaims:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def claim(self, conversation_id: str) -> Claim | None:
        """The conversation's lock, or None while any process (this one too) holds it."""
        path = self.folder / f"{file_stem(conversation_id)}{SUFFIX}"
        if not ADVISORY_LOCKS:
            return Claim(path, None)
        for _ in range(_ATTEMPTS):
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            if not try_lock(fd):
                os.close(fd)
                return None
            try:
                current = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                return Claim(path, fd)
            os.close(fd)  # its holder removed it as we locked it: take the new one
        return None

    @asynccontextmanager
    async def hold(self, conversation_id: str, *, keep: bool = True) -> AsyncIterator[Claim]:
        """The conversation's lock for what the block does; ReplyInProgressError while a
        reply holds it. `keep`: a reply starts in the block and releases the lock once
        stored, so it is let go here only if the block fails; otherwise always."""
        claim = self.claim(conversation_id)
        if claim is None:
            raise ReplyInProgressError()
        try:
            yield claim
        except BaseException:
            claim.release()
            raise
        if not keep:
            claim.release()

    def sweep(self) -> None:
        """Remove lock files left by processes that ended without removing theirs."""
        if not ADVISORY_LOCKS:
            return
        for path in self.folder.glob(f"*{SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                fd = os.open(path, os.O_RDWR)
                if try_lock(fd) and os.fstat(fd).st_nlink:
                    Claim(path, fd).release()
                else:
                    os.close(fd)
