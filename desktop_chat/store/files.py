"""Attached files: kept once each, named by their sha256, in a folder beside the database.

The attachment table says which message carries which file; the folder holds the bytes.
A file is written in the transaction that inserts its first row, and removed once the
last row naming it is gone: a trigger notes its sha256 in `attachment_gone` (migration
V8), and `collect` removes the noted files that no row names any more. Cascades from a
deleted conversation or message are covered that way too, and a crash between the commit
and the removal only delays it to the next collect. The folder and files are owner-only:
attachments are as private as the conversations.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote

from peewee import DatabaseError, SqliteDatabase

from desktop_chat.schemas import Attachment
from desktop_chat.store.errors import NotFoundError
from desktop_chat.store.models import AttachmentRow

log = logging.getLogger(__name__)

FOLDER_NAME = "files"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 500


def files_folder(database: Path) -> Path:
    """Where the files of the database at `database` live."""
    return database.parent / FOLDER_NAME


def database_file(db: SqliteDatabase) -> Path:
    """The file behind `db`, also when it was opened read-only as a `file:` URI."""
    name = str(db.database)
    if name.startswith("file:"):
        return Path(unquote(name.removeprefix("file:").split("?", 1)[0]))
    return Path(name)


class Files:
    def __init__(self, db: SqliteDatabase, folder: Path) -> None:
        self.db = db
        self.folder = folder

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise NotFoundError("file", sha256)
        return self.folder / sha256

    def read(self, sha256: str) -> bytes:
        """The bytes of a stored file; NotFoundError when no message carries it."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("file", sha256) from None

    def known(self, sha256: str) -> bool:
        return AttachmentRow.select().where(AttachmentRow.sha256 == sha256).exists()

    def attach(
        self, message_id: int, attachments: list[Attachment], blobs: Mapping[str, bytes]
    ) -> None:
        """Record `attachments` on a message and write the files not kept yet.

        Called inside the transaction that writes the message: a collect in another
        process waits for it, so it cannot remove a file this transaction relies on.
        """
        for position, meta in enumerate(attachments):
            AttachmentRow.create(
                message=message_id,
                position=position,
                name=meta.name,
                mime=meta.mime,
                kind=meta.kind,
                size=meta.size,
                sha256=meta.sha256,
                text=meta.text,
            )
            data = blobs.get(meta.sha256, meta.data)
            if data is not None:
                self._write(meta.sha256, data)
            elif not self.path(meta.sha256).exists():
                raise NotFoundError("file", meta.sha256)

    def of(self, message_ids: Iterable[int]) -> dict[int, list[Attachment]]:
        """The attachments of each message that has any, in the order they were given."""
        ids = list(message_ids)
        found: dict[int, list[Attachment]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            cursor = self.db.execute_sql(
                "SELECT message_id, name, mime, kind, size, sha256, text FROM attachment"
                f" WHERE message_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY message_id, position",
                chunk,
            )
            for message_id, name, mime, kind, size, sha256, text in cursor:
                found.setdefault(message_id, []).append(
                    Attachment.model_construct(
                        name=name, mime=mime, kind=kind, size=size, sha256=sha256, text=text
                    )
                )
        return found

    def in_conversation(self, session_id: str, sha256: str) -> Attachment | None:
        """The file `sha256` as a message of the conversation carries it, if one does."""
        row = self.db.execute_sql(
            "SELECT a.name, a.mime, a.kind, a.size, a.sha256 FROM attachment a"
            " JOIN message m ON m.id = a.message_id JOIN conversation c"
            " ON c.id = m.conversation_id WHERE c.session_id = ? AND a.sha256 = ? LIMIT 1",
            (session_id, sha256),
        ).fetchone()
        if row is None:
            return None
        name, mime, kind, size, sha = row
        return Attachment.model_construct(name=name, mime=mime, kind=kind, size=size, sha256=sha)

    def collect(self) -> int:
        """Remove the files no message names any more; returns how many went.

        Never fails the operation it follows: a database opened read-only, or busy, keeps
        the notes for a later collect.
        """
        try:
            return self._collect()
        except (DatabaseError, OSError) as exc:
            log.info("Attached files not collected this time: %s", exc)
            return 0

    def _collect(self) -> int:
        if not self.db.execute_sql("SELECT 1 FROM attachment_gone LIMIT 1").fetchone():
            return 0
        removed = 0
        with self.db.atomic():
            gone = [
                row[0]
                for row in self.db.execute_sql(
                    "SELECT sha256 FROM attachment_gone WHERE sha256 NOT IN"
                    " (SELECT sha256 FROM attachment)"
                )
            ]
            self.db.execute_sql("DELETE FROM attachment_gone")
            for sha256 in gone:
                with contextlib.suppress(FileNotFoundError, NotFoundError):
                    self.path(sha256).unlink()
                    removed += 1
        if removed:
            log.info("Removed %d attached files no message uses any more", removed)
        return removed

    def _write(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.folder, 0o700)
        tmp = target.with_name(f".{sha256}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
