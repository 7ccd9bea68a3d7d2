"""Search that stops at a page: few matches mapped to conversations, many walked in list
order, both giving the same pages; short words whole; snippets that follow the writes."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from desktop_chat.schemas import Attachment, ContextEntry, Conversation, Message
from desktop_chat.store import Store, search

pytestmark = pytest.mark.asyncio

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
WORDS = ["database", "databases", "datum", "index", "query", "cache", "today"]


async def _conversation(store: Store, title: str, hours: float) -> Conversation:
    stamp = START + timedelta(hours=hours)
    conversation = Conversation(title=title, created_at=stamp, updated_at=stamp)
    return await store.run(lambda r: r.conversations.create(conversation))


async def _append(store: Store, cid: str, content: str) -> Message:
    message = Message(role="user", content=content)
    return await store.run(lambda r: r.messages.append(cid, message))


async def _pages(store: Store, query: str, size: int) -> list[str]:
    """Every page of a search, each asked for after the last row of the one before."""
    titles: list[str] = []
    after = None
    while page := await store.run(
        lambda r, a=after: r.conversations.list(query=query, limit=size, after=a)
    ):
        titles += [c.title for c in page]
        after = page[-1]
    return titles


@pytest_asyncio.fixture
async def corpus(store: Store) -> dict[str, list[str]]:
    """Thirty conversations, their messages drawn from WORDS; the text of each, by title."""
    texts: dict[str, list[str]] = {}
    for i in range(30):
        title = f"c{i:02}" + (" datum title" if i == 11 else "")
        conversation = await _conversation(store, title, hours=(i * 7) % 30)
        texts[title] = []
        for j in range(i % 4):
            text = f"{WORDS[(i + j) % len(WORDS)]} and {WORDS[(i * j) % len(WORDS)]}"
            await _append(store, conversation.id, text)
            texts[title].append(text)
    return texts


def _expected(texts: dict[str, list[str]], order: list[str], prefix: str) -> list[str]:
    """Conversations whose title holds the text, or a message a word starting with it."""
    word = re.compile(rf"\b{re.escape(prefix)}", re.IGNORECASE)
    return [
        t for t in order if prefix.lower() in t.lower() or any(word.search(m) for m in texts[t])
    ]


@pytest.mark.parametrize("sparse_hits", [0, 10**9], ids=["walk-the-list", "map-the-matches"])
@pytest.mark.parametrize("query", ["datab", "datu", "today", "data", "zzz", "query cache"])
async def test_both_ways_list_the_same_pages_in_list_order(
    store: Store,
    corpus: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    sparse_hits: int,
    query: str,
) -> None:
    monkeypatch.setattr(search, "SPARSE_HITS", sparse_hits)
    order = [c.title for c in await store.run(lambda r: r.conversations.list())]
    expected = order
    for term in query.split():
        kept = set(_expected(corpus, order, term))
        expected = [t for t in expected if t in kept]
    if " " in query:  # every term in one message, or the whole text in the title
        expected = [t for t in order if any(all(w in m for w in query.split()) for m in corpus[t])]
    assert await _pages(store, query, 4) == expected
    assert await _pages(store, query, 100) == expected


async def test_two_letters_match_whole_words_three_match_prefixes(store: Store) -> None:
    short = await _conversation(store, "one", hours=1)
    await _append(store, short.id, "AI is everywhere")
    longer = await _conversation(store, "two", hours=2)
    await _append(store, longer.id, "aiohttp is a client")

    assert [c.title for c in await store.run(lambda r: r.conversations.list(query="ai"))] == ["one"]
    assert [c.title for c in await store.run(lambda r: r.conversations.list(query="aio"))] == [
        "two"
    ]


async def test_a_word_in_thousands_of_messages_lists_a_page_and_its_snippets(
    store: Store,
) -> None:
    made = [await _conversation(store, f"c{i}", hours=i) for i in range(5)]
    conversation_ids = await store.run(
        lambda r: [
            row[0]
            for row in r.db.execute_sql(
                "SELECT id FROM conversation ORDER BY updated_at"
            ).fetchall()
        ]
    )

    def insert(r) -> None:  # more matches than SPARSE_HITS, the FTS triggers firing
        rows = [
            (conversation_ids[n % 4], n, "user", f"note {n} about the database", "", "complete")
            for n in range(search.SPARSE_HITS + 50)
        ]
        with r.db.atomic():
            r.db.connection().executemany(
                "INSERT INTO message (conversation_id, position, role, content, reasoning,"
                " status, created_at) VALUES (?, ?, ?, ?, ?, ?, '2024-03-01 09:00:00')",
                rows,
            )

    await store.run(insert)
    found = await store.run(lambda r: r.conversations.list(query="databa", limit=3))
    assert [c.title for c in found] == ["c3", "c2", "c1"], "c4 has no such message"
    hits = await store.run(lambda r: search.search_hits(r.db, [c.id for c in found], "databa"))
    assert {h.conversation_id: h.snippet for h in hits} == {
        made[3].id: "note 3 about the database",
        made[2].id: "note 2 about the database",
        made[1].id: "note 1 about the database",
    }


def _many_messages(r, conversation: Conversation, content: str, n: int) -> None:
    """`n` more messages in `conversation` at once, the FTS triggers firing."""
    [(cid,)] = r.db.execute_sql(
        "SELECT id FROM conversation WHERE session_id = ?", (conversation.id,)
    ).fetchall()
    rows = [(cid, 1000 + i, "user", content, "", "complete") for i in range(n)]
    with r.db.atomic():
        r.db.connection().executemany(
            "INSERT INTO message (conversation_id, position, role, content, reasoning,"
            " status, created_at) VALUES (?, ?, ?, ?, ?, ?, '2024-03-01 09:00:00')",
            rows,
        )


def _snippet_steps(r, conversation: Conversation, query: str) -> tuple[int, list[str]]:
    """SQLite's work (in steps of 10 instructions) for the snippet of one listed
    conversation, its matches already gathered by the list; and the snippets."""
    search.fill_hits(r.db, query)
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    r.db.connection().set_progress_handler(step, 10)
    try:
        hits = search.search_hits(r.db, [conversation.id], query)
    finally:
        r.db.connection().set_progress_handler(None, 0)
    return steps, [h.snippet for h in hits]


async def test_a_snippet_reads_a_conversations_messages_up_to_its_first_match(
    store: Store,
) -> None:
    one = await _conversation(store, "one", hours=1)
    await _append(store, one.id, "the database first")
    many = await _conversation(store, "many", hours=2)
    await _append(store, many.id, "the database first")
    await store.run(lambda r: _many_messages(r, many, "and the database again", 3000))

    few_steps, few_snippets = await store.run(lambda r: _snippet_steps(r, one, "datab"))
    many_steps, many_snippets = await store.run(lambda r: _snippet_steps(r, many, "datab"))

    assert few_snippets == many_snippets == ["the database first"]
    assert many_steps < 2 * few_steps + 50, (few_steps, many_steps)


async def test_a_conversation_listed_for_its_title_alone_has_no_message_read(
    store: Store,
) -> None:
    titled = await _conversation(store, "database notes", hours=1)
    await store.run(lambda r: _many_messages(r, titled, "nothing to see here", 3000))

    found = await store.run(lambda r: r.conversations.list(query="datab"))
    steps, snippets = await store.run(lambda r: _snippet_steps(r, titled, "datab"))

    assert [c.title for c in found] == ["database notes"]
    assert snippets == []
    assert steps < 50, steps


def _with_notes(content: str, data: bytes) -> Message:
    """A user message carrying a text file, notes.txt, holding `data`."""
    notes = Attachment(
        name="notes.txt", mime="text/plain", kind="text", size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), text=data.decode(), data=data,
    )  # fmt: skip
    return Message(role="user", content=content, attachments=[notes])


async def test_a_match_in_both_a_message_and_its_file_is_gathered_once(store: Store) -> None:
    conversation = await _conversation(store, "one", hours=1)
    message = _with_notes("see the database notes", b"the database schema")
    await store.run(lambda r: r.messages.append(conversation.id, message))

    def gathered(r) -> tuple[int, str]:
        count = search.fill_hits(r.db, "datab")
        sql, params = search._matching_messages("datab")
        plan = r.db.execute_sql(
            f"EXPLAIN QUERY PLAN INSERT OR IGNORE INTO temp.search_hit (id) {sql}", params
        ).fetchall()
        return count, " ".join(row[-1] for row in plan)

    count, plan = await store.run(gathered)
    hits = await store.run(lambda r: search.search_hits(r.db, [conversation.id], "datab"))

    assert count == 1
    # Each match goes straight into the table of matches, not through a sort of its own.
    assert "TEMP B-TREE" not in plan, plan
    assert [h.snippet for h in hits] == ["see the database notes"]


async def test_snippets_follow_a_write_made_after_the_list(store: Store) -> None:
    conversation = await _conversation(store, "one", hours=1)
    first = await _append(store, conversation.id, "nothing to see")
    second = await _append(store, conversation.id, "another database")
    found = await store.run(lambda r: r.conversations.list(query="datab"))
    edited = [
        ContextEntry(id=first.id, role="user", content="the database first"),
        ContextEntry(id=second.id, role="user", content="another database"),
    ]
    await store.run(lambda r: r.messages.replace_history(conversation.id, edited))

    hits = await store.run(lambda r: search.search_hits(r.db, [c.id for c in found], "datab"))
    assert [(h.message_id, h.snippet) for h in hits] == [(first.id, "the database first")]


async def test_a_search_finding_little_looks_up_its_conversations_not_the_whole_list(
    store: Store,
) -> None:
    conversation = await _conversation(store, "one", hours=1)
    await _append(store, conversation.id, "a rare word: zymurgy")

    def plan(r) -> str:
        condition, params = search.matching_condition(r.db, "zymurgy")
        rows = r.db.execute_sql(
            "EXPLAIN QUERY PLAN SELECT c.id FROM conversation c WHERE "
            + condition
            + " ORDER BY c.pinned DESC, c.updated_at DESC, c.session_id DESC LIMIT 200",
            params,
        ).fetchall()
        return " ".join(row[-1] for row in rows)

    details = await store.run(plan)
    assert "SEARCH c USING INTEGER PRIMARY KEY" in details, details
    assert "SCAN c USING" not in details, details


async def test_a_reopened_store_searches_afresh(tmp_path) -> None:
    path = tmp_path / "data" / "conversations.sqlite3"
    for attempt in range(3):  # a new connection may take the place of the closed one
        store = await Store.open(path)
        try:
            if attempt == 0:
                conversation = await _conversation(store, "one", hours=1)
                await _append(store, conversation.id, "the database is slow")
            found = await store.run(lambda r: r.conversations.list(query="datab"))
            hits = await store.run(
                lambda r, f=found: search.search_hits(r.db, [c.id for c in f], "datab")
            )
            assert [c.title for c in found] == ["one"]
            assert [h.snippet for h in hits] == ["the database is slow"]
        finally:
            await store.close()


async def test_typing_on_and_back_lists_what_a_fresh_search_would(
    store: Store, corpus: dict[str, list[str]]
) -> None:
    order = [c.title for c in await store.run(lambda r: r.conversations.list())]
    typed = ["dat", "datu", "dat", "data", "datab", "databa", "databases", "databas", "data"]
    for prefix in typed:
        titles = [
            c.title for c in await store.run(lambda r, p=prefix: r.conversations.list(query=p))
        ]
        assert titles == _expected(corpus, order, prefix), prefix


async def test_typing_on_keeps_the_matches_when_they_cannot_change(store: Store) -> None:
    one = await _conversation(store, "one", hours=1)
    await _append(store, one.id, "the database")
    two = await _conversation(store, "two", hours=2)
    await _append(store, two.id, "a dataset")

    def fill(r, text: str) -> tuple[int, int]:
        changes = r.db.connection().total_changes
        count = search.fill_hits(r.db, text)
        return count, r.db.connection().total_changes - changes

    assert await store.run(lambda r: fill(r, "dat")) == (2, 2)
    assert await store.run(lambda r: fill(r, "data")) == (2, 0), "the same two: nothing written"
    assert await store.run(lambda r: fill(r, "datab")) == (1, 3), "two cleared, one written"


async def test_typing_on_past_a_files_match_drops_it(store: Store) -> None:
    in_text = await _conversation(store, "one", hours=1)
    await _append(store, in_text.id, "the data")
    in_file = await _conversation(store, "two", hours=2)
    message = _with_notes("see the file", b"the date of the meeting")
    await store.run(lambda r: r.messages.append(in_file.id, message))

    assert [c.title for c in await store.run(lambda r: r.conversations.list(query="dat"))] == [
        "two",
        "one",
    ]
    assert [c.title for c in await store.run(lambda r: r.conversations.list(query="data"))] == [
        "one"
    ]


async def test_a_short_word_typed_on_becomes_a_prefix(store: Store) -> None:
    conversation = await _conversation(store, "one", hours=1)
    await _append(store, conversation.id, "the database")

    assert await store.run(lambda r: r.conversations.list(query="da")) == []
    assert [c.title for c in await store.run(lambda r: r.conversations.list(query="dat"))] == [
        "one"
    ]
