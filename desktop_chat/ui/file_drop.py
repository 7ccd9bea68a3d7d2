"""Files dropped anywhere on the window go to the composer's tray.

An event filter on the main window, so that the window itself stays a layout: it accepts
drags that carry local files or an image, and hands the drop to the tray.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

from desktop_chat.ui.attachment_tray import AttachmentTray, carries_files


class FileDrop(QObject):
    def __init__(self, window: QWidget, tray: AttachmentTray) -> None:
        super().__init__(window)
        self.tray = tray
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDragMoveEvent)
            if carries_files(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            if self.tray.add_mime(event.mimeData()):
                event.acceptProposedAction()
                return True
        return super().eventFilter(watched, event)
