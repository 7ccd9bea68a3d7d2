"""The files of a message in the chat view: a thumbnail for each image, a name for others.

Clicking one opens it with the system's opener. Files are kept under their sha256 with
no name, so the file opened is a copy named as it was attached, in a private temporary
folder (an image viewer or a PDF reader picks the right program by that name).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImageReader, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QStyle,
    QStyleOptionToolButton,
    QStylePainter,
    QToolButton,
    QWidget,
)

from desktop_chat.engine.attachments import size_text
from desktop_chat.schemas import Attachment
from desktop_chat.ui.i18n import t

THUMBNAIL = 96  # pixels: the longest side of a thumbnail in the chat


def thumbnail(path: Path, side: int = THUMBNAIL) -> QPixmap:
    """The image at `path` decoded straight at thumbnail size (a 2048 px image is never
    held whole: a hundred of them in a conversation cost little)."""
    reader = QImageReader(str(path))
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > side:
        reader.setScaledSize(size.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio))
    return QPixmap.fromImage(reader.read())


def opened_copy(folder: Path, attachment: Attachment) -> Path:
    """A copy of the file named as it was attached, for the system's opener."""
    private = Path(tempfile.gettempdir()) / f"desktop_chat-{os.getuid()}-files"
    private.mkdir(mode=0o700, exist_ok=True)
    target = private / f"{attachment.sha256[:12]}-{Path(attachment.name).name}"
    if not target.exists():
        shutil.copyfile(folder / attachment.sha256, target)
        target.chmod(0o600)
    return target


class ThumbnailButton(QToolButton):
    """A button that paints its thumbnail itself.

    As a QIcon, every thumbnail ever painted would stay in Qt's pixmap cache (up to 10 MB)
    after its message left the view: a conversation of photos would hold them all.
    """

    def __init__(self, picture: QPixmap) -> None:
        super().__init__()
        self.picture = picture
        self.setIconSize(picture.size())  # the style sizes the button around the icon size

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionToolButton()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ToolButton, option)
        area = self.rect()
        painter.drawPixmap(
            area.x() + (area.width() - self.picture.width()) // 2,
            area.y() + (area.height() - self.picture.height()) // 2,
            self.picture,
        )


class AttachmentStrip(QWidget):
    def __init__(
        self, attachments: list[Attachment], folder: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentStrip")
        self.folder = folder
        self.buttons: list[QToolButton] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for attachment in attachments:
            label = f"{attachment.name} · {size_text(attachment.size)}"
            picture = thumbnail(folder / attachment.sha256) if attachment.kind == "image" else None
            if picture is not None and not picture.isNull():
                button: QToolButton = ThumbnailButton(picture)
            else:
                button = QToolButton()
                button.setText(f"📄 {label}")
            button.setObjectName("attachmentButton")
            button.setAutoRaise(True)
            button.setToolTip(t("Open {name}").format(name=label))
            button.setAccessibleName(t("Open {name}").format(name=attachment.name))
            button.clicked.connect(lambda _=False, a=attachment: self.open(a))
            row.addWidget(button)
            self.buttons.append(button)
        row.addStretch(1)

    def open(self, attachment: Attachment) -> bool:
        try:
            path = opened_copy(self.folder, attachment)
        except OSError:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
