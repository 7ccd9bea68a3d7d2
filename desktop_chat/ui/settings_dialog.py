"""The settings dialog: agents, general engine settings, appearance.

Each tab saves on its own Save button and through the same doors the rest of the app
uses (the service for agents, `Core.apply_settings` for settings), so the dialog has no
private copy of anything that could drift from what the engine runs with.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.schemas import Agent, new_id, utcnow, validation_message
from desktop_chat.settings import MAX_CONCURRENT_REQUESTS, Settings
from desktop_chat.ui.agent_form import AgentForm, Outcome, ask, in_words, key_shared, plain_label
from desktop_chat.ui.api_runner import ApiRunner
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.i18n import LANGUAGES, N_, t
from desktop_chat.ui.presets import (
    PRESETS,
    AgentFileError,
    ProviderPreset,
    export_agent_file,
    import_agent_file,
)

AGENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1
THEMES = {"system": N_("Follow the system"), "light": N_("Light"), "dark": N_("Dark")}
PROXY_SCHEMES = ("http", "https", "socks4", "socks5", "socks5h")


def export_file_name(agent: Agent) -> str:
    """A file name that every file system accepts, from the agent's name."""
    stem = re.sub(r"[^\w.-]+", "_", agent.name).strip("._") or "agent"
    return f"{stem[:60]}.json"


class AgentsTab(QWidget):
    """The agent list on the left and the form for the chosen agent on the right."""

    agents_changed = Signal()

    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self.agents: list[Agent] = []
        self.list = QListWidget()
        self.list.setObjectName("agentList")
        self.list.setAccessibleName(t("Agents"))
        self.list.currentItemChanged.connect(self._item_changed)
        self.new_button = QPushButton(t("New"))
        self.new_button.setAccessibleName(t("New agent"))
        menu = QMenu(self.new_button)
        self.new_actions: dict[str, QAction] = {}
        for preset in PRESETS:
            action = menu.addAction(t(preset.label))
            action.setToolTip(t(preset.hint))
            action.triggered.connect(partial(self.new_from_preset, preset))
            self.new_actions[preset.key] = action
        self.new_button.setMenu(menu)
        self.duplicate_button = self._button(t("Duplicate"), t("Duplicate agent"), self._duplicate)
        self.delete_button = self._button(t("Delete"), t("Delete agent"), self._delete_clicked)
        self.import_button = self._button(t("Import…"), t("Import agent preset"), self._import)
        self.export_button = self._button(t("Export…"), t("Export agent preset"), self._export)
        self.message = plain_label("agentsMessage")
        self.form = AgentForm(core, bridge)
        self.form.saved.connect(self._saved)

        # Two buttons a row keep the list narrow; Delete sits apart from the others.
        buttons = QGridLayout()
        buttons.addWidget(self.new_button, 0, 0)
        buttons.addWidget(self.duplicate_button, 0, 1)
        buttons.addWidget(self.import_button, 1, 0)
        buttons.addWidget(self.export_button, 1, 1)
        buttons.addWidget(self.delete_button, 2, 1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.list, 1)
        column.addLayout(buttons)
        column.addWidget(self.message)
        chain = [
            self.list,
            self.new_button,
            self.duplicate_button,
            self.import_button,
            self.export_button,
            self.delete_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.form)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self._sized = False
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)
        self._update_buttons()
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        """Give the form most of the width once the real width is known."""
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            total = sum(self.splitter.sizes())
            self.splitter.setSizes([total // 4, total - total // 4])

    def _button(self, text: str, accessible: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(accessible)
        button.clicked.connect(slot)
        return button

    # The list -------------------------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        """Re-read the agents; select `select`, else keep the one being edited."""
        self.bridge.spawn(
            self.core.service.list_agents(), lambda agents: self._show(agents, select)
        )

    def _show(self, agents: list[Agent], select: str | None) -> None:
        if not isValid(self):
            return
        self.agents = agents
        editing = self.form.current.agent_id if self.form.current else None
        draft = self.form.current is None and self.form.isEnabled()
        wanted = select or editing
        self.list.blockSignals(True)
        self.list.clear()
        for agent in agents:
            item = QListWidgetItem(self._label(agent))
            item.setData(AGENT_ID_ROLE, agent.agent_id)
            item.setToolTip(f"{agent.model} — {agent.base_url}")
            self.list.addItem(item)
        ids = [a.agent_id for a in agents]
        if wanted is None and not draft:
            default = next((a for a in agents if a.is_default), agents[0] if agents else None)
            wanted = default.agent_id if default else None
        row = ids.index(wanted) if wanted in ids else -1
        if row < 0 and not draft and agents:
            row = 0
        self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        if row >= 0 and agents[row].agent_id != editing:
            self.form.load_agent(agents[row])
        elif row >= 0:
            self.form.current = agents[row]
        elif not draft:
            self.form.clear()
        self._update_buttons()

    def _label(self, agent: Agent) -> str:
        icon = agent.app_preset.icon
        text = f"{icon} {agent.name}" if icon else agent.name
        return t("{name} (default)").format(name=text) if agent.is_default else text

    def _item_changed(self, item: QListWidgetItem | None) -> None:
        agent_id = item.data(AGENT_ID_ROLE) if item is not None else None
        agent = next((a for a in self.agents if a.agent_id == agent_id), None)
        if agent is not None:
            self.form.load_agent(agent)
        self.message.clear()
        self._update_buttons()

    def _update_buttons(self) -> None:
        stored = self.form.current is not None
        for button in (self.duplicate_button, self.delete_button, self.export_button):
            button.setEnabled(stored)

    def new_from_preset(self, preset: ProviderPreset) -> None:
        """Start a new agent in the form; the first agent ever becomes the default."""
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        self.message.clear()
        self.form.load_preset(preset, make_default=not self.agents)
        self._update_buttons()

    def _saved(self, agent: Agent) -> None:
        """Show the saved agent in the list; keep the form on whatever it now shows."""
        self.refresh(select=agent.agent_id if self.form.editing_id == agent.agent_id else None)
        self.agents_changed.emit()

    # Duplicate, delete ------------------------------------------------------------------------

    def _duplicate(self) -> None:
        agent = self.form.current
        if agent is None:
            return
        name = t("{name} (copy)").format(name=agent.name)
        copy = Agent.model_validate(
            {
                **agent.model_dump(),
                "id": None,
                "agent_id": new_id(),
                "name": name[:200],
                "is_default": False,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        )
        self.bridge.spawn(in_words(self.core.service.save_agent(copy)), self._added)

    def _added(self, outcome: Outcome[Agent]) -> None:
        if not isValid(self):
            return
        if outcome.value is None:
            self.message.setText(outcome.error or "")
            return
        self.form.current = None  # so that the new agent is loaded into the form
        self.refresh(select=outcome.value.agent_id)
        self.agents_changed.emit()

    async def confirm_delete(self, agent: Agent) -> bool:
        """Asked before deleting; tests may replace it."""
        return await ask(
            self,
            t("Delete agent"),
            t("Delete the agent {name}? Its conversations are kept.").format(name=agent.name),
            t("Delete"),
            t("Cancel"),
        )

    def _delete_clicked(self) -> None:
        agent = self.form.current
        if agent is not None:
            self.bridge.spawn(in_words(self._delete(agent)), self._deleted)

    async def _delete(self, agent: Agent) -> bool:
        if not await self.confirm_delete(agent):
            return False
        await self.core.service.delete_agent(agent.agent_id)
        if agent.key_ref and not await key_shared(self.core, agent.agent_id, agent.key_ref):
            await asyncio.to_thread(self.core.secrets.delete, agent.key_ref)
        return True

    def _deleted(self, outcome: Outcome[bool]) -> None:
        if not isValid(self):
            return
        if outcome.error:
            self.message.setText(outcome.error)
        if outcome.value:
            self.form.clear()
            self.refresh()
            self.agents_changed.emit()

    # Files ----------------------------------------------------------------------------------

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, t("Import agent preset"), "", t("Agent presets (*.json);;All files (*)")
        )
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path) -> None:
        """Add the agent in `path` as a new agent (never replacing one, never with a key)."""
        self.message.clear()
        try:
            agent = import_agent_file(path)
        except AgentFileError as exc:
            self.message.setText(str(exc))
            return
        self.bridge.spawn(in_words(self.core.service.save_agent(agent)), self._added)

    def _export(self) -> None:
        agent = self.form.current
        if agent is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, t("Export agent preset"), export_file_name(agent), t("Agent presets (*.json)")
        )
        if path:
            self.export_to(agent, Path(path))

    def export_to(self, agent: Agent, path: Path) -> None:
        try:
            export_agent_file(agent, path)
        except AgentFileError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(
            t("Exported to {path}. The API key is not included.").format(path=path)
        )


class SettingsPage(QWidget):
    """A tab of plain settings: a form, a Save button, and where the outcome is told."""

    saved = Signal(object)  # Settings

    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self.form = QFormLayout()
        self.save_button = QPushButton(t("Save"))
        self.save_button.setAccessibleName(t("Save settings"))
        self.save_button.clicked.connect(self.save)
        self.error = plain_label("settingsError")
        self.status = plain_label("settingsStatus")

    def finish_layout(self) -> None:
        bottom = QHBoxLayout()
        messages = QVBoxLayout()
        messages.addWidget(self.error)
        messages.addWidget(self.status)
        bottom.addLayout(messages, 1)
        bottom.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addStretch(1)
        layout.addLayout(bottom)

    def load(self, settings: Settings) -> None:
        raise NotImplementedError

    def changes(self) -> dict[str, Any]:
        """The fields this page owns; raises ValueError with a sentence when one is wrong."""
        raise NotImplementedError

    def save(self) -> None:
        self.error.clear()
        self.status.clear()
        try:
            new = Settings.model_validate({**self.core.settings.model_dump(), **self.changes()})
        except ValidationError as exc:
            self.error.setText(
                t("Not saved. Please check {problems}").format(problems=validation_message(exc))
            )
            return
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.save_button.setEnabled(False)
        self.bridge.spawn(in_words(self._apply(new)), self._applied)

    async def _apply(self, new: Settings) -> Settings | str:
        try:
            await self.core.apply_settings(new)
        except OSError as exc:
            return t("The settings could not be written: {reason}").format(
                reason=exc.strerror or exc
            )
        return new

    def _applied(self, outcome: Outcome[Settings | str]) -> None:
        if not isValid(self):
            return
        self.save_button.setEnabled(True)
        if not isinstance(outcome.value, Settings):
            self.error.setText(str(outcome.value or outcome.error or ""))
            return
        self.status.setText(t("Saved."))
        self.saved.emit(outcome.value)


class GeneralTab(SettingsPage):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(core, bridge, parent)
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("maxConcurrentRequests")
        self.concurrency.setRange(1, MAX_CONCURRENT_REQUESTS)
        self.concurrency.setAccessibleName(t("Maximum concurrent requests"))
        self.timeout = QSpinBox()
        self.timeout.setObjectName("requestTimeout")
        self.timeout.setRange(1, 3600)
        self.timeout.setSuffix(t(" s"))
        self.timeout.setAccessibleName(t("Request timeout in seconds"))
        self.proxy = QLineEdit()
        self.proxy.setObjectName("httpProxy")
        self.proxy.setPlaceholderText(t("None — e.g. http://proxy.example:3128"))
        self.proxy.setAccessibleName(t("HTTP proxy"))
        self.auto_title = QCheckBox(t("Name new conversations automatically"))
        self.auto_title.setObjectName("autoTitle")
        self.auto_title.setAccessibleName(t("Automatic titles"))
        self.form.addRow(t("Maximum concurrent requests"), self.concurrency)
        self.form.addRow(t("Request timeout"), self.timeout)
        self.form.addRow(t("HTTP proxy"), self.proxy)
        self.form.addRow("", self.auto_title)
        self.finish_layout()
        self.load(core.settings)

    def load(self, settings: Settings) -> None:
        self.concurrency.setValue(settings.max_concurrent_requests)
        self.timeout.setValue(round(settings.request_timeout))
        self.proxy.setText(settings.http_proxy or "")
        self.auto_title.setChecked(settings.auto_title)

    def changes(self) -> dict[str, Any]:
        proxy = self.proxy.text().strip() or None
        if proxy is not None:
            parsed = urlparse(proxy)
            if parsed.scheme not in PROXY_SCHEMES or not parsed.netloc:
                raise ValueError(
                    t("The HTTP proxy must be an address like http://proxy.example:3128.")
                )
        return {
            "max_concurrent_requests": self.concurrency.value(),
            "request_timeout": float(self.timeout.value()),
            "http_proxy": proxy,
            "auto_title": self.auto_title.isChecked(),
        }


class AppearanceTab(SettingsPage):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(core, bridge, parent)
        self.theme = QComboBox()
        self.theme.setObjectName("theme")
        self.theme.setAccessibleName(t("Theme"))
        for value, label in THEMES.items():
            self.theme.addItem(t(label), value)
        self.font_size = QSpinBox()
        self.font_size.setObjectName("fontSize")
        self.font_size.setRange(0, 48)
        self.font_size.setSpecialValueText(t("Default"))
        self.font_size.setSuffix(t(" pt"))
        self.font_size.setAccessibleName(t("Font size"))
        self.language = QComboBox()
        self.language.setObjectName("language")
        self.language.setAccessibleName(t("Language"))
        for code, label in LANGUAGES.items():
            self.language.addItem(t(label), code)
        hint = QLabel(t("Some text changes language only after a restart."))
        hint.setWordWrap(True)
        self.form.addRow(t("Theme"), self.theme)
        self.form.addRow(t("Font size"), self.font_size)
        self.form.addRow(t("Language"), self.language)
        self.form.addRow("", hint)
        self.finish_layout()
        self.load(core.settings)

    def load(self, settings: Settings) -> None:
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.font_size.setValue(settings.font_size)
        if self.language.findData(settings.language) < 0:
            self.language.addItem(settings.language, settings.language)
        self.language.setCurrentIndex(self.language.findData(settings.language))

    def changes(self) -> dict[str, Any]:
        return {
            "theme": self.theme.currentData(),
            "font_size": self.font_size.value(),
            "language": self.language.currentData(),
        }


class SettingsDialog(QDialog):
    """Agents, General and Appearance; tells the window what changed through its signals."""

    agents_changed = Signal()
    settings_changed = Signal(object)  # Settings

    def __init__(
        self,
        core: Core,
        bridge: EngineBridge,
        parent: QWidget | None = None,
        api_runner: ApiRunner | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(t("Settings"))
        self.agents_tab = AgentsTab(core, bridge)
        self.general_tab = GeneralTab(core, bridge)
        self.appearance_tab = AppearanceTab(core, bridge)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.agents_tab, t("Agents"))
        self.tabs.addTab(self.general_tab, t("General"))
        self.tabs.addTab(self.appearance_tab, t("Appearance"))
        if api_runner is not None:
            from desktop_chat.ui.api_tab import LocalApiTab  # its page imports the API stack

            self.api_tab = LocalApiTab(core, bridge, api_runner)
            self.tabs.addTab(self.api_tab, t("Local API"))
        self.agents_tab.agents_changed.connect(self.agents_changed)
        self.general_tab.saved.connect(self.settings_changed)
        self.appearance_tab.saved.connect(self.settings_changed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        # Sized in text units so that the dialog grows with the font and the screen scale,
        # but never beyond the screen.
        metrics = self.fontMetrics()
        self.setMinimumSize(metrics.averageCharWidth() * 60, metrics.lineSpacing() * 20)
        width, height = metrics.averageCharWidth() * 130, metrics.lineSpacing() * 44
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            width, height = min(width, screen.width()), min(height, screen.height())
        self.resize(width, height)
