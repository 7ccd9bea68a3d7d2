"""Small pieces of the chat view: the suggested questions, and a hook on its first paint."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QPushButton, QSizePolicy, QVBoxLayout, QWidget


class FlowRow(QWidget):
    """Suggested questions as a wrapping row of chips (a simple left-to-right grid)."""

    clicked = Signal(str)

    def __init__(self, questions: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for question in questions:
            chip = QPushButton(question)
            chip.setObjectName("suggestion")
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            chip.clicked.connect(lambda _=False, q=question: self.clicked.emit(q))
            layout.addWidget(chip, 0, Qt.AlignmentFlag.AlignLeft)


class AfterFirstPaint(QObject):
    """Calls `callback` once, in the event-loop pass after `widget` first paints."""

    def __init__(self, widget: QWidget, callback: Callable[[], object]) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._callback)
            self.deleteLater()
        return False
