"""The conversation list: a Qt model over the engine's conversations, grouped by date.

Qt never owns the data: the model holds the engine's Conversation objects and is told of
changes through engine events. Group headers (Pinned, Today, Yesterday, Earlier) are
rows of their own that cannot be selected.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.schemas import Conversation
from desktop_chat.ui.i18n import N_, t

ID_ROLE = Qt.ItemDataRole.UserRole + 1
HEADER_ROLE = Qt.ItemDataRole.UserRole + 2
STREAMING_ROLE = Qt.ItemDataRole.UserRole + 3
GROUPS = (N_("Pinned"), N_("Today"), N_("Yesterday"), N_("Previous 7 days"), N_("Earlier"))
Index = QModelIndex | QPersistentModelIndex


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


class ConversationListModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self._conversations: dict[str, Conversation] = {}
        self._rows: list[str | Conversation] = []
        self._row_of: dict[str, int] = {}
        self._streaming: set[str] = set()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if isinstance(row, str):
            if role == Qt.ItemDataRole.DisplayRole:
                return t(row)
            if role == HEADER_ROLE:
                return True
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                font.setPointSizeF(font.pointSizeF() * 0.85)
                return font
            if role == Qt.ItemDataRole.SizeHintRole:
                return QSize(0, 26)
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            title = row.title or t("New conversation")
            return ("● " if row.id in self._streaming else "") + title
        if role == Qt.ItemDataRole.ToolTipRole:
            stamp = row.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            return f"{row.title or t('New conversation')}\n{stamp} · {row.message_count}"
        if role == ID_ROLE:
            return row.id
        if role == HEADER_ROLE:
            return False
        if role == STREAMING_ROLE:
            return row.id in self._streaming
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(0, 34)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if isinstance(self._rows[index.row()], str):
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # Feeding the model -------------------------------------------------------------

    def set_conversations(self, conversations: list[Conversation]) -> None:
        self.beginResetModel()
        self._conversations = {c.id: c for c in conversations}
        self._set_rows(self._grouped())
        self.endResetModel()

    def _set_rows(self, rows: list[str | Conversation]) -> None:
        self._rows = rows
        self._row_of = {self._key(r): i for i, r in enumerate(rows)}

    def _grouped(self) -> list[str | Conversation]:
        now = datetime.now().astimezone()
        ordered = sorted(
            self._conversations.values(),
            key=lambda c: (not c.pinned, -c.updated_at.timestamp()),
        )
        rows: list[str | Conversation] = []
        current = None
        for conversation in ordered:
            group = group_of(conversation, now)
            if group != current:
                rows.append(group)
                current = group
            rows.append(conversation)
        return rows

    def upsert(self, conversation: Conversation) -> None:
        """A conversation was created or changed: update its row, or regroup if it moved."""
        old_row = self._row_of.get(conversation.id)
        previous = self._conversations.get(conversation.id)
        self._conversations[conversation.id] = conversation
        if (
            previous is not None
            and old_row is not None
            and (previous.pinned, previous.updated_at)
            == (conversation.pinned, conversation.updated_at)
        ):
            self._rows[old_row] = conversation  # same place: only its text changed
            self.dataChanged.emit(self.index(old_row), self.index(old_row))
            return
        self.layoutAboutToBeChanged.emit()
        old_keys = [self._key(r) for r in self._rows]
        persistent = self.persistentIndexList()
        self._set_rows(self._grouped())
        for index in persistent:
            row = index.row()
            target = self._row_of.get(old_keys[row]) if 0 <= row < len(old_keys) else None
            self.changePersistentIndex(
                index, self.index(target) if target is not None else QModelIndex()
            )
        self.layoutChanged.emit()

    @staticmethod
    def _key(row: str | Conversation) -> str:
        return "#" + row if isinstance(row, str) else row.id

    def remove(self, conversation_id: str) -> None:
        self._conversations.pop(conversation_id, None)
        self.set_conversations(list(self._conversations.values()))

    def get(self, conversation_id: str) -> Conversation | None:
        return self._conversations.get(conversation_id)

    def row_of(self, conversation_id: str) -> int | None:
        return self._row_of.get(conversation_id)

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
        return len(self._conversations)


class ConversationList(QWidget):
    """Search box, New button and the list, with a context menu for each conversation."""

    selected = Signal(str)
    new_requested = Signal()
    search_changed = Signal(str)
    rename_requested = Signal(str)
    pin_requested = Signal(str, bool)
    export_requested = Signal(str)
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.model = ConversationListModel()
        self.new_button = QPushButton(t("New chat"))
        self.new_button.setObjectName("newChatButton")
        self.new_button.setToolTip(t("New conversation (Ctrl+N)"))
        self.new_button.clicked.connect(self.new_requested)
        self.search = QLineEdit()
        self.search.setObjectName("searchBox")
        self.search.setPlaceholderText(t("Search conversations (Ctrl+F)"))
        self.search.setAccessibleName(t("Search conversations"))
        self.search.setClearButtonEnabled(True)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(120)
        self._debounce.timeout.connect(lambda: self.search_changed.emit(self.search.text()))
        self.search.textChanged.connect(lambda _text: self._debounce.start())
        self.view = QListView()
        self.view.setObjectName("conversationList")
        self.view.setAccessibleName(t("Conversations"))
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(False)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        conversation_id = current.data(ID_ROLE)
        if conversation_id:
            self.selected.emit(conversation_id)

    def select(self, conversation_id: str) -> None:
        row = self.model.row_of(conversation_id)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row))

    def current_id(self) -> str | None:
        return self.view.currentIndex().data(ID_ROLE)

    def _menu(self, position: Any) -> None:
        index = self.view.indexAt(position)
        conversation_id = index.data(ID_ROLE)
        if not conversation_id:
            return
        conversation = self.model.get(conversation_id)
        menu = QMenu(self)
        menu.addAction(t("Rename…"), lambda: self.rename_requested.emit(conversation_id))
        pinned = bool(conversation and conversation.pinned)
        menu.addAction(
            t("Unpin") if pinned else t("Pin"),
            lambda: self.pin_requested.emit(conversation_id, not pinned),
        )
        menu.addAction(t("Export…"), lambda: self.export_requested.emit(conversation_id))
        menu.addSeparator()
        menu.addAction(t("Delete…"), lambda: self.delete_requested.emit(conversation_id))
        menu.exec(self.view.viewport().mapToGlobal(position))
