"""The conversation as a scrolling column of messages, with the reply streaming in.

Only the newest page of a long conversation is laid out; older pages are added when the
reader scrolls to the top, so a 2,000-message chat opens as fast as a short one. Streamed
tokens are buffered and painted at most once per frame; Markdown is re-rendered at a
rate that adapts to how long rendering takes, so the event loop never stalls.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.schemas import Agent, Message
from desktop_chat.ui.i18n import t
from desktop_chat.ui.message_widget import MessageWidget

# Enough messages to fill a tall window at once; older ones arrive a few at a time, so a
# page added while scrolling costs about a frame.
FIRST_PAGE = 20
OLDER_PAGE = 8
FRAME_MS = 16


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


class ChatView(QScrollArea):
    message_action = Signal(str, object)  # action, Message
    question_clicked = Signal(str)
    notice = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName(t("Conversation"))
        self.dark = False
        self._container = QWidget()
        self._container.setObjectName("chatContainer")
        self._layout = QVBoxLayout(self._container)
        self._layout.setContentsMargins(24, 16, 24, 16)
        self._layout.setSpacing(10)
        self._layout.addStretch(1)
        self.setWidget(self._container)

        self._messages: list[Message] = []
        self._shown_from = 0
        self._widgets: list[MessageWidget] = []
        self._opening: list[QWidget] = []
        self._stream: MessageWidget | None = None
        self._stream_text: list[str] = []
        self._stream_reasoning: list[str] = []
        self._stick_to_bottom = True
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._paint_stream)
        self._older = QTimer(self)
        self._older.setSingleShot(True)
        self._older.setInterval(0)
        self._older.timeout.connect(self._load_older)
        self.verticalScrollBar().valueChanged.connect(self._on_scroll)
        self.verticalScrollBar().rangeChanged.connect(self._on_range)

    # Whole conversations ---------------------------------------------------------

    def show_conversation(self, messages: list[Message], agent: Agent | None) -> None:
        self._clear()
        self._messages = list(messages)
        self._shown_from = max(0, len(messages) - FIRST_PAGE)
        if not messages and agent is not None:
            self._show_opening(agent)
        for message in self._messages[self._shown_from :]:
            self._append_widget(message)
        self._refresh_last_reply()
        self._stick_to_bottom = True
        self.scroll_to_bottom()

    def _clear(self) -> None:
        self._end_stream_widget()
        for widget in [*self._widgets, *self._opening]:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self._widgets.clear()
        self._opening.clear()
        self._messages = []

    def _show_opening(self, agent: Agent) -> None:
        """The agent's greetings and suggested questions: shown, never sent."""
        preset = agent.app_preset
        for greeting in preset.greetings:
            widget = MessageWidget(None, dark=self.dark, role_label=preset.name or agent.name)
            widget.setProperty("greeting", True)
            widget.show_markdown(greeting)
            self._insert(widget, len(self._opening))
            self._opening.append(widget)
        if preset.suggested_questions:
            chips = FlowRow(preset.suggested_questions)
            chips.clicked.connect(self.question_clicked)
            self._insert(chips, len(self._opening))
            self._opening.append(chips)

    def _insert(self, widget: QWidget, index: int) -> None:
        self._layout.insertWidget(index + 1, widget)  # after the top stretch

    def _make_widget(self, message: Message) -> MessageWidget:
        widget = MessageWidget(message, dark=self.dark)
        widget.action.connect(self.message_action)
        widget.copy_requested.connect(self.notice)
        return widget

    def _append_widget(self, message: Message) -> MessageWidget:
        widget = self._make_widget(message)
        self._insert(widget, len(self._opening) + len(self._widgets))
        self._widgets.append(widget)
        return widget

    def _load_older(self) -> None:
        if self._shown_from == 0:
            return
        start = max(0, self._shown_from - OLDER_PAGE)
        bar = self.verticalScrollBar()
        distance_from_bottom = bar.maximum() - bar.value()
        older = [self._make_widget(m) for m in self._messages[start : self._shown_from]]
        for offset, widget in enumerate(older):
            self._insert(widget, len(self._opening) + offset)
        self._widgets[:0] = older
        self._shown_from = start
        self._container.adjustSize()
        bar.setValue(bar.maximum() - distance_from_bottom)

    def _refresh_last_reply(self) -> None:
        """Only the last reply offers Regenerate/Retry/Continue."""
        for widget in self._widgets:
            if widget.message is None:
                continue
            is_last = widget is self._widgets[-1] and widget.message.role == "assistant"
            if is_last or widget.button("Regenerate") or widget.button("Retry"):
                widget.set_message(widget.message, is_last_reply=is_last, render=False)

    @property
    def message_widgets(self) -> list[MessageWidget]:
        return list(self._widgets)

    @property
    def shown_count(self) -> int:
        return len(self._widgets)

    def add_message(self, message: Message) -> None:
        """A stored message arrived: replaces the streaming widget if it is the reply."""
        for widget in self._opening:
            widget.hide()
        if message.role == "assistant" and self._stream is not None:
            self._frame.stop()
            self._paint_stream()
            widget = self._stream
            self._stream = None
            widget.finish_stream(message)
            widget.action.connect(self.message_action)
            widget.copy_requested.connect(self.notice)
            self._widgets.append(widget)
        else:
            self._append_widget(message)
        self._messages.append(message)
        self._refresh_last_reply()
        self._follow()

    def remove_message(self, message_id: int) -> None:
        for widget in self._widgets:
            if widget.message is not None and widget.message.id == message_id:
                self._widgets.remove(widget)
                self._layout.removeWidget(widget)
                widget.deleteLater()
                break
        self._messages = [m for m in self._messages if m.id != message_id]
        self._refresh_last_reply()

    # Streaming -----------------------------------------------------------------

    def begin_stream(self, text: str = "", reasoning: str = "", label: str = "") -> None:
        self._end_stream_widget()
        for widget in self._opening:
            widget.hide()
        self._stream = MessageWidget(None, dark=self.dark, role_label=label)
        self._stream.setObjectName("message_assistant")
        self._insert(self._stream, len(self._opening) + len(self._widgets))
        self._stream_text = [text] if text else []
        self._stream_reasoning = [reasoning] if reasoning else []
        self._paint_stream()
        self._follow()

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    def append_delta(self, text: str, reasoning: str) -> None:
        if self._stream is None:
            self.begin_stream()
        if text:
            self._stream_text.append(text)
        if reasoning:
            self._stream_reasoning.append(reasoning)
        if not self._frame.isActive():
            self._frame.start()

    def stream_text(self) -> str:
        return "".join(self._stream_text)

    def _paint_stream(self) -> None:
        if self._stream is None:
            return
        text = "".join(self._stream_text)
        self._stream_text = [text] if text else []
        self._stream.stream_update(text, "".join(self._stream_reasoning))
        self._follow()

    def _end_stream_widget(self) -> None:
        self._frame.stop()
        if self._stream is not None:
            self._layout.removeWidget(self._stream)
            self._stream.deleteLater()
            self._stream = None

    def cancel_stream(self) -> None:
        self._end_stream_widget()

    # Scrolling -------------------------------------------------------------------

    def _on_scroll(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 24
        # Load before the reader reaches the top, so scrolling up never stops at an edge.
        if value <= bar.minimum() + self.viewport().height() and self._shown_from > 0:
            self._older.start()

    def _on_range(self, _minimum: int, maximum: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(maximum)

    def _follow(self) -> None:
        if self._stick_to_bottom:
            self.scroll_to_bottom()

    def scroll_to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def last_reply_text(self) -> str:
        for message in reversed(self._messages):
            if message.role == "assistant" and message.content:
                return message.content
        return ""
