"""Search over titles and message text: the SQL that finds matching conversations.

The word index (FTS5, migration V2) answers words of spaced scripts by prefix, the
trigram index (V5) answers Chinese and Japanese by substring. The matching messages' ids
are gathered once per keystroke into a temporary table (kept when the keystroke cannot
have changed them, counted rather than written again); the list query in
conversations.py then either maps a few of them to their conversations, or, when there
are many, walks the list in its order and stops at the end of the page (a conversation
matches as soon as one of its messages is in the table).
"""

from __future__ import annotations

import re
import sqlite3

from peewee import SqliteDatabase

from desktop_chat.schemas import SearchHit

# Scripts written without spaces between words (Chinese, Japanese). The word index makes a
# whole run of them one token, so a word inside a sentence is found by the trigram index
# instead, which holds the messages with these characters (migration V5, same ranges).
_UNSPACED_SCRIPT = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
)
# Above every character: `term < prefix + _LAST` holds for every term starting with prefix.
_LAST = "\U0010ffff"
# A word of spaced scripts this short is looked for whole, not as a prefix: "da" begins
# more than a quarter of a million words in a million messages, and reading them all
# costs more than a keystroke may; "AI", "Go" or "UI" are still found.
WHOLE_WORD_BELOW = 3
# Matching messages up to which they are mapped to their conversations; with more, the
# list is walked in its order instead, each conversation checked against them.
SPARSE_HITS = 2_000


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word must match, by prefix
    from WHOLE_WORD_BELOW characters on, whole below that."""
    words = re.findall(r"\w+", text, flags=re.UNICODE)
    if not words:
        return None
    return " ".join(
        '"' + w.replace('"', '""') + '"' + ("*" if len(w) >= WHOLE_WORD_BELOW else "")
        for w in words
    )


def _matching_messages(text: str) -> tuple[str, list[object]]:
    """A sub-select of the ids of the messages that hold every typed term.

    Words of spaced scripts are prefixes in the word index; a term with Chinese or
    Japanese in it is a substring in the trigram index (one or two characters: the
    prefix of a trigram, which V5 gives every character); a term with no word in it
    (emoji, symbols) is looked for in the text itself, which reads every message.
    """
    parts: list[str] = []
    params: list[object] = []
    words: list[str] = []
    for term in text.split():
        if _UNSPACED_SCRIPT.search(term):
            folded = term.lower()  # the trigram index folds case
            if len(folded) >= 3:
                parts.append("SELECT rowid FROM message_trigram WHERE message_trigram MATCH ?")
                params.append('"' + folded.replace('"', '""') + '"')
            else:
                parts.append("SELECT doc FROM message_trigram_terms WHERE term >= ? AND term < ?")
                params.extend([folded, folded + _LAST])
        elif (match := fts_query(term)) is not None:
            words.append(match)
        else:
            parts.append("SELECT id FROM message WHERE content LIKE ? ESCAPE '\\'")
            params.append(_like_pattern(term))
    if words:
        # The text of attached files and PDFs (V8) counts as the message's own. UNION ALL:
        # the table the ids go into (or INTERSECT) drops a message named twice; UNION
        # would sort every match into a B-tree of its own first, a third of the time of
        # a common prefix ("dat": 130,000 messages in a million).
        parts.append(f"SELECT id FROM ({_IN_TEXT} UNION ALL {_IN_FILES})")
        params.extend([" ".join(words)] * 2)
    return " INTERSECT ".join(parts), params


_IN_TEXT = "SELECT rowid AS id FROM message_fts WHERE message_fts MATCH ?"
_IN_FILES = (
    "SELECT message_id FROM attachment WHERE id IN"
    " (SELECT rowid FROM attachment_fts WHERE attachment_fts MATCH ?)"
)
_PLAIN_WORD = re.compile(r"[a-z0-9]+")


def _plain_words(text: str) -> str | None:
    """For words of Latin letters and digits only, their query in the word index (each
    a prefix from WHOLE_WORD_BELOW letters on); None for any other text."""
    terms = text.lower().split()
    if not terms or not all(_PLAIN_WORD.fullmatch(term) for term in terms):
        return None
    return " ".join(w for term in terms if (w := fts_query(term)) is not None)


def _titles_only(text: str) -> bool:
    """One typed letter matches nearly every message: titles answer at once, and the
    messages are searched from the second keystroke on (an emoji or a CJK character is a
    word of its own and is searched at once)."""
    return len(text) < 2 and text.isascii()


def fill_hits(db: SqliteDatabase, text: str) -> int:
    """Gather the ids of the messages matching `text` into temp.search_hit; how many.

    Kept until the next search on this connection: the snippets of the page just listed
    (search_hits) reuse it while nothing was written since, and so does the next
    keystroke when it cannot have changed the matches ("dat", then "data").
    """
    conn = db.connection()
    version = db.execute_sql("PRAGMA data_version").fetchone()[0]
    filled = _filled.get(id(conn))
    if (
        filled is not None
        and filled[0] is conn
        and filled[2:4] == (version, conn.total_changes)
        and (filled[1] == text or _same_matches(db, filled[1], text, filled[4]))
    ):
        _remember(conn, text, version, filled[4])
        return db.execute_sql("SELECT count(*) FROM temp.search_hit").fetchone()[0]
    db.execute_sql("CREATE TEMP TABLE IF NOT EXISTS search_hit (id INTEGER PRIMARY KEY)")
    db.execute_sql("DELETE FROM temp.search_hit")
    counts = None
    if (words := _plain_words(text)) is not None:
        # The matches in the messages' text and in their files, counted apart for the
        # next keystroke's _same_matches (the table is empty: each text match is new).
        in_text = db.execute_sql(f"INSERT INTO temp.search_hit (id) {_IN_TEXT}", (words,))
        db.execute_sql(f"INSERT OR IGNORE INTO temp.search_hit (id) {_IN_FILES}", (words,))
        counts = (in_text.rowcount, _file_matches(db, words))
    else:
        messages, params = _matching_messages(text)
        # OR IGNORE: the trigram index's vocabulary names a message once per matching term.
        db.execute_sql(f"INSERT OR IGNORE INTO temp.search_hit (id) {messages}", params)
    count = db.execute_sql("SELECT count(*) FROM temp.search_hit").fetchone()[0]
    _remember(conn, text, version, counts)
    return count


def _remember(
    conn: sqlite3.Connection, text: str, version: int, counts: tuple[int, int] | None
) -> None:
    _filled.pop(id(conn), None)
    _filled[id(conn)] = (conn, text, version, conn.total_changes, counts)
    while len(_filled) > 4:  # connections of stores closed since; one per store in use
        del _filled[next(iter(_filled))]


# The query whose hits each connection's temp.search_hit holds, with the database's
# version and the connection's own change count when it was filled, and for plain words
# how many messages matched by their text and by their files. The connection is held so
# that its id cannot pass to a new connection, whose temp table would be empty.
_filled: dict[int, tuple[sqlite3.Connection, str, int, int, tuple[int, int] | None]] = {}


def _file_matches(db: SqliteDatabase, words: str) -> int:
    """How many messages have a file matching `words` (a query of _plain_words)."""
    return db.execute_sql(
        f"SELECT count(DISTINCT message_id) FROM ({_IN_FILES})", (words,)
    ).fetchone()[0]


def _same_matches(db: SqliteDatabase, old: str, new: str, counts: tuple[int, int] | None) -> bool:
    """`new` matches exactly the messages `old` matched, which temp.search_hit holds.

    Typing on narrows a search: when every word typed before is a prefix (searched as
    one) and goes on as one of the new words, the new matches are among the old, so
    the same number of them means the same messages, counted in the word index without
    writing them all again (130,000 for "dat", then "data", in a million messages).
    """
    before, after = old.lower().split(), new.lower().split()
    words = _plain_words(new)
    if counts is None or words is None or len(after) < len(before):
        return False
    pairs = zip(before, after[: len(before)], strict=True)
    if not all(len(a) >= WHOLE_WORD_BELOW and b.startswith(a) for a, b in pairs):
        return False
    in_text = db.execute_sql(
        "SELECT count(*) FROM message_fts WHERE message_fts MATCH ?", (words,)
    ).fetchone()[0]
    return (in_text, _file_matches(db, words)) == counts


def matching_condition(db: SqliteDatabase, query: str) -> tuple[str, list[object]]:
    """A condition on `c` (a conversation row) that holds when its title or messages match.

    Few matching messages: mapped to their conversations through a covering index, so a
    search that finds little answers at once. Many: each conversation the list walks is
    checked for a message among them while the list is read in its order (the V5 index),
    which stops at the end of the page: many matches fill it quickly.
    """
    text = query.strip()
    title = "c.title LIKE ? ESCAPE '\\'"
    params: list[object] = [_like_pattern(text)]
    if _titles_only(text):
        return title, params
    if fill_hits(db, text) > SPARSE_HITS:
        return (
            f"({title} OR EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = c.id"
            " AND EXISTS (SELECT 1 FROM temp.search_hit h WHERE h.id = m.id)))",
            params,
        )
    # INDEXED BY: the covering index maps message ids to conversations without reading
    # the messages themselves (SQLite would pick the table's own rowid).
    return (
        "c.id IN (SELECT id FROM conversation WHERE title LIKE ? ESCAPE '\\'"
        " UNION ALL SELECT conversation_id FROM message INDEXED BY message_id_conversation_id"
        " WHERE id IN (SELECT id FROM temp.search_hit))",
        params,
    )


def _snippet(content: str, query: str, before: int = 30, after: int = 90) -> str:
    """The words around the first typed term found in `content`, on one line."""
    folded = content.lower()
    found = [i for term in query.lower().split() if (i := folded.find(term)) >= 0]
    start = min(found) if found else 0
    first, last = max(0, start - before), min(len(content), start + after)
    if first > 0:  # begin at a word
        space = content.find(" ", first, start)
        first = space + 1 if space >= 0 else first
    piece = " ".join(content[first:last].split())
    return ("…" if first > 0 else "") + piece + ("…" if last < len(content) else "")


def search_hits(db: SqliteDatabase, session_ids: list[str], query: str) -> list[SearchHit]:
    """For each listed conversation, the first message matching `query` and a snippet.

    Asked for the page of results the list shows, so its cost follows the page, not the
    whole database. Every version of every message is searched; conversations that
    matched by title alone have no hit.
    """
    text = query.strip()
    if not session_ids or _titles_only(text):
        return []
    if fill_hits(db, text) == 0:  # listed for their titles alone: no message to read
        return []
    marks = ",".join("?" * len(session_ids))
    # Each listed conversation's messages are read in id order (the index on
    # conversation_id, id) and checked against the hits until the first one: with a
    # common word that is one of its first few, not all of them. EXISTS, not IN: SQLite
    # would otherwise walk every hit, a quarter of a million for a common word.
    sql = (
        "SELECT c.session_id, m.id, m.content,"
        " (SELECT group_concat(a.text, ' ') FROM attachment a WHERE a.message_id = m.id)"
        " FROM conversation c"
        " JOIN message m ON m.id = (SELECT f.id FROM message f WHERE f.conversation_id = c.id"
        " AND EXISTS (SELECT 1 FROM temp.search_hit h WHERE h.id = f.id) ORDER BY f.id LIMIT 1)"
        f" WHERE c.session_id IN ({marks})"
    )
    rows = db.execute_sql(sql, session_ids)
    return [
        SearchHit(
            conversation_id=cid,
            message_id=mid,
            snippet=_snippet(_matched_text(content, files or "", text), text),
        )
        for cid, mid, content, files in rows
    ]


def _matched_text(content: str, files: str, query: str) -> str:
    """The message's text, or its files' when only they hold what was searched (V8)."""
    folded = content.lower()
    if not files or any(term in folded for term in query.lower().split()):
        return content
    return files
