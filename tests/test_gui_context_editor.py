"""The context editor driven as a person would, against a real core and the fake server.

Every test ends by checking what was stored or what the server received, not only what
the panel shows: the point of the panel is that what it shows is what gets sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QWidget

from desktop_chat.engine.events import ReplyDelta
from desktop_chat.schemas import ChatMessage, Context, ContextEntry
from desktop_chat.tokens import estimate_messages
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.context_editor import ContextEditor
from tests.fake_openai import Scenario
from tests.gui_support import CoreOnLoop, click, press, type_text, wait_until
from tests.helpers import EventLog

FIRST_EXCHANGE = [
    ("system", "You are terse."),
    ("user", "What is 2+2?"),
    ("assistant", "Hello, world!"),
]


@contextlib.asynccontextmanager
async def open_editor(core) -> AsyncIterator[ContextEditor]:
    """A shown editor on its own bridge; its tasks are drained before the core closes."""
    bridge = EngineBridge(core.service)
    editor = ContextEditor(bridge)
    editor.resize(560, 760)
    editor.show()
    try:
        yield editor
    finally:
        editor.hide()
        await bridge.drain()
        bridge.close()
        editor.deleteLater()


async def one_exchange(core) -> tuple[str, EventLog]:
    """A conversation with one question and its (default, fake) answer, stored."""
    conversation = await core.service.create_conversation()
    log = EventLog(core.service, conversation.id)
    await core.service.send(conversation.id, "What is 2+2?")
    await log.done(conversation.id)
    return conversation.id, log


async def loaded(editor: ContextEditor, conversation_id: str, count: int) -> None:
    editor.load(conversation_id)
    await wait_until(lambda: len(editor.entries) == count, what=f"{count} entries load")


def shown(editor: ContextEditor) -> list[tuple[str, str]]:
    return [(entry.role, entry.text) for entry in editor.entries]


def replace_text(edit: QPlainTextEdit, text: str) -> None:
    """Select everything in the box and type over it, as a person would."""
    edit.setFocus()
    press(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    type_text(edit, text)


def commit_text(widget: QWidget, text: str) -> None:
    """Text arriving the way a Chinese input method delivers it: one committed string."""
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


@pytest.mark.asyncio
async def test_the_edited_context_is_exactly_what_the_next_request_sends(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, log = await one_exchange(core)
        question = (await core.service.get_conversation(cid)).messages[0]
        await loaded(editor, cid, 3)
        assert shown(editor) == FIRST_EXCHANGE
        assert [entry.is_preset for entry in editor.entries] == [True, False, False]
        assert not editor.apply_button.isEnabled(), "nothing to apply before an edit"

        replace_text(editor.entries[1].edit, "What is 3+3?")
        click(editor.entries[2].delete_button)
        click(editor.add_system_button)
        added = editor.entries[1]  # a system message goes at the end of the prompt
        assert (added.is_preset, added.role, added.text) == (True, "system", "")
        type_text(added.edit, "Answer in French.")
        assert editor.is_dirty and not editor.dirty_label.isHidden()

        applied: list[bool] = []
        editor.applied.connect(lambda: applied.append(True))
        click(editor.apply_button)
        await wait_until(lambda: applied, what="Apply finishes")
        assert not editor.is_dirty and editor.dirty_label.isHidden()
        edited = [
            ("system", "You are terse."),
            ("system", "Answer in French."),
            ("user", "What is 3+3?"),
        ]
        assert shown(editor) == edited

        await core.service.send(cid, "Thanks")
        await log.done(cid, 2)
        assert fake.requests[-1]["body"]["messages"] == [
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "What is 3+3?"},
            {"role": "user", "content": "Thanks"},
        ]
        stored = (await core.service.get_conversation(cid)).messages
        # Updated in place, not deleted and re-created: its metadata is the original's.
        assert (stored[0].id, stored[0].created_at) == (question.id, question.created_at)

        # With nothing unsaved, the panel follows the conversation.
        await wait_until(lambda: len(editor.entries) == 5, what="the new exchange shows")
        assert shown(editor) == [*edited, ("user", "Thanks"), ("assistant", "Hello, world!")]


@pytest.mark.asyncio
async def test_moving_entries_and_changing_a_role_are_applied(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, _log = await one_exchange(core)
        await loaded(editor, cid, 3)
        prompt, question, answer = editor.entries
        # Entries move within their own section only.
        assert not prompt.up_button.isEnabled() and not prompt.down_button.isEnabled()
        assert not question.up_button.isEnabled() and question.down_button.isEnabled()
        assert answer.up_button.isEnabled() and not answer.down_button.isEnabled()

        click(answer.up_button)
        assert shown(editor) == [FIRST_EXCHANGE[0], FIRST_EXCHANGE[2], FIRST_EXCHANGE[1]]
        assert not answer.up_button.isEnabled() and question.up_button.isEnabled()
        click(question.up_button)
        click(question.down_button)
        assert shown(editor) == [FIRST_EXCHANGE[0], FIRST_EXCHANGE[2], FIRST_EXCHANGE[1]]
        question.role_box.setFocus()
        press(question.role_box, Qt.Key.Key_Up)  # user -> system
        assert question.role == "system"

        click(editor.apply_button)
        await wait_until(lambda: not editor.is_dirty, what="Apply finishes")
        context = await core.service.get_context(cid)
        assert [(e.role, e.content) for e in context.history] == [
            ("assistant", "Hello, world!"),
            ("system", "What is 2+2?"),
        ]
        reply = (await core.service.get_conversation(cid)).messages[0]
        assert (reply.model, reply.finish_reason) == ("fake-model", "stop"), (
            "the moved reply lost its metadata"
        )


@pytest.mark.asyncio
async def test_the_token_estimate_follows_typing(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, _log = await one_exchange(core)
        await loaded(editor, cid, 3)
        # 4 per message, plus "You are terse." 14 chars -> 4, "What is 2+2?" 12 -> 3,
        # "Hello, world!" 13 -> 4.
        assert editor.token_estimate == 23
        assert editor.token_label.text() == "About 23 tokens"

        question = editor.entries[1].edit
        question.setFocus()
        press(question, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        type_text(question, " ")  # 13 Latin characters now -> 4 tokens, one more
        commit_text(question, "请详细解释")  # 5 CJK characters, 5 more
        assert editor.entries[1].text == "What is 2+2? 请详细解释"
        assert editor.token_estimate == 23 + 1 + 5
        assert editor.token_label.text() == "About 29 tokens"

        click(editor.add_message_button)  # an empty message still costs its framing
        assert editor.token_label.text() == "About 33 tokens"
        messages = [ChatMessage(role=e.role, content=e.text) for e in editor.entries]
        assert editor.token_estimate == estimate_messages(messages)


@pytest.mark.asyncio
async def test_text_boxes_fit_their_text_up_to_a_limit(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        paragraph = " ".join(["Write-ahead logging appends changes to a log."] * 8)
        history = [
            ContextEntry(role="user", content="Short"),
            ContextEntry(role="assistant", content=paragraph),  # one line, wrapped
            ContextEntry(role="user", content="\n".join(f"line {i}" for i in range(100))),
        ]
        conversation = await core.service.create_conversation(context=Context(history=history))
        await loaded(editor, conversation.id, 3)  # its own (empty) prompt, no preset
        short, medium, long = (entry.edit for entry in editor.entries)
        await wait_until(
            lambda: short.height() < medium.height() < long.height(), what="fitted heights"
        )
        assert medium.verticalScrollBar().maximum() == 0, "a wrapped paragraph fits"
        assert long.verticalScrollBar().maximum() > 0, "a hundred lines must scroll"
        assert long.height() < editor.height() / 2

        short.setFocus()
        type_text(short, "!")  # the panel shows "Unsaved changes" and settles
        await wait_until(lambda: not editor.dirty_label.isHidden())
        await asyncio.sleep(0.05)
        before = short.height()
        for _ in range(4):
            press(short, Qt.Key.Key_Return)
        await wait_until(lambda: short.height() > before, what="the box grows with its text")
        grown = short.height()
        for _ in range(2):
            press(short, Qt.Key.Key_Backspace)
        await wait_until(lambda: before < short.height() < grown, what="and shrinks back")


@pytest.mark.asyncio
async def test_apply_waits_while_a_reply_streams(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, log = await one_exchange(core)
        await loaded(editor, cid, 3)
        replace_text(editor.entries[1].edit, "Edited before the reply")
        assert editor.apply_button.isEnabled()
        assert editor.busy_note.isHidden()

        fake.scenario = Scenario(tokens=[f"t{i} " for i in range(40)], delay=0.02)
        deltas_before = len(log.of(ReplyDelta))
        await core.service.send(cid, "Another question")
        await wait_until(lambda: len(log.of(ReplyDelta)) > deltas_before, what="first delta")
        await wait_until(lambda: not editor.apply_button.isEnabled(), what="Apply disabled")
        assert core.service.in_flight(cid) is not None, "the reply ended too soon to tell"
        assert not editor.busy_note.isHidden()
        assert editor.is_dirty, "the edits must survive the reply starting"

        await log.done(cid, 2)
        await wait_until(lambda: editor.apply_button.isEnabled(), what="Apply re-enabled")
        assert editor.busy_note.isHidden()
        # The edits stay, and the new exchange is added after them rather than lost.
        reply = "".join(f"t{i} " for i in range(40))
        assert shown(editor) == [
            FIRST_EXCHANGE[0],
            ("user", "Edited before the reply"),
            FIRST_EXCHANGE[2],
            ("user", "Another question"),
            ("assistant", reply),
        ]
        click(editor.apply_button)
        await wait_until(lambda: not editor.is_dirty, what="Apply finishes")
        context = await core.service.get_context(cid)
        assert [e.content for e in context.history] == [
            "Edited before the reply",
            "Hello, world!",
            "Another question",
            reply,
        ]


@pytest.mark.parametrize("id_reused", [True, False], ids=["id-reused", "new-id"])
@pytest.mark.asyncio
async def test_unsaved_edits_survive_a_reply_regenerated_elsewhere(
    qapp, paths, secrets, agent, fake, id_reused
):
    """The regenerated reply replaces a stored message the panel still shows.

    SQLite (without AUTOINCREMENT) gives the new reply the deleted reply's id when that was
    the newest row of the table (id-reused), and a fresh id when other conversations wrote
    since (new-id). Both must end with the panel's content stored, each message once.
    """

    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, log = await one_exchange(core)
        if not id_reused:
            await one_exchange(core)  # a newer conversation holds the highest ids
        await loaded(editor, cid, 3)
        old_reply_id = editor.entries[2].entry_id
        replace_text(editor.entries[1].edit, "What is 5+5?")

        fake.scenario = Scenario(tokens=["Ten."])
        await core.service.regenerate(cid)  # deletes the stored reply the panel shows
        await log.done(cid, 2)
        await wait_until(lambda: len(editor.entries) == 4, what="the new reply is added")
        new_reply_id = editor.entries[3].entry_id
        if not id_reused:
            assert new_reply_id != old_reply_id
        expected = [
            FIRST_EXCHANGE[0],
            ("user", "What is 5+5?"),
            ("assistant", "Hello, world!"),
            ("assistant", "Ten."),
        ]
        assert shown(editor) == expected

        click(editor.apply_button)
        await wait_until(lambda: not editor.is_dirty, what="Apply finishes")
        assert editor.error_label.isHidden(), editor.error_label.text()
        context = await core.service.get_context(cid)
        assert [(m.role, m.content) for m in context.request_messages()] == expected
        # The new reply is still the stored message it was (with its own metadata);
        # the old one, gone from the store, is saved again as a new message.
        assert [e.id for e in context.history][2] == new_reply_id


@pytest.mark.asyncio
async def test_a_panel_opened_mid_reply_starts_with_apply_disabled(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, log = await one_exchange(core)
        fake.scenario = Scenario(tokens=[f"t{i} " for i in range(40)], delay=0.02)
        await core.service.send(cid, "Go on")
        await wait_until(lambda: core.service.in_flight(cid) is not None, what="reply")
        await wait_until(lambda: log.of(ReplyDelta), what="the reply streams")

        await loaded(editor, cid, 4)
        replace_text(editor.entries[3].edit, "Go on, please")
        assert editor.is_dirty
        assert not editor.apply_button.isEnabled()
        assert not editor.busy_note.isHidden()

        await log.done(cid, 2)
        await wait_until(lambda: editor.apply_button.isEnabled(), what="Apply re-enabled")


@pytest.mark.asyncio
async def test_a_hidden_panel_catches_up_when_shown(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, log = await one_exchange(core)
        await loaded(editor, cid, 3)
        editor.hide()
        await core.service.send(cid, "And 3+3?")
        await log.done(cid, 2)
        await core.service.get_context(cid)  # let any (unwanted) reload finish first
        assert shown(editor) == FIRST_EXCHANGE, "a hidden panel rebuilt itself"

        editor.show()
        await wait_until(lambda: len(editor.entries) == 5, what="the panel catches up")
        assert shown(editor)[3:] == [("user", "And 3+3?"), ("assistant", "Hello, world!")]


@pytest.mark.asyncio
async def test_revert_discards_edits(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, _log = await one_exchange(core)
        await loaded(editor, cid, 3)
        assert not editor.revert_button.isEnabled()

        replace_text(editor.entries[0].edit, "Be verbose.")
        click(editor.entries[2].delete_button)
        click(editor.add_message_button)
        type_text(editor.entries[-1].edit, "A made-up question")
        assert shown(editor) == [
            ("system", "Be verbose."),
            ("user", "What is 2+2?"),
            ("assistant", "A made-up question"),  # it answers the last message
        ]
        assert editor.revert_button.isEnabled()

        click(editor.revert_button)
        await wait_until(lambda: not editor.is_dirty, what="Revert finishes")
        assert shown(editor) == FIRST_EXCHANGE
        assert editor.dirty_label.isHidden()
        assert not editor.revert_button.isEnabled()
        assert not editor.apply_button.isEnabled()
        context = await core.service.get_context(cid)
        assert [(m.role, m.content) for m in context.request_messages()] == FIRST_EXCHANGE


@pytest.mark.asyncio
async def test_problems_are_told_in_words(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, open_editor(core) as editor:
        cid, _log = await one_exchange(core)
        await loaded(editor, cid, 3)
        assert editor.error_label.isHidden()

        click(editor.add_message_button)  # left empty
        click(editor.apply_button)
        assert not editor.error_label.isHidden()
        assert editor.error_label.text() == (
            "Message 4 is empty. Write something in it or delete it."
        )
        assert editor.is_dirty
        context = await core.service.get_context(cid)
        assert len(context.history) == 2, "an empty message must not be saved"

        type_text(editor.entries[3].edit, "Fine now")
        click(editor.apply_button)
        await wait_until(lambda: not editor.is_dirty, what="Apply finishes")
        assert editor.error_label.isHidden()

        editor.load("no-such-conversation")
        await wait_until(lambda: not editor.error_label.isHidden(), what="an error")
        assert "no-such-conversation" in editor.error_label.text()
        assert "Traceback" not in editor.error_label.text()
