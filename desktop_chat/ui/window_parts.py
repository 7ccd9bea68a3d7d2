"""The main window's smaller pieces: the start-up skeleton, the error banner, the header.

The skeleton is painted before anything else loads, so this module imports only Qt.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.ui.i18n import t

SIDEBAR_WIDTH = 260  # the list's width until the user drags the splitter


class FrameSkeleton(QWidget):
    """What the window shows until its content is built: the sidebar's band, in the theme.

    It is the first thing painted at start-up, so it draws itself instead of building
    widgets, and it says when it has been painted.
    """

    painted = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.was_painted = False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.window())
        painter.fillRect(0, 0, SIDEBAR_WIDTH, self.height(), palette.alternateBase())
        painter.end()
        if not self.was_painted:
            self.was_painted = True
            self.painted.emit()


class ErrorBanner(QFrame):
    """An error in words above the composer; the app keeps working underneath.

    It may offer the one thing that fixes it (a button that opens the key's field).
    """

    action_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.action_button = QToolButton()
        self.action_button.setObjectName("bannerAction")
        self.action_button.clicked.connect(self.action_clicked)
        self.action_button.hide()
        layout.addWidget(self.action_button)
        close = QToolButton()
        close.setText("✕")
        close.setAccessibleName(t("Dismiss"))
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, action: str = "") -> None:
        """Show `text`, with a button labelled `action` when there is one."""
        self.label.setText(text)
        self.action_button.setText(action)
        self.action_button.setVisible(bool(action))
        self.show()


class QueueBar(QFrame):
    """Messages typed while a reply streams: each is sent when the reply before it ends."""

    cancel_requested = Signal(int)  # the index of the queued message to take back

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueBar")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 4, 6, 4)
        self._layout.setSpacing(2)
        self.rows: list[tuple[QLabel, QToolButton]] = []
        self.hide()

    def show_queue(self, texts: list[str]) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            layout = item.layout()
            while layout is not None and layout.count():
                widget = layout.takeAt(0).widget()
                if widget is not None:
                    widget.deleteLater()
        self.rows = []
        for index, text in enumerate(texts):
            row = QHBoxLayout()
            label = QLabel()
            first_line = text.strip().splitlines()[0] if text.strip() else ""
            label.setText(t("Queued, sent when the reply ends: {text}").format(text=first_line))
            label.setToolTip(text)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setMinimumWidth(1)  # a long message is cut, not the window widened
            cancel = QToolButton()
            cancel.setText(t("Cancel"))
            cancel.setAutoRaise(True)
            cancel.clicked.connect(lambda _=False, i=index: self.cancel_requested.emit(i))
            row.addWidget(label, 1)
            row.addWidget(cancel)
            self._layout.addLayout(row)
            self.rows.append((label, cancel))
        self.setVisible(bool(texts))


class ElidedLabel(QLabel):
    """One line that gives way: cut with "…" when narrow, the whole text in its tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(60)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideRight, max(self.width(), 0)
        )
        self.setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class ChatHeader(QWidget):
    """Above the chat: the conversation's title, its agent, and the window's panels.

    Laid out for a 1,000-pixel window with the context panel open: the title gives way
    first (cut, whole in its tooltip), the agent box keeps enough for a name.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = ElidedLabel()
        self.title_label.setObjectName("chatTitle")
        self.agent_combo = QComboBox()
        self.agent_combo.setAccessibleName(t("Agent for this conversation"))
        self.agent_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.agent_combo.setMinimumContentsLength(10)
        self.context_button = self._button(t("Context"), t("Show what the next request will send"))
        self.context_button.setCheckable(True)
        self.manage_button = self._button(
            t("Manage…"), t("Conversations in bulk, providers, statistics (Ctrl+M)")
        )
        self.settings_button = self._button(t("Settings"), t("Settings (Ctrl+,)"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(24, 10, 16, 6)
        layout.setSpacing(8)
        layout.addWidget(self.title_label, 1)
        layout.addSpacing(8)
        layout.addWidget(self.agent_combo)
        layout.addWidget(self.context_button)
        layout.addWidget(self.manage_button)
        layout.addWidget(self.settings_button)

    @staticmethod
    def _button(text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        return button

    def set_title(self, title: str) -> None:
        self.title_label.set_full_text(title or t("New conversation"))

    def set_agents(self, agents: list[tuple[str, str]], current: str | None) -> None:
        """`agents` as (label, agent id) pairs; `current` is the one to show."""
        self.agent_combo.clear()
        for label, agent_id in agents:
            self.agent_combo.addItem(label, agent_id)
        self.show_agent(current)

    def show_agent(self, agent_id: str | None) -> None:
        if agent_id is not None:
            self.agent_combo.setCurrentIndex(self.agent_combo.findData(agent_id))
