"""A key kept for one session only, after a restart: the window says so and offers the
key's field, instead of "the server rejected the API key" (#17)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop_chat.secrets import SecretStore
from desktop_chat.ui.settings_dialog import SettingsDialog
from tests.gui_support import (
    CoreOnLoop,
    WindowOnLoop,
    click,
    press,
    type_text,
    wait_until,
)


async def _keep_for_session() -> bool:
    return True  # what the user answers when no keyring works


@pytest.mark.asyncio
async def test_after_a_restart_a_session_key_is_asked_for_again(qapp, paths, agent, fake):
    keyless = agent.model_copy(update={"key_ref": None})

    # First run: no keyring works, the key is kept for this session only.
    async with CoreOnLoop(paths, SecretStore(use_keyring=False), keyless) as core:
        saved = await core.agents.save(
            keyless, key="sk-session-only-123456", keep_for_session=_keep_for_session
        )
        assert saved.key == "session"
        assert "sk-session-only" not in paths.session_keys.read_text()
    # After a restart the memory is empty.
    restarted = CoreOnLoop(paths, SecretStore(use_keyring=False), None)
    async with restarted as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.is_open(window.session.current_id))
        type_text(window.composer.edit, "hello")
        press(window.composer.edit, Qt.Key.Key_Return)
        await wait_until(lambda: window.banner.isVisible(), what="the banner")
        text = window.banner.label.text()
        assert "last session only" in text and "rejected" not in text
        assert fake.requests == [], "no request without the key"

        assert window.banner.action_button.isVisible()
        click(window.banner.action_button)
        await wait_until(lambda: isinstance(QApplication.activeModalWidget(), SettingsDialog))
        dialog = QApplication.activeModalWidget()
        tab = dialog.agents_tab
        assert dialog.tabs.currentWidget() is tab
        await wait_until(lambda: tab.form.key.hasFocus(), what="the key field")
        assert tab.form.current.agent_id == keyless.agent_id
        dialog.reject()

        # Typed again, and the message goes.
        await core.agents.save(
            tab.form.current,
            key="sk-session-only-123456",
            keep_for_session=_keep_for_session,
        )
        click(window.chat.message_widgets[-1].button("Retry"))
        await wait_until(lambda: len(fake.requests) == 1 and not window.composer.busy)
        assert fake.requests[0]["headers"]["authorization"].endswith("123456")
