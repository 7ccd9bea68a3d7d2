"""The message box: Enter sends, Shift+Enter breaks the line, Esc stops the reply."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from desktop_chat.ui.i18n import t


class MessageEdit(QPlainTextEdit):
    submit = Signal()
    escape = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submit.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.escape.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    send = Signal(str)
    stop = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.edit = MessageEdit()
        self.edit.setObjectName("composerEdit")
        self.edit.setPlaceholderText(t("Message — Enter to send, Shift+Enter for a new line"))
        self.edit.setAccessibleName(t("Message"))
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(84)
        self.edit.submit.connect(self._submit)
        self.edit.escape.connect(self.stop)
        self.button = QPushButton(t("Send"))
        self.button.setObjectName("sendButton")
        self.button.setAccessibleName(t("Send"))
        self.button.setDefault(True)
        self.button.clicked.connect(self._clicked)
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(self.button)
        row.addLayout(column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 8, 24, 16)
        layout.addLayout(row)
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """While a reply streams the button stops it; the next message can be typed and queued.

        Called for every streamed token: only a change touches the button (and its layout).
        """
        if busy == self._busy:
            return
        self._busy = busy
        self.button.setText(t("Stop") if busy else t("Send"))
        self.button.setAccessibleName(self.button.text())

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.edit.setTextCursor(cursor)

    def _clicked(self) -> None:
        if self._busy:
            self.stop.emit()
        else:
            self._submit()

    def _submit(self) -> None:
        """Enter sends; while a reply streams the window queues the message (see session)."""
        text = self.text()
        if not text.strip():
            return
        self.send.emit(text)
