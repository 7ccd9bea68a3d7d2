"""The Agents tab of the settings dialog: the list of agents, and the form for one.

Duplicating, deleting and importing go through the engine's agent service, which keeps
the rules for keys that several agents share; this tab only asks and shows.
"""

from __future__ import annotations

import itertools
import re
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.schemas import Agent
from desktop_chat.ui.agent_form import AgentForm
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, ask, in_words, plain_label
from desktop_chat.ui.i18n import t
from desktop_chat.ui.presets import (
    PRESETS,
    AgentFileError,
    ProviderPreset,
    export_agent_file,
    import_agent_file,
)

AGENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1


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
        self._focus_key = False  # once the list is read: see show_key_of
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

    def show_key_of(self, agent_id: str) -> None:
        """Select the agent and put the cursor in its key field (its key is missing)."""
        self._focus_key = True
        self.refresh(select=agent_id)

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
        if self._focus_key and row >= 0:
            self._focus_key = False
            self.form.key.setFocus()

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
        self.bridge.spawn(in_words(self.core.agents.duplicate(agent, name)), self._added)

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
        await self.core.agents.remove(agent.agent_id)
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
        self.bridge.spawn(in_words(self._add(agent)), self._added)

    async def _add(self, agent: Agent) -> Agent:
        return (await self.core.agents.save(agent)).agent

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
