"""One message in the chat view: header, rendered text, reasoning, and its actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, QSizeF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QGuiApplication,
    QKeyEvent,
    QResizeEvent,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.schemas import Message, MessageStatus, ToolCall
from desktop_chat.ui import lexers
from desktop_chat.ui.attachment_strip import AttachmentStrip
from desktop_chat.ui.formulas import Formulas
from desktop_chat.ui.i18n import N_, say, t
from desktop_chat.ui.markdown import Rendered, render_markdown_soon
from desktop_chat.ui.streamed_text import StreamedText
from desktop_chat.ui.tool_block import ToolCallBlock, tool_title
from desktop_chat.ui.version_switcher import VersionSwitcher

# Keys that move through the conversation: a message, as tall as its text, has nothing of
# its own to page through, so they go on to the chat view around it.
CONVERSATION_KEYS = (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


class AutoHeightBrowser(QTextBrowser):
    """A read-only, selectable rich-text view as tall as its content, with no scroll bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        # Transparent over the message's background. A style sheet of its own would do the
        # same at the cost of a style object per message (a tenth of building one).
        self.viewport().setAutoFillBackground(False)
        self._height = 0
        self.formulas = Formulas(self)  # its math (ui/markdown_math.py marks it)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)

    def _fit(self, size: QSizeF) -> None:
        # The layout tells the new size; asking the document for it would lay it all out
        # again, which is what made long streamed replies stall.
        height = int(size.height()) + 4
        if height != self._height:
            self._height = height
            self.setFixedHeight(height)
            self.updateGeometry()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in CONVERSATION_KEYS:
            event.ignore()  # passed on to the parents: the chat view pages
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():  # a new height needs no relayout
            self.document().setTextWidth(self.viewport().width())

    def sizeHint(self) -> QSize:
        return QSize(400, self._height or 24)

    def loadResource(self, kind: int, url: QUrl) -> Any:
        if kind == QTextDocument.ResourceType.ImageResource and self.formulas.is_formula(url):
            return self.formulas.load(url)
        return super().loadResource(kind, url)


STATUS_TEXT = {
    MessageStatus.STOPPED: N_("Stopped"),
    MessageStatus.FAILED: N_("Failed"),
    MessageStatus.INTERRUPTED: N_("Interrupted"),
}
# Marked for translation here; shown through t() where the buttons are made.
ACTION_NAMES = (
    N_("Copy"),
    N_("Edit"),
    N_("Continue"),
    N_("Retry"),
    N_("Regenerate"),
    N_("Fork"),
    N_("Delete"),
)
ACTION_TIPS = {"Fork": N_("Fork from here: a new conversation with the messages up to this one")}
ROLE_NAMES = (N_("User"), N_("Assistant"), N_("System"), N_("Tool"))


class MessageWidget(QFrame):
    """Shows a stored message, or a reply while it streams (then `message` is None)."""

    copy_requested = Signal(str)
    action = Signal(str, object)  # action name, Message
    version_requested = Signal(int)  # the id of another version of this message

    def __init__(
        self,
        message: Message | None,
        *,
        dark: bool,
        is_last_reply: bool = False,
        role_label: str = "",
        files: Path | None = None,
        tool_call: ToolCall | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.message = message
        self.files = files  # the folder of attached files, for thumbnails
        self.attachments: AttachmentStrip | None = None
        self._tool_call = tool_call  # the call a tool message answers
        self.tool_block: ToolCallBlock | None = None
        self.dark = dark
        self.rendered = Rendered(html="")
        self._shown_text: str | None = None  # the Markdown source of `rendered`
        self._awaits_lexers = False  # connected to lexers.compiled()
        self._streamed: StreamedText | None = None
        role = message.role if message else "assistant"
        self.setObjectName(f"message_{role}")
        self.setProperty("role", role)
        self.setFrameShape(QFrame.Shape.NoFrame)
        layout = self._layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(4)

        header = QHBoxLayout()
        self.role_label = QLabel(role_label or t(role.capitalize()))
        self.role_label.setObjectName("roleLabel")
        header.addWidget(self.role_label)
        self.status_label = QLabel()
        self.status_label.setObjectName("statusBadge")
        header.addWidget(self.status_label)
        header.addStretch(1)
        layout.addLayout(header)

        # Built when a message has reasoning, and opened: most have none, and these two
        # are a third of a message's widgets (the view alone is six, with its scroll bars).
        self._reasoning = ""
        self.reasoning_toggle: QToolButton | None = None
        self.reasoning_view: AutoHeightBrowser | None = None

        self.body = AutoHeightBrowser()
        self.body.setAccessibleName(f"{role} message")
        self.body.anchorClicked.connect(self._on_link)
        layout.addWidget(self.body)

        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.actions_row = QHBoxLayout()
        self.actions_row.setSpacing(2)
        self._buttons: dict[str, QToolButton] = {}
        self.versions = VersionSwitcher()
        self.versions.chosen.connect(self.version_requested)
        self.versions.follow_keys(self)
        self.actions_row.addWidget(self.versions)
        self.actions_row.addStretch(1)
        layout.addLayout(self.actions_row)
        if message is not None:
            self.set_message(message, is_last_reply=is_last_reply)

    # Content ---------------------------------------------------------------------

    def set_message(
        self, message: Message, *, is_last_reply: bool = False, render: bool = True
    ) -> None:
        """Show a stored message; `render=False` keeps the text already shown (streamed)."""
        self.message = message
        if render:
            self._show_markdown(message.content)
        self._set_reasoning(message.reasoning)
        if message.attachments and self.files is not None and self.attachments is None:
            self.attachments = AttachmentStrip(message.attachments, self.files)
            self._layout.insertWidget(1, self.attachments)  # below the header
        if message.role == "tool":
            self._show_tool(message)
        elif message.tool_calls and not message.content:  # a turn of calls only
            names = ", ".join(
                "/".join(filter(None, tool_title(c.function.name))) for c in message.tool_calls
            )
            self.body.setPlainText(t("Asked to run {tools}").format(tools=names))
        badge = t(STATUS_TEXT[message.status]) if message.status in STATUS_TEXT else ""
        self.status_label.setText(badge)
        self.status_label.setVisible(bool(badge))
        self.error_label.setText(say(message.error or ""))
        self.error_label.setVisible(bool(message.error))
        meta = [message.model] if message.role == "assistant" and message.model else []
        if message.completion_tokens:
            meta.append(f"{message.completion_tokens} tokens")
        self.role_label.setToolTip(" · ".join(m for m in meta if m))
        self._build_actions(message, is_last_reply)

    def _show_tool(self, message: Message) -> None:
        """A tool's result, folded in a block under the call's name and arguments."""
        if self.tool_block is None:
            call = self._tool_call
            server, tool = tool_title(call.function.name if call else "")
            self.tool_block = ToolCallBlock(server, tool, call.function.arguments if call else "")
            self._layout.insertWidget(1, self.tool_block)
            self.body.hide()
        failed = message.status is not MessageStatus.COMPLETE
        self.tool_block.finish(message.content, failed, message.duration_ms)

    def show_markdown(self, text: str) -> None:
        """Text that is not a stored message (a greeting)."""
        self._show_markdown(text)

    def _show_markdown(self, text: str) -> None:
        """Render `text`; code whose lexer compiles meanwhile is coloured once it has."""
        self._shown_text = text
        self.rendered = render_markdown_soon(text, self.dark)
        self.body.setHtml(self.rendered.html)
        if self.rendered.waiting:
            self._await_lexers()
            if all(lexers.is_compiled(language) for language in self.rendered.waiting):
                self._lexers_compiled()  # compiled before this widget listened

    def _await_lexers(self) -> None:
        if not self._awaits_lexers:
            self._awaits_lexers = True
            lexers.compiled().connect(self._lexers_compiled)

    def _lexers_compiled(self) -> None:
        if self._streamed is not None:
            self._formulas_drawn()  # a finished piece waits for its lexer as for its formulas
        elif self.rendered.waiting and self._shown_text is not None:
            self._show_markdown(self._shown_text)

    def stream_update(self, text: str, reasoning: str) -> None:
        """Show the reply so far at a cost that does not grow with its length."""
        if self._streamed is None:
            self._streamed = StreamedText(self.body.document(), self.dark, self.body.formulas.ready)
            self.body.formulas.drawn.connect(self._formulas_drawn)
            self._await_lexers()
            self.rendered = Rendered(html="", code_blocks=self._streamed.code_blocks)
            self.status_label.setText(t("Writing…"))
            self.status_label.setVisible(True)
        self._streamed.update(text)
        self._set_reasoning(reasoning)

    def _formulas_drawn(self) -> None:
        """A finished piece waited for its formulas: put it in now, even if no token came."""
        if self._streamed is not None:
            self._streamed.update(self._streamed.text)
            self._drop_stream_when_done()

    def finish_stream(self, message: Message, *, is_last_reply: bool = False) -> None:
        """The streamed reply was stored: render what is left and keep the document.

        Pieces whose formulas are still being drawn go on going in as they are drawn,
        so that the end of a math-heavy reply does not hold the window up.
        """
        state = self._streamed
        if state is None or not message.content.startswith(state.rendered_text):
            self._streamed = None
            self.set_message(message, is_last_reply=is_last_reply)
            return
        state.update(message.content + "\n\n")
        self._set_reasoning(message.reasoning)
        self.set_message(message, is_last_reply=is_last_reply, render=False)
        self._drop_stream_when_done()

    def _drop_stream_when_done(self) -> None:
        if self.message is not None and self._streamed is not None and self._streamed.caught_up:
            self._streamed = None

    def highlight(self, terms: str) -> None:
        """Mark this message (a search led here) and each of the searched words in it."""
        self.setProperty("found", True)
        # The theme draws messages with a style sheet; this one message gets a frame of its own.
        self.setStyleSheet(f"#{self.objectName()} {{ border: 2px solid palette(highlight); }}")
        marks = []
        mark = QTextCharFormat()
        mark.setBackground(self.palette().highlight())
        mark.setForeground(self.palette().highlightedText())
        document = self.body.document()
        for term in terms.split():
            cursor = document.find(term)
            while not cursor.isNull():
                selection = QTextEdit.ExtraSelection()
                selection.cursor, selection.format = cursor, mark
                marks.append(selection)
                cursor = document.find(term, cursor)
        self.body.setExtraSelections(marks)

    def plain_text(self) -> str:
        return self.message.content if self.message else self.body.toPlainText()

    def _set_reasoning(self, reasoning: str) -> None:
        self._reasoning = reasoning
        if reasoning and self.reasoning_toggle is None:
            self.reasoning_toggle = QToolButton()
            self.reasoning_toggle.setText(t("Reasoning"))
            self.reasoning_toggle.setCheckable(True)
            self.reasoning_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            self.reasoning_toggle.setArrowType(Qt.ArrowType.RightArrow)
            self.reasoning_toggle.setAutoRaise(True)
            self.reasoning_toggle.toggled.connect(self._toggle_reasoning)
            self._layout.insertWidget(1, self.reasoning_toggle)  # under the header
        if self.reasoning_toggle is not None:
            self.reasoning_toggle.setVisible(bool(reasoning))
            if reasoning and self.reasoning_toggle.isChecked() and self.reasoning_view:
                self.reasoning_view.setPlainText(reasoning)

    def _toggle_reasoning(self, shown: bool) -> None:
        assert self.reasoning_toggle is not None
        self.reasoning_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        if self.reasoning_view is None:
            self.reasoning_view = AutoHeightBrowser()
            self.reasoning_view.setObjectName("reasoning")
            self._layout.insertWidget(2, self.reasoning_view)  # under the toggle
        if shown:
            self.reasoning_view.setPlainText(self._reasoning)
        self.reasoning_view.setVisible(shown)

    # Actions ---------------------------------------------------------------------

    def _build_actions(self, message: Message, is_last_reply: bool) -> None:
        for button in self._buttons.values():
            button.deleteLater()
        self._buttons.clear()
        names = ["Copy"]
        if message.role == "user":
            names.append("Edit")
        if message.role == "assistant" and is_last_reply:
            if message.status in (MessageStatus.STOPPED, MessageStatus.INTERRUPTED):
                names.append("Continue")
            names.append("Retry" if message.status is MessageStatus.FAILED else "Regenerate")
        if message.id is not None:
            names.append("Fork")
        names.append("Delete")
        for name in names:
            button = QToolButton()
            button.setObjectName("messageAction")
            button.setText(t(name))
            if name in ACTION_TIPS:
                button.setToolTip(t(ACTION_TIPS[name]))
            button.setAutoRaise(True)
            button.setAccessibleName(f"{name} message")
            button.clicked.connect(lambda _=False, n=name: self._on_action(n))
            self.actions_row.addWidget(button)
            self._buttons[name] = button

    def button(self, name: str) -> QToolButton | None:
        return self._buttons.get(name)

    def _on_action(self, name: str) -> None:
        if name == "Copy":
            QGuiApplication.clipboard().setText(self.plain_text())
            self.copy_requested.emit(t("Message copied"))
            return
        self.action.emit(name.lower(), self.message)

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            index = int(url.path() or url.toString().split(":", 1)[1])
            if 0 <= index < len(self.rendered.code_blocks):
                QGuiApplication.clipboard().setText(self.rendered.code_blocks[index])
                self.copy_requested.emit(t("Code copied"))
            return
        if url.scheme() in ("http", "https", "mailto"):
            from PySide6.QtGui import QDesktopServices

            QDesktopServices.openUrl(url)
