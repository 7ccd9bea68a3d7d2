"""The conversation list as a widget: New button, search box, the list and its menu.

The rows and their order are the model's (ui/conversation_list.py); this widget adds
the input: searching as one types, the context menu, and holding the rows still while
the pointer is over them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLineEdit, QListView, QMenu, QPushButton, QVBoxLayout, QWidget

from desktop_chat.ui.conversation_list import ID_ROLE, ConversationListModel
from desktop_chat.ui.i18n import t


class ListWithEmptyText(QListView):
    """A list that says something useful when it has no rows (see `empty_text`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = ""

    def set_empty_text(self, text: str) -> None:
        self.empty_text = text
        self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if model is None or model.rowCount() or not self.empty_text:
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        area = self.viewport().rect().adjusted(12, 16, -12, -12)
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.drawText(area, int(flags), self.empty_text)
        painter.end()


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
        self.view = ListWithEmptyText()
        self.view.setObjectName("conversationList")
        self.view.setAccessibleName(t("Conversations"))
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(True)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.viewport().installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Enter:
            self.model.hold(True)
        elif event.type() in (QEvent.Type.Leave, QEvent.Type.Hide):
            self.model.hold(False)
        return False

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        conversation_id = current.data(ID_ROLE)
        if conversation_id:
            self.selected.emit(conversation_id)

    def select(self, conversation_id: str) -> None:
        """Make it the current row, or announce it as `selected` if it is not loaded yet.

        The owner then opens it and lists it (`ConversationListModel.include`): a search
        result, or the conversation restored at start-up, may lie beyond the first page.
        """
        row = self.model.row_of(conversation_id)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row))
        else:
            self.selected.emit(conversation_id)

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
