"""Numbered schema migrations, each a frozen list of SQL statements.

The SQL is written out rather than generated from the peewee models so that a
migration means the same thing forever, whatever the models become later; a database
from any earlier release is brought forward step by step at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from peewee import SqliteDatabase

from desktop_chat.store.errors import StoreError

log = logging.getLogger(__name__)

V1 = [
    'CREATE TABLE "agent" ("id" INTEGER NOT NULL PRIMARY KEY, "agent_id" VARCHAR(255) NOT NULL,'
    ' "name" VARCHAR(255) NOT NULL, "provider" VARCHAR(255) NOT NULL,'
    ' "base_url" VARCHAR(255) NOT NULL, "model" VARCHAR(255) NOT NULL, "params" TEXT NOT NULL,'
    ' "preset_messages" TEXT NOT NULL, "app_preset" TEXT NOT NULL, "key_ref" VARCHAR(255),'
    ' "is_default" INTEGER NOT NULL, "created_at" DATETIME NOT NULL,'
    ' "updated_at" DATETIME NOT NULL)',
    'CREATE UNIQUE INDEX "agent_agent_id" ON "agent" ("agent_id")',
    'CREATE TABLE "conversation" ("id" INTEGER NOT NULL PRIMARY KEY,'
    ' "session_id" VARCHAR(255) NOT NULL, "agent_id" INTEGER, "title" VARCHAR(255) NOT NULL,'
    ' "owner" VARCHAR(255) NOT NULL, "pinned" INTEGER NOT NULL, "preset_messages" TEXT,'
    ' "draft" TEXT NOT NULL, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL,'
    ' FOREIGN KEY ("agent_id") REFERENCES "agent" ("id") ON DELETE SET NULL)',
    'CREATE UNIQUE INDEX "conversation_session_id" ON "conversation" ("session_id")',
    'CREATE INDEX "conversation_agent_id" ON "conversation" ("agent_id")',
    'CREATE INDEX "conversation_owner" ON "conversation" ("owner")',
    'CREATE INDEX "conversation_updated_at" ON "conversation" ("updated_at")',
    'CREATE TABLE "message" ("id" INTEGER NOT NULL PRIMARY KEY,'
    ' "conversation_id" INTEGER NOT NULL, "position" INTEGER NOT NULL,'
    ' "role" VARCHAR(255) NOT NULL, "content" TEXT NOT NULL, "reasoning" TEXT NOT NULL,'
    ' "status" VARCHAR(255) NOT NULL, "error" TEXT, "prompt_tokens" INTEGER,'
    ' "completion_tokens" INTEGER, "model" VARCHAR(255), "finish_reason" VARCHAR(255),'
    ' "ttft_ms" REAL, "duration_ms" REAL, "created_at" DATETIME NOT NULL,'
    ' FOREIGN KEY ("conversation_id") REFERENCES "conversation" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "message_conversation_id_position" ON "message" ("conversation_id", "position")',
    'CREATE TABLE "usage" ("id" INTEGER NOT NULL PRIMARY KEY,'
    ' "conversation_session_id" VARCHAR(255) NOT NULL, "agent_id" VARCHAR(255),'
    ' "model" VARCHAR(255) NOT NULL, "status" VARCHAR(255) NOT NULL, "prompt_tokens" INTEGER,'
    ' "completion_tokens" INTEGER, "ttft_ms" REAL, "duration_ms" REAL,'
    ' "error_kind" VARCHAR(255), "created_at" DATETIME NOT NULL)',
    'CREATE INDEX "usage_created_at" ON "usage" ("created_at")',
]

# Full-text search over message text, kept in step with the message table by triggers.
V2 = [
    "CREATE VIRTUAL TABLE message_fts USING fts5("
    "content, content='message', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN"
    " INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN"
    " INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);"
    " END",
    "CREATE TRIGGER message_fts_update AFTER UPDATE OF content ON message BEGIN"
    " INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);"
    " INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content); END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]

# Clients of the local API: a token is stored only as the SHA-256 of its text.
V3 = [
    'CREATE TABLE "api_token" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL,'
    ' "hash" VARCHAR(64) NOT NULL, "created_at" DATETIME NOT NULL, "last_used_at" DATETIME)',
    'CREATE UNIQUE INDEX "api_token_name" ON "api_token" ("name")',
    'CREATE UNIQUE INDEX "api_token_hash" ON "api_token" ("hash")',
]

_FTS_TRIGGERS = V2[1:4]

# Message ids are never reused (AUTOINCREMENT): a regenerated reply must not inherit the
# id of the one it replaced, or a window or API client holding the old id would edit or
# delete the wrong message. SQLite cannot alter a primary key, so the table is rebuilt.
V4 = [
    "DROP TRIGGER message_fts_insert",
    "DROP TRIGGER message_fts_delete",
    "DROP TRIGGER message_fts_update",
    'CREATE TABLE "message_v4" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,'
    ' "conversation_id" INTEGER NOT NULL, "position" INTEGER NOT NULL,'
    ' "role" VARCHAR(255) NOT NULL, "content" TEXT NOT NULL, "reasoning" TEXT NOT NULL,'
    ' "status" VARCHAR(255) NOT NULL, "error" TEXT, "prompt_tokens" INTEGER,'
    ' "completion_tokens" INTEGER, "model" VARCHAR(255), "finish_reason" VARCHAR(255),'
    ' "ttft_ms" REAL, "duration_ms" REAL, "created_at" DATETIME NOT NULL,'
    ' FOREIGN KEY ("conversation_id") REFERENCES "conversation" ("id") ON DELETE CASCADE)',
    'INSERT INTO "message_v4" SELECT "id", "conversation_id", "position", "role", "content",'
    ' "reasoning", "status", "error", "prompt_tokens", "completion_tokens", "model",'
    ' "finish_reason", "ttft_ms", "duration_ms", "created_at" FROM "message"',
    'DROP TABLE "message"',
    'ALTER TABLE "message_v4" RENAME TO "message"',
    'CREATE INDEX "message_conversation_id_position" ON "message" ("conversation_id", "position")',
    *_FTS_TRIGGERS,
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]


def _unspaced(column: str) -> str:
    """SQL: the text holds kana or CJK ideographs. Part of V5: never change it.

    Pure ASCII is ruled out first, at once: the GLOB class costs about 40 ns a character.
    """
    return (
        f"length(CAST({column} AS BLOB)) > length({column}) AND {column} GLOB"
        " '*[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]*'"
    )


def _trigram_text(column: str) -> str:
    """What the trigram index holds of a message. Part of V5: never change it.

    Two characters after the text give every character a trigram starting with it, so a
    word of one or two characters is found as the prefix of the index's terms.
    """
    return f"{column} || char(1, 1)"


# The list is read a page at a time in the order it is shown, and searched as the user
# types. The word index (V2) finds Chinese or Japanese only at the start of a run of
# characters; a trigram index finds them anywhere. It holds only messages with such
# characters, and no copy of their text (contentless): it costs little for others.
V5 = [
    'DROP INDEX "conversation_owner"',
    'CREATE INDEX "conversation_list_order" ON "conversation"'
    ' ("pinned", "updated_at", "session_id")',
    'CREATE INDEX "conversation_owner_list_order" ON "conversation"'
    ' ("owner", "pinned", "updated_at", "session_id")',
    # Search maps thousands of matching message ids to their conversations: a small
    # covering index answers that without reading the messages' pages.
    'CREATE INDEX "message_id_conversation_id" ON "message" ("id", "conversation_id")',
    "CREATE VIRTUAL TABLE message_trigram USING fts5(content, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE message_trigram_terms USING fts5vocab(message_trigram, 'instance')",
    "CREATE TRIGGER message_trigram_insert AFTER INSERT ON message BEGIN"
    f" INSERT INTO message_trigram(rowid, content) SELECT new.id, {_trigram_text('new.content')}"
    f" WHERE {_unspaced('new.content')}; END",
    "CREATE TRIGGER message_trigram_delete AFTER DELETE ON message BEGIN"
    " INSERT INTO message_trigram(message_trigram, rowid, content)"
    f" SELECT 'delete', old.id, {_trigram_text('old.content')} WHERE {_unspaced('old.content')};"
    " END",
    "CREATE TRIGGER message_trigram_update AFTER UPDATE OF content ON message BEGIN"
    " INSERT INTO message_trigram(message_trigram, rowid, content)"
    f" SELECT 'delete', old.id, {_trigram_text('old.content')} WHERE {_unspaced('old.content')};"
    f" INSERT INTO message_trigram(rowid, content) SELECT new.id, {_trigram_text('new.content')}"
    f" WHERE {_unspaced('new.content')}; END",
    f"INSERT INTO message_trigram(rowid, content) SELECT id, {_trigram_text('content')}"
    f" FROM message WHERE {_unspaced('content')}",
]

# Reply versions: messages form a tree (regenerate and edit add siblings, nothing is
# overwritten) and each conversation remembers the leaf of its current path. Every
# existing history becomes one path, each message the child of the one before it.
V6 = [
    'ALTER TABLE "message" ADD COLUMN "parent_id" INTEGER',
    'ALTER TABLE "conversation" ADD COLUMN "current_message_id" INTEGER',
    'CREATE INDEX "message_conversation_id_id_parent_id" ON "message"'
    ' ("conversation_id", "id", "parent_id")',
    'UPDATE "message" SET "parent_id" = chain."previous" FROM (SELECT "id", LAG("id") OVER'
    ' (PARTITION BY "conversation_id" ORDER BY "position", "id") AS "previous" FROM "message")'
    ' AS chain WHERE chain."id" = "message"."id"',
    'UPDATE "conversation" SET "current_message_id" = (SELECT m."id" FROM "message" m'
    ' WHERE m."conversation_id" = "conversation"."id" ORDER BY m."position" DESC, m."id" DESC'
    " LIMIT 1)",
]

# What a client of the local API may do through its OpenAI-compatible gateway: the agents
# it may use (a JSON list of agent ids; NULL: every agent, as tokens made before could),
# and whether its requests are kept as conversations (off: a gateway is a pipe).
V7 = [
    'ALTER TABLE "api_token" ADD COLUMN "agents" TEXT',
    'ALTER TABLE "api_token" ADD COLUMN "store_conversations" INTEGER NOT NULL DEFAULT 0',
]

# Attachments: files sent with a message, kept once each in the data folder under their
# sha256 (store/files.py). A row per file of a message; when the last row naming a file
# goes, a trigger notes its sha256 so the file is removed after the transaction. The text
# of text files and PDFs has a word index of its own, searched with the messages. Agents
# learn whether their model reads images: those of OpenAI do, others are asked to say so.
V8 = [
    'CREATE TABLE "attachment" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,'
    ' "message_id" INTEGER NOT NULL, "position" INTEGER NOT NULL,'
    ' "name" VARCHAR(255) NOT NULL, "mime" VARCHAR(255) NOT NULL, "kind" VARCHAR(255) NOT NULL,'
    ' "size" INTEGER NOT NULL, "sha256" VARCHAR(64) NOT NULL, "text" TEXT NOT NULL,'
    ' FOREIGN KEY ("message_id") REFERENCES "message" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "attachment_message_id_position" ON "attachment" ("message_id", "position")',
    'CREATE INDEX "attachment_sha256" ON "attachment" ("sha256")',
    'CREATE TABLE "attachment_gone" ("sha256" VARCHAR(64) NOT NULL PRIMARY KEY) WITHOUT ROWID',
    "CREATE TRIGGER attachment_gone_insert AFTER DELETE ON attachment BEGIN"
    " INSERT OR IGNORE INTO attachment_gone(sha256) VALUES (old.sha256); END",
    "CREATE VIRTUAL TABLE attachment_fts USING fts5("
    "text, content='attachment', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER attachment_fts_insert AFTER INSERT ON attachment BEGIN"
    " INSERT INTO attachment_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER attachment_fts_delete AFTER DELETE ON attachment BEGIN"
    " INSERT INTO attachment_fts(attachment_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " END",
    'ALTER TABLE "agent" ADD COLUMN "vision" INTEGER NOT NULL DEFAULT 0',
    """UPDATE "agent" SET "vision" = 1 WHERE "provider" = 'openai'""",
]

# Tools: an assistant message keeps the calls it made (JSON), a tool's result names the
# call it answers; agents choose the MCP servers they may use (JSON: "all", "none" or a
# list of names; NULL: all); the MCP servers themselves (header and environment values
# in the keyring, only their names here).
V9 = [
    'ALTER TABLE "message" ADD COLUMN "tool_calls" TEXT',
    'ALTER TABLE "message" ADD COLUMN "tool_call_id" TEXT',
    'ALTER TABLE "agent" ADD COLUMN "tools" TEXT',
    'CREATE TABLE "mcp_server" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255)'
    ' NOT NULL, "transport" VARCHAR(255) NOT NULL, "command" TEXT NOT NULL, "args" TEXT'
    ' NOT NULL, "secret_env" TEXT NOT NULL, "cwd" TEXT, "url" TEXT NOT NULL, "secret_headers"'
    ' TEXT NOT NULL, "enabled" INTEGER NOT NULL, "created_at" DATETIME NOT NULL)',
    'CREATE UNIQUE INDEX "mcp_server_name" ON "mcp_server" ("name")',
]

MIGRATIONS: Sequence[Sequence[str]] = (V1, V2, V3, V4, V5, V6, V7, V8, V9)
LATEST = len(MIGRATIONS)


class NewerSchemaError(StoreError):
    """The database was written by a newer release; opening it could lose data.

    A StoreError, so that the window and the command line show its sentence as they do
    for every other database problem instead of failing with a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__("newer_schema", message)


SCHEMA_VERSION_TABLE = (
    'CREATE TABLE IF NOT EXISTS "schema_version" ('
    '"version" INTEGER NOT NULL PRIMARY KEY, "applied_at" DATETIME NOT NULL)'
)


def current_version(db: SqliteDatabase) -> int:
    if not db.table_exists("schema_version"):
        return 0
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: SqliteDatabase, target: int = LATEST) -> int:
    """Apply every migration above the database's version, each in its own transaction."""
    db.execute_sql(SCHEMA_VERSION_TABLE)
    version = current_version(db)
    if version > LATEST:
        raise NewerSchemaError(
            f"This database has schema version {version}, but this release knows only "
            f"up to {LATEST}. Please update desktop_chat."
        )
    for number in range(version + 1, target + 1):
        with db.atomic():
            # Read again under the write lock: another process starting at the same moment
            # may have applied this step already.
            if current_version(db) >= number:
                continue
            for statement in MIGRATIONS[number - 1]:
                db.execute_sql(statement)
            db.execute_sql(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (number, datetime.now(UTC).isoformat(sep=" ")),
            )
        log.info("Database migrated to schema version %d", number)
    return max(version, target)
