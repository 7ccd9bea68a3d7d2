"""Tool calls in the window: the approval prompt, the live block, the folded result."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from desktop_chat.engine.approvals import Decision
from desktop_chat.schemas import McpServer
from tests.fake_openai import Scenario
from tests.gui_support import CoreOnLoop, WindowOnLoop, click, press, type_text, wait_until

ROOT = Path(__file__).resolve().parent.parent


def _calls(*items: tuple[str, str, str]) -> Scenario:
    return Scenario(
        tokens=["Checking."],
        tool_calls=[{"id": i, "name": n, "arguments": a} for i, n, a in items],
    )


async def _with_server(core) -> None:
    await core.tools.save_server(
        McpServer(
            name="calc", command=sys.executable, args=["-m", "tests.mcp_test_server"], cwd=str(ROOT)
        )
    )


@pytest.mark.asyncio
async def test_a_call_is_approved_in_the_window_and_shown_folded(qapp, paths, secrets, agent, fake):
    fake.queue = [
        _calls(("g1", "calc__add", '{"a": 6, "b": 7}')),
        Scenario(tokens=["Thirteen."]),
    ]
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await _with_server(core)
        await wait_until(lambda: window.session.current is not None)
        type_text(window.composer.edit, "6 + 7?")
        press(window.composer.edit, Qt.Key.Key_Return)

        panel = window.tool_panel
        await wait_until(lambda: "g1" in panel.prompts, timeout=30, what="the approval prompt")
        prompt = panel.prompts["g1"]
        assert prompt.isVisible()
        said = " ".join(label.text() for label in prompt.findChildren(QLabel))
        assert "MCP server calc run its tool add" in said and '"b": 7' in said
        assert panel.blocks["g1"].title.endswith("running…")
        assert window.composer.busy, "the window stays usable while it asks"
        click(prompt.buttons[Decision.ONCE])

        await wait_until(lambda: not window.composer.busy, timeout=30, what="the reply ends")
        assert not panel.isVisible()
        widgets = window.chat.message_widgets
        assert [w.message.role for w in widgets] == ["user", "assistant", "tool", "assistant"]
        block = widgets[2].tool_block
        assert block is not None and block.title.startswith("Tool calc/add · done")
        assert not block.details.isVisible()
        click(block.toggle)
        assert block.details.isVisible()
        assert '"a": 6' in block.details.text() and block.details.text().endswith("13")
        assert widgets[-1].body.toPlainText().strip() == "Thirteen."


@pytest.mark.asyncio
async def test_a_denied_call_shows_as_an_error_block(qapp, paths, secrets, agent, fake):
    fake.queue = [_calls(("g2", "calc__echo", '{"text": "<b>not markup</b>"}')), Scenario()]
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await _with_server(core)
        await wait_until(lambda: window.session.current is not None)
        type_text(window.composer.edit, "echo")
        press(window.composer.edit, Qt.Key.Key_Return)
        panel = window.tool_panel
        await wait_until(lambda: "g2" in panel.prompts, timeout=30, what="the approval prompt")
        click(panel.prompts["g2"].buttons[Decision.DENY])
        await wait_until(lambda: not window.composer.busy, timeout=30, what="the reply ends")
        block = window.chat.message_widgets[2].tool_block
        assert block is not None and "error" in block.title
        assert block.details.textFormat() == Qt.TextFormat.PlainText
        assert "<b>not markup</b>" in block.details.text()
