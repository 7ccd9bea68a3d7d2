"""What the window's forms share: outcomes in words, questions that do not block, labels.

A form shows a known failure next to the button that caused it, asks its yes/no questions
without stopping the event loop (replies keep streaming behind a dialog), and quotes
servers in labels that never interpret rich text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Generic, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget
from shiboken6 import isValid

from desktop_chat.engine.agents import KeyNotKeptError
from desktop_chat.engine.failures import describe
from desktop_chat.ui.i18n import say, t

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """A result or a sentence; lets a form show a known failure next to the button."""

    value: T | None = None
    error: str | None = None


async def in_words(awaitable: Awaitable[T]) -> Outcome[T]:
    """Known failures become a sentence for the form; bugs still reach `bridge.failed`."""
    try:
        return Outcome(value=await awaitable)
    except KeyNotKeptError:  # the user's own choice, told in the window's language
        return Outcome(error=t("Nothing was saved: the API key has nowhere to be kept."))
    except Exception as exc:
        failure = describe(exc)
        if failure is None:
            raise
        return Outcome(error=say(failure.message))


async def ask(parent: QWidget, title: str, text: str, yes: str, no: str) -> bool:
    """A yes/no question that does not block the loop: the box is opened, not exec()'d."""
    box = QMessageBox(parent)
    box.setObjectName("question")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no_button)
    box.setEscapeButton(no_button)
    answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def settle(result: bool) -> None:
        if not answer.done():
            answer.set_result(result)

    box.finished.connect(lambda _code: settle(box.clickedButton() == yes_button))
    box.destroyed.connect(lambda: settle(False))
    box.open()
    try:
        return await answer
    finally:
        if isValid(box):
            box.deleteLater()


async def ask_keep_for_session(parent: QWidget) -> bool:
    """Asked when no keyring works, before a key is kept in memory only."""
    return await ask(
        parent,
        t("No keyring"),
        t(
            "No system keyring is available to store the API key safely. Keep the key for "
            "this session only? It is forgotten when desktop_chat quits. To keep keys, "
            "install a keyring (GNOME Keyring, KWallet or KeePassXC) and restart."
        ),
        t("Keep for this session"),
        t("Cancel"),
    )


def plain_label(object_name: str) -> QLabel:
    """A label for messages that may quote a server: never rich text, always wrapped."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
