"""Row look-ups every subject of the store needs."""

from __future__ import annotations

from desktop_chat.store.clock import db_now
from desktop_chat.store.errors import NotFoundError
from desktop_chat.store.models import ConversationRow


def conversation_row(session_id: str, owner: str | None = None) -> ConversationRow:
    query = ConversationRow.select().where(ConversationRow.session_id == session_id)
    if owner is not None:
        query = query.where(ConversationRow.owner == owner)
    row = query.first()
    if row is None:
        raise NotFoundError("conversation", session_id)
    return row


def touch(conversation: ConversationRow) -> None:
    """The conversation was active now: it moves to the top of the list."""
    ConversationRow.update(updated_at=db_now()).where(
        ConversationRow.id == conversation.id
    ).execute()
