"""Start-up order: the background warm-ups wait until the list and the conversation the
window opens on have been painted, then load the SDK and the code lexers."""

from __future__ import annotations

import asyncio
import sys

import pytest

from desktop_chat.schemas import Message
from desktop_chat.ui.main_window import MainWindow
from desktop_chat.ui.window_factory import open_window
from tests.gui_support import CoreOnLoop, wait_until


@pytest.mark.asyncio
async def test_warm_ups_start_once_the_opened_conversation_is_painted(
    qapp, paths, secrets, agent, fake
):
    async with CoreOnLoop(paths, secrets, agent) as core:
        conversation = await core.service.create_conversation()
        message = Message(role="user", content="What was that?")
        await core.store.run(lambda r: r.messages.append(conversation.id, message))
        frame = MainWindow(core.paths)
        frame.show()
        seen: list[tuple[int, int, bool]] = []
        frame.when_content_painted(
            lambda: seen.append(
                (frame.sidebar.model.rowCount(), frame.chat.shown_count, frame.ready)
            )
        )
        opened = await open_window(core, frame)
        try:
            await wait_until(lambda: bool(seen), what="the content painted")
            ((rows, shown, ready),) = seen
            assert rows >= 1 and shown == 1 and ready, "the list and the conversation first"
            await asyncio.wait_for(opened.warmed.wait(), 20)
            assert "desktop_chat.llm.client" in sys.modules

            late: list[bool] = []  # asked for after the content was painted: runs soon
            frame.when_content_painted(lambda: late.append(True))
            await wait_until(lambda: late == [True], what="a late callback")
        finally:
            await opened.aclose()
            frame.deleteLater()
