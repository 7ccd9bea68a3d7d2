"""Writes that every client hears of: a new title, a new current path.

The conversation service and the reply runner both change these; each change is written,
then told on the bus with what views need to show it.
"""

from __future__ import annotations

from desktop_chat.engine.events import EventBus, PathChanged, TitleChanged
from desktop_chat.schemas import ConversationDetail
from desktop_chat.store import Store


async def set_title(store: Store, bus: EventBus, conversation_id: str, title: str) -> None:
    await store.run(lambda r: r.conversations.update(conversation_id, title=title))
    bus.publish(TitleChanged(conversation_id=conversation_id, title=title))


async def publish_path(store: Store, bus: EventBus, conversation_id: str) -> ConversationDetail:
    """Tell every view the conversation's current path (and lists its new count); returns it."""
    detail = await store.run(lambda r: r.conversations.get(conversation_id))
    bus.publish(PathChanged(conversation_id=conversation_id, conversation=detail))
    return detail
