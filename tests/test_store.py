"""The store on real SQLite files: agents, conversations, history, search, and bad files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from peewee import IntegrityError

from desktop_chat.schemas import (
    Agent,
    AgentParams,
    ChatMessage,
    ContextEntry,
    Conversation,
    Message,
    MessageStatus,
)
from desktop_chat.store import NotFoundError, Store, StoreError
from desktop_chat.store.migrations import LATEST, NewerSchemaError, current_version

pytestmark = pytest.mark.asyncio

FIXTURES = Path(__file__).parent / "fixtures"
PAST = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@contextmanager
def _raw(path: Path | str, uri: bool = False) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection, as another program would open the file."""
    with closing(sqlite3.connect(path, uri=uri)) as connection:
        yield connection
        connection.commit()


def _agent(name: str, **fields) -> Agent:
    return Agent(name=name, base_url="http://localhost:11434/v1", model="llama3.2", **fields)


async def _conversation(store: Store, title: str = "", **fields) -> Conversation:
    conversation = Conversation(title=title, **fields)
    return await store.run(lambda r: r.conversations.create(conversation))


async def _append(store: Store, cid: str, role: str, content: str, **fields) -> Message:
    message = Message(role=role, content=content, **fields)
    return await store.run(lambda r: r.messages.append(cid, message))


async def _sql(store: Store, query: str, params: tuple = ()) -> list[tuple]:
    return await store.run(lambda r: r.db.execute_sql(query, params).fetchall())


async def _titles(store: Store, query: str | None = None) -> list[str]:
    return [c.title for c in await store.run(lambda r: r.conversations.list(query=query))]


# Agents ------------------------------------------------------------------------------


async def test_agent_is_saved_then_updated_by_agent_id(store: Store) -> None:
    first = await store.run(lambda r: r.agents.save(_agent("Llama", key_ref="agent:llama")))
    assert first.id is not None

    changed = first.model_copy(
        update={
            "name": "Llama 3.2",
            "model": "llama3.2:3b",
            "params": AgentParams(temperature=0.2, seed=7),
            "preset_messages": [ChatMessage(role="system", content="Be brief.")],
        }
    )
    saved = await store.run(lambda r: r.agents.save(changed))

    agents = await store.run(lambda r: r.agents.list())
    assert [a.agent_id for a in agents] == [first.agent_id]
    assert saved.id == first.id
    assert (saved.name, saved.model, saved.key_ref) == ("Llama 3.2", "llama3.2:3b", "agent:llama")
    assert saved.params.request_kwargs() == {"temperature": 0.2, "seed": 7}
    assert saved.preset_messages == [ChatMessage(role="system", content="Be brief.")]
    assert saved.created_at == first.created_at
    assert saved.updated_at >= first.updated_at


async def test_only_one_agent_is_the_default(store: Store) -> None:
    a = await store.run(lambda r: r.agents.save(_agent("A", is_default=True)))
    b = await store.run(lambda r: r.agents.save(_agent("B", is_default=True)))
    await store.run(lambda r: r.agents.save(_agent("C")))

    defaults = [x.name for x in await store.run(lambda r: r.agents.list()) if x.is_default]
    assert defaults == ["B"]
    assert (await store.run(lambda r: r.agents.default())).agent_id == b.agent_id

    await store.run(lambda r: r.agents.save(a.model_copy(update={"is_default": True})))
    defaults = [x.name for x in await store.run(lambda r: r.agents.list()) if x.is_default]
    assert defaults == ["A"]


async def test_find_agent_by_name_or_id_and_delete_it(store: Store) -> None:
    agent = await store.run(lambda r: r.agents.save(_agent("Local Llama")))
    await store.run(lambda r: r.agents.save(_agent("Other")))

    assert (await store.run(lambda r: r.agents.find("Local Llama"))).agent_id == agent.agent_id
    assert (await store.run(lambda r: r.agents.find(agent.agent_id))).name == "Local Llama"
    with pytest.raises(NotFoundError, match="nobody"):
        await store.run(lambda r: r.agents.find("nobody"))

    conv = await _conversation(store, "uses the agent", agent_id=agent.agent_id)
    await store.run(lambda r: r.agents.delete(agent.agent_id))

    with pytest.raises(NotFoundError):
        await store.run(lambda r: r.agents.get(agent.agent_id))
    with pytest.raises(NotFoundError):
        await store.run(lambda r: r.agents.delete(agent.agent_id))
    assert [a.name for a in await store.run(lambda r: r.agents.list())] == ["Other"]
    kept = await store.run(lambda r: r.conversations.get(conv.id))
    assert kept.title == "uses the agent" and kept.agent_id is None


# Conversations -----------------------------------------------------------------------


async def test_list_puts_pinned_first_then_most_recent(store: Store) -> None:
    for hours, title in [(3, "oldest"), (2, "middle"), (1, "newest")]:
        stamp = PAST - timedelta(hours=hours)
        await _conversation(store, title, created_at=stamp, updated_at=stamp)
    assert await _titles(store) == ["newest", "middle", "oldest"]

    listed = {c.title: c for c in await store.run(lambda r: r.conversations.list())}
    await store.run(lambda r: r.conversations.update(listed["oldest"].id, pinned=True))
    assert await _titles(store) == ["oldest", "newest", "middle"]

    await _append(store, listed["middle"].id, "user", "bump")
    conversations = await store.run(lambda r: r.conversations.list())
    assert [c.title for c in conversations] == ["oldest", "middle", "newest"]
    assert [c.message_count for c in conversations] == [0, 1, 0]
    assert conversations[0].pinned is True


async def test_messages_come_back_in_order_with_their_positions(store: Store) -> None:
    conv = await _conversation(store, "numbers")
    other = await _conversation(store, "other")
    await _append(store, other.id, "user", "elsewhere")
    for i, role in enumerate(["user", "assistant", "user"], start=1):
        await _append(store, conv.id, role, f"message {i}")

    detail = await store.run(lambda r: r.conversations.get(conv.id))
    assert [(m.role, m.content) for m in detail.messages] == [
        ("user", "message 1"),
        ("assistant", "message 2"),
        ("user", "message 3"),
    ]
    assert detail.message_count == 3
    assert all(m.conversation_id == conv.id for m in detail.messages)

    await store.run(lambda r: r.messages.delete(conv.id, detail.messages[1].id))
    await _append(store, conv.id, "assistant", "message 4")
    rows = await _sql(
        store,
        "SELECT m.position, m.content FROM message m JOIN conversation c "
        "ON c.id = m.conversation_id WHERE c.session_id = ? ORDER BY m.position",
        (conv.id,),
    )
    assert rows == [(1, "message 1"), (3, "message 3"), (4, "message 4")]
    with pytest.raises(NotFoundError):
        await store.run(lambda r: r.messages.delete(conv.id, detail.messages[1].id))
    with pytest.raises(NotFoundError):
        await _append(store, "no-such-conversation", "user", "lost")


async def test_update_title_pinned_and_draft_persist(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    conv = await _conversation(store, "first title", created_at=PAST, updated_at=PAST)

    await store.run(lambda r: r.conversations.update(conv.id, pinned=True, draft="half a thou"))
    quiet = await store.run(lambda r: r.conversations.get(conv.id))
    assert quiet.updated_at == PAST, "a draft or a pin must not reorder the list"

    await store.run(lambda r: r.conversations.update(conv.id, title="Better title"))
    await store.close()

    reopened = await Store.open(path)
    try:
        detail = await reopened.run(lambda r: r.conversations.get(conv.id))
        assert (detail.title, detail.pinned, detail.draft) == ("Better title", True, "half a thou")
        assert detail.updated_at > PAST
        await reopened.run(lambda r: r.conversations.update(conv.id, pinned=False, draft=""))
        detail = await reopened.run(lambda r: r.conversations.get(conv.id))
        assert (detail.pinned, detail.draft) == (False, "")
        with pytest.raises(NotFoundError):
            await reopened.run(lambda r: r.conversations.update("missing", title="x"))
    finally:
        await reopened.close()


async def test_delete_conversation_takes_its_messages_along(store: Store) -> None:
    doomed = await _conversation(store, "doomed")
    kept = await _conversation(store, "kept")
    await _append(store, doomed.id, "user", "ephemeral walrus")
    await _append(store, doomed.id, "assistant", "indeed")
    await _append(store, kept.id, "user", "permanent")

    await store.run(lambda r: r.conversations.delete(doomed.id))

    with pytest.raises(NotFoundError):
        await store.run(lambda r: r.conversations.get(doomed.id))
    with pytest.raises(NotFoundError):
        await store.run(lambda r: r.conversations.delete(doomed.id))
    assert await _sql(store, "SELECT content FROM message") == [("permanent",)]
    assert await _titles(store, "walrus") == []
    assert await _sql(store, "SELECT rowid FROM message_fts WHERE message_fts MATCH 'walrus'") == []


async def test_two_open_stores_keep_to_their_own_files(tmp_path: Path) -> None:
    first = await Store.open(tmp_path / "one.sqlite3")
    second = await Store.open(tmp_path / "two.sqlite3")
    try:
        await _conversation(first, "belongs to one")
        await _conversation(second, "belongs to two")
        assert await _titles(first) == ["belongs to one"]
        assert await _titles(second) == ["belongs to two"]
    finally:
        await first.close()
        await second.close()
    for name, title in [("one", "belongs to one"), ("two", "belongs to two")]:
        with _raw(tmp_path / f"{name}.sqlite3") as raw:
            assert raw.execute("SELECT title FROM conversation").fetchall() == [(title,)]


# Editing the history -----------------------------------------------------------------


async def test_replace_history_keeps_reorders_and_deletes(store: Store) -> None:
    conv = await _conversation(store, "edit me")
    q1 = await _append(store, conv.id, "user", "What is WAL?")
    a1 = await _append(
        store,
        conv.id,
        "assistant",
        "Write-ahead logging.",
        reasoning="short answer",
        status=MessageStatus.STOPPED,
        model="llama3.2",
        prompt_tokens=12,
        completion_tokens=4,
        finish_reason="stop",
        ttft_ms=80.5,
        created_at=PAST,
    )
    await _append(store, conv.id, "user", "Drop me")
    await _append(store, conv.id, "assistant", "Me too")

    entries = [
        ContextEntry(id=a1.id, role="assistant", content="Write-ahead logging."),
        ContextEntry(id=q1.id, role="user", content="What is WAL mode?"),
        ContextEntry(role="assistant", content="A journal that lets readers keep reading."),
    ]
    result = await store.run(lambda r: r.messages.replace_history(conv.id, entries))

    assert [(m.id, m.role, m.content) for m in result] == [
        (a1.id, "assistant", "Write-ahead logging."),
        (q1.id, "user", "What is WAL mode?"),
        (result[2].id, "assistant", "A journal that lets readers keep reading."),
    ]
    assert result[2].id not in {q1.id, a1.id}
    kept = result[0]
    assert (kept.reasoning, kept.status, kept.model) == (
        "short answer",
        MessageStatus.STOPPED,
        "llama3.2",
    )
    assert (kept.prompt_tokens, kept.completion_tokens, kept.finish_reason, kept.ttft_ms) == (
        12,
        4,
        "stop",
        80.5,
    )
    assert kept.created_at == PAST
    assert result[1].created_at == q1.created_at
    rows = await _sql(store, "SELECT id, parent_id, content FROM message ORDER BY id")
    assert rows == [  # the order is the chain of parents: each message follows its parent
        (q1.id, a1.id, "What is WAL mode?"),
        (a1.id, None, "Write-ahead logging."),
        (result[2].id, q1.id, "A journal that lets readers keep reading."),
    ]
    assert await _titles(store, "drop") == [], "deleted messages left the search index"


async def test_replace_history_with_a_stranger_id_changes_nothing(store: Store) -> None:
    conv = await _conversation(store, "guarded", created_at=PAST, updated_at=PAST)
    elsewhere = await _conversation(store, "elsewhere")
    mine = [await _append(store, conv.id, "user", f"line {i}") for i in range(3)]
    foreign = await _append(store, elsewhere.id, "user", "not yours")
    before = await _sql(store, "SELECT * FROM message ORDER BY id")
    before_conv = await _sql(store, "SELECT * FROM conversation ORDER BY id")

    for stranger in (987654, foreign.id):
        entries = [
            ContextEntry(id=mine[2].id, role="user", content="rewritten"),
            ContextEntry(role="assistant", content="new"),
            ContextEntry(id=stranger, role="user", content="who?"),
        ]
        with pytest.raises(NotFoundError, match=str(stranger)):
            await store.run(lambda r, e=entries: r.messages.replace_history(conv.id, e))

    assert await _sql(store, "SELECT * FROM message ORDER BY id") == before
    assert await _sql(store, "SELECT * FROM conversation ORDER BY id") == before_conv


# Search ------------------------------------------------------------------------------


async def test_title_search_takes_percent_and_underscore_literally(store: Store) -> None:
    for title in ["100% sure", "1000 reasons", "snake_case names", "snakeXcase", "plain"]:
        await _conversation(store, title)

    assert await _titles(store, "100%") == ["100% sure"]
    assert await _titles(store, "%") == ["100% sure"]
    assert await _titles(store, "e_c") == ["snake_case names"]
    assert await _titles(store, "_") == ["snake_case names"]
    assert await _titles(store, "SNAKE_CASE") == ["snake_case names"]
    assert sorted(await _titles(store, "snake")) == ["snakeXcase", "snake_case names"]
    assert await _titles(store, "\\") == []
    assert len(await _titles(store, "   ")) == 5, "a blank query lists everything"


async def test_message_search_matches_word_prefixes(store: Store) -> None:
    sqlite_chat = await _conversation(store, "Databases")
    await _append(store, sqlite_chat.id, "user", "Configuring WAL journaling in SQLite")
    postgres_chat = await _conversation(store, "Other")
    await _append(store, postgres_chat.id, "user", "Vacuuming Postgres tables")

    assert await _titles(store, "journ") == ["Databases"]
    assert await _titles(store, "sqli") == ["Databases"]
    assert await _titles(store, "configuring SQLITE") == ["Databases"]
    assert await _titles(store, "journal postgres") == [], "every word must match"
    assert await _titles(store, "ournal") == [], "matches start at word boundaries"
    assert await _titles(store, "vacuum") == ["Other"]


async def test_message_search_finds_chinese_and_japanese_words(store: Store) -> None:
    hello = await _conversation(store, "A")
    await _append(store, hello.id, "assistant", "你好世界")
    study = await _conversation(store, "B")
    await _append(store, study.id, "user", "我们今天学习数据库。")
    tokyo = await _conversation(store, "C")
    await _append(store, tokyo.id, "user", "昨日、東京タワーに行きました")

    assert await _titles(store, "你好世界") == ["A"]
    assert await _titles(store, "你好") == ["A"]
    assert await _titles(store, "世界") == ["A"], "a word inside a Chinese sentence"
    assert await _titles(store, "数据库") == ["B"]
    assert await _titles(store, "タワー") == ["C"]
    assert await _titles(store, "东京") == []


async def test_message_search_finds_emoji_and_text_around_them(store: Store) -> None:
    pizza = await _conversation(store, "one")
    await _append(store, pizza.id, "user", "Pizza🍕party tonight 🎉")
    sushi = await _conversation(store, "two")
    await _append(store, sushi.id, "user", "Sushi 🍣 instead?")

    assert await _titles(store, "🍕") == ["one"]
    assert await _titles(store, "🍣") == ["two"]
    assert await _titles(store, "party") == ["one"]
    assert await _titles(store, "pizza") == ["one"]
    assert await _titles(store, "🌮") == []


async def test_message_search_ignores_diacritics_and_case(store: Store) -> None:
    coffee = await _conversation(store, "one")
    await _append(store, coffee.id, "user", "Un café crème à Zürich")
    plain = await _conversation(store, "two")
    await _append(store, plain.id, "user", "a naive resume")

    for query in ["cafe", "CAFÉ", "zurich", "Creme", "cafe\u0301"]:
        assert await _titles(store, query) == ["one"], query
    assert await _titles(store, "résumé") == ["two"]
    assert await _titles(store, "naïve") == ["two"]


async def test_search_survives_full_text_syntax(store: Store) -> None:
    conv = await _conversation(store, "syntax")
    await _append(store, conv.id, "user", 'He said "NEAR" AND left -- content:yes *')
    for query in ['"', "AND", "NEAR(", "*", "content:yes", "-x", "'", "OR NOT", "()", "^a"]:
        await store.run(lambda r, q=query: r.conversations.list(query=q))
    assert await _titles(store, 'said "near"') == ["syntax"]
    assert await _titles(store, "content:yes") == ["syntax"]


# The file itself ---------------------------------------------------------------------


async def test_database_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = tmp_path / "fresh" / "conversations.sqlite3"
        store = await Store.open(path)
        await _conversation(store, "written")
        try:
            assert path.stat().st_mode & 0o777 == 0o600
            wal = path.with_name(path.name + "-wal")
            assert wal.exists() and wal.stat().st_mode & 0o777 == 0o600
        finally:
            await store.close()

        loose = tmp_path / "loose.sqlite3"
        with _raw(loose) as raw:
            raw.execute("CREATE TABLE older (x)")
        loose.chmod(0o644)
        await (await Store.open(loose)).close()
        assert loose.stat().st_mode & 0o777 == 0o600, "an existing file is made private"
    finally:
        os.umask(previous)
    with _raw(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_garbage_file_is_reported_corrupt_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    garbage = b"this is not a database, just some bytes \x00\xff\x13\x37\n" * 200
    path.write_bytes(garbage)

    with pytest.raises(StoreError) as caught:
        await Store.open(path)

    assert caught.value.kind == "corrupt"
    assert str(path) in caught.value.user_message
    assert path.read_bytes() == garbage, "the damaged file must stay as it was"


async def test_damaged_schema_page_is_reported_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    store = await Store.open(path)
    await _conversation(store, "soon unreadable")
    await store.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xde\xad" * 1998
    path.write_bytes(bytes(data))

    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    assert caught.value.kind == "corrupt"


async def test_database_locked_at_start_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other_program (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            await Store.open(path, busy_timeout_ms=100)
        assert caught.value.kind == "locked"
        assert "another program" in caught.value.user_message
        assert time.monotonic() - started < 3, "the busy timeout was not applied"
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    store = await Store.open(path, busy_timeout_ms=100)
    await store.close()


async def test_write_blocked_by_another_program_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    store = await Store.open(path, busy_timeout_ms=100)
    try:
        await _conversation(store, "before the lock")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreError) as caught:
                await _conversation(store, "during the lock")
            assert caught.value.kind == "locked"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await _conversation(store, "after the lock")
        assert sorted(await _titles(store)) == ["after the lock", "before the lock"]
    finally:
        await store.close()


async def test_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    store = await Store.open(path)
    await _conversation(store, "from the future")
    await store.close()
    with _raw(path) as raw:
        raw.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, '2030-01-01 00:00:00')",
            (LATEST + 1,),
        )

    with pytest.raises(NewerSchemaError) as caught:
        await Store.open(path)

    assert isinstance(caught.value, StoreError) and caught.value.kind == "newer_schema"
    assert "update" in caught.value.user_message.lower()
    assert str(LATEST + 1) in caught.value.user_message
    with _raw(path) as raw:
        assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone() == (LATEST + 1,)
        assert raw.execute("SELECT title FROM conversation").fetchall() == [("from the future",)]


# Import ------------------------------------------------------------------------------


async def test_import_writes_whole_conversations_or_nothing(store: Store) -> None:
    existing = await _conversation(store, "already here")
    await _append(store, existing.id, "user", "hello")
    before = await _sql(store, "SELECT COUNT(*) FROM message")

    good = (
        Conversation(title="good one"),
        [Message(role="user", content="q"), Message(role="assistant", content="a")],
        None,
    )
    broken = Message.model_construct(
        role="user", content=None, status=MessageStatus.COMPLETE, created_at=PAST
    )
    bad = (Conversation(title="bad one"), [Message(role="user", content="fine"), broken], None)

    with pytest.raises(IntegrityError):
        await store.run(lambda r: r.conversations.import_many([good, bad]))

    assert await _titles(store) == ["already here"]
    assert await _sql(store, "SELECT COUNT(*) FROM message") == before

    clash = (
        Conversation(id=existing.id, title="same id", created_at=PAST, updated_at=PAST),
        [Message(role="user", content="one"), Message(role="assistant", content="two")],
        None,
    )
    created = await store.run(lambda r: r.conversations.import_many([good, clash]))
    assert len(created) == 2 and existing.id not in created
    imported = await store.run(lambda r: r.conversations.get(created[1]))
    assert imported.title == "same id"
    assert [(m.role, m.content) for m in imported.messages] == [
        ("user", "one"),
        ("assistant", "two"),
    ]
    assert (await store.run(lambda r: r.conversations.get(existing.id))).title == "already here"
    assert await _titles(store, "two") == ["same id"]


# Migration from the first release ----------------------------------------------------


def _dump(connection: sqlite3.Connection) -> dict[str, list[tuple]]:
    return {
        table: connection.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
        for table in ("agent", "conversation", "message", "usage")
    }


async def test_first_release_database_is_migrated_without_loss(tmp_path: Path) -> None:
    fixture = FIXTURES / "schema_v1.sqlite3"
    with _raw(f"file:{fixture}?mode=ro", uri=True) as original:
        assert original.execute("SELECT MAX(version) FROM schema_version").fetchone() == (1,)
        rows = _dump(original)
    assert all(rows.values()), "the fixture should hold rows in every table"
    path = tmp_path / "conversations.sqlite3"
    shutil.copyfile(fixture, path)

    store = await Store.open(path)
    try:
        assert await store.run(lambda r: current_version(r.db)) == LATEST
        after = await store.run(lambda r: _dump(r.db.connection()))
        # Later versions add columns at the end; what the first release wrote is all there.
        assert {t: [row[: len(rows[t][0])] for row in after[t]] for t in rows} == rows

        (agent,) = await store.run(lambda r: r.agents.list())
        assert (agent.name, agent.is_default, agent.params.temperature) == (
            "Local Llama",
            True,
            0.7,
        )
        assert agent.app_preset.greetings == ["Bonjour ! 你好！"]
        assert agent.vision  # an OpenAI agent (schema 8 guesses from the provider)
        conversations = await store.run(lambda r: r.conversations.list())
        assert [c.title for c in conversations] == ["Greetings in Mandarin", "Friday plans 🍕"]
        assert conversations[0].agent_id == agent.agent_id and conversations[0].pinned
        pizza = await store.run(lambda r: r.conversations.get(conversations[1].id))
        assert [(m.content, m.status) for m in pizza.messages] == [
            ("Pizza 🍕 or sushi 🍣 tonight?", MessageStatus.COMPLETE),
            ("Pizza — nobody argues with melted mozzarella", MessageStatus.STOPPED),
            ("", MessageStatus.FAILED),
        ]
        assert pizza.preset_messages == [
            ChatMessage(role="system", content="Answer in one sentence.")
        ]

        assert await _titles(store, "mozzarella") == ["Friday plans 🍕"]
        assert await _titles(store, "shijie") == ["Greetings in Mandarin"]
        assert await _titles(store, "你好世界") == ["Greetings in Mandarin"]
        assert await _titles(store, "utile") == ["Greetings in Mandarin"]
        assert await _titles(store, "🍣") == ["Friday plans 🍕"]

        await _append(store, conversations[1].id, "user", "Tiramisu afterwards")
        assert await _titles(store, "tiramisu") == ["Friday plans 🍕"]
        assert pizza.messages[0].attachments == []  # messages from before attachments
    finally:
        await store.close()

    reopened = await Store.open(path)
    try:
        assert await reopened.run(lambda r: current_version(r.db)) == LATEST
        assert await _titles(reopened, "mozzarella") == ["Friday plans 🍕"]
    finally:
        await reopened.close()


async def test_api_tokens_made_before_gateway_rights_keep_every_agent(tmp_path: Path) -> None:
    from peewee import SqliteDatabase

    from desktop_chat.store.migrations import migrate

    path = tmp_path / "conversations.sqlite3"
    old = SqliteDatabase(str(path))
    migrate(old, target=6)
    old.execute_sql(
        "INSERT INTO api_token (name, hash, created_at) VALUES ('script', ?, ?)",
        ("ab" * 32, "2030-01-01 00:00:00"),
    )
    old.close()

    store = await Store.open(path)
    try:
        assert await store.run(lambda r: current_version(r.db)) == LATEST
        (token,) = await store.run(lambda r: r.tokens.list())
        assert (token.name, token.agents, token.store_conversations) == ("script", None, False)
        assert token.may_use("any-agent-id")
        limited = await store.run(lambda r: r.tokens.create("editor", "cd" * 32, ["a1"], True))
        assert (limited.agents, limited.store_conversations) == (["a1"], True)
        assert limited.may_use("a1") and not limited.may_use("a2")
    finally:
        await store.close()
