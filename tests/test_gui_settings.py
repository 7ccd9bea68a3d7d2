"""The settings dialog and the first-run pane, driven by clicks and typing, offscreen."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QObject, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.schemas import Agent, MessageStatus
from desktop_chat.secrets import SERVICE, SecretStore
from desktop_chat.settings import load_settings
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.first_run import FirstRunPane
from desktop_chat.ui.presets import (
    PRESETS,
    AgentFileError,
    agent_from_preset,
    export_agent_file,
    import_agent_file,
    preset_by_key,
)
from desktop_chat.ui.settings_dialog import SettingsDialog
from tests.fake_openai import Scenario
from tests.gui_support import CoreOnLoop, click, type_text, wait_until
from tests.helpers import EventLog

KEY = "sk-typed-in-settings-0123456789"


@pytest.fixture(autouse=True)
def keep_running_without_windows(qapp):
    """As in the app itself: closing the last window must not stop the loop under the test.

    Afterwards, collect the finished loop's Qt objects (qasync's timers) here, on the GUI
    thread: left to chance, a worker thread of the next test may collect them, and Qt
    cannot stop timers from another thread.
    """
    previous = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(previous)
    gc.collect()


def replace_text(widget: QWidget, text: str) -> None:
    """Select everything in the field and type over it, as a person would."""
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)


def question() -> QMessageBox | None:
    box = QApplication.activeModalWidget()
    return box if isinstance(box, QMessageBox) and box.isVisible() else None


async def answer(text: str) -> None:
    """Wait for the question box and click the button labelled `text`."""
    await wait_until(question, what="a question")
    box = question()
    assert box is not None
    button = next(b for b in box.buttons() if b.text() == text)
    click(button)
    await wait_until(lambda: question() is None, what="the question to close")


async def dispose(*objects: QObject) -> None:
    """Delete Qt objects here, on the loop's thread, rather than whenever Python collects them."""
    for obj in objects:
        obj.deleteLater()
    await wait_until(lambda: not any(isValid(o) for o in objects), what="deleted")


class DialogOnLoop:
    """`async with DialogOnLoop(core) as dialog:` — the settings dialog shown offscreen."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.failures: list[str] = []

    async def __aenter__(self) -> SettingsDialog:
        self.bridge = EngineBridge(self.core.service)
        self.bridge.failed.connect(self.failures.append)
        self.dialog = SettingsDialog(self.core, self.bridge)
        self.dialog.show()
        await self.bridge.drain()  # the agent list has been read
        return self.dialog

    async def __aexit__(self, *exc_info: object) -> None:
        self.dialog.close()
        await self.bridge.drain()
        self.bridge.close()
        await dispose(self.dialog, self.bridge)
        assert self.failures == []


def stored_bytes(core: Core) -> bytes:
    database = core.paths.database
    wal = database.with_name(database.name + "-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


# The settings dialog: agents ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_agent_round_trip_from_the_ollama_preset(qapp, paths, secrets, memory_keyring, fake):
    fake.models = ["gamma", "alpha-7b", "beta-13b"]

    async with CoreOnLoop(paths, secrets, None) as core, DialogOnLoop(core) as dialog:
        tab, form = dialog.agents_tab, dialog.agents_tab.form
        changes: list[bool] = []
        dialog.agents_changed.connect(lambda: changes.append(True))
        assert not form.isEnabled()  # nothing to edit yet

        tab.new_actions["ollama"].trigger()
        assert form.base_url.text() == "http://localhost:11434/v1"
        assert form.picker.model() == "llama3.2"
        replace_text(form.name, "Pirate")
        replace_text(form.base_url, fake.base_url)
        type_text(form.key, KEY)
        assert form.key.echoMode() == form.key.EchoMode.Password

        click(form.picker.button)
        await wait_until(lambda: "Connected" in form.picker.status.text(), what="models")
        assert form.picker.status.text() == "Connected — 3 models"
        combo = form.picker.combo
        assert [combo.itemText(i) for i in range(combo.count())] == sorted(fake.models)
        assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"
        combo.setCurrentIndex(combo.findText("beta-13b"))

        click(form.temperature.default_box)
        assert form.temperature.spin.isEnabled()
        replace_text(form.temperature.spin, f"0{form.temperature.spin.locale().decimalPoint()}3")
        assert form.top_p.value() is None

        click(form.messages.add_button)
        row = form.messages.rows[0]
        assert row.role.currentData() == "system"
        type_text(row.content, "You are a pirate.")
        type_text(form.greetings, "Ahoy!")
        type_text(form.questions, "Where is the treasure?")
        click(form.save_button)
        await wait_until(lambda: form.status.text() == "Saved.", what="saved")
        assert form.error.text() == ""

        [agent] = await core.service.list_agents()
        assert agent.name == "Pirate"
        assert agent.provider == "ollama"
        assert agent.base_url == fake.base_url
        assert agent.model == "beta-13b"
        assert agent.params.temperature == pytest.approx(0.3)
        assert agent.params.top_p is None and agent.params.max_tokens is None
        assert [(m.role, m.content) for m in agent.preset_messages] == [
            ("system", "You are a pirate.")
        ]
        assert agent.app_preset.greetings == ["Ahoy!"]
        assert agent.app_preset.suggested_questions == ["Where is the treasure?"]
        assert agent.is_default  # the first agent becomes the default
        assert agent.key_ref == f"agent:{agent.agent_id}"
        assert memory_keyring.passwords[(SERVICE, agent.key_ref)] == KEY
        assert KEY.encode() not in stored_bytes(core)
        assert form.key.text() == ""  # never shown again
        await wait_until(lambda: "A key is stored" in form.key_state.text(), what="key state")
        assert form.forget_key.isEnabled()
        await wait_until(lambda: tab.list.count() == 1, what="the list")
        assert "Pirate" in tab.list.item(0).text()
        assert changes

        # The stored key is used when none is typed.
        fake.reset()
        click(form.picker.button)
        await wait_until(lambda: fake.requests, what="a request")
        assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"
        await wait_until(lambda: form.picker.button.isEnabled(), what="test finished")


@pytest.mark.asyncio
async def test_test_connection_with_a_rejected_key_says_so(qapp, paths, secrets, agent, fake):
    fake.scenario = Scenario(status=401)

    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        form = dialog.agents_tab.form
        assert form.current is not None and form.current.agent_id == agent.agent_id
        type_text(form.key, "sk-wrong-key-000000000")
        click(form.picker.button)
        await wait_until(lambda: form.picker.button.isEnabled(), what="test finished")
        status = form.picker.status.text()
        assert "rejected the API key" in status
        assert "sk-wrong-key" not in status
        assert form.picker.model() == "fake-model"  # the model typed is kept


@pytest.mark.asyncio
async def test_bad_base_url_is_named_and_nothing_is_saved(qapp, paths, secrets, memory_keyring):
    async with CoreOnLoop(paths, secrets, None) as core, DialogOnLoop(core) as dialog:
        form = dialog.agents_tab.form
        dialog.agents_tab.new_actions["custom"].trigger()
        type_text(form.base_url, "not a url")
        form.picker.combo.setEditText("some-model")
        type_text(form.key, KEY)

        click(form.picker.button)
        assert "base_url" in form.picker.status.text()

        click(form.save_button)
        assert "base_url" in form.error.text()
        assert "http://" in form.error.text()
        await dialog.agents_tab.bridge.drain()
        assert await core.service.list_agents() == []
        assert memory_keyring.passwords == {}

        replace_text(form.base_url, "http://localhost:1/v1")
        form.picker.combo.setEditText("")
        click(form.save_button)
        assert "model" in form.error.text()
        assert await core.service.list_agents() == []


@pytest.mark.asyncio
async def test_without_keyring_the_key_is_kept_for_the_session_when_asked(qapp, paths, fake):
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        secrets = SecretStore()
        assert not secrets.keyring_available

        async with CoreOnLoop(paths, secrets, None) as core, DialogOnLoop(core) as dialog:
            form = dialog.agents_tab.form
            dialog.agents_tab.new_actions["openai"].trigger()
            replace_text(form.base_url, fake.base_url)
            type_text(form.key, KEY)

            click(form.save_button)
            await answer("Cancel")
            await wait_until(lambda: form.error.text(), what="the refusal")
            assert "Nothing was saved" in form.error.text()
            assert await core.service.list_agents() == []

            click(form.save_button)
            await answer("Keep for this session")
            await wait_until(lambda: form.status.text(), what="saved")
            assert form.status.text() == "Saved. The key is kept for this session only."
            # Never called stored: it is gone after a restart (#17).
            await wait_until(lambda: "session" in form.key_state.text(), what="key state")
            assert form.key_state.text() == (
                "A key is kept for this session only; it is forgotten when desktop_chat quits."
            )
            assert form.forget_key.isEnabled()
            [agent] = await core.service.list_agents()
            assert secrets.get(agent.key_ref) == KEY
            assert KEY.encode() not in stored_bytes(core)

            # The session key is what the next request carries.
            click(form.picker.button)
            await wait_until(lambda: "Connected" in form.picker.status.text(), what="models")
            assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"

    finally:
        keyring.set_keyring(previous)


@pytest.mark.asyncio
async def test_duplicate_shares_the_key_until_the_last_one_is_deleted(
    qapp, paths, secrets, memory_keyring, agent
):
    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        tab, form = dialog.agents_tab, dialog.agents_tab.form
        click(tab.duplicate_button)
        await wait_until(lambda: tab.list.count() == 2, what="the copy")
        await wait_until(lambda: form.name.text() == "Fake (copy)", what="copy shown")
        copy = form.current
        assert copy is not None and copy.key_ref == agent.key_ref and not copy.is_default

        # A key typed for the copy does not replace the original's key.
        type_text(form.key, KEY)
        click(form.save_button)
        await wait_until(lambda: form.status.text() == "Saved.", what="saved")
        assert form.current is not None
        assert form.current.key_ref == f"agent:{copy.agent_id}"
        assert memory_keyring.passwords[(SERVICE, "agent:fake")] == "sk-test-key-1234567890"
        assert memory_keyring.passwords[(SERVICE, form.current.key_ref)] == KEY

        click(tab.delete_button)
        await answer("Delete")
        await wait_until(lambda: tab.list.count() == 1, what="deleted")
        assert [a.name for a in await core.service.list_agents()] == ["Fake"]
        assert (SERVICE, f"agent:{copy.agent_id}") not in memory_keyring.passwords
        assert (SERVICE, "agent:fake") in memory_keyring.passwords

        click(tab.delete_button)
        await answer("Cancel")
        await tab.bridge.drain()
        assert len(await core.service.list_agents()) == 1


@pytest.mark.asyncio
async def test_import_and_export_through_the_tab(qapp, paths, secrets, agent, tmp_path):
    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        tab = dialog.agents_tab
        target = tmp_path / "fake.json"
        assert tab.form.current is not None
        tab.export_to(tab.form.current, target)
        assert "not included" in tab.message.text()
        tab.import_from(target)
        await wait_until(lambda: tab.list.count() == 2, what="imported")
        names = sorted(a.name for a in await core.service.list_agents())
        assert names == ["Fake", "Fake"]
        tab.import_from(tmp_path / "missing.json")
        assert "Cannot read" in tab.message.text()


# The settings dialog: general and appearance ------------------------------------------------


@pytest.mark.asyncio
async def test_general_tab_changes_the_concurrency_limit(qapp, paths, secrets, agent):
    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        emitted: list[object] = []
        dialog.settings_changed.connect(emitted.append)
        bar = dialog.tabs.tabBar()
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
        assert dialog.tabs.currentWidget() is dialog.general_tab
        page = dialog.general_tab
        assert page.concurrency.value() == 4

        # Refused here rather than failing every reply: SOCKS4 is not spoken (SOCKS5 is).
        for refused in ("proxy-without-scheme", "socks4://127.0.0.1:1080"):
            replace_text(page.proxy, refused)
            click(page.save_button)
            assert "proxy" in page.error.text()
            assert not core.paths.settings_file.exists()

        page.proxy.clear()
        replace_text(page.concurrency, "7")
        click(page.save_button)
        await wait_until(lambda: core.settings.max_concurrent_requests == 7, what="applied")
        assert load_settings(core.paths.settings_file).max_concurrent_requests == 7
        assert core.service.config.max_concurrent_requests == 7
        await wait_until(lambda: emitted, what="settings_changed")
        assert emitted[-1].max_concurrent_requests == 7  # type: ignore[attr-defined]
        assert page.status.text() == "Saved."


@pytest.mark.asyncio
async def test_appearance_tab_emits_the_new_theme(qapp, paths, secrets, agent):
    async with CoreOnLoop(paths, secrets, agent) as core, DialogOnLoop(core) as dialog:
        emitted: list[object] = []
        dialog.settings_changed.connect(emitted.append)
        page = dialog.appearance_tab
        page.theme.setCurrentIndex(page.theme.findData("dark"))
        assert page.font_size.text() == "Default"
        replace_text(page.font_size, "14")
        click(page.save_button)
        await wait_until(lambda: emitted, what="settings_changed")
        settings = load_settings(core.paths.settings_file)
        assert (settings.theme, settings.font_size) == ("dark", 14)
        assert core.settings.theme == "dark"
        assert emitted[-1] == core.settings


# First run -----------------------------------------------------------------------------------


class PaneOnLoop:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.failures: list[str] = []

    async def __aenter__(self) -> FirstRunPane:
        self.bridge = EngineBridge(self.core.service)
        self.bridge.failed.connect(self.failures.append)
        self.pane = FirstRunPane(self.core, self.bridge)
        self.pane.show()
        return self.pane

    async def __aexit__(self, *exc_info: object) -> None:
        self.pane.close()
        await self.bridge.drain()
        self.bridge.close()
        await dispose(self.pane, self.bridge)
        assert self.failures == []


@pytest.mark.asyncio
async def test_first_run_creates_a_working_default_agent(qapp, paths, secrets, fake):
    async with CoreOnLoop(paths, secrets, None) as core, PaneOnLoop(core) as pane:
        created: list[Agent] = []
        pane.agent_created.connect(created.append)
        assert not pane.details.isVisible()
        click(pane.preset_buttons["ollama"])
        assert pane.details.isVisible()
        assert not pane.key.isVisible()  # Ollama needs no key
        replace_text(pane.base_url, fake.base_url)
        click(pane.picker.button)
        await wait_until(lambda: "Connected" in pane.picker.status.text(), what="models")
        combo = pane.picker.combo
        combo.setCurrentIndex(combo.findText("fake-model"))
        click(pane.start_button)
        await wait_until(lambda: created, what="agent_created")

        [stored] = await core.service.list_agents()
        assert stored.agent_id == created[0].agent_id
        assert stored.is_default and stored.model == "fake-model"
        assert stored.base_url == fake.base_url and stored.key_ref is None

        conversation = await core.service.create_conversation()
        assert conversation.agent_id == stored.agent_id
        events = EventLog(core.service, conversation.id)
        await core.service.send(conversation.id, "Hi")
        await events.done(conversation.id)
        events.unsubscribe()
        detail = await core.service.get_conversation(conversation.id)
        assert detail.messages[-1].content == "Hello, world!"
        assert detail.messages[-1].status is MessageStatus.COMPLETE


@pytest.mark.asyncio
async def test_first_run_asks_for_the_key_a_provider_needs(
    qapp, paths, secrets, memory_keyring, fake
):
    async with CoreOnLoop(paths, secrets, None) as core, PaneOnLoop(core) as pane:
        created: list[Agent] = []
        pane.agent_created.connect(created.append)
        click(pane.preset_buttons["deepseek"])
        assert pane.key.isVisible()
        assert pane.picker.model() == "deepseek-chat"
        replace_text(pane.base_url, fake.base_url)
        click(pane.start_button)
        assert pane.error.text() == "DeepSeek needs an API key."
        assert await core.service.list_agents() == []

        type_text(pane.key, KEY)
        click(pane.start_button)
        await wait_until(lambda: created, what="agent_created")
        agent = created[0]
        assert agent.provider == "deepseek" and agent.is_default
        assert memory_keyring.passwords[(SERVICE, agent.key_ref)] == KEY


# Presets and preset files, without any dialog ---------------------------------------------


def test_every_preset_is_complete():
    keys = [p.key for p in PRESETS]
    assert keys == ["openai", "ollama", "lmstudio", "llamacpp", "deepseek", "custom"]
    openai = preset_by_key("openai")
    assert openai is not None and openai.needs_key
    agent = agent_from_preset(openai)
    assert (agent.base_url, agent.model, agent.provider) == (
        "https://api.openai.com/v1",
        "gpt-4o-mini",
        "openai",
    )
    lmstudio = preset_by_key("lmstudio")
    assert lmstudio is not None and not lmstudio.needs_key
    assert agent_from_preset(lmstudio, model="qwen").base_url == "http://localhost:1234/v1"


def test_preset_file_round_trip_never_carries_the_key(tmp_path: Path, agent: Agent):
    target = tmp_path / "agent.json"
    export_agent_file(agent, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["format"] == "desktop_chat.agent"
    for local in ("key_ref", "agent_id", "id", "is_default"):
        assert local not in document["agent"]
    imported = import_agent_file(target)
    assert imported.agent_id != agent.agent_id
    assert imported.key_ref is None and not imported.is_default
    assert imported.preset_messages == agent.preset_messages
    assert imported.app_preset.greetings == agent.app_preset.greetings
    assert (imported.base_url, imported.model) == (agent.base_url, agent.model)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "does not contain an agent"),
        ('{"format": "other"}', "not a desktop_chat agent preset"),
        ('{"name": "x", "model": "m", "base_url": "ftp://x"}', "base_url"),
    ],
)
def test_bad_preset_files_are_refused_in_words(tmp_path: Path, content: str, message: str):
    target = tmp_path / "bad.json"
    target.write_text(content, encoding="utf-8")
    with pytest.raises(AgentFileError, match=message):
        import_agent_file(target)
