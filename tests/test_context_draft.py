"""The context editor's draft (engine.context_draft), without a window or a loop.

Each test plays the part of the widget: it calls the draft's intents, runs nothing, and
hands back the answers the store would give, in the order that matters for the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from desktop_chat.engine.context_draft import ContextDraft, EmptyEntry, Operation
from desktop_chat.schemas import ChatMessage, Context, ContextEntry, Message
from desktop_chat.tokens import estimate_messages

STORED = Context(
    preset=[ChatMessage(role="system", content="You are terse.")],
    history=[
        ContextEntry(id=1, role="user", content="What is 2+2?"),
        ContextEntry(id=2, role="assistant", content="4"),
    ],
)


@dataclass
class Panel:
    """What the draft asks of its surroundings: is a reply running, is the panel shown."""

    replying: bool = False
    visible: bool = True

    def draft(self) -> ContextDraft:
        return ContextDraft(lambda _cid: self.replying, lambda: self.visible)


@pytest.fixture
def panel() -> Panel:
    return Panel()


def opened(panel: Panel, context: Context = STORED) -> ContextDraft:
    draft = panel.draft()
    operation = draft.open("c1")
    assert (operation.conversation_id, operation.save, operation.keep_edits) == ("c1", None, False)
    assert draft.working and not draft.can_edit
    assert draft.finish(operation, context) is None
    return draft


def shown(draft: ContextDraft) -> list[tuple[str, str, int | None]]:
    return [(e.role, e.content, e.message_id) for e in draft.entries]


def stored(message_id: int, role: str, content: str) -> Message:
    return Message(id=message_id, conversation_id="c1", role=role, content=content)


def test_an_opened_draft_shows_the_stored_context_and_nothing_to_apply(panel: Panel) -> None:
    draft = opened(panel)

    assert shown(draft) == [
        ("system", "You are terse.", None),
        ("user", "What is 2+2?", 1),
        ("assistant", "4", 2),
    ]
    assert [e.preset for e in draft.entries] == [True, False, False]
    assert draft.ready and draft.can_edit and not draft.working
    assert not draft.dirty and not draft.can_apply and not draft.can_revert
    assert draft.token_estimate == estimate_messages(STORED.request_messages())


def test_edits_are_applied_as_a_whole_keeping_the_stored_ids(panel: Panel) -> None:
    draft = opened(panel)
    _prompt, question, answer = draft.entries
    revision = draft.revision

    draft.edit(question, "user", "What is 3+3?")
    assert draft.revision == revision, "typing is not a change of entries"
    assert draft.dirty and draft.can_apply and draft.can_revert
    assert question.tokens == estimate_messages([ChatMessage(role="user", content="What is 3+3?")])
    draft.delete(answer)
    added = draft.add_system()
    draft.edit(added, "system", "Answer in French.")
    operation = draft.apply()

    assert operation is not None and operation.save == Context(
        preset=[
            ChatMessage(role="system", content="You are terse."),
            ChatMessage(role="system", content="Answer in French."),
        ],
        history=[ContextEntry(id=1, role="user", content="What is 3+3?")],
    )
    assert draft.saving and not draft.can_edit and not draft.can_apply
    saved = operation.save.model_copy(deep=True)
    assert draft.finish(operation, saved) is None
    assert not draft.dirty and not draft.saving
    assert shown(draft)[2] == ("user", "What is 3+3?", 1)


def test_apply_points_at_an_empty_entry_and_asks_nothing(panel: Panel) -> None:
    draft = opened(panel)
    empty = draft.add_message()

    assert draft.apply() is None
    assert draft.problem == EmptyEntry(empty, 4)
    assert not draft.working and draft.dirty

    draft.edit(empty, empty.role, "Fine now")
    operation = draft.apply()
    assert operation is not None and draft.problem is None


def test_apply_waits_while_a_reply_is_being_written(panel: Panel) -> None:
    draft = opened(panel)
    draft.edit(draft.entries[1], "user", "Edited")
    panel.replying = True  # started elsewhere, not told yet

    assert draft.apply() is None
    assert draft.busy and not draft.can_apply and draft.dirty

    draft.reply_finished()
    panel.replying = False
    assert draft.can_apply
    draft.reply_started()  # told by the engine this time
    assert draft.busy and not draft.can_apply
    draft.reply_finished()
    assert draft.apply() is not None


def test_only_the_newest_operation_is_answered(panel: Panel) -> None:
    draft = panel.draft()
    first = draft.open("c1")
    second = draft.open("c2")

    assert draft.finish(first, STORED) is None
    assert draft.entries == [] and draft.working, "an answer for a conversation left behind"
    draft.finish(second, Context(history=[ContextEntry(id=9, role="user", content="Hi")]))
    assert draft.conversation_id == "c2" and shown(draft) == [("user", "Hi", 9)]


def test_a_failure_is_told_and_ends_the_operation(panel: Panel) -> None:
    draft = panel.draft()
    operation = draft.open("gone")

    assert draft.fail(operation, "No conversation with id 'gone'.") is None

    assert draft.problem == "No conversation with id 'gone'."
    assert not draft.working and not draft.loaded


def test_without_edits_a_stored_message_reloads(panel: Panel) -> None:
    draft = opened(panel)

    reload = draft.message_stored(stored(3, "user", "And 3+3?"))

    assert isinstance(reload, Operation) and reload.keep_edits
    assert draft.message_stored(stored(1, "user", "What is 2+2?")) is None, "already shown"


def test_with_edits_a_stored_message_is_added_after_them(panel: Panel) -> None:
    draft = opened(panel)
    draft.edit(draft.entries[1], "user", "Edited")

    assert draft.message_stored(stored(3, "user", "And 3+3?")) is None
    assert draft.conversation_changed() is None, "a reload would throw the edits away"

    assert shown(draft)[1:] == [
        ("user", "Edited", 1),
        ("assistant", "4", 2),
        ("user", "And 3+3?", 3),
    ]
    assert draft.dirty


def test_what_arrives_during_a_load_or_save_is_seen_once_it_is_done(panel: Panel) -> None:
    draft = opened(panel)
    draft.edit(draft.entries[1], "user", "Edited")
    operation = draft.apply()
    assert operation is not None and operation.save is not None

    assert draft.message_stored(stored(3, "user", "Next")) is None
    assert draft.conversation_changed() is None
    saved = Context(preset=operation.save.preset, history=[*operation.save.history])

    reload = draft.finish(operation, saved)

    assert isinstance(reload, Operation) and reload.keep_edits, "the message was not seen"
    assert draft.working


def test_a_reload_keeps_edits_made_while_it_was_on_its_way(panel: Panel) -> None:
    draft = opened(panel)
    reload = draft.conversation_changed()
    assert reload is not None
    draft.edit(draft.entries[2], "assistant", "Four")
    newer = Context(
        preset=STORED.preset,
        history=[*STORED.history, ContextEntry(id=3, role="user", content="Next")],
    )

    assert draft.finish(reload, newer) is None

    assert shown(draft)[2:] == [("assistant", "Four", 2), ("user", "Next", 3)]
    assert draft.dirty


def test_an_entry_whose_id_was_handed_to_a_new_message_becomes_a_copy(panel: Panel) -> None:
    draft = opened(panel)
    draft.edit(draft.entries[1], "user", "What is 5+5?")

    draft.message_stored(stored(2, "assistant", "Ten."))  # the regenerated reply, old id

    assert shown(draft)[1:] == [
        ("user", "What is 5+5?", 1),
        ("assistant", "4", None),  # saved again as a new message on Apply
        ("assistant", "Ten.", 2),
    ]


def test_a_hidden_panel_catches_up_once_when_shown(panel: Panel) -> None:
    draft = opened(panel)
    panel.visible = False

    assert draft.message_stored(stored(3, "user", "And 3+3?")) is None
    assert draft.message_stored(stored(4, "assistant", "6")) is None
    panel.visible = True
    reload = draft.shown()

    assert isinstance(reload, Operation) and reload.keep_edits
    assert draft.shown() is None, "only once"


def test_entries_move_within_their_own_section(panel: Panel) -> None:
    draft = opened(panel)
    prompt, question, answer = draft.entries

    assert not draft.move(prompt, 1) and not draft.move(question, -1)
    assert not draft.dirty
    assert draft.move(answer, -1)
    assert draft.entries == [prompt, answer, question] and draft.dirty
    assert draft.add_message().role == "assistant", "it answers the last message, a question"
    assert draft.delete(question) == 1


def test_revert_reads_the_stored_context_again(panel: Panel) -> None:
    draft = opened(panel)
    draft.delete(draft.entries[2])

    operation = draft.revert()

    assert operation is not None and operation.save is None and not operation.keep_edits
    draft.finish(operation, STORED)
    assert len(draft.entries) == 3 and not draft.dirty


def test_a_deleted_conversation_is_forgotten_and_late_answers_ignored(panel: Panel) -> None:
    draft = opened(panel)
    reload = draft.conversation_changed()
    assert reload is not None

    draft.forget("This conversation was deleted.")

    assert draft.conversation_id is None and draft.entries == [] and not draft.ready
    assert draft.problem == "This conversation was deleted."
    assert draft.finish(reload, STORED) is None and draft.entries == []
    assert draft.revert() is None and draft.apply() is None
