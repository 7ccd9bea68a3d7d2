"""The window as a new user meets it (#17): labels, streaming code, the busy composer,
empty states and the header, each driven as a person would."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.fake_openai import Scenario
from tests.gui_support import (
    CoreOnLoop,
    WindowOnLoop,
    click,
    press,
    run_on_qt_loop,
    type_text,
    wait_until,
)


def loaded(window) -> bool:
    return window.session.is_open(window.session.current_id)


async def _send(window, text: str) -> None:
    type_text(window.composer.edit, text)
    press(window.composer.edit, Qt.Key.Key_Return)


def test_a_reply_keeps_its_agents_name_while_streaming_and_after_a_reload(
    qapp, paths, secrets, agent, fake
):
    fake.scenario = Scenario(tokens=[f"w{i} " for i in range(40)], delay=0.01)

    async def scenario():
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

    run_on_qt_loop(qapp, scenario())
