"""The async face of the store: every query runs on one worker thread, off the event loop.

One thread keeps SQLite simple (one connection, no cross-thread sharing) and keeps the
Qt event loop free to repaint while the disk works.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from desktop_chat.store.errors import CLOSED, StoreError, classify
from desktop_chat.store.inuse import InUse
from desktop_chat.store.opening import connect, connect_writable
from desktop_chat.store.repair import mark_damaged, rebuild_search_index
from desktop_chat.store.repository import Repository

log = logging.getLogger(__name__)
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000


def open_repository(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Repository:
    """Open (and migrate) the database synchronously; used by the worker and by tools.

    `busy_timeout_ms` is how long to wait for another program's lock before giving up.
    """
    db, _ = connect(path, busy_timeout_ms)
    return Repository(db)


def repair_search_index(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> int:
    """Rebuild the search indexes of the database at `path`; returns its message count."""
    db = connect_writable(path, busy_timeout_ms)
    try:
        return rebuild_search_index(db, path)
    except Exception as exc:
        known = classify(exc, str(path))
        if known is None:
            raise
        raise known from exc
    finally:
        db.close()


class Store:
    """Owns the worker thread and the repository that lives on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_only = False  # opened for reading because writing was impossible
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desktop_chat-db")
        self._repo: Repository | None = None
        self._in_use = InUse(path)  # held while open: a restore waits for everyone to close

    @classmethod
    async def open(
        cls, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS, *, for_reading: bool = False
    ) -> Store:
        """Open on the worker thread; `for_reading`: see opening.connect."""
        store = cls(path)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(store._executor, store._in_use.share)
            db, store.read_only = await loop.run_in_executor(
                store._executor, partial(connect, path, busy_timeout_ms, for_reading=for_reading)
            )
        except BaseException:
            store._in_use.release()
            store._executor.shutdown(wait=False)
            raise
        store._repo = Repository(db)
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
            result = operation(self._repo)
            self._repo.files.collect()  # the files of messages this operation deleted
            return result
        except StoreError:
            raise
        except Exception as exc:
            known = classify(exc, str(self.path))
            if known is None:
                raise
            log.warning("Database error (%s): %s", known.kind, exc)
            if known.kind == "index_damaged":
                mark_damaged(self.path)  # the next start offers to rebuild it
            raise known from exc

    async def close(self) -> None:
        if self._repo is None:
            return
        repo, self._repo = self._repo, None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, repo.db.close)
        self._executor.shutdown(wait=True)
        self._in_use.release()
