"""Driving the window as a person would, on a real qasync loop, offscreen.

A Qt test is an `async def test_...` that pytest-asyncio runs on a fresh qasync loop (see
`pytest_asyncio_loop_factories` in tests/conftest.py): clicks and key presses go through
QTest, and waits are on conditions with a deadline (the loop keeps running while we wait,
so streamed replies really arrive and repaint).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from desktop_chat.ui.event_loop import AppEventLoop
from tests.helpers import wait_until as wait_until  # the window's tests wait with it too

# A closed qasync loop still owns QObjects with registered Qt timers. If the garbage
# collector frees it on another thread (the database worker, the fake server), Qt cannot
# unregister those timers and a later test crashes in QTimerInfoList::activateTimers.
# Keeping every loop of the session alive makes its objects die on the main thread, at exit.
_FINISHED_LOOPS: list[AppEventLoop] = []


def new_qt_loop() -> AppEventLoop:
    """A fresh loop over the QApplication, the app's own: the loop factory of every Qt test.

    pytest-asyncio runs the test, its async fixtures and their teardown on it, then cancels
    what is left, shuts down async generators and closes it; it never stops the loop from
    inside, which would call QApplication.exit() and hang later tests.
    """
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    app.setQuitOnLastWindowClosed(False)  # as the app itself does (see ui/main.py)
    loop = AppEventLoop(app, already_running=False)
    _FINISHED_LOOPS.append(loop)
    return loop


def click(widget: QWidget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def tick(box: QWidget) -> None:
    """Click a check box on its box: its middle may lie past the end of its words."""
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def type_text(widget: QWidget, text: str) -> None:
    QTest.keyClicks(widget, text)


def press(
    widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    QTest.keyClick(widget, key, modifier)


class CoreOnLoop:
    """`async with CoreOnLoop(paths, secrets, agent) as core:` — a core for this loop only."""

    def __init__(self, paths: Any, secrets: Any, agent: Any | None) -> None:
        self.paths, self.secrets, self.agent = paths, secrets, agent

    async def __aenter__(self) -> Any:
        from desktop_chat.app import Core

        if self.agent is not None and self.agent.key_ref:
            self.secrets.set(self.agent.key_ref, "sk-test-key-1234567890")
        self.core = await Core.open(self.paths, self.secrets)
        self.core.service.config.auto_title = False
        if self.agent is not None:
            await self.core.service.save_agent(self.agent)
        return self.core

    async def __aexit__(self, *exc_info: object) -> None:
        await self.core.aclose()


class WindowOnLoop:
    """`async with WindowOnLoop(core) as window:` — the real main window, shown offscreen."""

    def __init__(self, core: Any) -> None:
        self.core = core

    async def __aenter__(self) -> Any:
        from desktop_chat.ui.window_factory import open_window

        self.opened = await open_window(self.core)
        return self.opened.window

    async def __aexit__(self, *exc_info: object) -> None:
        await self.opened.aclose()  # the core outlives the window: CoreOnLoop closes it
        self.opened.window.deleteLater()
