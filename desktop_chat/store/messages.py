"""Messages in the database: a tree per conversation, and the path that is current.

Every message names the one it follows (`parent_id`); the conversation names the leaf of
its current path. Writing a message below the current leaf makes it the new leaf; a
regenerated reply or an edited question is written below the same parent as the one it
replaces, so both stay (see tree.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from peewee import SqliteDatabase, fn

from desktop_chat.schemas import ContextEntry, Message, UsageRecord
from desktop_chat.store import convert
from desktop_chat.store.errors import NotFoundError
from desktop_chat.store.files import Files
from desktop_chat.store.models import ConversationRow, MessageRow
from desktop_chat.store.rows import conversation_row, touch
from desktop_chat.store.tree import Tree
from desktop_chat.store.usage import Usage


class _AtLeaf:
    """Below the conversation's current leaf: where a new message goes by default."""


AT_LEAF = _AtLeaf()
_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit of bound parameters


class Messages:
    def __init__(self, db: SqliteDatabase, usage: Usage, files: Files) -> None:
        self.db = db
        self._usage = usage
        self.files = files

    # Reading ----------------------------------------------------------------------------

    def tree(self, conv: ConversationRow) -> Tree:
        """The conversation's shape: ids and parents, from one covering index."""
        cursor = self.db.execute_sql(
            "SELECT id, parent_id FROM message WHERE conversation_id = ?", (conv.id,)
        )
        return Tree(cursor.fetchall())

    @staticmethod
    def current_leaf(conv: ConversationRow, tree: Tree) -> int | None:
        """Where the current path ends; the newest leaf when that is unknown or deleted.

        It need not be a leaf of the tree: while a reply is regenerated, the path ends at
        the question, above the earlier replies.
        """
        current = conv.current_message
        if current is not None and current in tree:
            return int(current)
        return tree.newest_leaf(None)

    def path(self, conv: ConversationRow) -> tuple[list[Message], Tree, int | None]:
        """The current path's messages from the first, the tree, and the current leaf."""
        tree = self.tree(conv)
        leaf = self.current_leaf(conv, tree)
        ids = tree.path_to(leaf)
        found = self.read(ids, conv.session_id)
        return [found[i] for i in ids], tree, leaf

    def list(self, session_id: str) -> list[Message]:
        """The messages of the current path, from the first."""
        return self.path(conversation_row(session_id))[0]

    def every(self, session_id: str) -> list[Message]:
        """Every version of every message, in the order they were written (for export)."""
        conv = conversation_row(session_id)
        rows = MessageRow.select().where(MessageRow.conversation == conv.id).order_by(MessageRow.id)
        found = [convert.message_from_row(r, session_id) for r in rows]
        attached = self.files.of(m.id for m in found if m.id is not None)
        for message in found:
            message.attachments = attached.get(message.id, [])  # type: ignore[arg-type]
        return found

    def read(self, ids: list[int], session_id: str) -> dict[int, Message]:
        """The messages `ids` by id, read as plain rows (see convert.message_from_tuple)."""
        found: dict[int, Message] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            cursor = self.db.execute_sql(
                f"SELECT {convert.MESSAGE_COLUMNS} FROM message"
                f" WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for row in cursor:
                found[row[0]] = convert.message_from_tuple(row, session_id)
        for message_id, attachments in self.files.of(ids).items():
            found[message_id].attachments = attachments
        return found

    def rows(self, ids: list[int]) -> dict[int, MessageRow]:
        found: dict[int, MessageRow] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found.update((r.id, r) for r in MessageRow.select().where(MessageRow.id.in_(chunk)))
        return found

    # Writing ----------------------------------------------------------------------------

    def append(
        self,
        session_id: str,
        message: Message,
        usage: UsageRecord | None = None,
        parent: int | _AtLeaf | None = AT_LEAF,
        *,
        keep_path: bool = False,
        blobs: Mapping[str, bytes] | None = None,
    ) -> Message:
        """Write `message` below `parent` and make it the current leaf, in one transaction.

        With `keep_path`, it becomes current only when the current path ends at `parent`:
        a reply recovered after the conversation went on is kept as another version. The
        usage record of the request that produced it is written in the same transaction.
        `blobs` holds the bytes of its attachments not stored yet, by sha256.
        """
        with self.db.atomic():
            conv = conversation_row(session_id)
            leaf = None
            if keep_path or isinstance(parent, _AtLeaf):
                leaf = self.current_leaf(conv, self.tree(conv))
            if isinstance(parent, _AtLeaf):
                parent = leaf
            elif parent is not None and not _belongs(parent, conv):
                raise NotFoundError("message", str(parent))
            row = self._insert(conv, message.model_copy(update={"parent_id": parent}), blobs)
            self._set_current(conv, leaf if keep_path and leaf != parent else row.id)
            if usage is not None:
                self._usage.record(usage)
        stored = convert.message_from_row(row, session_id)
        stored.attachments = list(message.attachments)
        return stored

    def _insert(
        self, conv: ConversationRow, message: Message, blobs: Mapping[str, bytes] | None = None
    ) -> MessageRow:
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
        if message.attachments:
            self.files.attach(row.id, message.attachments, blobs or {})
        return row

    @staticmethod
    def _set_current(conv: ConversationRow, leaf: int | None, *, active: bool = True) -> None:
        """Remember where the current path ends; `active` also moves it up the list."""
        conv.current_message = leaf
        ConversationRow.update(current_message=leaf).where(ConversationRow.id == conv.id).execute()
        if active:
            touch(conv)

    def show(self, session_id: str, message_id: int) -> int:
        """Make the path through `message_id` current; returns its leaf.

        The leaf is the newest one below it: switching to a version shows where the
        conversation went on from it most recently.
        """
        with self.db.atomic():
            conv = conversation_row(session_id)
            tree = self.tree(conv)
            if message_id not in tree:
                raise NotFoundError("message", str(message_id))
            leaf = tree.newest_leaf(message_id)
            assert leaf is not None
            self._set_current(conv, leaf, active=False)
        return leaf

    def point_at(self, session_id: str, message_id: int | None) -> None:
        """End the current path at `message_id` exactly, whatever follows it."""
        with self.db.atomic():
            conv = conversation_row(session_id)
            if message_id is not None and not _belongs(message_id, conv):
                raise NotFoundError("message", str(message_id))
            self._set_current(conv, message_id, active=False)

    def delete(self, session_id: str, message_id: int, *, subtree: bool = False) -> None:
        """Delete one message; its replies move up to its parent, or go too with `subtree`."""
        with self.db.atomic():
            conv = conversation_row(session_id)
            tree = self.tree(conv)
            if message_id not in tree:
                raise NotFoundError("message", str(message_id))
            parent = tree.parent[message_id]
            gone = tree.subtree(message_id) if subtree else [message_id]
            if not subtree:
                MessageRow.update(parent=parent).where(MessageRow.parent == message_id).execute()
            self._delete_rows(gone)
            current = conv.current_message
            if current is None or current in gone:
                remaining = self.tree(conv)
                leaf = remaining.newest_leaf(parent if parent in remaining else None)
                self._set_current(conv, leaf)

    @staticmethod
    def _delete_rows(ids: list[int]) -> None:
        for start in range(0, len(ids), _CHUNK):
            MessageRow.delete().where(MessageRow.id.in_(ids[start : start + _CHUNK])).execute()

    def replace_history(self, session_id: str, entries: list[ContextEntry]) -> list[Message]:
        """Make the current path equal `entries`, keeping the metadata of messages that stay.

        Messages of the path that are left out are deleted (their other versions move up
        to take their place); entries without an id are written as new messages. Other
        versions hanging off messages that stay keep hanging there.
        """
        with self.db.atomic():
            conv = conversation_row(session_id)
            tree = self.tree(conv)
            path = tree.path_to(self.current_leaf(conv, tree))
            keep = {e.id for e in entries if e.id is not None}
            unknown = keep - set(path)
            if unknown:
                raise NotFoundError("message", ", ".join(str(i) for i in sorted(unknown)))
            gone = [i for i in path if i not in keep]
            for message_id in gone:
                up = tree.parent[message_id]
                while up in gone:  # the nearest ancestor that stays
                    up = tree.parent[up]
                MessageRow.update(parent=up).where(MessageRow.parent == message_id).execute()
            self._delete_rows(gone)
            existing = self.rows(sorted(keep))
            parent: int | None = None
            for entry in entries:
                if entry.id is None:
                    fresh = Message(role=entry.role, content=entry.content, parent_id=parent)
                    parent = self._insert(conv, fresh).id
                    continue
                row = existing[entry.id]
                if (row.parent, row.role, row.content) != (parent, entry.role, entry.content):
                    MessageRow.update(parent=parent, role=entry.role, content=entry.content).where(
                        MessageRow.id == row.id
                    ).execute()
                parent = entry.id
            self._set_current(conv, parent)
        return self.list(session_id)

    def write_path(self, conv: ConversationRow, messages: Iterable[Message]) -> int | None:
        """Write `messages` as one path from the root of `conv`; returns its leaf.

        For conversations made whole: a fork, or an import of the linear shape.
        """
        parent: int | None = None
        for message in messages:
            parent = self._insert(conv, message.model_copy(update={"parent_id": parent})).id
        self._set_current(conv, parent, active=False)
        return parent

    def write_tree(
        self, conv: ConversationRow, messages: list[Message], current: int | None
    ) -> int | None:
        """Write `messages` with their own ids and parents (an export); returns the leaf.

        Ids are given anew, parents always before their children; a message whose parent
        is not among them (or that is caught in a loop) becomes a first message.
        """
        by_id = {m.id: m for m in messages if m.id is not None}
        waiting: dict[int | None, list[Message]] = {}
        for message in messages:
            known = message.parent_id in by_id and message.parent_id != message.id
            waiting.setdefault(message.parent_id if known else None, []).append(message)
        new_ids: dict[int, int] = {}
        ready: deque[tuple[int | None, Message]] = deque((None, m) for m in waiting.pop(None, []))
        while ready or waiting:
            if not ready:  # only loops are left: break one
                _, stuck = waiting.popitem()
                ready = deque((None, m) for m in stuck)
            parent, message = ready.popleft()
            row = self._insert(conv, message.model_copy(update={"parent_id": parent}))
            if message.id is not None:
                new_ids[message.id] = row.id
                ready.extend((row.id, child) for child in waiting.pop(message.id, []))
        tree = self.tree(conv)
        leaf = tree.newest_leaf(new_ids.get(current) if current is not None else None)
        self._set_current(conv, leaf, active=False)
        return leaf


def _belongs(message_id: int, conv: ConversationRow) -> bool:
    return (
        MessageRow.select(MessageRow.id)
        .where((MessageRow.id == message_id) & (MessageRow.conversation == conv.id))
        .exists()
    )
