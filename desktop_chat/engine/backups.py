"""Backups on a schedule, and on request: the store makes them, this decides when.

Long-running processes (the window, `desktop-chat serve`) check once an hour whether the
newest scheduled backup is older than the setting allows, and make one in a worker
thread: the backup reads its own snapshot, so replies go on streaming and being stored
meanwhile. Only the newest `keep` scheduled backups are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

from desktop_chat.store import StoreError
from desktop_chat.store.backup import (
    Backup,
    backup_database,
    backups_folder,
    cancel_restore,
    has_conversations,
    list_backups,
    pending_restore,
    prune,
    request_restore,
)

__all__ = ["Backup", "BackupSchedule"]

log = logging.getLogger(__name__)

SCHEDULED = "daily"
CHECK_EVERY = 3600.0  # seconds between two looks at whether a backup is due


class BackupSchedule:
    def __init__(self, database: Path, every_hours: int, keep: int) -> None:
        self.database = database
        self.every_hours = every_hours  # 0: no scheduled backups
        self.keep = keep
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one backup at a time from this process

    def reconfigure(self, every_hours: int, keep: int) -> None:
        self.every_hours, self.keep = every_hours, keep

    def list(self) -> list[Backup]:
        return list_backups(self.database)

    @property
    def folder(self) -> Path:
        return backups_folder(self.database)

    # A restore replaces the database, which the window has open: it is planned here and
    # made at the next start, before anything opens the file (app.Core.open).

    async def plan_restore(self, backup: Backup) -> None:
        await asyncio.to_thread(request_restore, self.database, backup.path)

    def planned_restore(self) -> Path | None:
        """The backup planned for the next start (one small marker file is read)."""
        return pending_restore(self.database)

    def cancel_restore(self) -> None:
        cancel_restore(self.database)

    def due(self) -> bool:
        if self.every_hours <= 0:
            return False
        scheduled = [b for b in self.list() if b.reason == SCHEDULED]
        if not scheduled:
            return True
        return datetime.now() - scheduled[0].created >= timedelta(hours=self.every_hours)

    async def backup_now(self, reason: str = "manual") -> Backup:
        async with self._lock:
            return await asyncio.to_thread(backup_database, self.database, reason)

    async def backup_if_due(self) -> Backup | None:
        """A scheduled backup when one is due and there is something to keep."""
        if not self.due() or not await asyncio.to_thread(has_conversations, self.database):
            return None
        backup = await self.backup_now(SCHEDULED)
        for removed in await asyncio.to_thread(prune, self.database, SCHEDULED, self.keep):
            log.info("Removed the old backup %s", removed)
        return backup

    def start(self) -> None:
        """Check now, then every hour, until aclose()."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="backups")

    async def _run(self) -> None:
        while True:
            try:
                await self.backup_if_due()
            except StoreError as exc:  # a full disk, say: try again at the next look
                log.warning("Scheduled backup failed: %s", exc.user_message)
            await asyncio.sleep(CHECK_EVERY)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
