"""A draft of one conversation's context, as the context editor edits it.

The editor shows the prompt and the history as entries a user edits, then applies them
as a whole. What it must remember meanwhile — the entries, whether they hold unsaved
edits, which stored messages it has shown, which arrived while it was loading or
saving, whether a reply is being written, whether a hidden panel has fallen behind —
lives here, free of Qt, so that each rule is tested without a window; the widget only
renders this state and turns clicks into calls.

This class never awaits. An intent that needs the store returns an `Operation` (read the
context, or save this one); the caller runs it and hands the answer back to `finish()`
or `fail()`. Only the newest operation's answer is used: a load for a conversation the
user has left, or one overtaken by Revert or Apply, must not overwrite the draft.

The rules, each one because the panel shows what the next request will send:

* Prompt entries stay in the prompt and history entries in the history: moving only
  reorders within a section.
* A stored message that arrives (a sent question, a finished reply) reloads a draft
  without edits. With edits, it is appended to the history instead: the edits survive,
  and Apply cannot silently delete a reply the user never saw. Other changes (a message
  deleted or regenerated elsewhere) reload a draft without edits too.
* SQLite may hand a deleted message's id (a regenerated reply) to the next message: the
  entry that still shows the deleted one is then a copy, stored as a new message.
* Apply is refused while a reply is being written (its request was sent with the old
  context anyway) and while an entry is empty.
* A hidden panel does not rebuild a long history for every message: it catches up once,
  when shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from desktop_chat.schemas import (
    Attachment,
    ChatMessage,
    Context,
    ContextEntry,
    Message,
    Role,
    validation_message,
)
from desktop_chat.tokens import MESSAGE_OVERHEAD, estimate_tokens


def entry_tokens(content: str) -> int:
    return MESSAGE_OVERHEAD + estimate_tokens(content)


@dataclass(eq=False)
class DraftEntry:
    """One message of the draft; compared by identity, so a widget can map it to a row."""

    role: Role
    content: str
    message_id: int | None  # the stored message it shows; None for one not stored yet
    preset: bool  # in the prompt rather than the history
    attachments: list[Attachment] = field(default_factory=list)  # shown, kept as they are
    attachment_tokens: int = 0  # the engine's estimate for them
    tokens: int = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = entry_tokens(self.content) + self.attachment_tokens


@dataclass(frozen=True)
class Operation:
    """Work for the caller: read the context (`save` is None) or replace it with `save`."""

    ticket: int
    conversation_id: str
    save: Context | None = None
    keep_edits: bool = False  # a reload that must not throw unsaved edits away


@dataclass(frozen=True)
class EmptyEntry:
    """Why Apply was refused: the entry numbered `number` (in request order) has no text."""

    entry: DraftEntry
    number: int


Problem = str | EmptyEntry  # a sentence to show as it is, or an empty entry to point at


class ContextDraft:
    """The entries being edited and everything the editor must remember about them."""

    def __init__(
        self, reply_running: Callable[[str], bool], is_visible: Callable[[], bool]
    ) -> None:
        self._reply_running = reply_running  # is a reply being written in this conversation?
        self._is_visible = is_visible  # is the panel on screen?
        self.conversation_id: str | None = None
        self.preset: list[DraftEntry] = []
        self.history: list[DraftEntry] = []
        self.loaded = False
        self.dirty = False
        self.busy = False  # a reply is being written in this conversation
        self.working = False  # a load or a save is running
        self.saving = False  # ...and it is a save: what is being saved stays as it is
        self.problem: Problem | None = None
        self.revision = 0  # changes whenever entries are added, removed or reordered
        self._ticket = 0
        # Stored messages this draft has shown, as they were stored: id -> (role, content).
        self._seen: dict[int, tuple[str, str]] = {}
        self._pending: list[Message] = []  # stored while a load or a save ran
        self._reload_wanted = False  # the conversation changed while a load or a save ran
        self._outdated = False  # the conversation changed while the panel was hidden

    # What there is to show ----------------------------------------------------------

    @property
    def entries(self) -> list[DraftEntry]:
        """Every entry in request order: the prompt, then the history."""
        return [*self.preset, *self.history]

    @property
    def token_estimate(self) -> int:
        return sum(entry.tokens for entry in self.entries)

    @property
    def ready(self) -> bool:
        return self.conversation_id is not None and self.loaded

    @property
    def can_edit(self) -> bool:
        return self.ready and not self.working

    @property
    def can_revert(self) -> bool:
        return self.can_edit and self.dirty

    @property
    def can_apply(self) -> bool:
        return self.can_edit and self.dirty and not self.busy

    def section(self, entry: DraftEntry) -> list[DraftEntry]:
        return self.preset if entry.preset else self.history

    # Loading and saving ---------------------------------------------------------------

    def open(self, conversation_id: str) -> Operation:
        """Show this conversation's context; unsaved edits are dropped."""
        self.conversation_id = conversation_id
        return self._begin(conversation_id)

    def revert(self) -> Operation | None:
        if self.conversation_id is None:
            return None
        return self._begin(self.conversation_id)

    def apply(self) -> Operation | None:
        """Save the draft, unless there is nothing to save or it cannot be saved now."""
        if self.conversation_id is None or not self.dirty or self.working:
            return None
        self.refresh_busy()  # a reply may have started without telling us yet
        if self.busy:
            return None
        for number, entry in enumerate(self.entries, start=1):
            if not entry.content.strip():
                self.problem = EmptyEntry(entry, number)
                return None
        try:
            context = Context(
                preset=[ChatMessage(role=e.role, content=e.content) for e in self.preset],
                history=[
                    ContextEntry(id=e.message_id, role=e.role, content=e.content)
                    for e in self.history
                ],
            )
        except ValidationError as exc:
            self.problem = validation_message(exc)
            return None
        operation = self._begin(self.conversation_id, save=context)
        self.saving = True
        return operation

    def is_current(self, operation: Operation) -> bool:
        return operation.ticket == self._ticket

    def finish(self, operation: Operation, context: Context) -> Operation | None:
        """The answer to `operation`; returns the reload it calls for, if any."""
        if not self._end(operation):
            return None
        if operation.save is not None:
            self._reload_wanted = False  # `context` was read after our own change was told
            self._show(context)
        elif operation.keep_edits and self.dirty:
            # The user started editing while this reload was on its way: the edits stay,
            # and only the messages they have not seen yet are added.
            for entry in context.history:
                self._append_stored(entry.id, entry.role, entry.content)
        else:
            self._show(context)
        return self._catch_up()

    def fail(self, operation: Operation, sentence: str) -> Operation | None:
        if not self._end(operation):
            return None
        self.problem = sentence
        return self._catch_up()

    def _begin(
        self, conversation_id: str, *, save: Context | None = None, keep_edits: bool = False
    ) -> Operation:
        self._ticket += 1
        self.working = True
        self._reload_wanted = False
        self.problem = None
        return Operation(self._ticket, conversation_id, save, keep_edits)

    def _end(self, operation: Operation) -> bool:
        if not self.is_current(operation):
            return False  # the draft was forgotten, or a newer operation took over
        self.working = False
        self.saving = False
        return True

    def _catch_up(self) -> Operation | None:
        """What happened while the operation ran, now that it is done."""
        pending, self._pending = self._pending, []
        reload: Operation | None = None
        for message in pending:
            reload = self._on_stored(message) or reload
        if self._reload_wanted:
            self._reload_wanted = False
            reload = self._on_changed() or reload
        return reload

    def _show(self, context: Context) -> None:
        """Replace every entry with `context`; the one place entries are made in bulk."""
        self.preset = [DraftEntry(m.role, m.content, None, preset=True) for m in context.preset]
        self.history = [
            DraftEntry(e.role, e.content, e.id, False, e.attachments, e.attachment_tokens)
            for e in context.history
        ]
        self._seen = {e.id: (e.role, e.content) for e in context.history if e.id is not None}
        self.loaded = True
        self.dirty = False
        self._outdated = False
        self.revision += 1
        self.refresh_busy()

    def _is_seen(self, message_id: int | None, role: str, content: str) -> bool:
        return message_id is None or self._seen.get(message_id) == (role, content)

    def _append_stored(self, message_id: int | None, role: Role, content: str) -> None:
        """Add a stored message the draft has not shown yet, after the edited history."""
        if message_id is None or not content or self._is_seen(message_id, role, content):
            return  # already shown (perhaps deleted by the user since), or never sent
        if message_id in self._seen:
            # The id of a deleted message, handed to a new one: the entry showing the
            # deleted message is now a copy, saved as new.
            for entry in self.history:
                if entry.message_id == message_id:
                    entry.message_id = None
        self._seen[message_id] = (role, content)
        self.history.append(DraftEntry(role, content, message_id, preset=False))
        self.revision += 1

    # Editing ----------------------------------------------------------------------------

    def edit(self, entry: DraftEntry, role: Role, content: str) -> None:
        if content != entry.content:
            entry.content = content
            # Only this entry is estimated again.
            entry.tokens = entry_tokens(content) + entry.attachment_tokens
        entry.role = role
        self.dirty = True

    def move(self, entry: DraftEntry, step: int) -> bool:
        """Move within the entry's own section; False when it is already at that end."""
        entries = self.section(entry)
        index = entries.index(entry)
        target = index + step
        if not 0 <= target < len(entries):
            return False
        entries.insert(target, entries.pop(index))
        self._changed()
        return True

    def delete(self, entry: DraftEntry) -> int:
        """Remove the entry; returns where it was in its section."""
        entries = self.section(entry)
        index = entries.index(entry)
        entries.remove(entry)
        self._changed()
        return index

    def add_system(self) -> DraftEntry:
        """A new system message goes at the end of the prompt, before the history."""
        return self._add(DraftEntry("system", "", None, preset=True))

    def add_message(self) -> DraftEntry:
        """A new history message; it answers the last one (user, then assistant, ...)."""
        last = self.history[-1].role if self.history else "assistant"
        role: Role = "assistant" if last == "user" else "user"
        return self._add(DraftEntry(role, "", None, preset=False))

    def _add(self, entry: DraftEntry) -> DraftEntry:
        self.section(entry).append(entry)
        self._changed()
        return entry

    def _changed(self) -> None:
        self.revision += 1
        self.dirty = True

    # What happens elsewhere ----------------------------------------------------------

    def refresh_busy(self) -> None:
        cid = self.conversation_id
        self.busy = cid is not None and self._reply_running(cid)

    def reply_started(self) -> None:
        self.busy = True

    def reply_finished(self) -> None:
        self.busy = False

    def message_stored(self, message: Message) -> Operation | None:
        """A message was stored in this conversation; returns a reload it calls for."""
        return self._on_stored(message) if self.loaded else None

    def conversation_changed(self) -> Operation | None:
        """The conversation changed in some other way; returns a reload it calls for."""
        return self._on_changed() if self.loaded else None

    def shown(self) -> Operation | None:
        """The panel is on screen again: catch up once if it fell behind while hidden."""
        if self._outdated and not self.working and self.conversation_id is not None:
            self._outdated = False
            return self._begin(self.conversation_id, keep_edits=True)
        return None

    def forget(self, reason: str) -> None:
        """The conversation is gone: show nothing, say why, and ignore late answers."""
        self._ticket += 1
        self.conversation_id = None
        self.working = False
        self.saving = False
        self._pending.clear()
        self._show(Context())
        self.loaded = False
        self.problem = reason

    def _on_stored(self, message: Message) -> Operation | None:
        """Reload when there is nothing to lose; otherwise add the message after the edits."""
        if self.working:
            self._pending.append(message)  # seen once the running load or save is done
        elif self._is_seen(message.id, message.role, message.content):
            return None
        elif self.dirty:
            self._append_stored(message.id, message.role, message.content)
        else:
            return self._reload_when_seen()
        return None

    def _on_changed(self) -> Operation | None:
        if self.working:
            self._reload_wanted = True
        elif not self.dirty:
            return self._reload_when_seen()
        return None

    def _reload_when_seen(self) -> Operation | None:
        if self.conversation_id is None:
            return None
        if self._is_visible():
            return self._begin(self.conversation_id, keep_edits=True)
        self._outdated = True
        return None
