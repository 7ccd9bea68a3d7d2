"""Tool calls in the window: a folded block per call, and the prompt that approves them.

A block says which server's tool ran, how long it took and whether it failed; unfolded it
shows the arguments and the result as plain text (never rendered: a tool's output is
data, and a long one is cut). While calls run, `ToolPanel` above the composer shows them
live, and asks, without blocking anything, whether a call may run: once, always, or not.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat.engine.approvals import Decision
from desktop_chat.engine.events import ToolApprovalRequested, ToolCallFinished, ToolCallStarted
from desktop_chat.schemas import Message, ToolCall
from desktop_chat.ui.i18n import t

if TYPE_CHECKING:
    from desktop_chat.engine.approvals import ToolApprovals
    from desktop_chat.ui.bridge import EngineBridge

SHOWN_CHARS = 4_000  # of arguments and of a result, in a block


def _shown(text: str) -> str:
    if len(text) <= SHOWN_CHARS:
        return text
    return (
        text[:SHOWN_CHARS]
        + "\n"
        + t("[{count} more characters not shown]").format(count=f"{len(text) - SHOWN_CHARS:,}")
    )


def _pretty(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, indent=2)
    except ValueError:
        return arguments


def tool_call_of(messages: list[Message], index: int) -> ToolCall | None:
    """The call a tool message answers: in the assistant message before its results."""
    call_id = messages[index].tool_call_id
    for earlier in reversed(messages[:index]):
        if earlier.role != "tool":
            return next((c for c in earlier.tool_calls or [] if c.id == call_id), None)
    return None


def tool_title(name: str) -> tuple[str, str]:
    """`server__tool` as (server, tool); a name without the separator is all tool."""
    server, sep, tool = name.partition("__")
    return (server, tool) if sep else ("", name)


class ToolCallBlock(QFrame):
    """One call: a header that folds (tool, state, time) over its arguments and result."""

    def __init__(
        self, server: str, tool: str, arguments: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toolCall")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._name = f"{server}/{tool}" if server else tool
        self._state = t("running…")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.toggled.connect(self._fold)
        layout.addWidget(self.toggle)
        self.details = QLabel()
        self.details.setObjectName("toolDetails")
        self.details.setTextFormat(Qt.TextFormat.PlainText)  # output is data, never markup
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()
        layout.addWidget(self.details)
        self._arguments = _shown(_pretty(arguments))
        self._result = ""
        self._update()

    def finish(self, result: str, is_error: bool, duration_ms: float | None) -> None:
        took = f"{(duration_ms or 0) / 1000:.1f} s"
        self._state = (t("error · {took}") if is_error else t("done · {took}")).format(took=took)
        self._result = _shown(result)
        self._update()

    def _update(self) -> None:
        self.toggle.setText(t("Tool {name} · {state}").format(name=self._name, state=self._state))
        text = t("Arguments") + "\n" + self._arguments
        if self._result:
            text += "\n\n" + t("Result") + "\n" + self._result
        self.details.setText(text)

    def _fold(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.details.setVisible(shown)

    @property
    def title(self) -> str:
        return self.toggle.text()


class ApprovalPrompt(QFrame):
    """Asks whether a call may run; answering never blocks the window."""

    decided = Signal(str, object)  # call id, Decision

    def __init__(self, event: ToolApprovalRequested, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolApproval")
        self.call_id = event.call_id
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        question = QLabel(
            t("Let the MCP server {server} run its tool {tool} with these arguments?").format(
                server=event.server, tool=event.tool
            )
        )
        question.setWordWrap(True)
        layout.addWidget(question)
        arguments = QLabel(_shown(_pretty(event.arguments)))
        arguments.setTextFormat(Qt.TextFormat.PlainText)
        arguments.setWordWrap(True)
        arguments.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(arguments)
        row = QHBoxLayout()
        row.addStretch(1)
        self.buttons: dict[Decision, QPushButton] = {}
        for decision, text in (
            (Decision.ONCE, t("Run once")),
            (Decision.ALWAYS, t("Always run this tool")),
            (Decision.DENY, t("Deny")),
        ):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, d=decision: self.decided.emit(self.call_id, d))
            row.addWidget(button)
            self.buttons[decision] = button
        layout.addLayout(row)


class ToolPanel(QFrame):
    """The calls running now and those waiting for approval, above the composer."""

    def __init__(
        self, bridge: EngineBridge, approvals: ToolApprovals | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toolPanel")
        self._approvals = approvals
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 4, 0, 4)
        self.blocks: dict[str, ToolCallBlock] = {}
        self.prompts: dict[str, ApprovalPrompt] = {}
        self._conversation: dict[str, str] = {}  # call id -> its conversation
        bridge.tool_call_started.connect(self.call_started)
        bridge.tool_approval_requested.connect(self.approval_requested)
        bridge.tool_call_finished.connect(self.call_finished)
        bridge.reply_done.connect(lambda event: self.clear(event.conversation_id))
        self.hide()

    def call_started(self, event: ToolCallStarted) -> None:
        block = ToolCallBlock(event.server, event.tool, event.arguments)
        self.blocks[event.call_id] = block
        self._conversation[event.call_id] = event.conversation_id
        self._layout.addWidget(block)
        self.show()

    def approval_requested(self, event: ToolApprovalRequested) -> None:
        prompt = ApprovalPrompt(event)
        prompt.decided.connect(self.decide)
        self.prompts[event.call_id] = prompt
        self._conversation[event.call_id] = event.conversation_id
        self._layout.addWidget(prompt)
        self.show()

    def decide(self, call_id: str, decision: Decision) -> None:
        if self._approvals is not None:
            self._approvals.answer(call_id, decision)
        self._drop(self.prompts.pop(call_id, None))

    def call_finished(self, event: ToolCallFinished) -> None:
        """The result is stored and shown in the chat: the live block goes."""
        self._drop(self.prompts.pop(event.call_id, None))
        self._drop(self.blocks.pop(event.call_id, None))

    def clear(self, conversation_id: str) -> None:
        """The reply ended: its calls are done, answered or refused."""
        for call_id, owner in list(self._conversation.items()):
            if owner == conversation_id:
                del self._conversation[call_id]
                self._drop(self.prompts.pop(call_id, None))
                self._drop(self.blocks.pop(call_id, None))

    def _drop(self, widget: QWidget | None) -> None:
        if widget is not None:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self.setVisible(bool(self.blocks or self.prompts))
