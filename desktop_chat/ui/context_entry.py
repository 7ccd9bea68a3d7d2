"""One entry of the context editor: a role, a text box as tall as its text, and buttons.

Long histories stay responsive: each text box is a QPlainTextEdit as tall as its text up
to a limit, and role selectors ignore the wheel unless focused, so scrolling past them
cannot change a role.
"""

from __future__ import annotations

import math
from typing import cast

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.engine.context_draft import DraftEntry
from desktop_chat.schemas import Role
from desktop_chat.ui.i18n import N_, t

ROLES: tuple[Role, ...] = ("system", "user", "assistant")
ROLE_LABELS: dict[str, str] = {
    "system": N_("System"),
    "user": N_("User"),
    "assistant": N_("Assistant"),
    "tool": N_("Tool"),  # a tool's result: offered only for the entries that are one
}
MIN_LINES = 2
MAX_LINES = 12


class FittedTextEdit(QPlainTextEdit):
    """A plain-text box as tall as its text, from MIN_LINES up to MAX_LINES, then scrolling.

    A one-line question takes little room while a pasted document cannot push the rest
    of the context off screen. The height is a size hint under a Fixed vertical policy,
    recomputed when the text or the width changes, and the parent layout is told only when
    the number of lines really changes, so typing does not relayout the panel.
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setPlainText(text)
        self._lines = self._visible_lines()
        self.textChanged.connect(self._refit)

    def _visible_lines(self) -> int:
        """Wrapped lines at the current width, counted no further than MAX_LINES.

        The plain-text layout wraps blocks lazily (only painted ones after a resize), so
        its document size is not trusted; asking for a block's bounding rect lays that
        block out. Stopping at MAX_LINES keeps this cheap for a pasted book.
        """
        layout = self.document().documentLayout()
        lines = 0
        block = self.document().firstBlock()
        while block.isValid() and lines < MAX_LINES:
            layout.blockBoundingRect(block)
            lines += max(block.layout().lineCount(), 1)
            block = block.next()
        return min(max(lines, MIN_LINES), MAX_LINES)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)  # re-wraps the text at the new width
        self._refit()

    def _height_for(self, lines: int) -> int:
        margins = self.contentsMargins()
        text = lines * self.fontMetrics().lineSpacing() + 2 * self.document().documentMargin()
        # One pixel more than the lines need, or QPlainTextEdit keeps a one-line scroll range.
        return math.ceil(text) + 1 + margins.top() + margins.bottom()

    def _refit(self) -> None:
        lines = self._visible_lines()
        if lines != self._lines:
            self._lines = lines
            self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height_for(self._lines))

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._height_for(MIN_LINES))


class RoleBox(QComboBox):
    """A role selector that ignores the mouse wheel unless it has the keyboard focus.

    Scrolling down a long context passes over dozens of these; a plain combo box would
    silently change a message's role under the wheel.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # let the panel scroll instead


class EntryEditor(QFrame):
    """One entry of the draft: its role, its text, and buttons to move or delete it."""

    changed = Signal(object)  # self; the text or the role changed
    move_requested = Signal(object, int)  # self, -1 (up) or +1 (down)
    delete_requested = Signal(object)  # self

    def __init__(self, entry: DraftEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contextEntry")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.draft_entry = entry
        self._position: tuple[int, bool, bool] | None = None

        self.role_box = RoleBox()
        self.role_box.setObjectName("contextRole")
        roles: tuple[str, ...] = ROLES if entry.role in ROLES else (*ROLES, entry.role)
        for value in roles:
            self.role_box.addItem(t(ROLE_LABELS.get(value, value)), value)
        self.role_box.setCurrentIndex(roles.index(entry.role))
        self.edit = FittedTextEdit(entry.content)
        self.edit.setObjectName("contextText")
        # Arrows keep the header narrow enough for a side panel; the words are in the
        # tooltip and the accessible name.
        self.up_button = self._tool_button("↑", t("Move up"))
        self.down_button = self._tool_button("↓", t("Move down"))
        self.delete_button = self._tool_button(t("Delete"), t("Delete"))

        header = QHBoxLayout()
        header.addWidget(self.role_box)
        header.addStretch(1)
        for button in (self.up_button, self.down_button, self.delete_button):
            header.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.edit)
        self.files_label: QLabel | None = None
        if entry.attachments:
            names = ", ".join(a.name for a in entry.attachments)
            self.files_label = QLabel(
                t("Files: {names} · about {count} tokens").format(
                    names=names, count=f"{entry.attachment_tokens:,}"
                )
            )
            self.files_label.setObjectName("contextFiles")
            self.files_label.setWordWrap(True)
            self.files_label.setToolTip(
                t("Sent with this message as they are; editing the text keeps them.")
            )
            layout.addWidget(self.files_label)

        # Connected after the initial values are set: filling the panel is not an edit.
        self.edit.textChanged.connect(lambda: self.changed.emit(self))
        self.role_box.currentIndexChanged.connect(lambda _index: self.changed.emit(self))
        self.up_button.clicked.connect(lambda: self.move_requested.emit(self, -1))
        self.down_button.clicked.connect(lambda: self.move_requested.emit(self, 1))
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit(self))

    @staticmethod
    def _tool_button(text: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(name)
        button.setAccessibleName(name)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return button

    @property
    def entry_id(self) -> int | None:
        """The stored message this entry shows; None for a new one."""
        return self.draft_entry.message_id

    @property
    def is_preset(self) -> bool:
        return self.draft_entry.preset

    @property
    def role(self) -> Role:
        return cast(Role, self.role_box.currentData())

    @property
    def text(self) -> str:
        return self.edit.toPlainText()

    def set_position(self, number: int, *, first: bool, last: bool) -> None:
        """Name the controls after the entry's place, so a screen reader can tell them apart."""
        if self._position == (number, first, last):
            return  # most entries keep their place when one moves: skip the renaming
        self._position = (number, first, last)
        what = (t("Prompt message {number}") if self.is_preset else t("Message {number}")).format(
            number=number
        )
        self.setAccessibleName(what)
        self.role_box.setAccessibleName(t("Role of {what}").format(what=what))
        self.edit.setAccessibleName(t("Text of {what}").format(what=what))
        self.up_button.setAccessibleName(t("Move {what} up").format(what=what))
        self.down_button.setAccessibleName(t("Move {what} down").format(what=what))
        self.delete_button.setAccessibleName(t("Delete {what}").format(what=what))
        self.up_button.setEnabled(not first)
        self.down_button.setEnabled(not last)
