"""The Conversations tab: every conversation in a sortable table, to search, clean up,
export and move to another agent in bulk.

The table must open at once on tens of thousands of conversations, so it is filled from
the one list query the store answers (conversations with their message counts), never
with a query per row, and it formats a cell only when Qt paints it. Tokens come from the
usage records the window reads once for all tabs, and fill in when those arrive.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.app import Core
from desktop_chat.engine.events import MessageStored, TitleChanged
from desktop_chat.schemas import Agent, Conversation
from desktop_chat.transfer import write_export
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import ask
from desktop_chat.ui.i18n import N_, t
from desktop_chat.ui.manage.format import DASH, count, owner_label, when

Index = QModelIndex | QPersistentModelIndex
COLUMNS = (
    N_("Title"),
    N_("Agent"),
    N_("Messages"),
    N_("Tokens"),
    N_("Last activity"),
    N_("Owner"),
)
TITLE, AGENT, MESSAGES, TOKENS, LAST_ACTIVITY, OWNER = range(len(COLUMNS))
ID_ROLE = Qt.ItemDataRole.UserRole + 1
NUMERIC = {MESSAGES, TOKENS}


class ConversationTableModel(QAbstractTableModel):
    """Rows are the engine's Conversation objects; sorting happens here, on plain keys."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Conversation] = []
        self._row_of: dict[str, int] | None = {}
        self._agent_names: dict[str, str] = {}
        self._tokens: dict[str, int] = {}
        self._sort: tuple[int, Qt.SortOrder] = (LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)

    # Qt's side -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return t(COLUMNS[section])
        if role == Qt.ItemDataRole.InitialSortOrderRole:
            # Biggest and newest first is what one looks for in counts and dates.
            descending = section in NUMERIC or section == LAST_ACTIVITY
            return Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == ID_ROLE:
            return row.id
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == TITLE:
            return row.title or t("New conversation")
        return None

    def _display(self, row: Conversation, column: int) -> str:
        if column == TITLE:
            return ("📌 " if row.pinned else "") + (row.title or t("New conversation"))
        if column == AGENT:
            return self._agent_names.get(row.agent_id or "", DASH)
        if column == MESSAGES:
            return count(row.message_count)
        if column == TOKENS:
            tokens = self._tokens.get(row.id)
            return count(tokens) if tokens else ""
        if column == LAST_ACTIVITY:
            return when(row.updated_at)
        return owner_label(row.owner)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._rows[i.row()].id if i.isValid() else None for i in persistent]
        self._rows.sort(key=self._key(column), reverse=order == Qt.SortOrder.DescendingOrder)
        self._row_of = None
        for index, conversation_id in zip(persistent, ids, strict=True):
            row = self.row_of(conversation_id) if conversation_id is not None else None
            self.changePersistentIndex(
                index, self.index(row, index.column()) if row is not None else QModelIndex()
            )
        self.layoutChanged.emit()

    def _key(self, column: int) -> Callable[[Conversation], Any]:
        if column == TITLE:
            return lambda c: (c.title or "").casefold()
        if column == AGENT:
            return lambda c: self._agent_names.get(c.agent_id or "", "").casefold()
        if column == MESSAGES:
            return lambda c: c.message_count
        if column == TOKENS:
            return lambda c: self._tokens.get(c.id, 0)
        if column == LAST_ACTIVITY:
            return lambda c: c.updated_at
        return lambda c: owner_label(c.owner).casefold()

    # Feeding the model -------------------------------------------------------------------

    def set_conversations(self, conversations: list[Conversation]) -> None:
        self.beginResetModel()
        self._rows = list(conversations)
        column, order = self._sort
        self._rows.sort(key=self._key(column), reverse=order == Qt.SortOrder.DescendingOrder)
        self._row_of = None
        self.endResetModel()

    def set_agents(self, agents: list[Agent]) -> None:
        self._agent_names = {a.agent_id: a.name for a in agents}
        self._column_changed(AGENT)

    def set_tokens(self, tokens: dict[str, int]) -> None:
        self._tokens = tokens
        self._column_changed(TOKENS)

    def _column_changed(self, column: int) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, column), self.index(len(self._rows) - 1, column))

    def row_of(self, conversation_id: str) -> int | None:
        if self._row_of is None:
            self._row_of = {c.id: i for i, c in enumerate(self._rows)}
        return self._row_of.get(conversation_id)

    def get(self, conversation_id: str) -> Conversation | None:
        row = self.row_of(conversation_id)
        return self._rows[row] if row is not None else None

    def conversation_at(self, row: int) -> Conversation:
        return self._rows[row]

    def replace(self, conversation: Conversation) -> None:
        row = self.row_of(conversation.id)
        if row is None:
            return
        self._rows[row] = conversation
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def prepend(self, conversation: Conversation) -> None:
        """A conversation created while the window is open: shown on top until re-sorted."""
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, conversation)
        self._row_of = None
        self.endInsertRows()

    def remove(self, conversation_id: str) -> None:
        row = self.row_of(conversation_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self._row_of = None  # rebuilt on the next look-up, not once per removed row
        self.endRemoveRows()


class ConversationsTab(QWidget):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self.service = core.service
        self.model = ConversationTableModel()
        self.query = ""
        self._search_seq = itertools.count()
        self._latest_search = 0

        self.search = QLineEdit()
        self.search.setObjectName("manageSearch")
        self.search.setPlaceholderText(t("Search titles and messages"))
        self.search.setAccessibleName(t("Search conversations"))
        self.search.setClearButtonEnabled(True)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self._run_search)
        self.search.textChanged.connect(lambda _text: self._debounce.start())
        self.summary = QLabel()
        self.summary.setObjectName("manageConversationCount")

        self.view = QTableView()
        self.view.setObjectName("manageConversations")
        self.view.setAccessibleName(t("Conversations"))
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        # Fixed row heights and no resize-to-contents: both would measure all 10,000 rows.
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        for column, width in ((AGENT, 140), (MESSAGES, 80), (TOKENS, 90), (LAST_ACTIVITY, 130)):
            header.resizeSection(column, width)
        header.setSortIndicator(LAST_ACTIVITY, Qt.SortOrder.DescendingOrder)
        self.view.setSortingEnabled(True)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())

        self.delete_button = QPushButton(t("Delete…"))
        self.delete_button.setObjectName("manageDelete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button = QPushButton(t("Export…"))
        self.export_button.setObjectName("manageExport")
        self.export_button.clicked.connect(self.export_selected)
        self.agent_combo = QComboBox()
        self.agent_combo.setObjectName("manageAgentChoice")
        self.agent_combo.setAccessibleName(t("Agent to move the selected conversations to"))
        self.agent_combo.setMinimumWidth(140)
        self.change_agent_button = QPushButton(t("Change agent"))
        self.change_agent_button.setObjectName("manageChangeAgent")
        self.change_agent_button.clicked.connect(self.change_agent_of_selected)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.summary)
        actions = QHBoxLayout()
        actions.addWidget(self.delete_button)
        actions.addWidget(self.export_button)
        actions.addStretch(1)
        actions.addWidget(QLabel(t("Agent:")))
        actions.addWidget(self.agent_combo)
        actions.addWidget(self.change_agent_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(actions)
        self._selection_changed()

    # Data ----------------------------------------------------------------------------

    def set_agents(self, agents: list[Agent]) -> None:
        self.model.set_agents(agents)
        current = self.agent_combo.currentData()
        self.agent_combo.clear()
        for agent in agents:
            self.agent_combo.addItem(agent.name, agent.agent_id)
        if current is not None and self.agent_combo.findData(current) >= 0:
            self.agent_combo.setCurrentIndex(self.agent_combo.findData(current))
        self._selection_changed()

    def set_conversations(self, conversations: list[Conversation]) -> None:
        self.model.set_conversations(conversations)
        self._update_summary()

    def _update_summary(self) -> None:
        rows = self.model.rowCount()
        if self.query:
            text = t("{count} conversations match").format(count=count(rows))
        else:
            text = t("{count} conversations").format(count=count(rows))
        self.summary.setText(text)

    def _run_search(self) -> None:
        self.bridge.spawn(self.load(self.search.text().strip()))

    async def load(self, query: str = "") -> None:
        """One list query for the whole table; a newer search makes an older answer moot."""
        seq = next(self._search_seq)
        self._latest_search = seq
        conversations = await self.service.list_conversations(query=query or None)
        if seq != self._latest_search:
            return
        self.query = query
        self.set_conversations(conversations)

    # Selection and actions -------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        return [self.model.conversation_at(r).id for r in rows]

    def select_ids(self, conversation_ids: list[str]) -> None:
        selection = self.view.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for conversation_id in conversation_ids:
            row = self.model.row_of(conversation_id)
            if row is not None:
                selection.select(self.model.index(row, 0), flags)

    def _selection_changed(self) -> None:
        chosen = self.view.selectionModel().hasSelection()
        self.delete_button.setEnabled(chosen)
        self.export_button.setEnabled(chosen)
        self.change_agent_button.setEnabled(chosen and self.agent_combo.count() > 0)

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.bridge.spawn(self._delete(ids))

    async def _delete(self, ids: list[str]) -> None:
        if len(ids) == 1:
            conversation = self.model.get(ids[0])
            title = conversation.title if conversation and conversation.title else ""
            question = t("Delete “{title}” and all its messages? This cannot be undone.").format(
                title=title or t("New conversation")
            )
        else:
            question = t(
                "Delete {count} conversations and all their messages? This cannot be undone."
            ).format(count=count(len(ids)))
        if not await ask(self, t("Delete conversations"), question, t("Delete"), t("Cancel")):
            return
        for conversation_id in ids:
            # ConversationDeleted follows, which removes the row (here and everywhere).
            await self.service.delete_conversation(conversation_id)

    def choose_export_file(self) -> tuple[Path, bool] | None:
        """Where to export and whether as JSON; None when the user cancels."""
        path, chosen = QFileDialog.getSaveFileName(
            self, t("Export conversations"), "conversations.md", t("Markdown (*.md);;JSON (*.json)")
        )
        if not path:
            return None
        return Path(path), "JSON" in chosen or path.lower().endswith(".json")

    def export_selected(self) -> None:
        ids = self.selected_ids()
        target = self.choose_export_file() if ids else None
        if target is not None:
            self.bridge.spawn(self.export_to(ids, *target))

    async def export_to(self, ids: list[str], path: Path, as_json: bool) -> None:
        conversations = await self.service.export(ids)
        await asyncio.to_thread(write_export, path, conversations, as_json)
        self.summary.setText(t("Exported to {path}").format(path=path))

    def change_agent_of_selected(self) -> None:
        agent_id = self.agent_combo.currentData()
        ids = self.selected_ids()
        if agent_id and ids:
            self.bridge.spawn(self._change_agent(ids, agent_id))

    async def _change_agent(self, ids: list[str], agent_id: str) -> None:
        for conversation_id in ids:
            await self.service.update_conversation(conversation_id, agent_id=agent_id)

    # Engine events -----------------------------------------------------------------------

    def on_conversation_deleted(self, conversation_id: str) -> None:
        self.model.remove(conversation_id)
        self._update_summary()

    def on_title_changed(self, event: TitleChanged) -> None:
        known = self.model.get(event.conversation_id)
        if known is not None:
            self.model.replace(known.model_copy(update={"title": event.title}))

    def on_message_stored(self, event: MessageStored) -> None:
        known = self.model.get(event.conversation_id)
        if known is not None:
            self.model.replace(
                known.model_copy(
                    update={
                        "updated_at": max(known.updated_at, event.message.created_at),
                        "message_count": known.message_count + 1,
                    }
                )
            )

    def on_conversation_changed(self, summary: Conversation) -> None:
        if self.model.get(summary.id) is not None:
            self.model.replace(summary)
        elif not self.query:  # new, and no search is narrowing the table
            self.model.prepend(summary)
            self._update_summary()
