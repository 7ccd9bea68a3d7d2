"""The list a page at a time, search as you type, and the upgrade that indexes both (V5)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from desktop_chat.schemas import ContextEntry, Conversation, Message
from desktop_chat.store import Store
from desktop_chat.store.migrations import LATEST, current_version, migrate

pytestmark = pytest.mark.asyncio

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


async def _conversation(store: Store, title: str, hours: float = 0, **fields) -> Conversation:
    stamp = START + timedelta(hours=hours)
    conversation = Conversation(title=title, created_at=stamp, updated_at=stamp, **fields)
    return await store.run(lambda r: r.conversations.create(conversation))


async def _append(store: Store, cid: str, content: str) -> Message:
    message = Message(role="user", content=content)
    return await store.run(lambda r: r.messages.append(cid, message))


async def _titles(store: Store, query: str, **page) -> list[str]:
    found = await store.run(lambda r: r.conversations.list(query=query, **page))
    return [c.title for c in found]


async def _pages(store: Store, size: int, query: str | None = None) -> list[list[str]]:
    """Every page of the list, each asked for after the last row of the one before."""
    pages: list[list[str]] = []
    after = None
    while True:
        page = await store.run(
            lambda r, a=after: r.conversations.list(query=query, limit=size, after=a)
        )
        if not page:
            return pages
        pages.append([c.title for c in page])
        after = page[-1]


# Pages -------------------------------------------------------------------------------


async def test_pages_follow_each_other_in_list_order(store: Store) -> None:
    for i in range(23):
        await _conversation(store, f"c{i:02}", hours=i, pinned=i in (3, 17))
    # Two with the same time: the store's tie-break keeps them in a stable order.
    await _conversation(store, "same-a", hours=5.5)
    await _conversation(store, "same-b", hours=5.5)

    everything = [c.title for c in await store.run(lambda r: r.conversations.list())]
    assert everything[:2] == ["c17", "c03"], "pinned first, the most recent first"
    pages = await _pages(store, 7)
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    assert [title for page in pages for title in page] == everything


async def test_a_conversation_moving_up_between_pages_is_neither_repeated_nor_skipped(
    store: Store,
) -> None:
    made = [await _conversation(store, f"c{i:02}", hours=i) for i in range(12)]
    first = await store.run(lambda r: r.conversations.list(limit=5))
    # A reply lands in a conversation further down while the reader looks at page one.
    await _append(store, made[2].id, "new message")

    rest = await store.run(lambda r: r.conversations.list(limit=100, after=first[-1]))
    titles = [c.title for c in first + rest]
    assert len(titles) == len(set(titles)), "no conversation twice"
    assert set(titles) == {f"c{i:02}" for i in range(12)} - {"c02"}, "only the moved one"
    newest = await store.run(lambda r: r.conversations.list(limit=1))
    assert newest[0].title == "c02", "the reloaded list has it at the top"


async def test_the_first_page_is_read_in_index_order_not_sorted(store: Store) -> None:
    plans = await store.run(
        lambda r: r.db.execute_sql(
            "EXPLAIN QUERY PLAN SELECT c.id FROM conversation c"
            " ORDER BY c.pinned DESC, c.updated_at DESC, c.session_id DESC LIMIT 200"
        ).fetchall()
    )
    details = " ".join(row[-1] for row in plans)
    assert "conversation_list_order" in details and "TEMP B-TREE" not in details, details


# Search ------------------------------------------------------------------------------


async def test_search_results_come_a_page_at_a_time_in_list_order(store: Store) -> None:
    for i in range(9):
        conversation = await _conversation(store, f"c{i}", hours=i)
        await _append(store, conversation.id, "about databases" if i % 2 else "other things")

    assert await _titles(store, "datab", limit=2) == ["c7", "c5"]
    assert await _pages(store, 3, "datab") == [["c7", "c5", "c3"], ["c1"]]


async def test_chinese_and_japanese_are_found_inside_sentences_at_any_length(
    store: Store,
) -> None:
    study = await _conversation(store, "study")
    await _append(store, study.id, "我们今天学习数据库。")
    hello = await _conversation(store, "hello")
    await _append(store, hello.id, "你好世界")
    mixed = await _conversation(store, "mixed")
    await _append(store, mixed.id, "用SQLite数据库")
    tokyo = await _conversation(store, "tokyo")
    await _append(store, tokyo.id, "昨日、東京タワーに行きました")
    spaced = await _conversation(store, "spaced")
    await _append(store, spaced.id, "我用 SQLite 存数据")

    assert await _titles(store, "学习数据库") == ["study"]
    assert sorted(await _titles(store, "数据库")) == ["mixed", "study"]
    assert sorted(await _titles(store, "数据")) == ["mixed", "spaced", "study"], "two"
    assert sorted(await _titles(store, "数")) == ["mixed", "spaced", "study"], "one"
    assert await _titles(store, "界") == ["hello"], "the last character of a text"
    assert await _titles(store, "世界") == ["hello"], "the last two characters"
    assert await _titles(store, "好世") == ["hello"]
    assert await _titles(store, "sqlite数据库") == ["mixed"], "case folded, no space"
    assert await _titles(store, "タワー") == ["tokyo"]
    assert await _titles(store, "東京 行き") == ["tokyo"], "every term, in one message"
    assert await _titles(store, "东京") == [], "simplified is not traditional"
    assert await _titles(store, "学习 世界") == [], "terms in different messages"
    assert await _titles(store, "数据 sqli") == ["spaced"], "with a word's prefix"


async def test_edited_and_deleted_messages_leave_the_chinese_index(store: Store) -> None:
    conversation = await _conversation(store, "edited")
    message = await _append(store, conversation.id, "我们今天学习数据库。")
    gone = await _conversation(store, "gone")
    await _append(store, gone.id, "这个问题的根本原因是内存泄漏。")

    entry = ContextEntry(id=message.id, role="user", content="请用三句话总结")
    await store.run(lambda r: r.messages.replace_history(conversation.id, [entry]))
    await store.run(lambda r: r.conversations.delete(gone.id))

    assert await _titles(store, "数据库") == []
    assert await _titles(store, "学") == []
    assert await _titles(store, "总结") == ["edited"]
    assert await _titles(store, "内存") == []
    await store.run(
        lambda r: r.db.execute_sql(
            "INSERT INTO message_trigram(message_trigram) VALUES ('integrity-check')"
        )
    )


# Upgrade from schema version 4 -------------------------------------------------------


def _version_4_database(path: Path) -> None:
    """A database as the release with schema version 4 wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = SqliteDatabase(str(path), pragmas={"journal_mode": "wal", "foreign_keys": 1})
    db.connect()
    migrate(db, target=4)
    stamp = "2024-05-01 10:00:00"
    for number, title in enumerate(["Chinese", "English", "Pinned"], start=1):
        db.execute_sql(
            "INSERT INTO conversation (id, session_id, title, owner, pinned, draft, created_at,"
            " updated_at) VALUES (?, ?, ?, 'local', ?, '', ?, ?)",
            (number, f"session-{number}", title, int(title == "Pinned"), stamp, stamp),
        )
    for conversation, content in [
        (1, "我们今天学习数据库。"),
        (1, "昨日、東京タワーに行きました"),
        (2, "Configuring WAL journaling in SQLite"),
        (3, "Pizza 🍕 tonight"),
    ]:
        db.execute_sql(
            "INSERT INTO message (conversation_id, position, role, content, reasoning, status,"
            " created_at) VALUES (?, 1, 'user', ?, '', 'complete', ?)",
            (conversation, content, stamp),
        )
    db.close()


async def test_a_version_4_database_upgrades_in_place_and_stays_searchable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "conversations.sqlite3"
    _version_4_database(path)

    store = await Store.open(path)
    try:
        assert await store.run(lambda r: current_version(r.db)) == LATEST
        listed = [c.title for c in await store.run(lambda r: r.conversations.list())]
        assert listed == ["Pinned", "English", "Chinese"]
        assert await _titles(store, "学习") == ["Chinese"], "indexed by the upgrade"
        assert await _titles(store, "数据库") == ["Chinese"]
        assert await _titles(store, "タワー") == ["Chinese"]
        assert await _titles(store, "journ") == ["English"]
        assert await _titles(store, "🍕") == ["Pinned"]

        await _append(store, "session-2", "后来我们又讨论了缓存")
        assert await _titles(store, "缓存") == ["English"], "written after the upgrade"
    finally:
        await store.close()

    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT COUNT(*) FROM message").fetchone() == (5,)
        names = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
    assert {"conversation_list_order", "message_trigram", "message_id_conversation_id"} <= names
    assert "conversation_owner" not in names
