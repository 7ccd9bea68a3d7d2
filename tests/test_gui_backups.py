"""The Manage window's Backups tab, driven as a person would: back up, then restore."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop_chat.app import Core
from desktop_chat.schemas import Message
from desktop_chat.secrets import SecretStore
from desktop_chat.store.backup import list_backups, pending_restore
from desktop_chat.transfer import export_json
from tests.gui_support import CoreOnLoop, click, wait_until
from tests.test_gui_manage import ManageOnLoop


@pytest.fixture(autouse=True)
def keep_running_without_windows(qapp):
    previous = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(previous)


async def add_conversation(core: Core, title: str) -> None:
    conv = await core.service.create_conversation(title=title)
    message = Message(role="user", content=f"{title}: ünïcödé 你好 🍣")
    await core.store.run(lambda r: r.messages.append(conv.id, message))


@pytest.mark.asyncio
async def test_back_up_now_then_restore_at_the_next_start(
    qapp, paths, secrets, agent, monkeypatch
) -> None:
    asked: list[str] = []

    def answer_yes(*args: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer_yes)

    async def scenario() -> str:
        async with CoreOnLoop(paths, secrets, agent) as core:
            await add_conversation(core, "Before the backup")
            async with ManageOnLoop(core) as window:
                tab = window.backups
                window.tabs.setCurrentWidget(tab)
                assert str(paths.data) in tab.where.text()
                click(tab.backup_button)
                await wait_until(lambda: tab.table.rowCount() == 1, what="the backup listed")
                await wait_until(lambda: "Backed up to" in tab.status.text())
                assert tab.table.item(0, 1).text() == "By hand"
                at_backup = export_json(await core.service.export())

                await add_conversation(core, "After the backup")
                tab.table.selectRow(0)
                click(tab.restore_button)
                await wait_until(
                    lambda: "will be restored the next time" in tab.status.text(),
                    what="the restore planned",
                )
                assert tab.cancel_button.isVisible()
                assert len(asked) == 1 and "next time desktop_chat starts" in asked[0]
            return at_backup

    at_backup = await scenario()
    assert pending_restore(paths.database) is not None

    async def next_start() -> str:
        core = await Core.open(paths, SecretStore(use_keyring=False))
        try:
            return export_json(await core.service.export())
        finally:
            await core.aclose()

    assert await next_start() == at_backup
    assert pending_restore(paths.database) is None
    assert sorted(b.reason for b in list_backups(paths.database)) == ["before-restore", "manual"]


@pytest.mark.asyncio
async def test_a_planned_restore_can_be_cancelled(qapp, paths, secrets, agent, monkeypatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)

    async with CoreOnLoop(paths, secrets, agent) as core:
        await add_conversation(core, "Kept")
        await core.backups.backup_now()
        async with ManageOnLoop(core) as window:
            tab = window.backups
            window.tabs.setCurrentWidget(tab)
            await wait_until(lambda: tab.table.rowCount() == 1, what="the backup listed")
            tab.table.selectRow(0)
            click(tab.restore_button)
            await wait_until(lambda: tab.cancel_button.isVisible(), what="planned")
            click(tab.cancel_button)
            assert tab.status.text() == "The restore was cancelled."
            assert not tab.cancel_button.isVisible()

    assert pending_restore(paths.database) is None
