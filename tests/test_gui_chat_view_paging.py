"""The chat view with long conversations: messages built as the reader scrolls to them,
widgets far from the viewport dropped and built again, and the reader's place kept.

Driven as a reader would: Page Up / Page Down held down on the view, the scroll bar's thumb
dragged to an end, a click into a message; waits are on conditions with a deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QTextFormat
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSlider, QApplication

from desktop_chat.schemas import Message
from desktop_chat.ui.chat_view import ChatView
from desktop_chat.ui.markdown import render_markdown
from desktop_chat.ui.message_widget import MessageWidget

LONG_WAIT_MS = 60_000  # scrolling through hundreds of messages on a busy test machine
# Widgets the view may keep: the viewport and two viewports above and below it, filled with
# the shortest messages these tests make (about 80 px), and some slack.
MOST_WIDGETS = 60


def _conversation(count: int) -> list[Message]:
    """Questions and answers of varied length, some answers with a code block."""
    messages = []
    for i in range(count):
        if i % 2 == 0:
            content = f"Question {i}: " + "why " * (3 + i % 7)
        else:
            content = f"Answer {i}.\n\n" + "Some words of the answer. " * (2 + i % 13)
            if i % 10 == 1:
                content += "\n\n```python\nprint('hello')\n```"
        role = "user" if i % 2 == 0 else "assistant"
        messages.append(Message(id=i + 1, role=role, content=content))
    return messages


@pytest.fixture
def chat(qtbot) -> ChatView:
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    return view


@contextmanager
def _holding(
    chat: ChatView, key: Qt.Key, also: Callable[[], None] = lambda: None
) -> Iterator[None]:
    """The key held down on the view: one press every 16 ms, as key repeat sends them."""
    timer = QTimer()
    timer.setInterval(16)

    def press() -> None:
        QTest.keyClick(chat, key)
        also()

    timer.timeout.connect(press)
    timer.start()
    try:
        yield
    finally:
        timer.stop()


def _opened(qtbot, chat: ChatView, messages: list[Message]) -> None:
    chat.show_conversation(messages, None)
    bar = chat.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())


def _top_in_viewport(chat: ChatView, widget: MessageWidget) -> int:
    return widget.mapTo(chat.viewport(), QPoint(0, 0)).y()


def _first_in_view(chat: ChatView) -> MessageWidget:
    return next(
        w for w in chat.message_widgets if w.geometry().bottom() > chat.verticalScrollBar().value()
    )


def test_older_messages_keep_loading_while_the_reader_stays_at_the_top(qtbot, chat) -> None:
    messages = _conversation(300)
    _opened(qtbot, chat, messages)
    assert chat.shown_range[0] > 0, "a long conversation opens with its newest messages only"
    bar = chat.verticalScrollBar()

    with _holding(chat, Qt.Key.Key_PageUp):
        qtbot.waitUntil(
            lambda: chat.shown_range[0] == 0 and bar.value() == bar.minimum(),
            timeout=LONG_WAIT_MS,
        )

    first = chat.message_widgets[0]
    assert first.message.id == messages[0].id
    assert first.body.toPlainText().startswith("Question 0:")
    assert 0 <= _top_in_viewport(chat, first) < chat.viewport().height()


class _Watch(QObject):
    """Checks, at each paint of the conversation, that the message the reader is on stays
    where it was in the viewport: what the reader sees while nobody scrolls."""

    def __init__(self, chat: ChatView) -> None:
        super().__init__()
        self.chat = chat
        self.reading: MessageWidget | None = None
        self.place = 0
        self.moves: list[tuple[int, int]] = []
        chat.widget().installEventFilter(self)

    def reader_is_on_the_first_message_in_view(self) -> None:
        self.reading = _first_in_view(self.chat)
        self.place = _top_in_viewport(self.chat, self.reading)

    def stays(self) -> bool:
        assert self.reading is not None
        return _top_in_viewport(self.chat, self.reading) == self.place

    def reader_scrolls(self) -> None:
        self.reading = None

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.reading is not None and not self.stays():
            self.moves.append((self.place, _top_in_viewport(self.chat, self.reading)))
        return False


# A QTextBrowser leaves a mouse release that is not on a link to its parents; QTest
# reports that as a warning, which it is not.
@pytest.mark.qt_log_ignore('^Mouse event "MouseRelease" not accepted by receiving widget$')
def test_the_reader_keeps_their_place_as_messages_come_in_above_and_go_below(qtbot, chat) -> None:
    chat.resize(600, 300)
    messages = _conversation(300)
    _opened(qtbot, chat, messages)
    bar = chat.verticalScrollBar()
    # The reader clicked into the newest message (to select text): when its widget is
    # dropped, far below, the focus must not pull the view to another message.
    QTest.mouseClick(chat.message_widgets[-1].body.viewport(), Qt.MouseButton.LeftButton)
    watch = _Watch(chat)

    while chat.shown_range[1] == len(messages):
        bar.triggerAction(QAbstractSlider.SliderAction.SliderToMinimum)  # thumb dragged up
        watch.reader_is_on_the_first_message_in_view()
        first_before = chat.shown_range[0]
        # Older messages go in above until a screenful is ready above the reader.
        qtbot.waitUntil(
            lambda: (
                chat.shown_range[0] < first_before  # noqa: B023 (waited on at once)
                and bar.value() >= chat.viewport().height()
            )
        )
        qtbot.waitUntil(watch.stays)

    assert watch.moves == [], "the message the reader was on moved on screen"
    assert chat.isAncestorOf(QApplication.focusWidget()) or QApplication.focusWidget() is chat


def test_widgets_are_capped_and_dropped_messages_come_back(qtbot, chat) -> None:
    messages = _conversation(400)
    _opened(qtbot, chat, messages)
    bar = chat.verticalScrollBar()
    most = [chat.shown_count]

    def count() -> None:
        most[0] = max(most[0], chat.shown_count)

    with _holding(chat, Qt.Key.Key_PageUp, also=count):
        qtbot.waitUntil(
            lambda: chat.shown_range[0] == 0 and bar.value() == bar.minimum(),
            timeout=LONG_WAIT_MS,
        )
    assert most[0] <= MOST_WIDGETS
    assert chat.shown_range[1] < len(messages), "the newest messages, far below, were dropped"

    with _holding(chat, Qt.Key.Key_PageDown, also=count):
        qtbot.waitUntil(
            lambda: chat.shown_range[1] == len(messages) and bar.value() == bar.maximum(),
            timeout=LONG_WAIT_MS,
        )
    assert most[0] <= MOST_WIDGETS
    last = chat.message_widgets[-1]
    assert last.message.id == messages[-1].id
    assert last.body.toPlainText().startswith(f"Answer {len(messages) - 1}.")
    qtbot.waitUntil(lambda: 0 < _top_in_viewport(chat, last) < chat.viewport().height())
    # Only the last reply offers Regenerate, also once its widget was built again.
    offering = [w.message.id for w in chat.message_widgets if w.button("Regenerate")]
    assert offering == [messages[-1].id]


def test_new_messages_at_the_bottom_drop_the_oldest_widgets(qtbot, chat) -> None:
    messages = _conversation(10)
    _opened(qtbot, chat, messages)
    bar = chat.verticalScrollBar()
    for i in range(10, 160):
        message = _conversation(i + 1)[i]
        messages.append(message)
        chat.add_message(message)
        qtbot.waitUntil(lambda: chat.message_widgets[-1].isVisible())

    qtbot.waitUntil(lambda: bar.value() == bar.maximum() and chat.shown_count <= MOST_WIDGETS)
    assert chat.shown_range == (chat.shown_range[0], len(messages))
    assert chat.shown_range[0] > 0, "the first messages, far above, were dropped"
    offering = [w.message.id for w in chat.message_widgets if w.button("Regenerate")]
    assert offering == [messages[-1].id]

    with _holding(chat, Qt.Key.Key_PageUp):
        qtbot.waitUntil(
            lambda: chat.shown_range[0] == 0 and bar.value() == bar.minimum(),
            timeout=LONG_WAIT_MS,
        )
    assert chat.message_widgets[0].body.toPlainText().startswith("Question 0:")


def test_a_reply_that_ends_while_the_reader_is_far_up_waits_below(qtbot, chat) -> None:
    messages = _conversation(300)
    _opened(qtbot, chat, messages)
    bar = chat.verticalScrollBar()
    with _holding(chat, Qt.Key.Key_PageUp):
        qtbot.waitUntil(
            lambda: chat.shown_range[0] == 0 and bar.value() == bar.minimum(),
            timeout=LONG_WAIT_MS,
        )
    watch = _Watch(chat)
    watch.reader_is_on_the_first_message_in_view()

    chat.begin_stream(label="Assistant")
    chat.append_delta("The new ", "")
    chat.append_delta("reply.", "")
    qtbot.waitUntil(lambda: chat.stream_text() == "The new reply.")
    reply = Message(id=1000, role="assistant", content="The new reply.")
    messages.append(reply)
    chat.add_message(reply)
    qtbot.waitUntil(lambda: not chat.streaming)
    assert watch.stays()
    assert watch.moves == []

    watch.reader_scrolls()
    with _holding(chat, Qt.Key.Key_PageDown):
        qtbot.waitUntil(
            lambda: chat.shown_range[1] == len(messages) and bar.value() == bar.maximum(),
            timeout=LONG_WAIT_MS,
        )
    texts = [w.body.toPlainText().strip() for w in chat.message_widgets]
    assert texts[-1] == "The new reply."
    assert texts.count("The new reply.") == 1
    offering = [w.message.id for w in chat.message_widgets if w.button("Regenerate")]
    assert offering == [reply.id]


def test_unlabelled_code_is_plain_and_labelled_code_is_highlighted(qtbot, chat) -> None:
    code = "import os\nprint(os.getcwd())"
    plain = render_markdown(f"```\n{code}\n```", False)
    highlighted = render_markdown(f"```python\n{code}\n```", False)
    indented = render_markdown("Run:\n\n    import os\n", False)

    assert plain.code_blocks == [code]
    assert "<span" not in plain.html
    assert "import os\nprint(os.getcwd())</pre>" in plain.html
    assert "<span" not in indented.html and "import os</pre>" in indented.html
    assert highlighted.code_blocks == [code]
    assert '<span style="color' in highlighted.html

    # In the view: both blocks show their code; only the labelled one is in colours.
    chat.show_conversation(
        [Message(id=1, role="assistant", content=f"```\n{code}\n```\n\n```python\n{code}\n```")],
        None,
    )
    widget = chat.message_widgets[0]
    qtbot.waitUntil(widget.isVisible)
    assert widget.body.toPlainText().count("print(os.getcwd())") == 2
    coloured = []  # for each fragment starting with "import": has it a colour of its own?
    block = widget.body.document().begin()
    while block.isValid():
        for position in block:
            fragment = position.fragment()
            if fragment.text().startswith("import"):
                format_ = fragment.charFormat()
                coloured.append(format_.hasProperty(QTextFormat.Property.ForegroundBrush))
        block = block.next()
    assert coloured == [False, True]


def test_reasoning_opens_and_closes_under_its_toggle(qtbot, chat) -> None:
    thought = Message(id=1, role="assistant", content="Yes.", reasoning="First, think.")
    plain = Message(id=2, role="assistant", content="No.")
    chat.show_conversation([thought, plain], None)
    with_reasoning, without = chat.message_widgets
    qtbot.waitUntil(with_reasoning.isVisible)
    assert without.reasoning_toggle is None or not without.reasoning_toggle.isVisible()
    toggle = with_reasoning.reasoning_toggle
    assert toggle is not None and toggle.isVisible()

    QTest.mouseClick(toggle, Qt.MouseButton.LeftButton)
    view = with_reasoning.reasoning_view
    assert view is not None
    qtbot.waitUntil(view.isVisible)
    assert view.toPlainText() == "First, think."
    assert view.y() < with_reasoning.body.y(), "the reasoning shows above the answer"

    QTest.mouseClick(toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.isVisible())


@pytest.mark.qt_log_ignore('^Mouse event "MouseRelease" not accepted by receiving widget$')
def test_page_up_pages_the_conversation_while_a_message_has_the_focus(qtbot, chat) -> None:
    messages = _conversation(60)
    _opened(qtbot, chat, messages)
    bar = chat.verticalScrollBar()
    # The first paint builds the last screen; a screen above follows at once.
    qtbot.waitUntil(lambda: bar.maximum() >= bar.pageStep() and bar.value() == bar.maximum())
    body = chat.message_widgets[-1].body
    QTest.mouseClick(body.viewport(), Qt.MouseButton.LeftButton)  # to select some text
    qtbot.waitUntil(body.hasFocus)
    bottom = bar.value()

    QTest.keyClick(body, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: bar.value() < bottom)
    assert bottom - bar.value() >= bar.pageStep() // 2

    up = bar.value()
    QTest.keyClick(body, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: bar.value() > up)
