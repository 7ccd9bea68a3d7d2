"""Reply versions in the window: Regenerate keeps the old answer, the switcher shows both."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.fake_openai import Scenario
from tests.gui_support import (
    CoreOnLoop,
    WindowOnLoop,
    click,
    press,
    type_text,
    wait_until,
)
from tests.test_gui_settings import answer as answer_question


def _texts(window) -> list[str]:
    return [w.body.toPlainText().strip() for w in window.chat.message_widgets]


async def _asked(window, fake, text: str, answer: str) -> None:
    fake.scenario = Scenario(tokens=[answer])
    type_text(window.composer.edit, text)
    press(window.composer.edit, Qt.Key.Key_Return)
    await wait_until(lambda: _texts(window)[-1:] == [answer], what=f"the answer {answer!r}")
    await wait_until(lambda: not window.composer.busy, what="the reply ends")


@pytest.mark.asyncio
async def test_regenerate_keeps_the_old_answer_and_the_switcher_moves_between_them(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None, what="opens")
        await _asked(window, fake, "Name a colour", "Red")
        question_widget = window.chat.message_widgets[0]

        fake.scenario = Scenario(tokens=["Green"])
        click(window.chat.message_widgets[-1].button("Regenerate"))
        await wait_until(lambda: _texts(window) == ["Name a colour", "Green"], what="Green")
        reply = window.chat.message_widgets[-1]
        await wait_until(lambda: reply.versions.isVisible(), what="the switcher")
        assert reply.versions.label.text() == "2 / 2"

        click(reply.versions.previous)
        await wait_until(lambda: _texts(window) == ["Name a colour", "Red"], what="back")
        assert window.chat.message_widgets[0] is question_widget, "only the tail is rebuilt"
        shown = window.chat.message_widgets[-1]
        assert shown.versions.label.text() == "1 / 2"

        shown.body.setFocus()
        press(shown.body, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
        await wait_until(lambda: _texts(window) == ["Name a colour", "Green"], what="Alt+Right")
        stored = await core.service.get_conversation(window.session.current_id)
        assert [m.content for m in stored.messages] == ["Name a colour", "Green"]


@pytest.mark.asyncio
async def test_fork_from_here_opens_a_new_conversation_with_the_path_up_to_it(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None, what="opens")
        await _asked(window, fake, "Where to?", "Lisbon.")
        await _asked(window, fake, "When?", "May.")
        origin = window.session.current_id

        click(window.chat.message_widgets[1].button("Fork"))
        await wait_until(
            lambda: (
                window.session.current_id not in (None, origin)
                and window.session.is_open(window.session.current_id)
            ),
            what="the fork opens",
        )
        assert _texts(window) == ["Where to?", "Lisbon."]
        fork = window.sidebar.model.get(window.session.current_id)
        assert fork is not None and fork.title.startswith("Where to?")
        original = await core.service.get_conversation(origin)
        assert [m.content for m in original.messages] == [
            "Where to?",
            "Lisbon.",
            "When?",
            "May.",
        ]


@pytest.mark.asyncio
async def test_deleting_a_message_with_replies_asks_whether_they_go_too(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.current is not None, what="opens")
        for text, answer in (("A", "a"), ("B", "b"), ("C", "c")):
            await _asked(window, fake, text, answer)
        click(window.chat.message_widgets[2].button("Delete"))  # "B": b, C and c follow
        await answer_question("Only this message")
        await wait_until(lambda: _texts(window) == ["A", "a", "b", "C", "c"], what="B gone")

        click(window.chat.message_widgets[2].button("Delete"))  # "b", with what follows
        await answer_question("It and what follows")
        await wait_until(lambda: _texts(window) == ["A", "a"], what="the rest gone")
        stored = await core.service.get_conversation(window.session.current_id)
        assert [m.content for m in stored.messages] == ["A", "a"]

        click(window.chat.message_widgets[1].button("Delete"))  # the last: nothing to ask
        await wait_until(lambda: _texts(window) == ["A"], what="a gone, no question asked")
