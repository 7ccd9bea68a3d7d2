"""The window and the local API are two clients of one engine."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from tests.fake_openai import Scenario
from tests.gui_support import CoreOnLoop, WindowOnLoop, click, tick, type_text, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.asyncio
async def test_a_reply_started_through_the_api_streams_in_the_window(
    qapp, paths, secrets, agent, fake
):
    fake.scenario = Scenario(tokens=[f"api{i} " for i in range(40)], delay=0.02)

    async with CoreOnLoop(paths, secrets, agent) as core:
        core.settings = core.settings.model_copy(
            update={"api_enabled": True, "api_port": _free_port()}
        )
        async with WindowOnLoop(core) as window:
            assert window.api.url, "the API starts with the window when enabled"
            _record, token = await core.tokens.create("script")
            headers = {"Authorization": f"Bearer {token}"}
            async with aiohttp.ClientSession(window.api.url, headers=headers) as http:
                async with http.post("/api/conversations", json={"title": "From a script"}) as r:
                    assert r.status == 201
                    cid = (await r.json())["id"]
                await wait_until(lambda: window.sidebar.model.get(cid) is not None)
                window.sidebar.select(cid)
                await wait_until(
                    lambda: window.session.current_id == cid and window.session.current
                )

                async with http.post(
                    f"/api/conversations/{cid}/messages", json={"text": "Hello from curl"}
                ) as r:
                    assert r.status == 202
                await wait_until(lambda: "api3" in window.chat.stream_text(), what="stream")
                assert window.composer.busy
                await wait_until(lambda: not window.composer.busy, timeout=15)
                texts = [w.body.toPlainText().strip() for w in window.chat.message_widgets]
                assert texts == [
                    "Hello from curl",
                    "".join(f"api{i} " for i in range(40)).strip(),
                ]


@pytest.mark.asyncio
async def test_settings_start_the_api_and_create_a_token(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        from desktop_chat.ui.settings_dialog import SettingsDialog

        assert window.api.url is None, "off by default"
        dialog = SettingsDialog(core, window.bridge, window, with_api=True)
        dialog.show()
        tab = dialog.api_tab
        bar = dialog.tabs.tabBar()
        QTest.mouseClick(
            bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(dialog.tabs.indexOf(tab)).center()
        )
        assert dialog.tabs.currentWidget() is tab
        tab.enabled.setChecked(True)
        tab.port.setValue(_free_port())
        click(tab.save_button)
        await wait_until(lambda: window.api.url is not None, what="the API runs")
        assert core.settings.api_enabled
        assert "Running at" in tab.state.text()

        type_text(tab.token_name, "no spaces please")
        click(tab.create_button)
        await wait_until(lambda: "cannot name a token" in tab.token_status.text())
        assert tab.new_token.isHidden() and await core.tokens.list() == []

        tab.token_name.clear()
        type_text(tab.token_name, "my-editor")
        click(tab.create_button)
        await wait_until(lambda: not tab.new_token.isHidden(), what="the token is shown")
        secret = tab.new_token.text()
        verified = await core.tokens.verify(secret)
        assert verified is not None and verified.name == "my-editor"
        await wait_until(lambda: tab.token_list.count() == 1)

        # A token for one agent, whose gateway requests are kept as conversations.
        saved = await core.agents.save(
            agent.model_copy(
                update={"name": "Other", "agent_id": "other-agent", "is_default": False}
            )
        )
        other = saved.agent
        tab.refresh_tokens()
        await wait_until(lambda: tab.agent_choice.count() == 2, what="the agents listed")
        tick(tab.only_agents)
        assert tab.agent_choice.isEnabled()
        row = next(r for r in range(2) if tab.agent_choice.item(r).text() == "Other")
        item = tab.agent_choice.item(row)
        rect = tab.agent_choice.visualItemRect(item)
        QTest.mouseClick(
            tab.agent_choice.viewport(),
            Qt.MouseButton.LeftButton,
            pos=QPoint(rect.left() + rect.height() // 2, rect.center().y()),
        )
        await wait_until(lambda: item.checkState() == Qt.CheckState.Checked, what="checked")
        tick(tab.keep_requests)
        type_text(tab.token_name, "one-agent")
        click(tab.create_button)
        await wait_until(lambda: tab.token_list.count() == 2, what="the second token")
        limited = await core.tokens.verify(tab.new_token.text())
        assert limited is not None and limited.name == "one-agent"
        assert limited.agents == [other.agent_id] and limited.store_conversations
        assert limited.may_use(other.agent_id) and not limited.may_use(agent.agent_id)
        line = next(
            tab.token_list.item(r).text()
            for r in range(tab.token_list.count())
            if tab.token_list.item(r).text().startswith("one-agent")
        )
        assert "agents: Other" in line and "requests kept" in line
        assert not tab.only_agents.isChecked() and not tab.keep_requests.isChecked()

        tab.enabled.setChecked(False)
        click(tab.save_button)
        await wait_until(lambda: window.api.url is None, what="the API stops")
        dialog.close()
