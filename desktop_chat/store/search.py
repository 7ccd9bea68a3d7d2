"""Search over titles and message text: the SQL that finds matching conversations.

The word index (FTS5, migration V2) answers words of spaced scripts by prefix, the
trigram index (V5) answers Chinese and Japanese by substring; the list query in
conversations.py narrows itself to the ids these sub-selects return.
"""

from __future__ import annotations

import re

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


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 prefix query (every word must match)."""
    words = re.findall(r"\w+", text, flags=re.UNICODE)
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


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
        # The text of attached files and PDFs (V8) counts as the message's own.
        parts.append(
            "SELECT id FROM (SELECT rowid AS id FROM message_fts WHERE message_fts MATCH ?"
            " UNION SELECT message_id FROM attachment WHERE id IN"
            " (SELECT rowid FROM attachment_fts WHERE attachment_fts MATCH ?))"
        )
        params.extend([" ".join(words)] * 2)
    return " INTERSECT ".join(parts), params


def matching_conversations(query: str) -> tuple[str, list[object]]:
    """A sub-select of the ids of conversations whose title or messages match."""
    text = query.strip()
    titles = "SELECT id FROM conversation WHERE title LIKE ? ESCAPE '\\'"
    params: list[object] = [_like_pattern(text)]
    if len(text) < 2 and text.isascii():
        # One typed letter matches nearly every message: titles answer at once, and
        # the messages are searched from the second keystroke on (an emoji or a CJK
        # character is a word of its own and is searched at once).
        return titles, params
    messages, message_params = _matching_messages(text)
    # INDEXED BY: the covering index maps message ids to conversations without
    # reading the messages themselves (SQLite would pick the table's own rowid).
    return (
        f"{titles} UNION ALL SELECT conversation_id FROM message"
        f" INDEXED BY message_id_conversation_id WHERE id IN ({messages})",
        [*params, *message_params],
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
    if not session_ids or (len(text) < 2 and text.isascii()):
        return []
    matching, params = _matching_messages(text)
    marks = ",".join("?" * len(session_ids))
    sql = (
        "SELECT c.session_id, m.id, m.content,"
        " (SELECT group_concat(a.text, ' ') FROM attachment a WHERE a.message_id = m.id)"
        " FROM message m"
        " JOIN conversation c ON c.id = m.conversation_id"
        " WHERE m.id IN (SELECT MIN(id) FROM message"
        f" WHERE conversation_id IN (SELECT id FROM conversation WHERE session_id IN ({marks}))"
        f" AND id IN ({matching}) GROUP BY conversation_id)"
    )
    rows = db.execute_sql(sql, [*session_ids, *params])
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
