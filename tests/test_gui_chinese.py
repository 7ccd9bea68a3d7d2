"""In Chinese the window's errors are Chinese too, whoever worded them (#17), and choosing
a language says plainly when it applies."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from desktop_chat.engine.replies import NOT_SAVED
from desktop_chat.llm.errors import AUTH_MESSAGE
from desktop_chat.schemas import Message, MessageStatus
from desktop_chat.store.errors import DISK_FULL, NotFoundError
from desktop_chat.ui.i18n import install_translator, say
from desktop_chat.ui.markdown import render_markdown
from desktop_chat.ui.settings_dialog import SettingsDialog
from tests.fake_openai import Scenario
from tests.gui_support import (
    CoreOnLoop,
    WindowOnLoop,
    click,
    press,
    type_text,
    wait_until,
)


@pytest.fixture
def chinese(qapp):
    translators = install_translator(qapp, "zh_CN")
    assert translators, "the compiled .qm file is missing"
    render_markdown.cache_clear()
    yield
    for translator in translators:
        QCoreApplication.removeTranslator(translator)
    render_markdown.cache_clear()


def test_the_cores_sentences_are_said_in_chinese_with_their_parameters(chinese):
    assert say(AUTH_MESSAGE.format(where="https://api.example.com/v1")) == (
        "https://api.example.com/v1 的服务器拒绝了 API 密钥。请在设置中检查密钥。"
    )
    nested = NOT_SAVED
    assert say(nested.format(problem=DISK_FULL)).startswith("磁盘已满")
    assert say(NotFoundError("conversation", "abc").user_message) == "不存在 id 为 'abc' 的对话。"
    assert say("Some words a server wrote") == "Some words a server wrote"


def test_a_code_blocks_copy_link_is_translated(chinese):
    html = render_markdown("```python\nprint('你好')\n```").html
    assert ">复制</a>" in html and ">Copy<" not in html


@pytest.mark.asyncio
async def test_errors_in_the_chinese_window_are_chinese(qapp, chinese, paths, secrets, agent, fake):
    fake.queue = [Scenario(status=401)]

    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.is_open(window.session.current_id))
        type_text(window.composer.edit, "hello")
        press(window.composer.edit, Qt.Key.Key_Return)
        await wait_until(lambda: window.banner.isVisible(), what="the error banner")
        assert "拒绝了 API 密钥" in window.banner.label.text()
        failed = window.chat.message_widgets[-1]
        assert failed.message.status is MessageStatus.FAILED
        assert "rejected" in failed.message.error, "stored as the core worded it"
        assert "拒绝了 API 密钥" in failed.error_label.text(), "shown in Chinese"


@pytest.mark.asyncio
async def test_choosing_a_language_says_when_it_applies(qapp, paths, secrets, agent, fake):
    async with CoreOnLoop(paths, secrets, agent) as core, WindowOnLoop(core) as window:
        await wait_until(lambda: window.session.is_open(window.session.current_id))
        window.dialogs.open_settings()
        await wait_until(lambda: isinstance(QApplication.activeModalWidget(), SettingsDialog))
        page = QApplication.activeModalWidget().appearance_tab
        page.language.setCurrentIndex(page.language.findData("zh_CN"))
        click(page.save_button)
        await wait_until(lambda: core.settings.language == "zh_CN", what="saved")
        await wait_until(lambda: "next start" in window.statusBar().currentMessage())
        QApplication.activeModalWidget().reject()


def test_a_stored_english_error_is_shown_in_chinese(qtbot, chinese):
    from desktop_chat.ui.message_widget import MessageWidget

    message = Message(
        id=1, role="assistant", content="", status=MessageStatus.FAILED, error=DISK_FULL
    )
    widget = MessageWidget(message, dark=False)
    qtbot.addWidget(widget)
    assert widget.error_label.text() == "磁盘已满；请释放一些空间，没有丢失任何内容。"
