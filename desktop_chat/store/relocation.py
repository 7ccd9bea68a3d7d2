"""Moving the data folder: planned while the app runs, made by the next start.

The running app has the database open and keeps writing to it (replies, the journal, API
clients), so a copy made under it could miss what it writes next. Settings therefore only
checks the destination and plans the move; the next start, before anything opens the
database and while no other process has it open, copies the folder (the database through
SQLite's backup API, every other file byte for byte), checks the copy (integrity, row
counts, sha256 of each file), and only then switches to it. The old folder is kept until
the user deletes it, so a move that went wrong in a way no check saw loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

from desktop_chat.paths import AppPaths, DataLocation, read_location, write_location
from desktop_chat.sentences import N_
from desktop_chat.store.errors import StoreError
from desktop_chat.store.inuse import InUse

log = logging.getLogger(__name__)

NOT_ABSOLUTE = N_("Choose a full folder path, such as {example}.")
SAME_FOLDER = N_("{target} is the data folder already.")
INSIDE = N_("The new data folder cannot be inside the current one, nor hold it: {target}.")
NOT_EMPTY = N_("{target} is not an empty folder; choose an empty or a new folder.")
NOT_WRITABLE = N_("desktop_chat cannot write in {target}; choose a folder you can write to.")
NO_ROOM = N_(
    "{target} has {free} MB free, and the data needs {needed} MB; free some space or "
    "choose another disk."
)
COPY_FAILED = N_(
    "The data folder was not moved to {target}: {reason}. Everything is still in {folder}."
)
CHECK_FAILED = N_("the copy did not match the original ({what})")
NOT_A_DATA_FOLDER = N_("{folder} does not look like a desktop_chat data folder; it was kept.")
TABLES_COUNTED = ("conversation", "message", "agent")
# Files beside the database that belong to the open process, not to the data.
SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".in-use")


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def check_destination(paths: AppPaths, target: Path) -> Path:
    """The destination made absolute, or a StoreError saying why it cannot take the data."""
    target = target.expanduser()
    if not target.is_absolute():
        raise StoreError("bad_target", NOT_ABSOLUTE.format(example=Path.home() / "Chats"))
    target, current = target.resolve(), paths.data.resolve()
    if target == current:
        raise StoreError("bad_target", SAME_FOLDER.format(target=target))
    if target.is_relative_to(current) or current.is_relative_to(target):
        raise StoreError("bad_target", INSIDE.format(target=target))
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise StoreError("bad_target", NOT_EMPTY.format(target=target))
    ancestor = _existing_ancestor(target)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise StoreError("bad_target", NOT_WRITABLE.format(target=target))
    needed, free = _size(current), shutil.disk_usage(ancestor).free
    if needed * 1.1 > free:
        raise StoreError(
            "bad_target",
            NO_ROOM.format(target=target, free=free >> 20, needed=(needed >> 20) + 1),
        )
    return target


def plan_move(paths: AppPaths, target: Path) -> Path:
    """Check `target` now and leave the move for the next start; the destination."""
    target = check_destination(paths, target)
    location = read_location(paths.config)
    write_location(paths.config, replace(location, planned=target, failure=None))
    return target


def cancel_move(paths: AppPaths) -> None:
    write_location(paths.config, replace(read_location(paths.config), planned=None))


def _skipped(path: Path, database: Path) -> bool:
    return path.name.startswith(database.name) and path.name.endswith(SKIPPED_SUFFIXES)


def _sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _counts(database: Path, *, check: bool) -> tuple[str | None, dict[str, int]]:
    """Row counts of the tables that matter; with `check`, PRAGMA integrity_check first
    (it reads every page: only the copy needs it, the original is what it is)."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0] if check else None
        return integrity, {
            table: db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            for table in TABLES_COUNTED
        }


def _copy_database(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source)) as old,
        contextlib.closing(sqlite3.connect(target)) as new,
    ):
        old.backup(new)
        new.execute("PRAGMA journal_mode = DELETE")
    os.chmod(target, 0o600)


def copy_data_folder(source: Path, target: Path, database_name: str) -> None:
    """Copy the folder and check the copy; a StoreError naming what differed."""
    database = source / database_name
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    copied: list[Path] = []
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(exist_ok=True, mode=0o700)
        elif path == database:
            _copy_database(path, destination)
        elif path.is_file() and not _skipped(path, database):
            shutil.copy2(path, destination)
            copied.append(path)
    if database.exists():
        integrity, counts = _counts(target / database_name, check=True)
        if integrity != "ok" or counts != _counts(database, check=False)[1]:
            raise StoreError("copy", CHECK_FAILED.format(what=database_name))
    for path in copied:
        if _sha256(path) != _sha256(target / path.relative_to(source)):
            raise StoreError("copy", CHECK_FAILED.format(what=path.relative_to(source)))


def _undo(target: Path, created: bool) -> None:
    if created:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():  # it was empty when the move was planned
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def apply_planned_move(paths: AppPaths) -> AppPaths:
    """Make the move planned in Settings, if any; the paths to open from now on.

    While another process has the database open the move stays planned. A move that fails
    leaves the data where it was, removes the partial copy, and says why in the location
    file for Settings to tell.
    """
    location = read_location(paths.config)
    target = location.planned
    if target is None:
        return paths
    in_use = InUse(paths.database)
    if not in_use.take():
        log.info("Moving the data folder to %s waits: another process has it open", target)
        return paths
    created = not target.exists()
    try:
        check_destination(paths, target)
        copy_data_folder(paths.data, target, paths.database.name)
    except (StoreError, OSError, sqlite3.Error) as exc:
        reason = exc.user_message if isinstance(exc, StoreError) else str(exc)
        if not (isinstance(exc, StoreError) and exc.kind == "bad_target"):
            _undo(target, created)
        failure = COPY_FAILED.format(target=target, reason=reason.rstrip("."), folder=paths.data)
        log.warning("%s", failure)
        write_location(paths.config, replace(location, planned=None, failure=failure))
        return paths
    finally:
        in_use.release()
    write_location(paths.config, DataLocation(data=target, previous=paths.data))
    log.warning("Moved the data folder from %s to %s; the old one is kept", paths.data, target)
    return replace(paths, data=target)


def delete_previous(paths: AppPaths) -> Path | None:
    """Delete the folder the data was moved from, once the user is content; which one."""
    location = read_location(paths.config)
    previous = location.previous
    if previous is None:
        return None
    if previous.exists():
        if not (previous / paths.database.name).exists():
            raise StoreError("bad_target", NOT_A_DATA_FOLDER.format(folder=previous))
        shutil.rmtree(previous)
    write_location(paths.config, replace(location, previous=None))
    log.warning("Deleted the previous data folder %s", previous)
    return previous
