"""Every advertised shortcut, pressed on the shown window as a person does (#17).

`QTest.keyClick` on the top-level window goes through Qt's shortcut map: two actions
bound to the same keys make Qt fire neither ("Ambiguous shortcut overload"), which a
test that calls the slot directly would never notice.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from desktop_chat.ui.manage.window import ManageWindow
from tests.fake_openai import Scenario
from tests.gui_support import CoreOnLoop, WindowOnLoop, type_text, wait_until

README = Path(__file__).resolve().parents[1] / "README.md"
CTRL = Qt.KeyboardModifier.ControlModifier


def advertised() -> list[str]:
    """The key combinations the README's "Shortcuts" line promises."""
    line = next(line for line in README.read_text().split("\n\n") if "Shortcuts:" in line)
    return list(dict.fromkeys(re.findall(r"(Ctrl\+[\w,+]+|Esc)", line)))


def loaded(window) -> bool:
    return window.session.is_open(window.session.current_id)


def test_the_readme_lists_the_shortcuts_this_file_presses():
    assert advertised() == [
        "Ctrl+N", "Ctrl+F", "Ctrl+,", "Ctrl+M", "Ctrl+Shift+C", "Ctrl+Q", "Esc",
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_every_shortcut_works_from_the_keyboard(qapp, paths, secrets, agent, fake):
    fake.scenario = Scenario(tokens=["The ", "answer"])

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: loaded(window), what="a conversation opens")
        window.activateWindow()
        first = window.session.current_id

        QTest.keyClick(window, Qt.Key.Key_N, CTRL)
        await wait_until(
            lambda: window.session.current_id not in (None, first) and loaded(window),
            what="Ctrl+N opens a new conversation",
        )

        QTest.keyClick(window, Qt.Key.Key_F, CTRL)
        assert window.sidebar.search.hasFocus(), "Ctrl+F puts the cursor in the search"

        window.composer.edit.setFocus()
        type_text(window.composer.edit, "question")
        QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)
        await wait_until(lambda: window.chat.last_reply_text() == "The answer")
        QGuiApplication.clipboard().clear()
        QTest.keyClick(window, Qt.Key.Key_C, CTRL | Qt.KeyboardModifier.ShiftModifier)
        assert QGuiApplication.clipboard().text() == "The answer"

        QTest.keyClick(window, Qt.Key.Key_Comma, CTRL)
        await wait_until(
            lambda: isinstance(QApplication.activeModalWidget(), QDialog),
            what="Ctrl+, opens Settings",
        )
        dialog = QApplication.activeModalWidget()
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
        await wait_until(lambda: not dialog.isVisible(), what="Esc closes Settings")

        QTest.keyClick(window, Qt.Key.Key_M, CTRL)
        manage = window.findChild(ManageWindow)
        assert manage is not None and manage.isVisible(), "Ctrl+M opens Manage"
        await wait_until(lambda: manage.ready, what="Manage has loaded")
        QTest.keyClick(manage, Qt.Key.Key_Escape)
        await wait_until(lambda: manage.closing, what="Esc closes Manage")

        window.activateWindow()  # back in the main window, as a click on it does
        await wait_until(lambda: QApplication.activeWindow() is window, what="active")
        QTest.keyClick(window, Qt.Key.Key_Q, CTRL)
        await wait_until(lambda: window._closing, what="Ctrl+Q closes the window")


@pytest.mark.asyncio
async def test_esc_stops_the_reply(qapp, paths, secrets, agent, fake):
    fake.scenario = Scenario(tokens=[f"w{i} " for i in range(300)], delay=0.02)

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: loaded(window))
        window.activateWindow()
        type_text(window.composer.edit, "go")
        QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)
        await wait_until(lambda: "w2" in window.chat.stream_text(), what="a few tokens")
        window.chat.setFocus()  # Esc works wherever the focus is, not only in the composer
        QTest.keyClick(window, Qt.Key.Key_Escape)
        await wait_until(lambda: not window.composer.busy, what="Esc stops the reply")
        stored = await core.service.get_conversation(window.session.current_id)
        assert stored.messages[-1].status == "stopped"
