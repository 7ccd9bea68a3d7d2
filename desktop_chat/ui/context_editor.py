"""The context editor: see, and change, exactly what the next request will send.

A model only ever sees role + text pairs: the prompt (the agent's preset messages, or the
conversation's own copy of them) and then the history. This panel lays those out in that
order, one editable entry each, so a user can fix a question, drop a bad answer, add an
instruction or write an example reply, and then Apply it to the conversation.

Choices worth knowing:

* Two sections. Prompt entries stay prompt entries and history entries stay history:
  moving only reorders within a section, so it is always clear which messages belong to
  the conversation's prompt (kept with the conversation) and which are its history.
* Entries that came from stored messages keep their ids on Apply, so the store updates
  them in place and their metadata (model, timings, token counts) survives an edit.
* While a reply streams, Apply is disabled: the engine would refuse it, and the reply's
  request was already sent with the old context anyway.
* A new stored message (a sent question, a finished reply) reloads the panel when it
  has no unsaved edits. With unsaved edits, the message is appended to the history
  instead: the edits survive, and Apply cannot silently delete a reply the user never saw.
  Other changes to the conversation (a message deleted or regenerated elsewhere) reload a
  panel without edits too; an edited entry whose message has gone meanwhile is saved as a
  new message on Apply (engine.context_rules), because what the panel shows is what gets
  sent.
* Long histories stay responsive: entries are built only by `load()` (never for a
  panel that was not opened), a hidden panel catches up once when shown instead of
  rebuilding on every message, each text box is a QPlainTextEdit as tall as its text up
  to a limit, and the token total is a sum of per-entry estimates, re-estimating only the
  entry being typed in. Role selectors ignore the wheel unless focused, so scrolling
  past them cannot change a role.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any, cast

import shiboken6
from pydantic import ValidationError
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent, QWheelEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.engine.events import (
    ConversationChanged,
    ConversationDeleted,
    HistoryChanged,
    MessageStored,
    ReplyDone,
    ReplyStarted,
)
from desktop_chat.schemas import (
    ChatMessage,
    Context,
    ContextEntry,
    Message,
    Role,
    validation_message,
)
from desktop_chat.tokens import MESSAGE_OVERHEAD, estimate_tokens
from desktop_chat.ui.bridge import EngineBridge, failure_sentence
from desktop_chat.ui.i18n import N_, t

log = logging.getLogger(__name__)

ROLES: tuple[Role, ...] = ("system", "user", "assistant")
ROLE_LABELS: dict[Role, str] = {
    "system": N_("System"),
    "user": N_("User"),
    "assistant": N_("Assistant"),
}
MIN_LINES = 2
MAX_LINES = 12


class FittedTextEdit(QPlainTextEdit):
    """A plain-text box as tall as its text, from MIN_LINES up to MAX_LINES, then scrolling.

    A one-line question takes little room while a pasted document cannot push the rest
    of the context off screen. The height is a size hint under a Fixed vertical policy,
    recomputed when the text or the width changes, and the parent layout is told only when
    the number of lines really changes, so typing does not relayout the panel.
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setPlainText(text)
        self._lines = self._visible_lines()
        self.textChanged.connect(self._refit)

    def _visible_lines(self) -> int:
        """Wrapped lines at the current width, counted no further than MAX_LINES.

        The plain-text layout wraps blocks lazily (only painted ones after a resize), so
        its document size is not trusted; asking for a block's bounding rect lays that
        block out. Stopping at MAX_LINES keeps this cheap for a pasted book.
        """
        layout = self.document().documentLayout()
        lines = 0
        block = self.document().firstBlock()
        while block.isValid() and lines < MAX_LINES:
            layout.blockBoundingRect(block)
            lines += max(block.layout().lineCount(), 1)
            block = block.next()
        return min(max(lines, MIN_LINES), MAX_LINES)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)  # re-wraps the text at the new width
        self._refit()

    def _height_for(self, lines: int) -> int:
        margins = self.contentsMargins()
        text = lines * self.fontMetrics().lineSpacing() + 2 * self.document().documentMargin()
        # One pixel more than the lines need, or QPlainTextEdit keeps a one-line scroll range.
        return math.ceil(text) + 1 + margins.top() + margins.bottom()

    def _refit(self) -> None:
        lines = self._visible_lines()
        if lines != self._lines:
            self._lines = lines
            self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height_for(self._lines))

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._height_for(MIN_LINES))


class RoleBox(QComboBox):
    """A role selector that ignores the mouse wheel unless it has the keyboard focus.

    Scrolling down a long context passes over dozens of these; a plain combo box would
    silently change a message's role under the wheel.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # let the panel scroll instead


class EntryEditor(QFrame):
    """One message of the context: its role, its text, and buttons to move or delete it."""

    changed = Signal(object)  # self; the text or the role changed
    move_requested = Signal(object, int)  # self, -1 (up) or +1 (down)
    delete_requested = Signal(object)  # self

    def __init__(
        self,
        role: Role,
        content: str,
        *,
        entry_id: int | None,
        preset: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("contextEntry")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.entry_id = entry_id
        self.is_preset = preset
        self._position: tuple[int, bool, bool] | None = None

        self.role_box = RoleBox()
        self.role_box.setObjectName("contextRole")
        for value in ROLES:
            self.role_box.addItem(t(ROLE_LABELS[value]), value)
        self.role_box.setCurrentIndex(ROLES.index(role))
        self.edit = FittedTextEdit(content)
        self.edit.setObjectName("contextText")
        # Arrows keep the header narrow enough for a side panel; the words are in the
        # tooltip and the accessible name.
        self.up_button = self._tool_button("↑", t("Move up"))
        self.down_button = self._tool_button("↓", t("Move down"))
        self.delete_button = self._tool_button(t("Delete"), t("Delete"))
        self.tokens = self._estimate()

        header = QHBoxLayout()
        header.addWidget(self.role_box)
        header.addStretch(1)
        for button in (self.up_button, self.down_button, self.delete_button):
            header.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.edit)

        # Connected after the initial values are set: filling the panel is not an edit.
        self.edit.textChanged.connect(self._on_text)
        self.role_box.currentIndexChanged.connect(lambda _index: self.changed.emit(self))
        self.up_button.clicked.connect(lambda: self.move_requested.emit(self, -1))
        self.down_button.clicked.connect(lambda: self.move_requested.emit(self, 1))
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit(self))

    @staticmethod
    def _tool_button(text: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(name)
        button.setAccessibleName(name)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return button

    @property
    def role(self) -> Role:
        return cast(Role, self.role_box.currentData())

    @property
    def text(self) -> str:
        return self.edit.toPlainText()

    def _estimate(self) -> int:
        return MESSAGE_OVERHEAD + estimate_tokens(self.text)

    def _on_text(self) -> None:
        # Only this entry is re-estimated per keystroke; the panel sums the cached totals.
        self.tokens = self._estimate()
        self.changed.emit(self)

    def set_position(self, number: int, *, first: bool, last: bool) -> None:
        """Name the controls after the entry's place, so a screen reader can tell them apart."""
        if self._position == (number, first, last):
            return  # most entries keep their place when one moves: skip the renaming
        self._position = (number, first, last)
        what = (t("Prompt message {number}") if self.is_preset else t("Message {number}")).format(
            number=number
        )
        self.setAccessibleName(what)
        self.role_box.setAccessibleName(t("Role of {what}").format(what=what))
        self.edit.setAccessibleName(t("Text of {what}").format(what=what))
        self.up_button.setAccessibleName(t("Move {what} up").format(what=what))
        self.down_button.setAccessibleName(t("Move {what} down").format(what=what))
        self.delete_button.setAccessibleName(t("Delete {what}").format(what=what))
        self.up_button.setEnabled(not first)
        self.down_button.setEnabled(not last)

    def as_entry(self) -> ContextEntry:
        return ContextEntry(id=self.entry_id, role=self.role, content=self.text)

    def as_chat(self) -> ChatMessage:
        return ChatMessage(role=self.role, content=self.text)


class ContextEditor(QWidget):
    """The prompt and history of one conversation as editable entries, applied as a whole."""

    applied = Signal()

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contextEditor")
        self._bridge = bridge
        self._conversation_id: str | None = None
        self._preset: list[EntryEditor] = []
        self._history: list[EntryEditor] = []
        self._loaded = False
        self._dirty = False
        self._busy = False  # a reply is being written in this conversation
        self._working = False  # a load or an apply is running
        self._generation = 0  # answers to superseded loads and applies are ignored
        # Stored messages this panel has shown, as they were stored: id -> (role, content).
        self._seen: dict[int, tuple[str, str]] = {}
        self._pending: list[Message] = []  # messages that arrived while a load or apply ran
        self._reload_wanted = False  # the conversation changed while a load or apply ran
        self._outdated = False  # the conversation changed while the panel was hidden

        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setAccessibleName(t("Context"))
        self._container = QWidget()
        column = QVBoxLayout(self._container)
        column.setContentsMargins(0, 0, 0, 0)
        self.prompt_header = self._section_label(t("Prompt — sent first, in every request"))
        self.prompt_empty = QLabel(t("No prompt messages."))
        self._prompt_layout = QVBoxLayout()
        self.history_header = self._section_label(t("Conversation history"))
        self.history_empty = QLabel(t("No messages yet."))
        self._history_layout = QVBoxLayout()
        column.addWidget(self.prompt_header)
        column.addWidget(self.prompt_empty)
        column.addLayout(self._prompt_layout)
        column.addWidget(self.history_header)
        column.addWidget(self.history_empty)
        column.addLayout(self._history_layout)
        column.addStretch(1)
        self._scroll.setWidget(self._container)

        self.add_system_button = self._button(t("Add system message"), self._add_system)
        self.add_message_button = self._button(t("Add message"), self._add_message)
        self.revert_button = self._button(t("Revert"), self._revert)
        self.apply_button = self._button(t("Apply"), self._apply)

        self.token_label = QLabel()
        self.token_label.setObjectName("contextTokens")
        self.token_label.setToolTip(
            t(
                "An estimate: about one token per 4 characters of English text and one per "
                "Chinese, Japanese or Korean character, plus a few per message. "
                "The server's own count may differ."
            )
        )
        self.dirty_label = QLabel(t("Unsaved changes"))
        self.dirty_label.setObjectName("contextDirty")
        self.dirty_label.setWordWrap(True)
        self.busy_note = QLabel(
            t("A reply is being written. Apply is available again when it finishes.")
        )
        self.busy_note.setObjectName("contextBusy")
        self.busy_note.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setAccessibleName(t("Error"))
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        adds = QHBoxLayout()
        adds.addWidget(self.add_system_button)
        adds.addWidget(self.add_message_button)
        adds.addStretch(1)
        status = QHBoxLayout()
        status.addWidget(self.token_label)
        status.addWidget(self.dirty_label, 1)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.revert_button)
        actions.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self._scroll, 1)
        layout.addLayout(adds)
        layout.addLayout(status)
        layout.addWidget(self.busy_note)
        layout.addWidget(self.error_label)
        layout.addLayout(actions)
        self.setMinimumWidth(320)

        bridge.conversation_deleted.connect(self._on_deleted)
        bridge.reply_started.connect(self._on_reply_started)
        bridge.reply_done.connect(self._on_reply_done)
        bridge.message_stored.connect(self._on_message_stored)
        bridge.conversation_changed.connect(self._on_conversation_changed)
        bridge.history_changed.connect(self._on_conversation_changed)
        self._set_error("")
        self._renumber()
        self._update_tokens()
        self._update_controls()

    @staticmethod
    def _section_label(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("contextSection")
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        return label

    @staticmethod
    def _button(text: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text)
        button.setAutoDefault(False)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # What the panel shows -------------------------------------------------------------

    @property
    def conversation_id(self) -> str | None:
        return self._conversation_id

    @property
    def entries(self) -> list[EntryEditor]:
        """Every entry in request order: the prompt, then the history."""
        return [*self._preset, *self._history]

    @property
    def is_dirty(self) -> bool:
        return self._dirty

    @property
    def token_estimate(self) -> int:
        return sum(entry.tokens for entry in self.entries)

    # Loading ----------------------------------------------------------------------------

    def load(self, conversation_id: str) -> None:
        """Show what the next request of this conversation will send; drops unsaved edits."""
        self._conversation_id = conversation_id
        self._start_load(keep_edits=False)

    def _start_load(self, *, keep_edits: bool) -> None:
        conversation_id = self._conversation_id
        if conversation_id is None:
            return
        generation = self._begin()

        def loaded(context: Context) -> None:
            if keep_edits and self._dirty:
                # The user started editing while this reload was on its way: the edits
                # stay, and only the messages they have not seen yet are added.
                for entry in context.history:
                    self._append_stored(entry.id, entry.role, entry.content)
                return
            self._show(context)

        self._run(self._bridge.service.get_context(conversation_id), generation, loaded)

    def _begin(self) -> int:
        self._generation += 1
        self._working = True
        self._reload_wanted = False
        self._set_error("")
        self._update_controls()
        return self._generation

    def _run(
        self,
        coro: Coroutine[Any, Any, Any],
        generation: int,
        on_success: Callable[[Any], None],
    ) -> None:
        """Run `coro` through the bridge; its failure is told in this panel, in words.

        Only the newest operation's answer is used: a load for a conversation the user has
        already left, or one overtaken by Revert or Apply, must not overwrite the panel.
        """

        async def guarded() -> tuple[bool, Any]:
            try:
                return True, await coro
            except Exception as exc:  # every failure becomes a sentence below
                return False, failure_sentence(exc)

        def finished(outcome: tuple[bool, Any]) -> None:
            if not shiboken6.isValid(self) or generation != self._generation:
                return  # the panel was closed, or a newer operation took over
            self._working = False
            self._container.setEnabled(True)
            succeeded, value = outcome
            if succeeded:
                on_success(value)
            else:
                self._set_error(str(value))
            self._update_controls()
            pending, self._pending = self._pending, []
            for message in pending:
                self._on_new_message(message)
            if self._reload_wanted:
                self._reload_wanted = False
                self._on_changed()

        self._bridge.spawn(guarded(), finished)

    def _show(self, context: Context) -> None:
        """Replace every entry with `context`; the one place entries are created in bulk."""
        self._container.setUpdatesEnabled(False)
        try:
            for entry in self.entries:
                self._discard(entry)
            self._preset = [
                self._make_entry(m.role, m.content, None, preset=True) for m in context.preset
            ]
            self._history = [
                self._make_entry(e.role, e.content, e.id, preset=False) for e in context.history
            ]
            for entry in self._preset:
                self._prompt_layout.addWidget(entry)
            for entry in self._history:
                self._history_layout.addWidget(entry)
        finally:
            self._container.setUpdatesEnabled(True)
        self._seen = {e.id: (e.role, e.content) for e in context.history if e.id is not None}
        self._loaded = True
        self._dirty = False
        self._outdated = False
        self._refresh_busy()
        self._renumber()
        self._update_tokens()
        self._update_controls()

    def _make_entry(
        self, role: Role, content: str, entry_id: int | None, *, preset: bool
    ) -> EntryEditor:
        entry = EntryEditor(role, content, entry_id=entry_id, preset=preset)
        entry.changed.connect(self._on_entry_changed)
        entry.move_requested.connect(self._move)
        entry.delete_requested.connect(self._delete)
        return entry

    def _discard(self, entry: EntryEditor) -> None:
        # deleteLater, not now: the entry's own Delete button may still be mid-click.
        entry.hide()
        entry.deleteLater()

    def _is_seen(self, message_id: int | None, role: str, content: str) -> bool:
        return message_id is None or self._seen.get(message_id) == (role, content)

    def _append_stored(self, message_id: int | None, role: Role, content: str) -> None:
        """Add a stored message the panel has not shown yet, after the edited history."""
        if message_id is None or not content or self._is_seen(message_id, role, content):
            return  # already shown (perhaps deleted by the user since), or never sent
        if message_id in self._seen:
            # SQLite hands the id of a deleted message (a regenerated reply) to the next
            # one: the entry showing the deleted message is now a copy, saved as new.
            for entry in self._history:
                if entry.entry_id == message_id:
                    entry.entry_id = None
        self._seen[message_id] = (role, content)
        entry = self._make_entry(role, content, message_id, preset=False)
        self._history.append(entry)
        self._history_layout.addWidget(entry)
        self._renumber()
        self._update_tokens()

    # Editing ------------------------------------------------------------------------------

    def _section(self, entry: EntryEditor) -> tuple[list[EntryEditor], QVBoxLayout]:
        if entry.is_preset:
            return self._preset, self._prompt_layout
        return self._history, self._history_layout

    def _on_entry_changed(self, _entry: EntryEditor) -> None:
        self._update_tokens()
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        if not self._dirty:
            self._dirty = True
            self._update_controls()

    def _move(self, entry: EntryEditor, step: int) -> None:
        entries, layout = self._section(entry)
        index = entries.index(entry)
        target = index + step
        if not 0 <= target < len(entries):
            return
        entries.insert(target, entries.pop(index))
        layout.removeWidget(entry)
        layout.insertWidget(target, entry)
        self._renumber()
        self._mark_dirty()
        # Keep the keyboard where it was, unless that button just became disabled.
        clicked = entry.up_button if step < 0 else entry.down_button
        other = entry.down_button if step < 0 else entry.up_button
        (clicked if clicked.isEnabled() else other).setFocus()
        self._reveal(entry)

    def _delete(self, entry: EntryEditor) -> None:
        entries, layout = self._section(entry)
        index = entries.index(entry)
        entries.remove(entry)
        layout.removeWidget(entry)
        self._discard(entry)
        self._renumber()
        self._update_tokens()
        self._mark_dirty()
        if entries:
            entries[min(index, len(entries) - 1)].edit.setFocus()
        else:
            self.add_message_button.setFocus()

    def _add_system(self) -> None:
        """A new system message goes at the end of the prompt, before the history."""
        self._add(self._make_entry("system", "", None, preset=True))

    def _add_message(self) -> None:
        """A new history message; it answers the last one (user, then assistant, ...)."""
        last = self._history[-1].role if self._history else "assistant"
        role: Role = "assistant" if last == "user" else "user"
        self._add(self._make_entry(role, "", None, preset=False))

    def _add(self, entry: EntryEditor) -> None:
        entries, layout = self._section(entry)
        entries.append(entry)
        layout.addWidget(entry)
        self._renumber()
        self._update_tokens()
        self._mark_dirty()
        entry.edit.setFocus()
        self._reveal(entry)

    def _reveal(self, entry: EntryEditor) -> None:
        # After the layout has placed the entry, not before.
        def reveal() -> None:
            if shiboken6.isValid(entry) and entry.isVisible():
                self._scroll.ensureWidgetVisible(entry)

        QTimer.singleShot(0, self, reveal)

    def _renumber(self) -> None:
        for number, entry in enumerate(self.entries, start=1):
            entries, _layout = self._section(entry)
            entry.set_position(number, first=entry is entries[0], last=entry is entries[-1])
        self.prompt_empty.setVisible(self._loaded and not self._preset)
        self.history_empty.setVisible(self._loaded and not self._history)

    # Apply and Revert ----------------------------------------------------------------------

    def _revert(self) -> None:
        if self._conversation_id is not None:
            self._start_load(keep_edits=False)

    def _apply(self) -> None:
        conversation_id = self._conversation_id
        if conversation_id is None or not self._dirty or self._working:
            return
        self._refresh_busy()  # a reply may have started without telling us yet
        if self._busy:
            self._update_controls()
            return
        for number, entry in enumerate(self.entries, start=1):
            if not entry.text.strip():
                self._set_error(
                    t("Message {number} is empty. Write something in it or delete it.").format(
                        number=number
                    )
                )
                entry.edit.setFocus()
                self._reveal(entry)
                return
        try:
            context = Context(
                preset=[entry.as_chat() for entry in self._preset],
                history=[entry.as_entry() for entry in self._history],
            )
        except ValidationError as exc:
            self._set_error(validation_message(exc))
            return
        generation = self._begin()
        self._container.setEnabled(False)  # what is being saved is what will be shown

        def done(saved: Context) -> None:
            self._reload_wanted = False  # `saved` was read after our own change was announced
            self._show(saved)
            self.applied.emit()

        save = self._bridge.service.replace_context(conversation_id, context, missing_as_new=True)
        self._run(save, generation, done)

    # Engine events -------------------------------------------------------------------------

    def _on_deleted(self, event: ConversationDeleted) -> None:
        if event.conversation_id == self._conversation_id:
            self._forget(t("This conversation was deleted."))

    def _on_reply_started(self, event: ReplyStarted) -> None:
        if event.conversation_id == self._conversation_id:
            self._busy = True
            self._update_controls()

    def _on_reply_done(self, event: ReplyDone) -> None:
        if event.conversation_id == self._conversation_id:
            self._busy = False
            self._update_controls()

    def _on_message_stored(self, event: MessageStored) -> None:
        if event.conversation_id == self._conversation_id:
            self._refresh_busy()
            if self._loaded:
                self._on_new_message(event.message)
            self._update_controls()

    def _on_conversation_changed(self, event: ConversationChanged | HistoryChanged) -> None:
        if event.conversation_id == self._conversation_id:
            self._refresh_busy()
            if self._loaded:
                self._on_changed()
            self._update_controls()

    def _on_changed(self) -> None:
        """The conversation changed in some other way: reload if no edits would be lost."""
        if self._working:
            self._reload_wanted = True
        elif not self._dirty:
            self._reload_when_seen()

    def _reload_when_seen(self) -> None:
        # A hidden panel does not rebuild a long history for every message; it catches up
        # once, when it is shown again.
        if self.isVisible():
            self._start_load(keep_edits=True)
        else:
            self._outdated = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._outdated and not self._working:
            self._outdated = False
            self._start_load(keep_edits=True)

    def _on_new_message(self, message: Message) -> None:
        """Reload when there is nothing to lose; otherwise add the message after the edits."""
        if self._working:
            self._pending.append(message)  # seen once the running load or apply is done
        elif self._is_seen(message.id, message.role, message.content):
            return
        elif self._dirty:
            self._append_stored(message.id, message.role, message.content)
        else:
            self._reload_when_seen()

    def _forget(self, reason: str) -> None:
        self._generation += 1
        self._conversation_id = None
        self._working = False
        self._pending.clear()
        self._container.setEnabled(True)
        self._show(Context())
        self._loaded = False
        self._renumber()
        self._set_error(reason)
        self._update_controls()

    def _refresh_busy(self) -> None:
        cid = self._conversation_id
        self._busy = cid is not None and self._bridge.service.in_flight(cid) is not None

    # Status -----------------------------------------------------------------------------------

    def _set_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _update_tokens(self) -> None:
        self.token_label.setText(t("About {count} tokens").format(count=f"{self.token_estimate:,}"))

    def _update_controls(self) -> None:
        ready = self._conversation_id is not None and self._loaded
        editable = ready and not self._working
        self.add_system_button.setEnabled(editable)
        self.add_message_button.setEnabled(editable)
        self.revert_button.setEnabled(editable and self._dirty)
        self.apply_button.setEnabled(editable and self._dirty and not self._busy)
        self.busy_note.setVisible(ready and self._busy)
        self.dirty_label.setVisible(ready and self._dirty)
