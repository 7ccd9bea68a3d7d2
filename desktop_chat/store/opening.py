"""Opening the database file: created whole, migrated, checked, or read-only when it must be.

A new database is made under a temporary name and linked into place, so the app never
leaves a 0-byte database file; one found at start-up is therefore damage (a copy cut
short, a disk that filled up) and is refused rather than silently taken for a new one.

Commands that only read (listing, exporting) still work when writing is impossible (a
read-only folder, a full disk): the file is then opened read-only, without migrations.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import secrets
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import quote

from peewee import OperationalError, SqliteDatabase

from desktop_chat.store import migrations
from desktop_chat.store.backup import backup_from, backups_folder
from desktop_chat.store.errors import (
    StoreError,
    classify,
    empty_database,
    from_os_error,
    read_only_folder,
)
from desktop_chat.store.models import database_proxy
from desktop_chat.store.repair import check_search_index

log = logging.getLogger(__name__)

PRAGMAS = {
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16000,
}
# Failures that leave the file readable: a command that only reads then opens it read-only.
CANNOT_WRITE = ("read_only", "disk_full")


def _wal_has_content(path: Path) -> bool:
    try:
        return path.with_name(f"{path.name}-wal").stat().st_size > 0
    except FileNotFoundError:
        return False


def _create(path: Path) -> None:
    """Make a new database (0600) whole, then put it in place; another process's wins."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = path.with_name(f"{path.name}.new-{secrets.token_hex(6)}")
    os.close(os.open(fresh, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        with contextlib.closing(sqlite3.connect(fresh)) as connection:
            connection.execute(migrations.SCHEMA_VERSION_TABLE)
            connection.commit()
        try:
            os.link(fresh, path)
        except FileExistsError:
            pass  # another instance made it at the same moment: theirs is used
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)


def _prepare_file(path: Path) -> None:
    if not path.exists():
        _create(path)
    elif path.stat().st_size == 0 and not _wal_has_content(path):
        raise empty_database(path)
    os.chmod(path, 0o600)  # a file copied in, or left by an older release, becomes private


def _use_wal(db: SqliteDatabase, busy_timeout_ms: int) -> None:
    """Switch the file to write-ahead logging, waiting out another start doing the same.

    A file in the old journal mode (an old release's, a restored backup, a new file) is
    switched by whoever opens it first. When two starts switch at the same moment, each
    holds a read lock and wants the exclusive one: SQLite sees the deadlock and fails one
    of them at once with "database is locked", without using the busy timeout. That one
    tries again, until the busy timeout has passed.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            db.execute_sql("PRAGMA journal_mode = wal")
            return
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(random.uniform(0.005, 0.02))


def _connect(db: SqliteDatabase, path: Path, then: Callable[[], object]) -> SqliteDatabase:
    """Connect on this thread, bind the models to it, run `then`; known errors in words."""
    try:
        db.connect(reuse_if_open=True)
        database_proxy.initialize(db)
        then()
    except Exception as exc:
        db.close()
        known = classify(exc, str(path))
        if known is not None:
            raise known from exc
        raise
    return db


def connect_writable(path: Path, busy_timeout_ms: int) -> SqliteDatabase:
    """Open (creating or migrating) the database for reading and writing."""
    try:
        _prepare_file(path)
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
    return _connect(db, path, partial(_open_for_writing, db, path, busy_timeout_ms))


def _open_for_writing(db: SqliteDatabase, path: Path, busy_timeout_ms: int) -> None:
    _use_wal(db, busy_timeout_ms)
    _migrate(db, path)


# How long a start waits for another one's upgrade (backup and migrations) to finish: a
# large database takes seconds to back up and to turn into a tree (V6), far longer than an
# ordinary write keeps the lock.
MIGRATION_WAIT_MS = 120_000


def _migrate(db: SqliteDatabase, path: Path) -> None:
    """Bring the schema up to date, backing the database up first when it has a schema."""
    version = migrations.current_version(db)
    if version == migrations.LATEST:
        return
    busy = db.execute_sql("PRAGMA busy_timeout").fetchone()[0]
    db.execute_sql(f"PRAGMA busy_timeout = {MIGRATION_WAIT_MS}")
    try:
        _upgrade(db, path, version)
    finally:
        db.execute_sql(f"PRAGMA busy_timeout = {int(busy)}")


def _upgrade(db: SqliteDatabase, path: Path, version: int) -> None:
    if 0 < version < migrations.LATEST:
        problem = _back_up(db, path, f"before-schema-{migrations.LATEST}")
        if problem is not None and problem.kind == "disk_full":
            raise problem
        if problem is not None:
            raise StoreError(
                "backup_failed",
                "desktop_chat backs up the conversation database before upgrading it, and "
                f"could not: {problem.user_message} Nothing was changed.",
            )
    migrations.migrate(db)


def _back_up(db: SqliteDatabase, path: Path, reason: str) -> StoreError | None:
    """Back up through `db`'s own connection; what went wrong, in words, or None."""
    try:
        backup_from(db.connection(), backups_folder(path), reason)
    except OSError as exc:
        return from_os_error(exc, path)
    except sqlite3.Error as exc:
        return classify(exc, str(path)) or StoreError("backup_failed", f"{exc}.")
    except StoreError as exc:
        return exc
    return None


def _require_latest(db: SqliteDatabase) -> None:
    if migrations.current_version(db) != migrations.LATEST:
        raise StoreError("old_schema", "The database needs migrating, which needs writing.")


def connect_read_only(path: Path, busy_timeout_ms: int) -> SqliteDatabase | None:
    """The database opened for reading only, or None when even that cannot work.

    WAL mode needs a shared-memory file beside the database even to read; where it cannot
    be made (a full disk, a read-only folder) and no writes wait in the WAL, the file is
    read as immutable, which needs none. An older schema is not read: it needs migrating.
    """
    modes = ["mode=ro"] if _wal_has_content(path) else ["mode=ro", "immutable=1"]
    for mode in modes:
        db = SqliteDatabase(
            f"file:{quote(str(path))}?{mode}",
            uri=True,
            pragmas={"foreign_keys": 1, "busy_timeout": busy_timeout_ms},
            timeout=busy_timeout_ms / 1000,
            check_same_thread=False,
        )
        try:
            return _connect(db, path, partial(_require_latest, db))
        except StoreError as exc:
            log.info("Reading %s with %s failed: %s", path, mode, exc.kind)
    return None


def connect(
    path: Path, busy_timeout_ms: int, *, for_reading: bool = False
) -> tuple[SqliteDatabase, bool]:
    """The database and whether it is read-only.

    `for_reading`: the caller only reads, so the file is opened read-only when writing
    is impossible, and the search index is not checked (reading needs no index).
    """
    try:
        db = connect_writable(path, busy_timeout_ms)
    except StoreError as exc:
        if not for_reading or exc.kind not in CANNOT_WRITE or not path.exists():
            raise
        db_read = connect_read_only(path, busy_timeout_ms)
        if db_read is None:
            raise
        log.info("Cannot write to %s (%s): opened it read-only", path, exc.kind)
        return db_read, True
    if not for_reading:
        try:
            check_search_index(db, path)
        except BaseException:
            db.close()
            raise
    return db, False
