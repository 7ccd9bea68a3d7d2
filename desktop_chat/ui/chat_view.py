"""The conversation as a scrolling column of messages, with the reply streaming in.

Only the messages near the viewport have widgets. A message widget costs about 0.3 MB and
a few milliseconds to build and lay out, so a long conversation can neither keep nor build
them all: it opens with its newest page, the messages the reader scrolls towards are built
a few per frame, and widgets far from the viewport are dropped (and built again when the
reader comes back). The reader's place is kept by anchoring the topmost visible message:
when the content above it changes height, the scroll bar moves by as much.

Streamed tokens are buffered and painted at most once per frame; Markdown is rendered once
per finished block, so the event loop never stalls.
"""

from __future__ import annotations

import bisect
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.schemas import Agent, Message
from desktop_chat.ui.conversation_opening import opening_widgets, reply_label
from desktop_chat.ui.i18n import t
from desktop_chat.ui.message_widget import MessageWidget
from desktop_chat.ui.tool_block import tool_call_of

# At most this many messages are built before the first paint (fewer when they fill the
# view); the rest are built once shown.
FIRST_PAGE = 12
FRAME_MS = 16
# Building widgets per paging step; laying the column out and painting it share the frame.
STEP_BUDGET_S = 0.003
# Messages are built this many viewport heights ahead of the reader, and widgets dropped
# beyond DROP_SCREENS; the gap between the two keeps a reader who scrolls to and fro from
# building and dropping the same widgets.
AHEAD_SCREENS = 1.0
DROP_SCREENS = 2.0
STICK_PX = 24  # this close to the bottom, the view follows new content


class ChatView(QScrollArea):
    message_action = Signal(str, object)  # action, Message
    version_requested = Signal(int)  # the id of a version to show instead
    question_clicked = Signal(str)
    notice = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName(t("Conversation"))
        self.dark = False
        self.files: Path | None = None  # where attached files are: the window sets it
        self._container = QWidget()
        self._container.setObjectName("chatContainer")
        self._layout = QVBoxLayout(self._container)
        self._layout.setContentsMargins(24, 16, 24, 16)
        self._layout.setSpacing(10)
        self._layout.addStretch(1)
        self.setWidget(self._container)

        self._messages: list[Message] = []
        self._versions: dict[int, list[int]] = {}  # other versions of shown messages
        self.agent: Agent | None = None  # the conversation's: it names the replies
        self._first = 0  # index in _messages of the first message with a widget
        self._widgets: list[MessageWidget] = []  # for _messages[_first:_end], in order
        self._opening: list[QWidget] = []
        self._stream: MessageWidget | None = None
        self._stream_text: list[str] = []
        self._stream_reasoning: list[str] = []
        self._stick_to_bottom = True
        self._anchor: MessageWidget | None = None
        self._anchor_offset = 0
        self._placing = False  # the view scrolls itself back to the reader's place
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._paint_stream)
        # Paging goes a step per event-loop pass, so that paints and input come in between.
        self._pager = QTimer(self)
        self._pager.setSingleShot(True)
        self._pager.setInterval(0)
        self._pager.timeout.connect(self._page_step)
        self.verticalScrollBar().valueChanged.connect(self._on_scroll)
        self.verticalScrollBar().rangeChanged.connect(self._on_range)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._pager.start()  # geometry changed while hidden is only known now

    # Whole conversations ---------------------------------------------------------

    def show_conversation(
        self,
        messages: list[Message],
        agent: Agent | None,
        versions: dict[int, list[int]] | None = None,
        reveal: int | None = None,
        terms: str = "",
    ) -> None:
        """Open at the newest page, or at message `reveal` with `terms` marked (a search hit)."""
        self._clear()
        self.agent = agent
        self._messages = list(messages)
        self._versions = dict(versions or {})
        at = next((i for i, m in enumerate(messages) if m.id == reveal), None)
        if not messages:
            self._show_opening(agent)
        if at is None:
            self._first = len(messages)
            self._fill_screen_from_bottom()
        else:
            self._first = max(0, at - 2)
            for index in range(self._first, min(len(messages), self._first + FIRST_PAGE)):
                self._append_widget(index)
        self._stick_to_bottom = at is None
        self._settle()
        if at is not None:
            self._reveal(self._widgets[at - self._first], terms)

    def _fill_screen_from_bottom(self) -> None:
        """Build the newest messages until they fill the view: what the first paint shows.

        The ones above are built by the paging steps after it, a few per frame: each
        message costs its widget, styling and layout (5-10 ms), and a window opened on a
        conversation is usable once its last screen is painted.
        """
        height = self.viewport().height()
        filled = 0
        while self._first > 0 and filled <= height and len(self._widgets) < FIRST_PAGE:
            self._prepend_widget()
            filled += self._widgets[0].height() + self._layout.spacing()

    def _reveal(self, widget: MessageWidget, terms: str) -> None:
        """Scroll the message to the top of the view, marked, and keep the reader there."""
        widget.highlight(terms)
        self._anchor, self._anchor_offset = widget, 8
        self.verticalScrollBar().setValue(widget.y() - 8)
        self._pager.start()

    def _clear(self) -> None:
        self._end_stream_widget()
        self._pager.stop()
        for widget in [*self._widgets, *self._opening]:
            self._discard(widget)
        self._widgets.clear()
        self._opening.clear()
        self._messages = []
        self._first = 0

    def _discard(self, widget: QWidget) -> None:
        focus = QApplication.focusWidget()
        if focus is not None and (focus is widget or widget.isAncestorOf(focus)):
            # Hiding the focus would pass it to the next message, and the scroll area would
            # scroll to that one: the reader's place would jump.
            self.setFocus(Qt.FocusReason.OtherFocusReason)
        self._layout.removeWidget(widget)
        widget.hide()
        widget.deleteLater()
        if widget is self._anchor:
            self._anchor = None

    def _show_opening(self, agent: Agent | None) -> None:
        for widget in opening_widgets(agent, self.dark, self.question_clicked.emit):
            self._insert(widget, len(self._opening))
            self._opening.append(widget)

    def _insert(self, widget: QWidget, index: int) -> None:
        self._layout.insertWidget(index + 1, widget)  # after the top stretch
        # Shown and given its width now rather than on the next passes, its text is laid out
        # and its height known before the column is: one layout pass places it for good.
        widget.show()
        width = self._layout.contentsRect().width()
        if width > 0 and widget.isVisible():
            widget.resize(width, widget.height())

    def _connect(self, widget: MessageWidget) -> None:
        widget.action.connect(self.message_action)
        widget.copy_requested.connect(self.notice)
        widget.version_requested.connect(self.version_requested)
        self._show_versions(widget)

    def _show_versions(self, widget: MessageWidget) -> None:
        message_id = widget.message.id if widget.message is not None else None
        if message_id is not None:
            widget.versions.set_versions(self._versions.get(message_id, []), message_id)

    def _make_widget(self, index: int) -> MessageWidget:
        message = self._messages[index]
        is_last_reply = index == len(self._messages) - 1 and message.role == "assistant"
        label = reply_label(self.agent, message.model) if message.role == "assistant" else ""
        call = tool_call_of(self._messages, index) if message.role == "tool" else None
        widget = MessageWidget(
            message,
            dark=self.dark,
            is_last_reply=is_last_reply,
            role_label=label,
            files=self.files,
            tool_call=call,
        )
        self._connect(widget)
        return widget

    def show_path(
        self, messages: list[Message], versions: dict[int, list[int]], agent: Agent | None
    ) -> None:
        """Show another path of the same conversation, rebuilding only where it differs.

        Switching versions near the end of a long conversation keeps every message above
        the switch as it is: only the tail is built again.
        """
        same = 0
        for shown, new in zip(self._messages, messages, strict=False):
            if shown.id != new.id or shown.id is None:
                break
            same += 1
        if same < self._first or not self._messages:
            self.show_conversation(messages, agent, versions)
            return
        self._end_stream_widget()
        for widget in self._widgets[same - self._first :]:
            self._discard(widget)
        del self._widgets[same - self._first :]
        reached = self._end == same  # else the reader is far above: paging builds the rest
        self._messages = list(messages)
        self._versions = dict(versions)
        for widget in self._widgets:
            self._show_versions(widget)
        if reached:
            for index in range(same, min(len(messages), same + FIRST_PAGE)):
                self._append_widget(index)
        self._refresh_last_reply()
        self._settle()
        self._pager.start()

    def _append_widget(self, index: int) -> None:
        """A widget for _messages[index], the message right after the last one shown."""
        widget = self._make_widget(index)
        self._insert(widget, len(self._opening) + len(self._widgets))
        self._widgets.append(widget)

    @property
    def _end(self) -> int:
        return self._first + len(self._widgets)

    def _refresh_last_reply(self) -> None:
        """Only the last reply offers Regenerate/Retry/Continue."""
        last = len(self._messages) - 1
        for index, widget in enumerate(self._widgets, start=self._first):
            if widget.message is None:
                continue
            is_last = index == last and widget.message.role == "assistant"
            if is_last or widget.button("Regenerate") or widget.button("Retry"):
                widget.set_message(widget.message, is_last_reply=is_last, render=False)

    @property
    def message_widgets(self) -> list[MessageWidget]:
        """The widgets that exist now: the messages near the viewport, oldest first."""
        return list(self._widgets)

    def shows(self, message_id: int | None) -> bool:
        """Whether a widget for this stored message exists now."""
        return any(w.message is not None and w.message.id == message_id for w in self._widgets)

    @property
    def shown_count(self) -> int:
        return len(self._widgets)

    @property
    def shown_range(self) -> tuple[int, int]:
        """Which of the conversation's messages have widgets now, as a slice (start, end)."""
        return self._first, self._end

    def add_message(self, message: Message) -> None:
        """A stored message arrived: replaces the streaming widget if it is the reply.

        A reader scrolled far up, with the newest messages dropped, gets no widget for it
        now: it is built with the others when the reader scrolls down to it.
        """
        for widget in self._opening:
            widget.hide()
        at_end = self._end == len(self._messages)
        self._messages.append(message)
        if message.role == "assistant" and self._stream is not None:
            self._frame.stop()
            self._paint_stream()
            widget, self._stream = self._stream, None
            if at_end:
                widget.finish_stream(message)
                self._connect(widget)
                self._widgets.append(widget)
            else:
                self._discard(widget)
        elif at_end:
            self._append_widget(len(self._messages) - 1)
        self._refresh_last_reply()
        self._settle()

    def begin_stream(self, text: str = "", reasoning: str = "", label: str = "") -> None:
        self._end_stream_widget()
        for widget in self._opening:
            widget.hide()
        label = label or reply_label(self.agent, None)
        self._stream = MessageWidget(None, dark=self.dark, role_label=label)
        self._stream.setObjectName("message_assistant")
        self._insert(self._stream, len(self._opening) + len(self._widgets))
        if self._end < len(self._messages):
            self._stream.hide()  # it follows the newest message, which is not built
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
            self._discard(self._stream)
            self._stream = None

    def cancel_stream(self) -> None:
        self._end_stream_widget()

    # Paging ----------------------------------------------------------------------

    def _page_step(self) -> None:
        """Drop the widgets far from the viewport, or build the next few the reader nears.

        One step changes the column by at most STEP_BUDGET_S of building, so that it and
        the paint that follows fit in a frame; each step that changed something schedules
        the next.
        """
        if not self.isVisible():
            return
        self._settle()
        if self._drop_far() or self._build_near():
            self._settle()
            self._pager.start()

    def _settle(self) -> None:
        """Lay the column out and fit the scroll area to it now, and keep the reader's place.

        Left to the event loop, this takes several passes (the column is laid out in the
        old size, then the scroll area resizes it): between them the widgets' places and
        the scroll bar disagree, a paint shows the column jumping and a paging step would
        judge distances wrongly.
        """
        QApplication.sendEvent(self, QEvent(QEvent.Type.LayoutRequest))
        self._layout.activate()
        self._keep_place()

    def _build_near(self) -> bool:
        """Build the messages next to the shown ones on the side the reader is near."""
        bar = self.verticalScrollBar()
        ahead = self.viewport().height() * AHEAD_SCREENS
        if self._first > 0 and bar.value() - bar.minimum() < ahead:
            build, more = self._prepend_widget, lambda: self._first > 0
        elif self._end < len(self._messages) and bar.maximum() - bar.value() < ahead:
            build, more = self._append_next, lambda: self._end < len(self._messages)
        else:
            return False
        started = time.perf_counter()
        deadline = started + STEP_BUDGET_S
        while True:
            build()
            now = time.perf_counter()
            # Go on only if another message as costly as this one still fits.
            if not more() or 2 * now - started > deadline:
                return True
            started = now

    def _prepend_widget(self) -> None:
        self._first -= 1
        widget = self._make_widget(self._first)
        self._insert(widget, len(self._opening))
        self._widgets.insert(0, widget)

    def _append_next(self) -> None:
        self._append_widget(self._end)
        if self._stream is not None and self._end == len(self._messages):
            self._stream.show()

    def _drop_far(self) -> bool:
        """Drop the widgets lying more than DROP_SCREENS viewport heights off the viewport."""
        widgets = self._widgets
        value, height = self.verticalScrollBar().value(), self.viewport().height()
        keep_from = value - height * DROP_SCREENS
        keep_to = value + height * (1 + DROP_SCREENS)
        start = 0
        while start < len(widgets) - 1 and widgets[start].geometry().bottom() < keep_from:
            start += 1
        end = len(widgets)
        while end > start + 1 and widgets[end - 1].y() > keep_to:
            end -= 1
        if start == 0 and end == len(widgets):
            return False
        for widget in [*widgets[:start], *widgets[end:]]:
            self._discard(widget)
        self._first += start
        self._widgets = widgets[start:end]
        if self._stream is not None and self._end < len(self._messages):
            self._stream.hide()
        return True

    # Scrolling -------------------------------------------------------------------

    def _on_scroll(self, value: int) -> None:
        """Note the reader's place: the first message in view and how far down it is."""
        bar = self.verticalScrollBar()
        if self._placing:
            # Not the reader: the column is being laid out, and some widgets may still have
            # their old places; taking an anchor from them would move the reader's message.
            return
        self._stick_to_bottom = value >= bar.maximum() - STICK_PX
        column = [w for w in (*self._widgets, self._stream) if w is not None and w.isVisible()]
        index = bisect.bisect_right(column, value, key=lambda w: w.geometry().bottom())
        self._anchor = column[index] if index < len(column) else None
        self._anchor_offset = self._anchor.y() - value if self._anchor is not None else 0
        self._pager.start()

    def _on_range(self, _minimum: int, _maximum: int) -> None:
        self._keep_place()
        self._pager.start()

    def _keep_place(self) -> None:
        """The content changed height: keep the reader at the bottom or on their message."""
        if self._stick_to_bottom:
            self.scroll_to_bottom()
        elif self._anchor is not None:
            self._placing = True
            try:
                self.verticalScrollBar().setValue(self._anchor.y() - self._anchor_offset)
            finally:
                self._placing = False

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
