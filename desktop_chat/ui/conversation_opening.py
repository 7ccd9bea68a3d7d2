"""What a conversation without messages shows: the agent's greetings and suggested
questions (shown, never sent), or a line that says how to begin; and whose a reply is."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QWidget

from desktop_chat.schemas import Agent
from desktop_chat.ui.chat_parts import FlowRow
from desktop_chat.ui.i18n import t
from desktop_chat.ui.message_widget import MessageWidget


def reply_label(agent: Agent | None, model: str | None) -> str:
    """Whose reply it is, the same while it streams and once it is stored.

    The agent's name when it wrote it (its model), else the model that did (the
    conversation changed agent since), else the role.
    """
    if agent is not None and (not model or model == agent.model):
        return agent.app_preset.name or agent.name
    return model or t("Assistant")


def opening_widgets(
    agent: Agent | None, dark: bool, on_question: Callable[[str], None]
) -> list[QWidget]:
    """The widgets above an empty conversation, top to bottom; a suggested question
    clicked is given to `on_question`."""
    widgets: list[QWidget] = []
    if agent is None or not agent.app_preset.greetings:
        hint = QLabel(
            t("Ask {agent} anything below. Enter sends, Shift+Enter starts a new line.").format(
                agent=reply_label(agent, None)
            )
        )
        hint.setObjectName("emptyConversation")
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        widgets.append(hint)
    if agent is None:
        return widgets
    preset = agent.app_preset
    for greeting in preset.greetings:
        widget = MessageWidget(None, dark=dark, role_label=reply_label(agent, None))
        widget.setProperty("greeting", True)
        widget.show_markdown(greeting)
        widgets.append(widget)
    if preset.suggested_questions:
        chips = FlowRow(preset.suggested_questions)
        chips.clicked.connect(on_question)
        widgets.append(chips)
    return widgets
