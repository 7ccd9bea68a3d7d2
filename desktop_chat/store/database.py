"""The async face of the store: every query runs on one worker thread, off the event loop.

One thread keeps SQLite simple (one connection, no cross-thread sharing) and keeps the
Qt event loop free to repaint while the disk works.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from peewee import SqliteDatabase

from desktop_chat.store import migrations
from desktop_chat.store.errors import (
    CLOSED,
    StoreError,
    classify,
    from_os_error,
    read_only_folder,
)
from desktop_chat.store.models import database_proxy
from desktop_chat.store.repository import Repository

log = logging.getLogger(__name__)
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": BUSY_TIMEOUT_MS,
    "cache_size": -16000,
}


def _create_private(path: Path) -> None:
    """Create the file owner-only before SQLite opens it (its -wal/-shm files follow suit)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def open_repository(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Repository:
    """Open (and migrate) the database synchronously; used by the worker and by tools.

    `busy_timeout_ms` is how long to wait for another program's lock before giving up.
    """
    try:
        _create_private(path)
    except OSError as exc:
        raise from_os_error(exc, path) from exc
    if not os.access(path.parent, os.W_OK):
        # SQLite would open the file and fail later, creating its -wal file next to it.
        raise read_only_folder(path.parent)
    db = SqliteDatabase(
        str(path),
        pragmas={**PRAGMAS, "busy_timeout": busy_timeout_ms},
        timeout=busy_timeout_ms / 1000,  # sqlite3's own busy handler, used while connecting
        check_same_thread=False,
        # Every transaction here writes. A plain (deferred) BEGIN reads first and asks for the
        # write lock later; in WAL mode that upgrade fails at once with "database is locked",
        # without waiting for busy_timeout, whenever another process (a second instance, the
        # command line) committed in between. BEGIN IMMEDIATE takes the write lock up front,
        # so a writer waits its turn instead.
        lock_type="IMMEDIATE",
    )
    try:
        db.connect(reuse_if_open=True)
        database_proxy.initialize(db)
        migrations.migrate(db)
    except Exception as exc:
        db.close()
        known = classify(exc, str(path))
        if known is not None:
            raise known from exc
        raise
    return Repository(db)


class Store:
    """Owns the worker thread and the repository that lives on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desktop_chat-db")
        self._repo: Repository | None = None

    @classmethod
    async def open(cls, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Store:
        store = cls(path)
        loop = asyncio.get_running_loop()
        try:
            store._repo = await loop.run_in_executor(
                store._executor, open_repository, path, busy_timeout_ms
            )
        except BaseException:
            store._executor.shutdown(wait=False)
            raise
        return store

    async def run(self, operation: Callable[[Repository], T]) -> T:
        """Run `operation(repository)` on the worker thread; known failures become StoreError."""
        if self._repo is None:
            raise StoreError("closed", CLOSED)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, operation)

    def _call(self, operation: Callable[[Repository], T]) -> T:
        assert self._repo is not None
        try:
            return operation(self._repo)
        except StoreError:
            raise
        except Exception as exc:
            known = classify(exc, str(self.path))
            if known is None:
                raise
            log.warning("Database error (%s): %s", known.kind, exc)
            raise known from exc

    async def close(self) -> None:
        if self._repo is None:
            return
        repo, self._repo = self._repo, None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, repo.db.close)
        self._executor.shutdown(wait=True)
