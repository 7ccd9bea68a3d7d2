"""Conversations in the database: their rows, the list, summaries, forks and imports."""

from __future__ import annotations

from peewee import SqliteDatabase

from desktop_chat.schemas import (
    ChatMessage,
    Conversation,
    ConversationArchive,
    ConversationDetail,
    Message,
    new_id,
)
from desktop_chat.store import convert
from desktop_chat.store.agents import agent_pk
from desktop_chat.store.clock import db_now
from desktop_chat.store.errors import NotFoundError
from desktop_chat.store.messages import Messages
from desktop_chat.store.models import AgentRow, ConversationRow, MessageRow
from desktop_chat.store.rows import conversation_row
from desktop_chat.store.search import matching_condition

_UNSET = object()


class Conversations:
    def __init__(self, db: SqliteDatabase, messages: Messages) -> None:
        self.db = db
        self._messages = messages

    def create(self, conversation: Conversation) -> Conversation:
        agent_pk_ = None
        if conversation.agent_id is not None:
            agent_pk_ = agent_pk(conversation.agent_id)
        ConversationRow.create(
            session_id=conversation.id,
            agent=agent_pk_,
            title=conversation.title,
            owner=conversation.owner,
            pinned=conversation.pinned,
            preset_messages=convert.dump_messages(conversation.preset_messages),
            draft=conversation.draft,
            created_at=convert.to_db_time(conversation.created_at),
            updated_at=convert.to_db_time(conversation.updated_at),
        )
        return self.get(conversation.id)

    def list(
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
            # On the list-order index (V5), stopping at the end of the page, rather than
            # looking up and sorting every match.
            matching, matching_params = matching_condition(self.db, query)
            where.append(matching)
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

    def get(self, session_id: str, owner: str | None = None) -> ConversationDetail:
        """The conversation with its current path, and the versions along that path."""
        row = conversation_row(session_id, owner)
        messages, tree, leaf = self._messages.path(row)
        base = self._summary_of(row, len(tree.parent))
        return ConversationDetail(
            **base.model_dump(),
            messages=messages,
            current_message_id=leaf,
            versions=tree.versions([m.id for m in messages if m.id is not None]),
        )

    def archive(self, session_id: str, owner: str | None = None) -> ConversationArchive:
        """The conversation as exported: its current path and every version of every message."""
        detail = self.get(session_id, owner)
        every = self._messages.every(session_id)
        return ConversationArchive(**detail.model_dump(), every_message=every)

    def fork(
        self, session_id: str, at_message_id: int, fork: Conversation, owner: str | None = None
    ) -> ConversationDetail:
        """A new conversation `fork` holding copies of the path up to `at_message_id`.

        It shares nothing with its origin: later edits of either leave the other alone.
        """
        with self.db.atomic():
            origin = conversation_row(session_id, owner)
            tree = self._messages.tree(origin)
            if at_message_id not in tree:
                raise NotFoundError("message", str(at_message_id))
            ids = tree.path_to(at_message_id)
            found = self._messages.read(ids, fork.id)
            copies = [found[i].model_copy(update={"id": None}) for i in ids]
            self.create(fork)
            self._messages.write_path(conversation_row(fork.id), copies)
        return self.get(fork.id)

    def summary(self, session_id: str, owner: str | None = None) -> Conversation:
        """What the list shows of a conversation: everything but its messages, counted.

        Renames, pins, drafts and ownership checks answer with this, so their cost does not
        grow with the conversation.
        """
        row = conversation_row(session_id, owner)
        count = MessageRow.select().where(MessageRow.conversation == row.id).count()
        return self._summary_of(row, count)

    def _summary_of(self, row: ConversationRow, message_count: int) -> Conversation:
        agent_slug = AgentRow.get_by_id(row.agent_id).agent_id if row.agent_id else None
        return convert.conversation_from_row(row, agent_slug, message_count)

    def update(
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
        row = conversation_row(session_id, owner)
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"] = title
        if pinned is not None:
            changes["pinned"] = pinned
        if draft is not None:
            changes["draft"] = draft
        if agent_id is not None:
            changes["agent"] = agent_pk(agent_id)
        if preset_messages is not _UNSET:
            changes["preset_messages"] = convert.dump_messages(preset_messages)  # type: ignore[arg-type]
        if changes:
            if set(changes) - {"draft", "pinned"}:
                changes["updated_at"] = db_now()
            ConversationRow.update(**changes).where(ConversationRow.id == row.id).execute()
        return self.summary(session_id)

    def delete(self, session_id: str, owner: str | None = None) -> None:
        row = conversation_row(session_id, owner)
        with self.db.atomic():
            MessageRow.delete().where(MessageRow.conversation == row.id).execute()
            row.delete_instance()

    def import_many(self, items: list[tuple[Conversation, list[Message], int | None]]) -> list[str]:
        """Insert whole conversations in one transaction; clashing ids get fresh ones.

        Each comes with its messages and the id (among theirs) of its current leaf. Messages
        with ids and parents are written as the tree they describe; without, as one path.
        """
        created = []
        with self.db.atomic():
            for conversation, messages, current in items:
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
                if any(m.id is not None for m in messages):
                    self._messages.write_tree(row, messages, current)
                else:
                    self._messages.write_path(row, messages)
                created.append(session_id)
        return created
