"""The attached files of backups: kept beside them, once each, so a restore loses none.

A backup is one database file; the files its messages name live in the data folder and
go when their last message goes. So each backup's files are also kept in `backups/files`
(hard links where the disk allows: no second copy of the bytes), shared by every backup
that names them; pruning backups removes the files no remaining backup names, and a
restore puts back the files of the restored database that the data folder lacks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from pathlib import Path

from desktop_chat.store.files import FOLDER_NAME, files_folder

log = logging.getLogger(__name__)


def _names(database: Path) -> set[str]:
    """The files the messages of `database` name (none before attachments existed)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            return {row[0] for row in db.execute("SELECT DISTINCT sha256 FROM attachment")}
    except sqlite3.Error:
        return set()


def _copy(source: Path, target: Path) -> None:
    if target.exists() or not source.exists():
        return
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        partial = target.with_name(f".{target.name}.partial")
        fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        os.close(fd)
        shutil.copyfile(source, partial)
        os.replace(partial, target)


def keep_files(backup: Path, data_files: Path) -> None:
    """Keep the files `backup` names beside it, from the data folder's `data_files`."""
    kept = backup.parent / FOLDER_NAME
    for name in _names(backup):
        _copy(data_files / name, kept / name)


def prune_files(backups: list[Path]) -> int:
    """Remove the kept files no backup in `backups` (all that remain) names."""
    if not backups:
        return 0
    kept = backups[0].parent / FOLDER_NAME
    if not kept.is_dir():
        return 0
    named = set().union(*(_names(b) for b in backups))
    removed = 0
    for path in kept.iterdir():
        if path.name not in named:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def restore_files(database: Path, backups: Path) -> int:
    """Put back the files the restored `database` names that its data folder lacks."""
    missing = 0
    data_files = files_folder(database)
    for name in _names(database):
        target = data_files / name
        if not target.exists():
            _copy(backups / FOLDER_NAME / name, target)
            missing += 0 if target.exists() else 1
    if missing:
        log.warning("%d attached files of the restored database could not be found", missing)
    return missing
