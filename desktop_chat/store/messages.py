"""Messages in the database: a conversation's history, appended one row at a time."""

from __future__ import annotations

from peewee import SqliteDatabase, fn

from desktop_chat.schemas import ContextEntry, Message, UsageRecord
from desktop_chat.store import convert
from desktop_chat.store.clock import db_now
from desktop_chat.store.errors import NotFoundError
from desktop_chat.store.models import ConversationRow, MessageRow
from desktop_chat.store.rows import conversation_row, touch
from desktop_chat.store.usage import Usage


class Messages:
    def __init__(self, db: SqliteDatabase, usage: Usage) -> None:
        self.db = db
        self._usage = usage

    def list(self, session_id: str) -> list[Message]:
        return self.of_row(conversation_row(session_id))

    def of_row(self, row: ConversationRow) -> list[Message]:
        rows = (
            MessageRow.select()
            .where(MessageRow.conversation == row.id)
            .order_by(MessageRow.position, MessageRow.id)
        )
        return [convert.message_from_row(r, row.session_id) for r in rows]

    def append(
        self, session_id: str, message: Message, usage: UsageRecord | None = None
    ) -> Message:
        """Add a message at the end, with its usage record, in one transaction."""
        with self.db.atomic():
            conv = conversation_row(session_id)
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
            touch(conv)
            if usage is not None:
                self._usage.record(usage)
        return convert.message_from_row(row, session_id)

    def delete(self, session_id: str, message_id: int) -> None:
        conv = conversation_row(session_id)
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
            conv = conversation_row(session_id)
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
                        created_at=db_now(),
                    )
                    continue
                row = existing[entry.id]
                if (row.position, row.role, row.content) != (position, entry.role, entry.content):
                    MessageRow.update(
                        position=position, role=entry.role, content=entry.content
                    ).where(MessageRow.id == row.id).execute()
            touch(conv)
        return self.list(session_id)
