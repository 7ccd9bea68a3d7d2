"""The context editor: see, and change, exactly what the next request will send.

A model only ever sees role + text pairs: the prompt (the agent's preset messages, or the
conversation's own copy of them) and then the history. This panel lays those out in that
order, one editable entry each, so a user can fix a question, drop a bad answer, add an
instruction or write an example reply, and then Apply it to the conversation.

The panel renders a `ContextDraft` (engine.context_draft), which holds the entries and
the rules: what happens to unsaved edits when a message arrives, when Apply is allowed,
which answers are out of date. The panel turns clicks into calls on the draft, runs the
loads and saves it asks for, and shows the result. Entries that came from stored
messages keep their ids on Apply, so the store updates them in place and their metadata
(model, timings, token counts) survives an edit.

Long histories stay responsive: entries are built only by `load()` (never for a panel
that was not opened), only the entries that were added, removed or moved are laid out
again, and the token total is a sum of per-entry estimates, re-estimating only the entry
being typed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.engine.context_draft import ContextDraft, DraftEntry, EmptyEntry, Operation
from desktop_chat.engine.events import (
    ConversationChanged,
    ConversationDeleted,
    MessageStored,
    PathChanged,
    ReplyDone,
    ReplyStarted,
)
from desktop_chat.ui.bridge import EngineBridge, failure_sentence
from desktop_chat.ui.context_entry import EntryEditor
from desktop_chat.ui.i18n import t


class ContextEditor(QWidget):
    """The prompt and history of one conversation as editable entries, applied as a whole."""

    applied = Signal()

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contextEditor")
        self._bridge = bridge
        self._draft = ContextDraft(
            reply_running=lambda cid: bridge.service.in_flight(cid) is not None,
            is_visible=self.isVisible,
        )
        self._editors: dict[DraftEntry, EntryEditor] = {}
        self._rendered_revision = -1

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
        bridge.path_changed.connect(self._on_conversation_changed)
        self._render()

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
        return self._draft.conversation_id

    @property
    def entries(self) -> list[EntryEditor]:
        """Every entry in request order: the prompt, then the history."""
        return [self._editors[entry] for entry in self._draft.entries]

    @property
    def is_dirty(self) -> bool:
        return self._draft.dirty

    def may_leave(self) -> bool:
        """Unapplied edits are work: ask before switching conversations throws them away."""
        if not (self.isVisible() and self.is_dirty):
            return True
        answer = QMessageBox.question(
            self,
            t("Unapplied context changes"),
            t("The context of this conversation has changes that are not applied. Discard them?"),
        )
        return answer == QMessageBox.StandardButton.Yes

    @property
    def token_estimate(self) -> int:
        return self._draft.token_estimate

    def _render(self) -> None:
        """Show the draft as it is now; cheap enough to call after every change."""
        draft = self._draft
        if draft.revision != self._rendered_revision:
            self._rendered_revision = draft.revision
            self._lay_out_entries()
        self._container.setEnabled(not draft.saving)  # what is being saved is what is shown
        self.prompt_empty.setVisible(draft.loaded and not draft.preset)
        self.history_empty.setVisible(draft.loaded and not draft.history)
        problem = draft.problem
        if isinstance(problem, EmptyEntry):
            problem = t("Message {number} is empty. Write something in it or delete it.").format(
                number=problem.number
            )
        self.error_label.setText(problem or "")
        self.error_label.setVisible(bool(problem))
        self.token_label.setText(
            t("About {count} tokens").format(count=f"{draft.token_estimate:,}")
        )
        self.add_system_button.setEnabled(draft.can_edit)
        self.add_message_button.setEnabled(draft.can_edit)
        self.revert_button.setEnabled(draft.can_revert)
        self.apply_button.setEnabled(draft.can_apply)
        self.busy_note.setVisible(draft.ready and draft.busy)
        self.dirty_label.setVisible(draft.ready and draft.dirty)

    def _lay_out_entries(self) -> None:
        """Make the entry widgets match the draft, touching only those that changed."""
        draft = self._draft
        wanted = set(draft.entries)
        self._container.setUpdatesEnabled(False)
        try:
            for entry in [e for e in self._editors if e not in wanted]:
                editor = self._editors.pop(entry)
                self._layout_of(entry).removeWidget(editor)
                # deleteLater, not now: the entry's own Delete button may be mid-click.
                editor.hide()
                editor.deleteLater()
            for entries in (draft.preset, draft.history):
                layout = self._prompt_layout if entries is draft.preset else self._history_layout
                for index, entry in enumerate(entries):
                    editor = self._editors.get(entry)
                    if editor is None:
                        editor = self._editors[entry] = self._make_editor(entry)
                    else:
                        item = layout.itemAt(index)
                        if item is not None and item.widget() is editor:
                            continue
                        layout.removeWidget(editor)
                    layout.insertWidget(index, editor)
        finally:
            self._container.setUpdatesEnabled(True)
        for number, entry in enumerate(draft.entries, start=1):
            section = draft.section(entry)
            self._editors[entry].set_position(
                number, first=entry is section[0], last=entry is section[-1]
            )

    def _layout_of(self, entry: DraftEntry) -> QVBoxLayout:
        return self._prompt_layout if entry.preset else self._history_layout

    def _make_editor(self, entry: DraftEntry) -> EntryEditor:
        editor = EntryEditor(entry)
        editor.changed.connect(self._on_entry_changed)
        editor.move_requested.connect(self._move)
        editor.delete_requested.connect(self._delete)
        return editor

    # Loading and saving --------------------------------------------------------------------

    def load(self, conversation_id: str) -> None:
        """Show what the next request of this conversation will send; drops unsaved edits."""
        self._run(self._draft.open(conversation_id))
        self._render()

    def _run(self, operation: Operation | None) -> None:
        """Run what the draft asked for; its answer, or its failure in words, goes back."""
        if operation is None:
            return
        service = self._bridge.service
        cid = operation.conversation_id
        if operation.save is None:
            work = service.get_context(cid)
        else:
            work = service.replace_context(cid, operation.save, missing_as_new=True)

        async def guarded() -> tuple[bool, Any]:
            try:
                return True, await work
            except Exception as exc:  # every failure becomes a sentence for the panel
                return False, failure_sentence(exc)

        def finished(outcome: tuple[bool, Any]) -> None:
            if not shiboken6.isValid(self):
                return  # the panel was closed
            succeeded, value = outcome
            applied = succeeded and operation.save is not None
            applied = applied and self._draft.is_current(operation)
            draft = self._draft
            following = (
                draft.finish(operation, value) if succeeded else draft.fail(operation, value)
            )
            self._render()
            if applied:
                self.applied.emit()
            self._run(following)

        self._bridge.spawn(guarded(), finished)

    def _revert(self) -> None:
        self._run(self._draft.revert())
        self._render()

    def _apply(self) -> None:
        before = self._draft.problem
        operation = self._draft.apply()
        self._render()
        problem = self._draft.problem
        if isinstance(problem, EmptyEntry) and problem is not before:
            editor = self._editors[problem.entry]
            editor.edit.setFocus()
            self._reveal(editor)
        self._run(operation)

    # Editing ------------------------------------------------------------------------------

    def _on_entry_changed(self, editor: EntryEditor) -> None:
        self._draft.edit(editor.draft_entry, editor.role, editor.text)
        self._render()

    def _move(self, editor: EntryEditor, step: int) -> None:
        if not self._draft.move(editor.draft_entry, step):
            return
        self._render()
        # Keep the keyboard where it was, unless that button just became disabled.
        clicked = editor.up_button if step < 0 else editor.down_button
        other = editor.down_button if step < 0 else editor.up_button
        (clicked if clicked.isEnabled() else other).setFocus()
        self._reveal(editor)

    def _delete(self, editor: EntryEditor) -> None:
        entry = editor.draft_entry
        index = self._draft.delete(entry)
        self._render()
        section = self._draft.section(entry)
        if section:
            self._editors[section[min(index, len(section) - 1)]].edit.setFocus()
        else:
            self.add_message_button.setFocus()

    def _add_system(self) -> None:
        self._add(self._draft.add_system())

    def _add_message(self) -> None:
        self._add(self._draft.add_message())

    def _add(self, entry: DraftEntry) -> None:
        self._render()
        editor = self._editors[entry]
        editor.edit.setFocus()
        self._reveal(editor)

    def _reveal(self, editor: EntryEditor) -> None:
        # After the layout has placed the entry, not before.
        def reveal() -> None:
            if shiboken6.isValid(editor) and editor.isVisible():
                self._scroll.ensureWidgetVisible(editor)

        QTimer.singleShot(0, self, reveal)

    # Engine events -------------------------------------------------------------------------

    def _on_deleted(self, event: ConversationDeleted) -> None:
        if event.conversation_id == self._draft.conversation_id:
            self._draft.forget(t("This conversation was deleted."))
            self._render()

    def _on_reply_started(self, event: ReplyStarted) -> None:
        if event.conversation_id == self._draft.conversation_id:
            self._draft.reply_started()
            self._render()

    def _on_reply_done(self, event: ReplyDone) -> None:
        if event.conversation_id == self._draft.conversation_id:
            self._draft.reply_finished()
            self._render()

    def _on_message_stored(self, event: MessageStored) -> None:
        if event.conversation_id == self._draft.conversation_id:
            self._draft.refresh_busy()
            self._run(self._draft.message_stored(event.message))
            self._render()

    def _on_conversation_changed(self, event: ConversationChanged | PathChanged) -> None:
        if event.conversation_id == self._draft.conversation_id:
            self._draft.refresh_busy()
            self._run(self._draft.conversation_changed())
            self._render()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._run(self._draft.shown())
        self._render()
