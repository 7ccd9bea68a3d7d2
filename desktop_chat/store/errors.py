"""Database failures told apart from bugs, each with a sentence a user can act on."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from peewee import DatabaseError, OperationalError

from desktop_chat.sentences import N_

# The sentences, marked for translation (desktop_chat/sentences.py).
NOT_FOUND = N_("No {what} with id {ident}.")
THINGS = (N_("agent"), N_("conversation"), N_("message"), N_("API token"))  # as {what}
READ_ONLY_FOLDER = N_(
    "The data folder {folder} is read-only, so desktop_chat cannot save conversations there. "
    "Make it writable and start again; nothing in it was changed."
)
DISK_FULL = N_("The disk is full; free some space, nothing was lost.")
CANNOT_OPEN_BECAUSE = N_("Cannot open the conversation database at {path}: {reason}.")
CANNOT_OPEN = N_("Cannot open the conversation database at {path}.")
LOCKED = N_(
    "The conversation database is busy in another program (is desktop_chat already "
    "running?). Close it and try again."
)
CORRUPT = N_("The conversation database at {path} is damaged. Back it up and start a fresh one.")
READ_ONLY_CHANGE = N_("The data folder for {path} is read-only; the change was not saved.")
FAILED = N_("The conversation database failed: {reason}")
CLOSED = N_("The conversation database is closed.")


class StoreError(Exception):
    """A known database problem; `kind` lets callers choose what to offer the user."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.user_message = message


class NotFoundError(StoreError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__("not_found", NOT_FOUND.format(what=what, ident=repr(ident)))


# Below this much free space, SQLite's "disk I/O error" (it failed to grow its shared-memory
# file, say) means a full disk.
NEARLY_FULL = 1 << 20


def disk_full() -> StoreError:
    return StoreError("disk_full", DISK_FULL)


INDEX_DAMAGED = N_(
    "The search index of the conversation database at {path} is damaged; the "
    "conversations themselves are not. Rebuild it with `desktop-chat repair`, or start "
    "desktop_chat and accept its offer to."
)
EMPTY_DATABASE = N_(
    "The conversation database at {path} is empty (0 bytes): whatever it held is gone "
    "from it. Restore a backup with `desktop-chat restore FILE`, or move the file aside "
    "to start a fresh one."
)


def index_damaged(path: Path | str) -> StoreError:
    return StoreError("index_damaged", INDEX_DAMAGED.format(path=path))


def empty_database(path: Path) -> StoreError:
    """A database file of 0 bytes: never one this app made (it creates them whole)."""
    return StoreError("corrupt", EMPTY_DATABASE.format(path=path))


def _is_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < NEARLY_FULL
    except OSError:
        return False


def read_only_folder(folder: Path) -> StoreError:
    return StoreError("read_only", READ_ONLY_FOLDER.format(folder=folder))


def from_os_error(exc: OSError, path: Path) -> StoreError:
    """The database file cannot even be opened or created: say why, in words."""
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return read_only_folder(path.parent)
    if exc.errno == errno.ENOSPC:
        return disk_full()
    reason = exc.strerror or type(exc).__name__
    return StoreError("unavailable", CANNOT_OPEN_BECAUSE.format(path=path, reason=reason))


def classify(exc: Exception, path: str) -> StoreError | None:
    """Map a low-level SQLite error to a StoreError, or None when it looks like a bug."""
    if not isinstance(exc, DatabaseError | sqlite3.DatabaseError):
        return None
    text = str(exc).lower()
    cause = exc.__context__
    if "vtable constructor failed" in text or (
        getattr(cause, "sqlite_errorname", None) == "SQLITE_CORRUPT_VTAB"
    ):
        return index_damaged(path)
    if "no transaction is active" in text and isinstance(cause, Exception):
        # SQLite rolls a transaction back by itself on some errors (a full disk); the
        # ROLLBACK that follows then fails, hiding the error that says what happened.
        known = classify(cause, path)
        if known is not None:
            return known
    if "locked" in text or "busy" in text:
        return StoreError("locked", LOCKED)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError("corrupt", CORRUPT.format(path=path))
    if "disk is full" in text or "database or disk is full" in text:
        return disk_full()
    if "disk i/o error" in text and _is_full(Path(path)):
        return disk_full()
    if "readonly" in text or "read-only" in text:
        return StoreError("read_only", READ_ONLY_CHANGE.format(path=path))
    if "unable to open" in text:
        return StoreError("unavailable", CANNOT_OPEN.format(path=path))
    if isinstance(exc, OperationalError | sqlite3.OperationalError):
        return StoreError("operational", FAILED.format(reason=exc))
    return None
