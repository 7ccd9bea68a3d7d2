"""An agent's preset messages: the prompt sent before every conversation, in order."""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.schemas import ChatMessage
from desktop_chat.ui.i18n import N_, t

ROLES = {"system": N_("System"), "user": N_("User"), "assistant": N_("Assistant")}


class MessageRow(QFrame):
    """One preset message: its role, its text, and buttons to move or remove it."""

    def __init__(self, role: str, content: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.role = QComboBox()
        for value, label in ROLES.items():
            self.role.addItem(t(label), value)
        self.role.setCurrentIndex(max(0, self.role.findData(role)))
        self.role.setAccessibleName(t("Role"))
        self.content = QPlainTextEdit(content)
        self.content.setTabChangesFocus(True)
        self.content.setAccessibleName(t("Message text"))
        self.content.setMinimumHeight(self.fontMetrics().lineSpacing() * 4)
        self.up = QPushButton(t("Up"))
        self.down = QPushButton(t("Down"))
        self.remove = QPushButton(t("Remove"))
        for button, name in (
            (self.up, t("Move message up")),
            (self.down, t("Move message down")),
            (self.remove, t("Remove message")),
        ):
            button.setAccessibleName(name)
            button.setToolTip(name)
        buttons = QVBoxLayout()
        buttons.addWidget(self.role)
        buttons.addWidget(self.up)
        buttons.addWidget(self.down)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.content, 1)

    def message(self) -> dict[str, str]:
        return {"role": str(self.role.currentData()), "content": self.content.toPlainText()}


class PresetMessagesEditor(QWidget):
    """The prompt that starts every conversation, as a list of role + text rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[MessageRow] = []
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self.add_button = QPushButton(t("Add message"))
        self.add_button.setObjectName("addPresetMessage")
        self.add_button.setAccessibleName(t("Add preset message"))
        self.add_button.clicked.connect(lambda: self.add())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._rows_layout)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

    def messages(self) -> list[dict[str, str]]:
        """Rows left blank are dropped: an empty instruction is never what was meant."""
        return [m for m in (r.message() for r in self.rows) if m["content"].strip()]

    def set_messages(self, messages: list[ChatMessage]) -> None:
        for row in self.rows:
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for message in messages:
            self.add(message.role, message.content, focus=False)
        self._relayout()

    def add(self, role: str | None = None, content: str = "", focus: bool = True) -> MessageRow:
        if role is None:
            last = self.rows[-1].message()["role"] if self.rows else None
            role = "system" if last is None else "assistant" if last == "user" else "user"
        row = MessageRow(role, content, self)
        row.up.clicked.connect(lambda: self.move(row, -1))
        row.down.clicked.connect(lambda: self.move(row, 1))
        row.remove.clicked.connect(lambda: self.remove(row))
        self.rows.append(row)
        self._relayout()
        if focus:
            row.content.setFocus()
        return row

    def move(self, row: MessageRow, step: int) -> None:
        index = self.rows.index(row)
        target = index + step
        if 0 <= target < len(self.rows):
            self.rows[index], self.rows[target] = self.rows[target], self.rows[index]
            self._relayout()

    def remove(self, row: MessageRow) -> None:
        self.rows.remove(row)
        self._rows_layout.removeWidget(row)
        row.deleteLater()
        self._relayout()
        self.add_button.setFocus()

    def _relayout(self) -> None:
        """Show the rows in list order and make Tab follow that order too."""
        for row in self.rows:
            self._rows_layout.removeWidget(row)
        chain: list[QWidget] = []
        for index, row in enumerate(self.rows):
            self._rows_layout.addWidget(row)
            row.up.setEnabled(index > 0)
            row.down.setEnabled(index < len(self.rows) - 1)
            chain += [row.role, row.up, row.down, row.remove, row.content]
        chain.append(self.add_button)
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)
