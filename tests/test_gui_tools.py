"""Tool calls in the window: the approval prompt, the live block, the folded result."""

from __future__ import annotations

import asyncio
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
        assert widgets[1].body.toPlainText().strip() == "Checking."
        block = widgets[2].tool_block
        assert block is not None and block.title.startswith("Tool calc/add · done")
        assert not block.details.isVisible()
        click(block.toggle)
        assert block.details.isVisible()
        assert '"a": 6' in block.details.text() and block.details.text().endswith("13")
        assert widgets[-1].body.toPlainText().strip() == "Thirteen."


@pytest.mark.asyncio
async def test_a_denied_call_shows_as_an_error_block(qapp, paths, secrets, agent, fake):
    fake.queue = [
        Scenario(
            tokens=[],
            tool_calls=[{"id": "g2", "name": "calc__echo", "arguments": '{"text": "<b>x</b>"}'}],
        ),
        Scenario(),
    ]
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
        calls_only = window.chat.message_widgets[1]
        assert calls_only.body.toPlainText().strip() == "Asked to run calc/echo"
        assert block.details.textFormat() == Qt.TextFormat.PlainText
        assert "<b>x</b>" in block.details.text()


@pytest.mark.asyncio
async def test_settings_add_test_turn_off_and_import_servers(
    qapp, paths, secrets, memory_keyring, agent, fake
):
    from desktop_chat.settings import load_settings
    from tests.test_gui_settings import DialogOnLoop, replace_text, stored_bytes

    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        tab = dialog.tools_tab
        dialog.tabs.setCurrentWidget(tab)
        replace_text(tab.name, "calc")
        replace_text(tab.command, f"{sys.executable} -m tests.mcp_test_server")
        replace_text(tab.cwd, str(ROOT))
        tab.env.setPlainText("TEST_MCP_GREETING=hello")
        click(tab.buttons["save"])
        await wait_until(lambda: tab.server_list.count() == 1, what="the server is listed")
        click(tab.buttons["test"])
        await wait_until(lambda: "Tools:" in tab.test_result.text(), timeout=30, what="tools")
        assert "add" in tab.test_result.text() and "echo" in tab.test_result.text()
        stored = await core.tools.get_server("calc")
        assert stored.args == ["-m", "tests.mcp_test_server"]
        assert stored.secret_env == ["TEST_MCP_GREETING"]
        assert core.secrets.get_own("mcp-env:calc:TEST_MCP_GREETING") == "hello"
        assert tab.env.toPlainText() == ""  # never shown again

        tab.enabled.setChecked(False)  # off
        click(tab.buttons["save"])
        await wait_until(lambda: "(off)" in tab.server_list.item(0).text(), what="turned off")
        assert not (await core.tools.get_server("calc")).enabled

        tab.transport.setCurrentIndex(tab.transport.findData("http"))
        replace_text(tab.name, "remote")
        replace_text(tab.url, "https://mcp.example.com/mcp")
        tab.headers.setPlainText("Authorization: Bearer secret-header-9")
        click(tab.buttons["save"])
        await wait_until(lambda: tab.server_list.count() == 2, what="the second server")
        remote = await core.tools.get_server("remote")
        assert remote.secret_headers == ["Authorization"]
        assert b"secret-header-9" not in stored_bytes(core)

        tab.import_text('{"mcpServers": {"files": {"command": "true", "args": ["x"]}}}')
        await wait_until(lambda: tab.server_list.count() == 3, what="the imported server")

        tab.rounds.setValue(3)
        click(tab.save_button)
        await wait_until(lambda: core.settings.tool_rounds == 3, what="the limit saved")
        assert load_settings(core.paths.settings_file).tool_rounds == 3
        assert core.tools.max_rounds == 3


@pytest.mark.asyncio
async def test_the_agent_form_chooses_tools(qapp, paths, secrets, memory_keyring, agent, fake):
    from tests.test_gui_settings import DialogOnLoop, replace_text

    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        form = dialog.agents_tab.form
        await wait_until(lambda: form.current is not None, what="the agent is loaded")
        assert form.tools.text() == "all"
        replace_text(form.tools, "calc, files")
        click(form.save_button)
        await wait_until(lambda: form.status.text() != "", what="the agent is saved")
        saved = await core.service.get_agent(agent.agent_id)
        assert saved.tools == ["calc", "files"]


@pytest.mark.asyncio
async def test_a_finished_block_and_a_waiting_prompt_side_by_side(
    qapp, paths, secrets, agent, fake
):
    """Set DESKTOP_CHAT_TOOLS_SCREENSHOT=docs/screenshots/tools.png to refresh the README's."""
    import os

    fake.queue = [
        _calls(("s1", "calc__add", '{"a": 1200, "b": 34}')),
        Scenario(tokens=["1200 + 34 = **1234**. Let me echo it too."],
                 tool_calls=[{"id": "s2", "name": "calc__echo", "arguments": '{"text": "1234"}'}]),
        Scenario(tokens=["Done."]),
    ]  # fmt: skip
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await _with_server(core)
        window.resize(1000, 720)
        await wait_until(lambda: window.session.current is not None)
        type_text(window.composer.edit, "What is 1200 + 34?")
        press(window.composer.edit, Qt.Key.Key_Return)
        panel = window.tool_panel
        await wait_until(lambda: "s1" in panel.prompts, timeout=30, what="the first prompt")
        click(panel.prompts["s1"].buttons[Decision.ONCE])
        await wait_until(lambda: "s2" in panel.prompts, timeout=30, what="the second prompt")
        await wait_until(
            lambda: any(w.tool_block for w in window.chat.message_widgets), what="the block"
        )
        block = next(w.tool_block for w in window.chat.message_widgets if w.tool_block)
        click(block.toggle)
        await wait_until(lambda: block.details.isVisible(), what="unfolded")
        assert panel.prompts["s2"].isVisible()
        target = os.environ.get("DESKTOP_CHAT_TOOLS_SCREENSHOT")
        if target:
            window.chat.scroll_to_bottom()
            await asyncio.sleep(0.3)  # a screenshot, not a synchronisation: paint settles
            window.grab().save(target)
        click(panel.prompts["s2"].buttons[Decision.DENY])
        await wait_until(lambda: not window.composer.busy, timeout=30, what="the reply ends")


@pytest.mark.asyncio
async def test_the_context_editor_shows_tool_results_and_keeps_them(
    qapp, paths, secrets, agent, fake
):
    from tests.helpers import EventLog
    from tests.test_gui_context_editor import loaded, open_editor, shown

    fake.queue = [
        _calls(("c1", "calc__add", '{"a": 2, "b": 2}')),
        Scenario(tokens=["Four."]),
        Scenario(tokens=["Ok."]),
    ]
    async with CoreOnLoop(paths, secrets, agent) as core:
        await _with_server(core)
        core.tools.approvals.approver = _once
        conversation = await core.service.create_conversation()
        log = EventLog(core.service, conversation.id)
        await core.service.send(conversation.id, "2+2?")
        await log.done(conversation.id, timeout=30)
        async with open_editor(core) as editor:
            await loaded(editor, conversation.id, 5)
            assert [role for role, _ in shown(editor)] == [
                "system",
                "user",
                "assistant",
                "tool",
                "assistant",
            ]
            assert editor.entries[3].role_box.currentText() == "Tool"
        await core.service.send(conversation.id, "and then?")
        await log.done(conversation.id, count=2, timeout=30)
        sent = [r["body"] for r in fake.requests if r["body"] and r["body"].get("stream")][-1]
        assert [m["role"] for m in sent["messages"]] == [
            "system", "user", "assistant", "tool", "assistant", "user"
        ]  # fmt: skip


async def _once(request: object) -> Decision:
    return Decision.ONCE
