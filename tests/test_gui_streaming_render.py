"""What a reply looks like while it streams: an open code fence is code, not backticks (#17)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextFrame

from desktop_chat.schemas import Message
from desktop_chat.ui.message_widget import MessageWidget


@pytest.fixture
def widget(qtbot) -> MessageWidget:
    made = MessageWidget(None, dark=False, role_label="Fake")
    qtbot.addWidget(made)
    made.resize(600, 400)
    made.show()
    return made


def _code_frames(widget: MessageWidget) -> list[QTextFrame]:
    return [f for f in widget.body.document().rootFrame().childFrames()]


def _monospace_text(widget: MessageWidget) -> str:
    """The characters shown in a fixed-pitch font."""
    shown = []
    block = widget.body.document().begin()
    while block.isValid():
        for position in block:
            fragment = position.fragment()
            families = fragment.charFormat().fontFamilies() or []
            if "monospace" in families or fragment.charFormat().fontFixedPitch():
                shown.append(fragment.text())
        block = block.next()
    return "".join(shown)


def test_an_open_code_fence_streams_as_code(widget) -> None:
    reply = "Here you go:\n```python\nimport os\nprint(os.getcwd())\n"
    for end in range(1, len(reply) + 1):
        widget.stream_update(reply[:end], "")
        if end > reply.index("python\n") + len("python\n"):
            shown = widget.body.toPlainText()
            assert "```" not in shown, f"raw backticks after {reply[:end]!r}"

    assert "Here you go:" in widget.body.toPlainText()
    assert "print(os.getcwd())" in _monospace_text(widget)
    assert len(_code_frames(widget)) == 1, "the open block is framed as code"

    widget.stream_update(reply + "```\n\nDone.", "")
    assert "```" not in widget.body.toPlainText()
    assert widget.rendered.code_blocks == ["import os\nprint(os.getcwd())"]
    assert widget.body.toPlainText().rstrip().endswith("Done.")

    stored = Message(id=1, role="assistant", content=reply + "```\n\nDone.")
    widget.finish_stream(stored)
    assert widget.body.toPlainText().count("print(os.getcwd())") == 1


def test_text_after_a_closed_fence_goes_on_as_plain_text(widget) -> None:
    widget.stream_update("```\nx = 1\n```\nand then", "")
    shown = widget.body.toPlainText()
    assert "x = 1" in shown and shown.rstrip().endswith("and then")
    assert "```" not in shown
