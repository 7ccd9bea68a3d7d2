"""The conversation list's model: the engine's conversations, grouped by date.

Qt never owns the data: the model holds the engine's Conversation objects and is told of
changes through engine events. Group headers (Pinned, Today, Yesterday, Earlier) are
rows of their own that cannot be selected.

The store hands the list over a page at a time, in the order it is shown: the first page
when the list is filled or searched, the next one when the view nears the end (Qt's
canFetchMore/fetchMore; the window answers `fetch_requested` with `add_page`). A change
to one conversation moves its row to its new place, found by binary search, so a message
stored while thousands are listed neither sorts the list nor lays the view out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont

from desktop_chat.schemas import Conversation
from desktop_chat.ui.i18n import N_, t

ID_ROLE = Qt.ItemDataRole.UserRole + 1
HEADER_ROLE = Qt.ItemDataRole.UserRole + 2
STREAMING_ROLE = Qt.ItemDataRole.UserRole + 3
GROUPS = (N_("Pinned"), N_("Today"), N_("Yesterday"), N_("Previous 7 days"), N_("Earlier"))
# Every row has one height, headers included, so the view lays out rows without asking
# each one its size (setUniformItemSizes).
ROW_SIZE = QSize(0, 34)
SEARCH_ROW_SIZE = QSize(0, 52)  # search results show a line of the matching message
SNIPPET_ROLE = Qt.ItemDataRole.UserRole + 4
Index = QModelIndex | QPersistentModelIndex
Key = tuple[bool, float, str]


def group_of(conversation: Conversation, now: datetime) -> str:
    if conversation.pinned:
        return GROUPS[0]
    day = conversation.updated_at.astimezone().date()
    today = now.astimezone().date()
    if day >= today:
        return GROUPS[1]
    if day == today - timedelta(days=1):
        return GROUPS[2]
    if day > today - timedelta(days=7):
        return GROUPS[3]
    return GROUPS[4]


def sort_key(conversation: Conversation) -> Key:
    """Largest first: pinned, then the most recent, then by id as the store breaks ties."""
    return (conversation.pinned, conversation.updated_at.timestamp(), conversation.id)


def _now() -> datetime:
    return datetime.now().astimezone()


@dataclass
class _Group:
    """A header row and how many conversation rows follow it."""

    name: str
    count: int


class ConversationListModel(QAbstractListModel):
    """Rows: for each group, its header then its conversations, all in list order."""

    fetch_requested = Signal(object)  # the last Conversation loaded; the next page follows it

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Conversation] = []  # list order
        self._keys: list[Key] = []  # sort_key of each item, so descending
        self._by_id: dict[str, Conversation] = {}
        self._groups: list[_Group] = []
        self._day: date = _now().date()  # the day the groups were counted for
        self._cursor: Conversation | None = None  # the last page's last row, if more follow
        self._fetching = False
        self._streaming: set[str] = set()
        # While the pointer is over the list, rows keep their places: a reply ending in
        # another conversation must not move the row about to be clicked. Changes that
        # would move or add a row wait here (shown in place meanwhile) until it leaves.
        self._held = False
        self._pending: dict[str, Conversation] = {}
        self._snippets: dict[str, str] = {}  # while searching: the words that matched

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items) + len(self._groups)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        located = self._locate(index.row()) if index.isValid() else None
        if located is None:
            return None
        group, item = located
        if role == Qt.ItemDataRole.SizeHintRole:
            return SEARCH_ROW_SIZE if self._snippets else ROW_SIZE
        if item is None:
            if role == Qt.ItemDataRole.DisplayRole:
                return t(self._groups[group].name)
            if role == HEADER_ROLE:
                return True
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                font.setPointSizeF(font.pointSizeF() * 0.85)
                return font
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
            return None
        row = self._items[item]
        if role == Qt.ItemDataRole.DisplayRole:
            title = ("● " if row.id in self._streaming else "") + (
                row.title or t("New conversation")
            )
            snippet = self._snippets.get(row.id)
            return f"{title}\n{snippet}" if snippet else title
        if role == SNIPPET_ROLE:
            return self._snippets.get(row.id, "")
        if role == Qt.ItemDataRole.ToolTipRole:
            stamp = row.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            return f"{row.title or t('New conversation')}\n{stamp} · {row.message_count}"
        if role == ID_ROLE:
            return row.id
        if role == HEADER_ROLE:
            return False
        if role == STREAMING_ROLE:
            return row.id in self._streaming
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        located = self._locate(index.row()) if index.isValid() else None
        if located is None:
            return Qt.ItemFlag.NoItemFlags
        if located[1] is None:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # Pages -------------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._cursor is not None and not self._fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        """Ask for the next page; until `add_page` brings it, no other is asked for.

        A page that never comes (its query failed) leaves the list as it is until the
        next `set_conversations`, rather than asking again at every scroll.
        """
        if self.canFetchMore(parent):
            self._fetching = True
            self.fetch_requested.emit(self._cursor)

    def set_conversations(
        self,
        conversations: list[Conversation],
        more: bool = False,
        snippets: dict[str, str] | None = None,
    ) -> None:
        """Show these conversations only; `more`: the store holds more after them.

        `snippets`: for search results, the words of each that matched.
        """
        ordered = sorted(conversations, key=sort_key, reverse=True)
        self.beginResetModel()
        self._items, self._keys, self._by_id, self._groups = [], [], {}, []
        self._pending = {}
        self._snippets = dict(snippets or {})
        self._day = _now().date()
        self._fetching = False
        self._cursor = ordered[-1] if more and ordered else None
        self._append(ordered, self._group_names(ordered))
        self.endResetModel()

    def add_page(
        self, conversations: list[Conversation], more: bool, snippets: dict[str, str] | None = None
    ) -> None:
        """The page asked for by `fetch_requested` arrived; `more`: others follow it."""
        self._snippets.update(snippets or {})
        ordered = sorted(conversations, key=sort_key, reverse=True)
        self._fetching = False
        self._cursor = ordered[-1] if more and ordered else None
        new = [c for c in ordered if c.id not in self._by_id]
        if not new:
            return
        self._regroup_on_a_new_day()
        if self._keys and sort_key(new[0]) > self._keys[-1]:
            # Rows listed ahead of their page (a conversation opened from elsewhere) lie
            # among these: each goes to its place.
            for conversation in new:
                self._insert(conversation)
            return
        names = self._group_names(new)
        previous = [self._groups[-1].name] if self._groups else [""]
        headers = sum(1 for a, b in zip(previous + names[:-1], names, strict=True) if a != b)
        first = self.rowCount()
        self.beginInsertRows(QModelIndex(), first, first + len(new) + headers - 1)
        self._append(new, names)
        self.endInsertRows()

    # Changes -----------------------------------------------------------------------

    def upsert(self, conversation: Conversation) -> None:
        """A conversation was created or changed: update or move its row.

        One the list does not show yet is added only if its place lies within the pages
        loaded; otherwise its page brings it.
        """
        loaded = self._cursor is None or sort_key(conversation) > sort_key(self._cursor)
        if loaded or conversation.id in self._by_id:
            self.include(conversation)

    def include(self, conversation: Conversation) -> None:
        """Show this conversation at its place, even beyond the pages loaded (it is open)."""
        if self._held and self._would_move(conversation):
            self._pending[conversation.id] = conversation
            self._show_in_place(conversation)
            return
        self._regroup_on_a_new_day()
        if conversation.id in self._by_id:
            self._move(conversation)
        else:
            self._insert(conversation)

    def hold(self, held: bool) -> None:
        """Keep rows in place while `held` (the pointer is over the list); then catch up."""
        self._held = held
        if not held:
            pending, self._pending = self._pending, {}
            for conversation in pending.values():
                self.include(conversation)

    def _would_move(self, conversation: Conversation) -> bool:
        listed = self._by_id.get(conversation.id)
        if listed is None:
            return True  # a new row would push the others down
        now = _now()
        return sort_key(listed) != sort_key(conversation) or group_of(listed, now) != group_of(
            conversation, now
        )

    def _show_in_place(self, conversation: Conversation) -> None:
        """A held change: the row shows the new title and count where it is."""
        listed = self._by_id.get(conversation.id)
        if listed is None:
            return
        item = self._position(sort_key(listed))
        self._items[item] = conversation  # its key (and so its place) stays the old one
        row = self.index(item + self._group_of_item(item) + 1)
        self.dataChanged.emit(row, row)

    def remove(self, conversation_id: str) -> None:
        self._pending.pop(conversation_id, None)
        conversation = self._by_id.get(conversation_id)
        if conversation is None:
            return
        item = self._position(sort_key(conversation))
        group = self._group_of_item(item)
        row = item + group + 1
        alone = self._groups[group].count == 1
        self.beginRemoveRows(QModelIndex(), row - alone, row)  # its header goes with the last
        if alone:
            del self._groups[group]
        else:
            self._groups[group].count -= 1
        del self._items[item], self._keys[item], self._by_id[conversation_id]
        self.endRemoveRows()

    def get(self, conversation_id: str) -> Conversation | None:
        return self._pending.get(conversation_id) or self._by_id.get(conversation_id)

    def row_of(self, conversation_id: str) -> int | None:
        conversation = self._by_id.get(conversation_id)
        if conversation is None:
            return None
        item = self._position(sort_key(conversation))
        return item + self._group_of_item(item) + 1

    def is_streaming(self, conversation_id: str) -> bool:
        return conversation_id in self._streaming

    def set_streaming(self, conversation_id: str, streaming: bool) -> None:
        if streaming:
            self._streaming.add(conversation_id)
        else:
            self._streaming.discard(conversation_id)
        row = self.row_of(conversation_id)
        if row is not None:
            self.dataChanged.emit(self.index(row), self.index(row))

    @property
    def conversation_count(self) -> int:
        """How many conversations are loaded (the store may hold more: canFetchMore)."""
        return len(self._by_id)

    # Rows, items and groups ----------------------------------------------------------

    def _locate(self, row: int) -> tuple[int, int | None] | None:
        """The group of a row and its item (None for the group's header)."""
        first = 0
        for number, group in enumerate(self._groups):
            if row == 0:
                return number, None
            if 0 < row <= group.count:
                return number, first + row - 1
            row -= group.count + 1
            first += group.count
        return None

    def _group_of_item(self, item: int) -> int:
        end = 0
        for number, group in enumerate(self._groups):
            end += group.count
            if item < end:
                return number
        raise IndexError(item)

    def _position(self, key: Key) -> int:
        """The item index of `key`, or where it would go: the first item not above it."""
        low, high = 0, len(self._keys)
        while low < high:
            middle = (low + high) // 2
            if self._keys[middle] > key:
                low = middle + 1
            else:
                high = middle
        return low

    def _group_slot(self, name: str) -> tuple[int, bool]:
        """The index of group `name` in `_groups`, and whether it is there already."""
        rank = GROUPS.index(name)
        for number, group in enumerate(self._groups):
            if group.name == name:
                return number, True
            if GROUPS.index(group.name) > rank:
                return number, False
        return len(self._groups), False

    def _header_row(self, group: int) -> int:
        return sum(g.count + 1 for g in self._groups[:group])

    def _add_header(self, name: str) -> int:
        """The index of group `name`, its (still empty) header row inserted if missing."""
        number, present = self._group_slot(name)
        if not present:
            row = self._header_row(number)
            self.beginInsertRows(QModelIndex(), row, row)
            self._groups.insert(number, _Group(name, 0))
            self.endInsertRows()
        return number

    def _group_names(self, conversations: list[Conversation]) -> list[str]:
        now = _now()
        return [group_of(c, now) for c in conversations]

    def _append(self, conversations: list[Conversation], names: list[str]) -> None:
        """Add rows after the last one, opening a group where the date changes."""
        for conversation, name in zip(conversations, names, strict=True):
            if not self._groups or self._groups[-1].name != name:
                self._groups.append(_Group(name, 0))
            self._groups[-1].count += 1
            self._items.append(conversation)
            self._keys.append(sort_key(conversation))
            self._by_id[conversation.id] = conversation

    def _insert(self, conversation: Conversation) -> None:
        key = sort_key(conversation)
        item = self._position(key)
        group = self._add_header(group_of(conversation, _now()))
        row = item + group + 1
        self.beginInsertRows(QModelIndex(), row, row)
        self._groups[group].count += 1
        self._items.insert(item, conversation)
        self._keys.insert(item, key)
        self._by_id[conversation.id] = conversation
        self.endInsertRows()

    def _move(self, conversation: Conversation) -> None:
        """Put a listed conversation that changed in its new place; selections follow it."""
        key = sort_key(conversation)
        old = self._position(sort_key(self._by_id[conversation.id]))
        place = self._position(key)  # counted with the old row still in the list
        new = place - 1 if place > old else place
        name = group_of(conversation, _now())
        if new == old and self._groups[self._group_of_item(old)].name == name:
            self._items[old] = conversation
            self._keys[old] = key
            self._by_id[conversation.id] = conversation
            row = self.index(old + self._group_of_item(old) + 1)
            self.dataChanged.emit(row, row)
            return
        group = self._add_header(name)
        source_group = self._group_of_item(old)
        source = old + source_group + 1
        self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), place + group + 1)
        self._groups[source_group].count -= 1
        self._groups[group].count += 1
        del self._items[old], self._keys[old]
        self._items.insert(new, conversation)
        self._keys.insert(new, key)
        self._by_id[conversation.id] = conversation
        self.endMoveRows()
        if self._groups[source_group].count == 0:
            header = self._header_row(source_group)
            self.beginRemoveRows(QModelIndex(), header, header)
            del self._groups[source_group]
            self.endRemoveRows()
        row = self.index(new + self._group_of_item(new) + 1)
        self.dataChanged.emit(row, row)

    def _regroup_on_a_new_day(self) -> None:
        """After midnight "Today" is "Yesterday": count the groups again, keeping selections."""
        if _now().date() == self._day:
            return
        self._day = _now().date()
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        located = [self._locate(index.row()) for index in persistent]
        items = self._items
        self._items, self._keys, self._groups = [], [], []
        self._append(items, self._group_names(items))
        for index, place in zip(persistent, located, strict=True):
            item = place[1] if place is not None else None
            if item is None:  # a header: its group may be gone
                self.changePersistentIndex(index, QModelIndex())
            else:
                self.changePersistentIndex(index, self.index(item + self._group_of_item(item) + 1))
        self.layoutChanged.emit()
