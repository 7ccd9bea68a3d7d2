"""The files waiting to go with the next message: chips above the composer.

Files come from a drop on the window, a paste, or the Attach button; each is read and
checked by the engine at once (engine/attachments.py), so a file that cannot be sent is
refused with its sentence when it is added, not when the message is sent. Each chip
shows the file's name, size and, for an image, a thumbnail, and can be removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget
from shiboken6 import isValid

from desktop_chat.engine import EngineError
from desktop_chat.engine.attachments import Limits, NewAttachment, from_bytes, read_file, size_text
from desktop_chat.ui.i18n import say, t

THUMBNAIL = 36  # pixels: the height of a chip's picture
PASTED_NAME = "pasted image.png"


def local_files(mime: QMimeData) -> list[Path]:
    """The local files a drop or a paste carries (links to web pages are not files)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def carries_files(mime: QMimeData) -> bool:
    """Whether a drop or paste is something the tray takes: local files or an image."""
    return bool(local_files(mime)) or mime.hasImage()


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


class AttachmentChip(QFrame):
    removed = Signal(object)  # the NewAttachment

    def __init__(self, attachment: NewAttachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attachment = attachment
        meta = attachment.meta
        self.setObjectName("attachmentChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 2, 2)
        row.setSpacing(4)
        if meta.kind == "image":
            picture = QPixmap()
            if picture.loadFromData(attachment.data):
                thumbnail = QLabel()
                thumbnail.setObjectName("chipThumbnail")
                thumbnail.setPixmap(
                    picture.scaledToHeight(THUMBNAIL, Qt.TransformationMode.SmoothTransformation)
                )
                row.addWidget(thumbnail)
        self.label = QLabel(f"{meta.name} · {size_text(meta.size)}")
        self.label.setObjectName("chipLabel")
        row.addWidget(self.label)
        self.remove_button = QToolButton()
        self.remove_button.setObjectName("chipRemove")
        self.remove_button.setText("×")
        self.remove_button.setAccessibleName(t("Remove {name}").format(name=meta.name))
        self.remove_button.setToolTip(t("Remove {name}").format(name=meta.name))
        self.remove_button.clicked.connect(lambda: self.removed.emit(self.attachment))
        row.addWidget(self.remove_button)


class AttachmentTray(QWidget):
    """Holds the files of the next message; hidden while there are none."""

    changed = Signal()
    refused = Signal(str)  # the sentence for a file that cannot be attached

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentTray")
        # Read at each file: the settings may have changed since the window opened.
        self.limits: Callable[[], Limits] = Limits
        self._files: list[NewAttachment] = []
        self._reading: list[asyncio.Task[None]] = []
        self._owner: str | None = None  # the conversation the files are for
        self._parked: dict[str, list[NewAttachment]] = {}  # other conversations' files
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 4)
        self._row.setSpacing(6)
        self._row.addStretch(1)
        self.hide()

    def files(self) -> list[NewAttachment]:
        return list(self._files)

    def chips(self) -> list[AttachmentChip]:
        return self.findChildren(AttachmentChip)

    def add_paths(self, paths: list[Path]) -> None:
        for path in paths:
            self._add(lambda p=path: read_file(p, self.limits()))

    def add_image(self, image: QImage) -> None:
        data = png_bytes(image)  # here: the image belongs to this thread
        self._add(lambda: from_bytes(PASTED_NAME, data, self.limits()))

    def add_mime(self, mime: QMimeData) -> bool:
        """Take the files or the image of a drop or a paste; False when it has neither."""
        paths = local_files(mime)
        if paths:
            self.add_paths(paths)
        elif mime.hasImage():
            image = QImage(mime.imageData())
            if image.isNull():
                return False
            self.add_image(image)
        else:
            return False
        return True

    def show_for(self, conversation_id: str) -> None:
        """Files wait in the conversation they were added in, as the draft does: switching
        away keeps them there, and switching back shows them again. Files added before
        any conversation opened (dropped on a window still starting) go to the first."""
        if self._owner is None:
            self._owner = conversation_id
            return
        if conversation_id == self._owner:
            return
        if self._owner is not None and self._files:
            self._parked[self._owner] = self.files()
        files = self._parked.pop(conversation_id, [])
        self._owner = conversation_id
        if files or self._files:
            self.set_files(files)

    def set_files(self, files: list[NewAttachment]) -> None:
        """Show `files` instead of what is there (files given back after a failed send)."""
        self.clear()
        for attachment in files:
            self._show(attachment)
        self.changed.emit()

    def take(self) -> list[NewAttachment]:
        """The files, emptying the tray: they go with the message being sent."""
        files = self.files()
        self.clear()
        return files

    def clear(self) -> None:
        for chip in self.chips():
            chip.setParent(None)
            chip.deleteLater()
        self._files.clear()
        self.hide()
        self.changed.emit()

    @property
    def reading(self) -> bool:
        """Files are still being read (a large PDF's text, a large image scaled down).

        Asked of the tasks themselves: a finished read leaves the list a loop pass later,
        and a key press handled in that pass must already send its file.
        """
        return not all(task.done() for task in self._reading)

    def _add(self, read: Callable[[], NewAttachment]) -> None:
        """Read off the event loop, so a large file never freezes the window; the chip
        shows when it is read, in the order the files came."""
        previous = self._reading[-1] if self._reading else None
        task = asyncio.get_event_loop().create_task(self._read(read, previous))
        self._reading.append(task)  # a strong reference until it is done
        task.add_done_callback(self._reading.remove)

    async def _read(
        self, read: Callable[[], NewAttachment], previous: asyncio.Task[None] | None
    ) -> None:
        try:
            attachment = await asyncio.to_thread(read)
        except EngineError as exc:
            attachment = None
            sentence = say(exc.user_message)
        if previous is not None:
            await asyncio.wait([previous])
        if not isValid(self):
            return  # the window closed while the file was read
        if attachment is None:
            self.refused.emit(sentence)
            return
        if any(f.meta.sha256 == attachment.meta.sha256 for f in self._files):
            return  # the same file twice is sent once
        self._show(attachment)
        self.changed.emit()

    def _show(self, attachment: NewAttachment) -> None:
        self._files.append(attachment)
        chip = AttachmentChip(attachment)
        chip.removed.connect(self._remove)
        self._row.insertWidget(self._row.count() - 1, chip)
        self.show()

    def _remove(self, attachment: NewAttachment) -> None:
        for chip in self.chips():
            if chip.attachment is attachment:
                chip.setParent(None)
                chip.deleteLater()
        self._files = [f for f in self._files if f is not attachment]
        self.setVisible(bool(self._files))
        self.changed.emit()
