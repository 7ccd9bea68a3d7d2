"""Backups of the conversation database, and restoring one.

A backup is made with SQLite's online backup API, in one step: it reads one snapshot of
the database (WAL lets writers go on meanwhile), so it is consistent even while replies
stream and other processes write. It is written under a temporary name, checked with
`PRAGMA integrity_check`, and only then given its name, so a file in `backups/` is always
a whole, sound database. Backups are owner-only, like the database.

Restoring refuses a file that is not a sound desktop_chat database, refuses while any
process has the database open, and keeps a backup of what it replaces.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from desktop_chat.store.backup_files import keep_files, prune_files, restore_files
from desktop_chat.store.errors import StoreError, classify, from_os_error
from desktop_chat.store.files import FOLDER_NAME
from desktop_chat.store.inuse import InUse
from desktop_chat.store.migrations import LATEST
from desktop_chat.store.repair import damage_marker

log = logging.getLogger(__name__)

# conversations-20261207-134501-daily.sqlite3: sorts by time, says why it was made.
_NAME = re.compile(r"conversations-(\d{8}-\d{6})(?:-\d+)?-([a-z0-9-]+)\.sqlite3")
_REQUIRED_TABLES = {"schema_version", "agent", "conversation", "message"}


@dataclass(frozen=True)
class Backup:
    path: Path
    created: datetime  # local time, as in its name
    reason: str  # daily, manual, before-schema-N, before-restore
    size: int


def backups_folder(database: Path) -> Path:
    return database.parent / "backups"


def _new_path(folder: Path, reason: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"conversations-{stamp}-{reason}.sqlite3"
    count = 1
    while path.exists():  # two in one second
        count += 1
        path = folder / f"conversations-{stamp}-{count}-{reason}.sqlite3"
    return path


def _private_file(path: Path) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _integrity(connection: sqlite3.Connection) -> str:
    rows = connection.execute("PRAGMA integrity_check").fetchall()
    return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:3])


def backup_from(source: sqlite3.Connection, folder: Path, reason: str) -> Backup:
    """Copy the database behind `source` (any open connection) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = _new_path(folder, reason)
    partial = folder / f".{target.name}.{secrets.token_hex(4)}.partial"
    _private_file(partial)
    try:
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)  # one step: one snapshot
            # A file of its own: no WAL beside it, readable as it is.
            copy.execute("PRAGMA journal_mode = DELETE")
            problem = _integrity(copy)
        if problem != "ok":
            raise StoreError("backup_failed", f"The backup did not check out ({problem}).")
        with open(partial, "rb") as file:
            os.fsync(file.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    keep_files(target, folder.parent / FOLDER_NAME)  # backups_folder: beside the database
    log.info("Backed up the database to %s (%s)", target, reason)
    return _describe(target)


def backup_database(database: Path, reason: str) -> Backup:
    """Back up the database at `database` through a connection of its own.

    Known failures (a full disk, a locked or damaged database) become a StoreError.
    """
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=5)) as source:
            return backup_from(source, backups_folder(database), reason)
    except OSError as exc:
        raise from_os_error(exc, database) from exc
    except sqlite3.Error as exc:
        known = classify(exc, str(database))
        if known is None:
            raise
        raise known from exc


def has_conversations(database: Path) -> bool:
    """Whether there is anything worth a scheduled backup."""
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as connection:
        try:
            return connection.execute("SELECT EXISTS (SELECT 1 FROM conversation)").fetchone()[0]
        except sqlite3.OperationalError:  # no such table: a database not made yet
            return False


def _describe(path: Path) -> Backup:
    match = _NAME.fullmatch(path.name)
    stat = path.stat()
    if match is None:
        return Backup(path, datetime.fromtimestamp(stat.st_mtime), "", stat.st_size)
    created = datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
    return Backup(path, created, match.group(2), stat.st_size)


def list_backups(database: Path) -> list[Backup]:
    """The backups beside the database, newest first."""
    folder = backups_folder(database)
    if not folder.is_dir():
        return []
    found = [_describe(p) for p in folder.glob("conversations-*.sqlite3")]
    return sorted(found, key=lambda b: (b.created, b.path.name), reverse=True)


def prune(database: Path, reason: str, keep: int) -> list[Path]:
    """Remove the oldest backups made for `reason` beyond the newest `keep`.

    Only scheduled backups are pruned: one made by hand, before a migration or before a
    restore stays until its owner removes it.
    """
    removed = []
    for backup in [b for b in list_backups(database) if b.reason == reason][keep:]:
        with contextlib.suppress(FileNotFoundError):
            backup.path.unlink()
            removed.append(backup.path)
    if removed:
        prune_files([b.path for b in list_backups(database)])
    return removed


def check_backup(path: Path) -> int:
    """The schema version of a sound desktop_chat database at `path`; StoreError otherwise."""
    not_ours = StoreError(
        "not_a_backup",
        f"{path} is not a desktop_chat database, so it cannot be restored. Nothing was changed.",
    )
    try:
        with open(path, "rb") as file:
            if file.read(16) != b"SQLite format 3\x00":
                raise not_ours
    except FileNotFoundError:
        raise StoreError("not_found", f"There is no file {path}. Nothing was changed.") from None
    except OSError as exc:
        raise from_os_error(exc, path) from exc
    try:
        uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            problem = _integrity(connection)
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if problem == "ok" and not _REQUIRED_TABLES.issubset(tables):
                raise not_ours
            version = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        problem = str(exc)
        version = None
    if problem != "ok":
        raise StoreError(
            "damaged_backup",
            f"{path} is damaged ({problem}), so it cannot be restored. Nothing was changed.",
        )
    if not isinstance(version, int):
        raise not_ours
    if version > LATEST:
        raise StoreError(
            "newer_schema",
            f"{path} was written by a newer release of desktop_chat. Update desktop_chat to "
            "restore it. Nothing was changed.",
        )
    return version


def restore(database: Path, backup: Path) -> Path | None:
    """Put `backup` in the database's place; the path of the copy kept of what it replaced.

    The copy is made with the backup API when the current database can be read, as its
    raw bytes otherwise (a damaged database is what one restores over). None when there
    was no database to replace.
    """
    check_backup(backup)
    in_use = InUse(database)
    if not in_use.take():
        raise StoreError(
            "in_use",
            "desktop_chat has this data folder open (the window, `desktop-chat serve`, or a "
            "command still running). Close it, then restore again. Nothing was changed.",
        )
    try:
        kept = _keep_current(database) if database.exists() else None
        incoming = database.with_name(f".{database.name}.{secrets.token_hex(4)}.restoring")
        _private_file(incoming)
        try:
            shutil.copyfile(backup, incoming)
            with contextlib.closing(sqlite3.connect(incoming)) as connection:
                connection.execute("PRAGMA journal_mode = DELETE")
            with open(incoming, "rb") as file:
                os.fsync(file.fileno())
            # A WAL left beside the old file would be replayed into the new one.
            for suffix in ("-wal", "-shm"):
                database.with_name(database.name + suffix).unlink(missing_ok=True)
            os.replace(incoming, database)
        finally:
            incoming.unlink(missing_ok=True)
        damage_marker(database).unlink(missing_ok=True)
        restore_files(database, backups_folder(database))
    except OSError as exc:
        raise from_os_error(exc, database) from exc
    finally:
        in_use.release()
    log.warning("Restored %s from %s; the replaced database is kept as %s", database, backup, kept)
    return kept


def _keep_current(database: Path) -> Path:
    folder = backups_folder(database)
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=5)) as source:
            return backup_from(source, folder, "before-restore").path
    except (sqlite3.Error, StoreError) as exc:
        log.warning("The database to replace cannot be read (%s); keeping its bytes", exc)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    kept = _new_path(folder, "before-restore")
    _private_file(kept)
    shutil.copyfile(database, kept)
    wal = database.with_name(database.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, kept.with_name(kept.name + "-wal"))
    return kept


# Restoring from the window, which has the database open: at the next start -----------------


def pending_marker(database: Path) -> Path:
    return database.with_name(f"{database.name}.restore-pending")


def request_restore(database: Path, backup: Path) -> None:
    """Ask for `backup` to be restored by the next process that opens the database.

    A running window has the database open, so it cannot restore under itself: it checks
    the backup now and leaves its path beside the database for the next start.
    """
    check_backup(backup)
    marker = pending_marker(database)
    try:
        marker.unlink(missing_ok=True)
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(str(backup))
    except OSError as exc:
        raise from_os_error(exc, database) from exc


def pending_restore(database: Path) -> Path | None:
    try:
        return Path(pending_marker(database).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def cancel_restore(database: Path) -> None:
    pending_marker(database).unlink(missing_ok=True)


def apply_pending_restore(database: Path) -> Path | None:
    """Restore the backup asked for at the last start, if any; the backup restored.

    While another process has the database open it stays pending. A backup that can no
    longer be restored (removed, damaged) is forgotten, and its StoreError raised.
    """
    backup = pending_restore(database)
    if backup is None:
        return None
    try:
        restore(database, backup)
    except StoreError as exc:
        if exc.kind == "in_use":
            log.info("A restore of %s waits: another process has the database open", backup)
            return None
        cancel_restore(database)
        raise
    cancel_restore(database)
    return backup
