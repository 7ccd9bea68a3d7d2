"""The message box: Enter sends, Shift+Enter breaks the line, Esc stops the reply.

Files pasted or dropped on it, or picked with the Attach button, wait in the tray above
it and go with the next message.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.ui.attachment_tray import AttachmentTray, carries_files
from desktop_chat.ui.i18n import t


class MessageEdit(QPlainTextEdit):
    submit = Signal()
    escape = Signal()
    files_given = Signal(object)  # QMimeData with files or an image, pasted or dropped

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return carries_files(source) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        """A pasted or dropped image or file is attached; text is inserted as text."""
        if carries_files(source):
            self.files_given.emit(source)
            return
        super().insertFromMimeData(source)

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
        self.tray = AttachmentTray()
        self.edit.files_given.connect(self.tray.add_mime)
        self.attach_button = QToolButton()
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setText(t("Attach…"))
        self.attach_button.setAccessibleName(t("Attach files"))
        self.attach_button.setToolTip(
            t("Attach images, text files or PDFs (or drop them on the window, or paste)")
        )
        self.attach_button.clicked.connect(self.pick_files)
        self.button = QPushButton(t("Send"))
        self.button.setObjectName("sendButton")
        self.button.setAccessibleName(t("Send"))
        self.button.setDefault(True)
        self.button.clicked.connect(self._clicked)
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(self.attach_button)
        column.addWidget(self.button)
        row.addLayout(column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 8, 24, 16)
        layout.addWidget(self.tray)
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

    def pick_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self.window(),
            t("Attach files"),
            "",
            t("Images, text and PDF (*.png *.jpg *.jpeg *.webp *.gif *.pdf *.txt *.md *.*)"),
        )
        self.tray.add_paths([Path(name) for name in names])

    def _submit(self) -> None:
        """Enter sends; while a reply streams the window queues the message (see session)."""
        text = self.text()
        if self.tray.reading or (not text.strip() and not self.tray.files()):
            return  # a file still being read goes with this message: Enter again then
        self.send.emit(text)
