"""Synchronous database operations. They run only on the store's worker thread."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from peewee import SqliteDatabase, fn

from desktop_chat.schemas import (
    Agent,
    ApiToken,
    ChatMessage,
    ContextEntry,
    Conversation,
    ConversationDetail,
    Message,
    ModelUsage,
    SearchHit,
    UsageRecord,
    UsageStats,
    new_id,
)
from desktop_chat.store import convert
from desktop_chat.store.errors import NotFoundError, StoreError
from desktop_chat.store.models import (
    AgentRow,
    ApiTokenRow,
    ConversationRow,
    MessageRow,
    UsageRow,
)

_UNSET = object()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


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
        parts.append("SELECT rowid FROM message_fts WHERE message_fts MATCH ?")
        params.append(" ".join(words))
    return " INTERSECT ".join(parts), params


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


class Repository:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    # Agents -----------------------------------------------------------------

    def list_agents(self) -> list[Agent]:
        rows = AgentRow.select().order_by(AgentRow.name.collate("NOCASE"), AgentRow.id)
        return [convert.agent_from_row(r) for r in rows]

    def get_agent(self, agent_id: str) -> Agent:
        row = AgentRow.get_or_none(AgentRow.agent_id == agent_id)
        if row is None:
            raise NotFoundError("agent", agent_id)
        return convert.agent_from_row(row)

    def find_agent(self, name_or_id: str) -> Agent:
        row = AgentRow.get_or_none(
            (AgentRow.agent_id == name_or_id) | (AgentRow.name == name_or_id)
        )
        if row is None:
            raise NotFoundError("agent", name_or_id)
        return convert.agent_from_row(row)

    def default_agent(self) -> Agent | None:
        row = AgentRow.select().order_by(AgentRow.is_default.desc(), AgentRow.id).first()
        return convert.agent_from_row(row) if row else None

    def save_agent(self, agent: Agent) -> Agent:
        """Insert or update by agent_id; only one agent can be the default."""
        fields = convert.agent_to_fields(agent)
        fields["updated_at"] = _now()
        with self.db.atomic():
            if agent.is_default:
                AgentRow.update(is_default=False).where(
                    AgentRow.agent_id != agent.agent_id
                ).execute()
            existing = AgentRow.get_or_none(AgentRow.agent_id == agent.agent_id)
            if existing is None:
                AgentRow.create(**fields)
            else:
                fields.pop("created_at")
                AgentRow.update(**fields).where(AgentRow.id == existing.id).execute()
        return self.get_agent(agent.agent_id)

    def delete_agent(self, agent_id: str) -> None:
        if AgentRow.delete().where(AgentRow.agent_id == agent_id).execute() == 0:
            raise NotFoundError("agent", agent_id)

    # Conversations -------------------------------------------------------------

    def _conversation_row(self, session_id: str, owner: str | None = None) -> ConversationRow:
        query = ConversationRow.select().where(ConversationRow.session_id == session_id)
        if owner is not None:
            query = query.where(ConversationRow.owner == owner)
        row = query.first()
        if row is None:
            raise NotFoundError("conversation", session_id)
        return row

    def create_conversation(self, conversation: Conversation) -> Conversation:
        agent_pk = None
        if conversation.agent_id is not None:
            agent_pk = self._agent_pk(conversation.agent_id)
        ConversationRow.create(
            session_id=conversation.id,
            agent=agent_pk,
            title=conversation.title,
            owner=conversation.owner,
            pinned=conversation.pinned,
            preset_messages=convert.dump_messages(conversation.preset_messages),
            draft=conversation.draft,
            created_at=convert.to_db_time(conversation.created_at),
            updated_at=convert.to_db_time(conversation.updated_at),
        )
        return self.get_conversation(conversation.id)

    def _agent_pk(self, agent_id: str) -> int:
        row = AgentRow.get_or_none(AgentRow.agent_id == agent_id)
        if row is None:
            raise NotFoundError("agent", agent_id)
        return row.id

    def list_conversations(
        self,
        owner: str | None = None,
        query: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        after: Conversation | None = None,
    ) -> list[Conversation]:
        """Pinned first, then most recently active; `query` matches titles and message text.

        `after` is the last conversation of the page before: the next page starts after
        its place in this order, so conversations that moved to the top since (a new
        message) are neither repeated nor skipped, as they would be with `offset`.
        Plain SQL and unvalidated models: the list is read on every search keystroke and
        at start-up, and rows written by this store need no second validation.
        """
        sql = (
            "SELECT c.session_id, a.agent_id, c.title, c.owner, c.pinned, c.preset_messages,"
            " c.draft, c.created_at, c.updated_at,"
            " (SELECT COUNT(*) FROM message m WHERE m.conversation_id = c.id)"
            " FROM conversation c LEFT JOIN agent a ON a.id = c.agent_id"
        )
        where: list[str] = []
        params: list[object] = []
        if owner is not None:
            where.append("c.owner = ?")
            params.append(owner)
        if query and query.strip():
            matching, matching_params = self._matching_conversations(query)
            # The unary + keeps SQLite on the list-order index (V5), stopping at the end
            # of the page, rather than looking up and sorting every match.
            where.append(f"+c.id IN ({matching})")
            params.extend(matching_params)
        if after is not None:
            where.append("(c.pinned, c.updated_at, c.session_id) < (?, ?, ?)")
            params.extend([int(after.pinned), str(convert.to_db_time(after.updated_at)), after.id])
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.pinned DESC, c.updated_at DESC, c.session_id DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params.extend([limit, offset])
        return [convert.conversation_from_tuple(row) for row in self.db.execute_sql(sql, params)]

    def _matching_conversations(self, query: str) -> tuple[str, list[object]]:
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

    def search_hits(self, session_ids: list[str], query: str) -> list[SearchHit]:
        """For each listed conversation, the first message matching `query` and a snippet.

        Asked for the page of results the list shows, so its cost follows the page, not
        the whole database. Conversations that matched by title alone have no hit.
        """
        text = query.strip()
        if not session_ids or (len(text) < 2 and text.isascii()):
            return []
        matching, params = _matching_messages(text)
        marks = ",".join("?" * len(session_ids))
        sql = (
            "SELECT c.session_id, m.id, m.content FROM message m"
            " JOIN conversation c ON c.id = m.conversation_id"
            " WHERE m.id IN (SELECT MIN(id) FROM message"
            f" WHERE conversation_id IN (SELECT id FROM conversation WHERE session_id IN ({marks}))"
            f" AND id IN ({matching}) GROUP BY conversation_id)"
        )
        rows = self.db.execute_sql(sql, [*session_ids, *params])
        return [
            SearchHit(conversation_id=cid, message_id=mid, snippet=_snippet(content, text))
            for cid, mid, content in rows
        ]

    def get_conversation(self, session_id: str, owner: str | None = None) -> ConversationDetail:
        row = self._conversation_row(session_id, owner)
        messages = self._messages_of(row)
        base = self._summary_of(row, len(messages))
        return ConversationDetail(**base.model_dump(), messages=messages)

    def conversation_summary(self, session_id: str, owner: str | None = None) -> Conversation:
        """What the list shows of a conversation: everything but its messages, counted.

        Renames, pins, drafts and ownership checks answer with this, so their cost does not
        grow with the conversation.
        """
        row = self._conversation_row(session_id, owner)
        count = MessageRow.select().where(MessageRow.conversation == row.id).count()
        return self._summary_of(row, count)

    def _summary_of(self, row: ConversationRow, message_count: int) -> Conversation:
        agent_slug = AgentRow.get_by_id(row.agent_id).agent_id if row.agent_id else None
        return convert.conversation_from_row(row, agent_slug, message_count)

    def update_conversation(
        self,
        session_id: str,
        *,
        title: str | None = None,
        pinned: bool | None = None,
        draft: str | None = None,
        agent_id: str | None = None,
        preset_messages: list[ChatMessage] | object | None = _UNSET,
        owner: str | None = None,
    ) -> Conversation:
        row = self._conversation_row(session_id, owner)
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"] = title
        if pinned is not None:
            changes["pinned"] = pinned
        if draft is not None:
            changes["draft"] = draft
        if agent_id is not None:
            changes["agent"] = self._agent_pk(agent_id)
        if preset_messages is not _UNSET:
            changes["preset_messages"] = convert.dump_messages(preset_messages)  # type: ignore[arg-type]
        if changes:
            if set(changes) - {"draft", "pinned"}:
                changes["updated_at"] = _now()
            ConversationRow.update(**changes).where(ConversationRow.id == row.id).execute()
        return self.conversation_summary(session_id)

    def delete_conversation(self, session_id: str, owner: str | None = None) -> None:
        row = self._conversation_row(session_id, owner)
        with self.db.atomic():
            MessageRow.delete().where(MessageRow.conversation == row.id).execute()
            row.delete_instance()

    # Messages -------------------------------------------------------------------

    def list_messages(self, session_id: str) -> list[Message]:
        return self._messages_of(self._conversation_row(session_id))

    def _messages_of(self, row: ConversationRow) -> list[Message]:
        rows = (
            MessageRow.select()
            .where(MessageRow.conversation == row.id)
            .order_by(MessageRow.position, MessageRow.id)
        )
        return [convert.message_from_row(r, row.session_id) for r in rows]

    def append_message(
        self, session_id: str, message: Message, usage: UsageRecord | None = None
    ) -> Message:
        """Add a message at the end, with its usage record, in one transaction."""
        with self.db.atomic():
            conv = self._conversation_row(session_id)
            last = (
                MessageRow.select(fn.MAX(MessageRow.position))
                .where(MessageRow.conversation == conv.id)
                .scalar()
            )
            row = MessageRow.create(
                conversation=conv.id,
                position=(last or 0) + 1,
                **convert.message_to_fields(message),
            )
            ConversationRow.update(updated_at=_now()).where(ConversationRow.id == conv.id).execute()
            if usage is not None:
                self.record_usage(usage)
        return convert.message_from_row(row, session_id)

    def delete_message(self, session_id: str, message_id: int) -> None:
        conv = self._conversation_row(session_id)
        deleted = (
            MessageRow.delete()
            .where((MessageRow.id == message_id) & (MessageRow.conversation == conv.id))
            .execute()
        )
        if deleted == 0:
            raise NotFoundError("message", str(message_id))

    def replace_history(self, session_id: str, entries: list[ContextEntry]) -> list[Message]:
        """Make the stored history equal `entries`: keep metadata of messages that stay."""
        with self.db.atomic():
            conv = self._conversation_row(session_id)
            existing = {
                r.id: r for r in MessageRow.select().where(MessageRow.conversation == conv.id)
            }
            keep = {e.id for e in entries if e.id is not None}
            unknown = keep - existing.keys()
            if unknown:
                raise NotFoundError("message", ", ".join(str(i) for i in sorted(unknown)))
            gone = [i for i in existing if i not in keep]
            if gone:
                MessageRow.delete().where(MessageRow.id.in_(gone)).execute()
            for position, entry in enumerate(entries, start=1):
                if entry.id is None:
                    MessageRow.create(
                        conversation=conv.id,
                        position=position,
                        role=entry.role,
                        content=entry.content,
                        created_at=_now(),
                    )
                    continue
                row = existing[entry.id]
                if (row.position, row.role, row.content) != (position, entry.role, entry.content):
                    MessageRow.update(
                        position=position, role=entry.role, content=entry.content
                    ).where(MessageRow.id == row.id).execute()
            ConversationRow.update(updated_at=_now()).where(ConversationRow.id == conv.id).execute()
        return self.list_messages(session_id)

    def import_conversations(self, items: list[tuple[Conversation, list[Message]]]) -> list[str]:
        """Insert whole conversations in one transaction; clashing ids get fresh ones."""
        created = []
        with self.db.atomic():
            for conversation, messages in items:
                session_id = conversation.id
                if ConversationRow.get_or_none(ConversationRow.session_id == session_id):
                    session_id = new_id()
                agent = None
                if conversation.agent_id:
                    agent = AgentRow.get_or_none(AgentRow.agent_id == conversation.agent_id)
                row = ConversationRow.create(
                    session_id=session_id,
                    agent=agent.id if agent else None,
                    title=conversation.title,
                    owner=conversation.owner,
                    pinned=conversation.pinned,
                    preset_messages=convert.dump_messages(conversation.preset_messages),
                    draft="",
                    created_at=convert.to_db_time(conversation.created_at),
                    updated_at=convert.to_db_time(conversation.updated_at),
                )
                rows = [
                    {"conversation": row.id, "position": i, **convert.message_to_fields(m)}
                    for i, m in enumerate(messages, start=1)
                ]
                for batch in range(0, len(rows), 500):
                    MessageRow.insert_many(rows[batch : batch + 500]).execute()
                created.append(session_id)
        return created

    # Usage ----------------------------------------------------------------------

    def record_usage(self, usage: UsageRecord) -> None:
        data = usage.model_dump()
        UsageRow.create(
            conversation_session_id=data.pop("conversation_id"),
            **{
                **data,
                "status": usage.status.value,
                "created_at": convert.to_db_time(usage.created_at),
            },
        )

    def list_usage(
        self, since: datetime | None = None, owner: str | None = None
    ) -> list[UsageRecord]:
        """Requests since `since`, oldest first; `owner` keeps only its conversations'."""
        query = UsageRow.select().order_by(UsageRow.created_at)
        if since is not None:
            query = query.where(UsageRow.created_at >= convert.to_db_time(since))
        if owner is not None:
            query = query.join(
                ConversationRow, on=(UsageRow.conversation_session_id == ConversationRow.session_id)
            ).where(ConversationRow.owner == owner)
        return [
            UsageRecord(
                conversation_id=r.conversation_session_id,
                agent_id=r.agent_id,
                model=r.model,
                status=r.status,
                prompt_tokens=r.prompt_tokens,
                completion_tokens=r.completion_tokens,
                ttft_ms=r.ttft_ms,
                duration_ms=r.duration_ms,
                error_kind=r.error_kind,
                created_at=convert.from_db_time(r.created_at),
            )
            for r in query
        ]

    def usage_stats(self, owner: str | None = None) -> UsageStats:
        """Requests, tokens and failures per model; `owner` counts only its conversations.

        A scoped count joins the conversation table, so the usage of a deleted
        conversation is still in the totals for everyone but no longer in its owner's.
        """
        failed = "SUM(CASE WHEN u.status = 'failed' THEN 1 ELSE 0 END)"
        sql = (
            "SELECT u.model, COUNT(*), COALESCE(SUM(u.prompt_tokens), 0),"
            f" COALESCE(SUM(u.completion_tokens), 0), {failed} FROM usage u"
        )
        params: list[object] = []
        if owner is not None:
            sql += " JOIN conversation c ON c.session_id = u.conversation_session_id"
            sql += " WHERE c.owner = ?"
            params.append(owner)
        sql += " GROUP BY u.model ORDER BY COUNT(*) DESC, u.model"
        by_model = [
            ModelUsage(
                model=model,
                requests=requests,
                prompt_tokens=prompt,
                completion_tokens=completion,
                errors=errors or 0,
            )
            for model, requests, prompt, completion, errors in self.db.execute_sql(sql, params)
        ]
        return UsageStats(
            requests=sum(m.requests for m in by_model),
            prompt_tokens=sum(m.prompt_tokens for m in by_model),
            completion_tokens=sum(m.completion_tokens for m in by_model),
            errors=sum(m.errors for m in by_model),
            by_model=by_model,
        )

    # API tokens -----------------------------------------------------------------

    def create_api_token(self, name: str, token_hash: str) -> ApiToken:
        """Store a new client under a name not yet in use."""
        if ApiTokenRow.get_or_none(ApiTokenRow.name == name) is not None:
            raise StoreError(
                "exists",
                f"An API token named {name!r} already exists; revoke it first or pick "
                "another name.",
            )
        row = ApiTokenRow.create(name=name, hash=token_hash, created_at=_now())
        return _api_token(row)

    def list_api_tokens(self) -> list[ApiToken]:
        return [_api_token(r) for r in ApiTokenRow.select().order_by(ApiTokenRow.name)]

    def api_token_hashes(self) -> list[tuple[str, str]]:
        """(name, hash) of every client, for a constant-time comparison done by the caller."""
        return [(r.name, r.hash) for r in ApiTokenRow.select(ApiTokenRow.name, ApiTokenRow.hash)]

    def revoke_api_token(self, name: str) -> None:
        if ApiTokenRow.delete().where(ApiTokenRow.name == name).execute() == 0:
            raise NotFoundError("API token", name)

    def touch_api_token(self, name: str) -> None:
        ApiTokenRow.update(last_used_at=_now()).where(ApiTokenRow.name == name).execute()


def _api_token(row: ApiTokenRow) -> ApiToken:
    used = row.last_used_at
    return ApiToken(
        name=row.name,
        created_at=convert.from_db_time(row.created_at),
        last_used_at=convert.from_db_time(used) if used is not None else None,
    )
