"""Conversation storage in SQLite; the only package that knows SQL."""

from desktop_chat.store.database import Store, open_repository
from desktop_chat.store.errors import NotFoundError, StoreError
from desktop_chat.store.messages import AT_LEAF
from desktop_chat.store.repository import Repository

__all__ = ["AT_LEAF", "NotFoundError", "Repository", "Store", "StoreError", "open_repository"]
