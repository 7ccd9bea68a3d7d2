"""The main window driven as a person would: typing, clicking, waiting for the reply."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop_chat.schemas import MessageStatus
from tests.fake_openai import Scenario
from tests.gui_support import (
    CoreOnLoop,
    WindowOnLoop,
    click,
    press,
    type_text,
    wait_until,
)


def _texts(window) -> list[str]:
    return [w.body.toPlainText().strip() for w in window.chat.message_widgets]


@pytest.mark.asyncio
async def test_type_send_and_see_the_reply_stream_in(qapp, paths, secrets, agent, fake):
    fake.scenario = Scenario(tokens=["Sure", ", ", "**here**", " it is."], delay=0.02)

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None, what="a conversation opens")
        type_text(window.composer.edit, "Show me")
        press(window.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        type_text(window.composer.edit, "something")
        assert window.composer.text() == "Show me\nsomething"
        press(window.composer.edit, Qt.Key.Key_Return)

        await wait_until(lambda: window.chat.streaming, what="the reply starts")
        assert window.composer.button.text() == "Stop"
        await wait_until(lambda: "Sure" in window.chat.stream_text(), what="first tokens")
        await wait_until(lambda: not window.composer.busy, what="the reply ends")

        assert _texts(window) == ["Show me\nsomething", "Sure, here it is."]
        assert window.composer.text() == ""
        stored = await core.service.get_conversation(window.session.current_id)
        assert [(m.role, m.content) for m in stored.messages] == [
            ("user", "Show me\nsomething"),
            ("assistant", "Sure, **here** it is."),
        ]
        row = window.sidebar.model.row_of(window.session.current_id)
        assert "Show me" in window.sidebar.model.index(row).data()


@pytest.mark.asyncio
async def test_stop_mid_stream_keeps_the_partial_reply(qapp, paths, secrets, agent, fake):
    fake.scenario = Scenario(tokens=[f"w{i} " for i in range(300)], delay=0.02)

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None)
        type_text(window.composer.edit, "Go on and on")
        click(window.composer.button)
        await wait_until(lambda: "w3" in window.chat.stream_text(), what="a few tokens")
        click(window.composer.button)  # now labelled Stop

        await wait_until(lambda: not window.composer.busy, what="the reply stops")
        last = window.chat.message_widgets[-1]
        assert last.message.status is MessageStatus.STOPPED
        assert last.status_label.text() == "Stopped"
        assert last.button("Continue") is not None
        stored = (await core.service.get_conversation(window.session.current_id)).messages[-1]
        assert stored.status is MessageStatus.STOPPED
        assert stored.content.startswith("w0 w1 w2 w3")
        assert fake.wait_for(lambda: fake.disconnects >= 1)


def loaded(window) -> bool:
    """The conversation the window points at has finished opening (not just been chosen)."""
    return window.session.is_open(window.session.current_id)


@pytest.mark.asyncio
async def test_switching_conversations_never_disturbs_a_stream(qapp, paths, secrets, agent, fake):
    fake.scenario = Scenario(tokens=[f"t{i} " for i in range(60)], delay=0.02)

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None)
        first = window.session.current_id
        type_text(window.composer.edit, "Long one")
        click(window.composer.button)
        await wait_until(lambda: "t2" in window.chat.stream_text())

        click(window.sidebar.new_button)
        await wait_until(
            lambda: window.session.current_id not in (None, first) and loaded(window),
            what="new chat",
        )
        assert not window.composer.busy and window.chat.message_widgets == []
        type_text(window.composer.edit, "a draft")
        assert window.sidebar.model.is_streaming(first)

        window.sidebar.select(first)
        await wait_until(lambda: window.session.current_id == first and loaded(window))
        assert window.composer.busy, "the reply in flight shows after switching back"
        await wait_until(lambda: not window.composer.busy, timeout=15)
        stored = (await core.service.get_conversation(first)).messages[-1]
        assert stored.status is MessageStatus.COMPLETE
        assert stored.content == "".join(f"t{i} " for i in range(60))
        assert _texts(window)[-1] == stored.content.strip()


@pytest.mark.asyncio
async def test_drafts_are_kept_per_conversation_and_across_restarts(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core:
        async with WindowOnLoop(core) as window:
            await wait_until(lambda: window.session.current is not None)
            first = window.session.current_id
            type_text(window.composer.edit, "half a thought")
            click(window.sidebar.new_button)
            await wait_until(
                lambda: window.session.current_id not in (None, first) and loaded(window)
            )
            assert window.composer.text() == ""
            window.sidebar.select(first)
            await wait_until(lambda: window.session.current_id == first and loaded(window))
            assert window.composer.text() == "half a thought"
        await core.store.run(lambda r: None)  # the draft write has reached the database
        async with WindowOnLoop(core) as window:
            await wait_until(lambda: loaded(window))
            assert window.session.current_id == first, "the last open conversation is restored"
            assert window.composer.text() == "half a thought"


@pytest.mark.asyncio
async def test_errors_are_shown_in_words(qapp, paths, secrets, agent, fake):
    fake.queue = [Scenario(status=401), Scenario(tokens=["one ", "two ", "three"], cut_after=2)]

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None)
        type_text(window.composer.edit, "hello")
        press(window.composer.edit, Qt.Key.Key_Return)
        await wait_until(lambda: window.banner.isVisible(), what="the error banner")
        assert "rejected the API key" in window.banner.label.text()
        assert "Settings" in window.banner.label.text()
        failed = window.chat.message_widgets[-1]
        assert failed.message.status is MessageStatus.FAILED
        assert failed.button("Retry") is not None

        click(failed.button("Retry"))
        await wait_until(
            lambda: "cut" in window.banner.label.text() and not window.composer.busy,
            what="the cut-stream error",
        )
        last = window.chat.message_widgets[-1]
        assert last.message.content == "one two "
        assert last.message.status is MessageStatus.FAILED
        assert "kept" in window.banner.label.text()
        assert "Traceback" not in window.banner.label.text()


@pytest.mark.asyncio
async def test_greetings_are_shown_not_sent_and_suggestions_send(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None)
        opening = [w for w in window.chat._opening if w.isVisible()]
        texts = [w.body.toPlainText().strip() for w in opening if hasattr(w, "body")]
        assert texts == ["Hi! Ask me anything."]
        chip = next(
            b
            for w in opening
            for b in w.findChildren(type(window.composer.button))
            if b.text() == "Why?"
        )
        click(chip)
        await wait_until(lambda: fake.requests and not window.composer.busy)
        sent = fake.requests[-1]["body"]["messages"]
        assert sent == [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Why?"},
        ]


@pytest.mark.asyncio
async def test_first_run_shows_setup_instead_of_an_empty_window(qapp, paths, secrets, fake):
    async with CoreOnLoop(paths, secrets, None) as core, WindowOnLoop(core) as window:
        assert window.center.currentWidget() is window.first_run
