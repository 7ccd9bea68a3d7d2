"""The window as a new user meets it (#17): labels, streaming code, the busy composer,
empty states and the header, each driven as a person would."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_chat.ui.conversation_list import ID_ROLE
from tests.fake_openai import Scenario
from tests.gui_support import (
    CoreOnLoop,
    WindowOnLoop,
    click,
    press,
    type_text,
    wait_until,
)


def loaded(window) -> bool:
    return window.session.is_open(window.session.current_id)


async def _send(window, text: str) -> None:
    type_text(window.composer.edit, text)
    press(window.composer.edit, Qt.Key.Key_Return)


@pytest.mark.asyncio
async def test_a_reply_keeps_its_agents_name_while_streaming_and_after_a_reload(
    qapp, paths, secrets, agent, fake
):
    fake.scenario = Scenario(tokens=[f"w{i} " for i in range(40)], delay=0.01)

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: loaded(window))
        first = window.session.current_id
        await _send(window, "hello")
        await wait_until(lambda: window.chat.streaming, what="the reply streams")
        assert window.chat._stream.role_label.text() == "Fake"
        await wait_until(lambda: not window.composer.busy, what="the reply ends")
        assert window.chat.message_widgets[-1].role_label.text() == "Fake"

        click(window.sidebar.new_button)
        await wait_until(lambda: window.session.current_id != first and loaded(window))
        window.sidebar.select(first)
        await wait_until(lambda: window.session.current_id == first and loaded(window))
        labels = [w.role_label.text() for w in window.chat.message_widgets]
        assert labels[-1] == "Fake", "the same name after the conversation is read again"


@pytest.mark.asyncio
async def test_enter_while_a_reply_streams_queues_the_message(qapp, paths, secrets, agent, fake):
    slow = Scenario(tokens=[f"a{i} " for i in range(40)], delay=0.02)
    fake.queue = [slow, Scenario(tokens=["second ", "answer"])]

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: loaded(window))
        cid = window.session.current_id
        await _send(window, "first")
        await wait_until(lambda: "a2" in window.chat.stream_text(), what="streaming")

        await _send(window, "second")
        assert window.composer.text() == "", "the queued message left the composer"
        assert window.queue_bar.isVisible()
        label, _cancel = window.queue_bar.rows[0]
        assert "second" in label.text()

        await _send(window, "third")
        assert len(window.queue_bar.rows) == 2
        click(window.queue_bar.rows[1][1])  # Cancel gives "third" back
        assert window.composer.text() == "third"
        assert len(window.queue_bar.rows) == 1

        await wait_until(
            lambda: len(fake.requests) == 2 and not window.composer.busy,
            timeout=15,
            what="the queued message is sent when the first reply ends",
        )
        await wait_until(lambda: not window.queue_bar.isVisible())
        stored = await core.service.get_conversation(cid)
        assert [(m.role, m.content) for m in stored.messages] == [
            ("user", "first"),
            ("assistant", "".join(f"a{i} " for i in range(40))),
            ("user", "second"),
            ("assistant", "second answer"),
        ]
        assert window.composer.text() == "third", "what is typed stays"


@pytest.mark.asyncio
async def test_a_queued_message_comes_back_when_the_reply_fails(qapp, paths, secrets, agent, fake):
    fake.queue = [Scenario(tokens=[f"a{i} " for i in range(30)], delay=0.02, cut_after=10)]

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: loaded(window))
        await _send(window, "first")
        await wait_until(lambda: "a2" in window.chat.stream_text(), what="streaming")
        await _send(window, "second")
        await wait_until(lambda: not window.composer.busy, what="the reply fails")
        assert window.banner.isVisible()
        assert window.composer.text() == "second", "the queued message is not lost"
        assert not window.queue_bar.isVisible()
        assert len(fake.requests) == 1


@pytest.mark.asyncio
async def test_the_header_fits_1000_px_with_context_open_and_a_long_title(
    qapp, paths, secrets, agent, fake
):
    title = ("A very long conversation title about " + "many different things " * 7).strip()

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: loaded(window))
        await core.service.update_conversation(window.session.current_id, title=title)
        window.resize(1000, 700)
        click(window.header.context_button)
        await wait_until(lambda: window.context_editor.isVisible())
        await wait_until(lambda: window.header.title_label.toolTip() == title)
        header = window.header
        parts = [
            header.title_label,
            header.agent_combo,
            header.context_button,
            header.manage_button,
            header.settings_button,
        ]
        await wait_until(lambda: all(p.isVisible() for p in parts))
        boxes = [p.geometry() for p in parts]
        for left, right in itertools.pairwise(boxes):
            assert right.left() - left.right() >= 4, "parts overlap or touch"
        assert boxes[-1].right() <= header.width()
        shown = header.title_label.text()
        assert shown != title and shown.endswith("…"), "a long title is cut with …"
        metrics = header.title_label.fontMetrics()
        assert metrics.horizontalAdvance(shown) <= header.title_label.width()
        assert header.agent_combo.width() >= 120, "the agent's name stays readable"


@pytest.mark.asyncio
async def test_rows_hold_still_under_the_pointer_so_a_click_opens_what_it_aimed_at(
    qapp, paths, secrets, agent, fake
):
    fake.scenario = Scenario(tokens=["done"])

    async with CoreOnLoop(paths, secrets, agent) as core:
        made = [await core.service.create_conversation(title=n) for n in ("A", "B", "C")]
        a, b, _c = (m.id for m in made)
        async with WindowOnLoop(core) as window:
            await wait_until(lambda: loaded(window))
            view = window.sidebar.view
            model = window.sidebar.model
            aim = view.visualRect(model.index(model.row_of(b))).center()
            QTest.mouseMove(view.viewport(), aim)
            await wait_until(lambda: view.viewport().underMouse(), what="pointer on B")

            await core.service.send(a, "a reply ends elsewhere")  # as the API would
            await wait_until(lambda: not core.service.in_flight(a), what="A's reply")
            await wait_until(lambda: model.get(a).message_count == 2)
            assert view.indexAt(aim).data(ID_ROLE) == b, "the row under the pointer stayed"

            QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=aim)
            await wait_until(lambda: window.session.current_id == b and loaded(window))

            QTest.mouseMove(window.composer.edit)
            await wait_until(lambda: not view.viewport().underMouse())
            await wait_until(lambda: model.row_of(a) == 1, what="A moves to the top")


@pytest.mark.asyncio
async def test_empty_states_say_what_to_do(qapp, paths, secrets, agent, fake):
    quiet = agent.model_copy(update={"app_preset": agent.app_preset.model_copy(
        update={"greetings": [], "suggested_questions": []}
    )})  # fmt: skip

    async with CoreOnLoop(paths, secrets, None) as core, WindowOnLoop(core) as window:
        view = window.sidebar.view
        assert window.sidebar.model.rowCount() == 0
        assert "No conversations yet" in view.empty_text
    async with CoreOnLoop(paths, secrets, quiet) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: loaded(window))
        hints = [w for w in window.chat._opening if w.isVisible()]
        assert len(hints) == 1 and "Ask Fake anything" in hints[0].text()

        type_text(window.sidebar.search, "zebra-quantum")
        view = window.sidebar.view
        await wait_until(lambda: window.sidebar.model.rowCount() == 0, what="no match")
        await wait_until(lambda: "zebra-quantum" in view.empty_text)
        assert view.empty_text.startswith("No conversation matches")
