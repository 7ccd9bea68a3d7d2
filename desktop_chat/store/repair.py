"""The search indexes: checked when the database opens, rebuilt from the messages on request.

Full-text search lives in FTS5 tables kept in step with the message table by triggers.
When one of them is damaged, every new message fails with it ("vtable constructor failed"),
though the messages themselves are intact. The indexes hold nothing the messages do not,
so rebuilding them loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from peewee import SqliteDatabase

from desktop_chat.store.errors import classify, index_damaged
from desktop_chat.store.migrations import V2, V5, V8

log = logging.getLogger(__name__)

SEARCH_TABLES = ("message_fts", "message_trigram", "message_trigram_terms", "attachment_fts")
# The statements that made the indexes, their triggers and their content: V2's, V5's and
# V8's (the text of attached files), as frozen there, so a rebuilt index is the one a
# migrated database has.
_REBUILD = [
    *(s for s in (*V2, *V5) if "message_fts" in s or "message_trigram" in s),
    *(s for s in V8 if "attachment_fts" in s),
    "INSERT INTO attachment_fts(attachment_fts) VALUES ('rebuild')",
]


def damage_marker(path: Path) -> Path:
    """Left beside the database when damage shows while it is in use (a search fails), so
    that the next start offers the rebuild even if its quick check sees nothing wrong."""
    return path.with_name(f"{path.name}.index-damaged")


def mark_damaged(path: Path) -> None:
    with contextlib.suppress(OSError):
        damage_marker(path).touch(mode=0o600)


def check_search_index(db: SqliteDatabase, path: Path) -> None:
    """StoreError `index_damaged` when an index cannot even be opened, or was seen damaged.

    Opening each table runs its constructor, which reads its configuration: cheap, and it
    finds the damage that stops every write. Damage inside the index's pages shows only
    when a search reads them; the marker carries that to the next start.
    """
    if damage_marker(path).exists():
        raise index_damaged(path)
    for table in SEARCH_TABLES:
        try:
            db.execute_sql(f'SELECT * FROM "{table}" WHERE 0')
        except Exception as exc:
            known = classify(exc, str(path))
            if known is None:
                raise
            raise known from exc


def rebuild_search_index(db: SqliteDatabase, path: Path) -> int:
    """Drop the search tables, however damaged, and make them again; returns the messages.

    A virtual table whose constructor fails cannot be dropped (dropping constructs it
    first), so its entries are taken out of the schema by hand, the documented way
    (writable_schema, then a new schema version so every connection reloads it).
    """
    with db.atomic():
        entries = db.execute_sql(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'trigger')"
            " AND (name GLOB 'message_fts*' OR name GLOB 'message_trigram*'"
            " OR name GLOB 'attachment_fts*')"
        ).fetchall()
        tables = [name for name, _ in entries if name in SEARCH_TABLES]
        if tables:
            version = db.execute_sql("PRAGMA schema_version").fetchone()[0]
            db.execute_sql("PRAGMA writable_schema = ON")
            marks = ", ".join("?" for _ in tables)
            db.execute_sql(f"DELETE FROM sqlite_master WHERE name IN ({marks})", tables)
            db.execute_sql(f"PRAGMA schema_version = {int(version) + 1}")
            db.execute_sql("PRAGMA writable_schema = OFF")
        for name, kind in entries:  # the shadow tables and the triggers
            if name not in SEARCH_TABLES:
                db.execute_sql(f'DROP {kind.upper()} IF EXISTS "{name}"')
        for statement in _REBUILD:
            db.execute_sql(statement)
        count = db.execute_sql("SELECT count(*) FROM message").fetchone()[0]
    damage_marker(path).unlink(missing_ok=True)
    log.info("Search index of %s rebuilt over %d messages", path, count)
    return int(count)
