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
