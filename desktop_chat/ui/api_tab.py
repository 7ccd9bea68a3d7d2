"""Settings page for the local API: run it in the window, and manage its tokens.

A token is shown once, when it is created, and stored only as a hash; each token is a
client that sees only the conversations it created.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.schemas import Agent, ApiToken
from desktop_chat.settings import Settings
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, ask, in_words, plain_label
from desktop_chat.ui.i18n import say, t
from desktop_chat.ui.settings_pages import SettingsPage

TOKEN_NAME_ROLE = Qt.ItemDataRole.UserRole + 1


class LocalApiTab(SettingsPage):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(core, bridge, parent)
        self.runner = core.api
        self.tokens = core.tokens
        self.enabled = QCheckBox(t("Run the local API while the window is open"))
        self.enabled.setObjectName("apiEnabled")
        self.enabled.setAccessibleName(t("Run the local API"))
        self.port = QSpinBox()
        self.port.setObjectName("apiPort")
        self.port.setRange(1024, 65535)
        self.port.setAccessibleName(t("Port of the local API"))
        self.state = plain_label("apiState")
        self.token_list = QListWidget()
        self.token_list.setObjectName("apiTokens")
        self.token_list.setAccessibleName(t("API tokens"))
        self.token_name = QLineEdit()
        self.token_name.setObjectName("apiTokenName")
        self.token_name.setPlaceholderText(t("Name of the program, e.g. my-editor"))
        self.token_name.setAccessibleName(t("Name of the new token"))
        self.only_agents = QCheckBox(t("Only these agents, through the gateway:"))
        self.only_agents.setObjectName("apiTokenOnlyAgents")
        self.agent_choice = QListWidget()
        self.agent_choice.setObjectName("apiTokenAgents")
        self.agent_choice.setAccessibleName(t("Agents the new token may use"))
        self.agent_choice.setMaximumHeight(90)
        self.agent_choice.setEnabled(False)
        self.only_agents.toggled.connect(self.agent_choice.setEnabled)
        self.keep_requests = QCheckBox(t("Keep its gateway requests as conversations"))
        self.keep_requests.setObjectName("apiTokenStores")
        self.create_button = QPushButton(t("Create token"))
        self.create_button.clicked.connect(self._create)
        self.revoke_button = QPushButton(t("Revoke"))
        self.revoke_button.setAccessibleName(t("Revoke the selected token"))
        self.revoke_button.clicked.connect(self._revoke)
        self.new_token = QLineEdit()
        self.new_token.setObjectName("apiNewToken")
        self.new_token.setReadOnly(True)
        self.new_token.setAccessibleName(t("The new token, shown once"))
        self.new_token.hide()
        self.copy_button = QPushButton(t("Copy"))
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.new_token.text())
        )
        self.copy_button.hide()
        self.token_status = plain_label("apiTokenStatus")
        self.agent_names: dict[str, str] = {}  # agent id: name, for the token list

        create_row = QHBoxLayout()
        create_row.addWidget(self.token_name, 1)
        create_row.addWidget(self.create_button)
        create_row.addWidget(self.revoke_button)
        shown_row = QHBoxLayout()
        shown_row.addWidget(self.new_token, 1)
        shown_row.addWidget(self.copy_button)
        self.form.addRow("", self.enabled)
        self.form.addRow(t("Port"), self.port)
        self.form.addRow("", self.state)
        self.form.addRow(t("Tokens"), self.token_list)
        self.form.addRow("", create_row)
        self.form.addRow("", self.only_agents)
        self.form.addRow("", self.agent_choice)
        self.form.addRow("", self.keep_requests)
        self.form.addRow("", shown_row)
        self.form.addRow("", self.token_status)
        self.finish_layout()
        self.load(core.settings)
        self.saved.connect(lambda _settings: self.bridge.spawn(self._restart()))
        self.refresh_tokens()

    def load(self, settings: Settings) -> None:
        self.enabled.setChecked(settings.api_enabled)
        self.port.setValue(settings.api_port)
        self._show_state()

    def changes(self) -> dict[str, Any]:
        return {"api_enabled": self.enabled.isChecked(), "api_port": self.port.value()}

    async def _restart(self) -> None:
        await self.runner.apply(self.core.settings)
        self._show_state()

    def _show_state(self) -> None:
        if self.runner.url:
            self.state.setText(t("Running at {url}").format(url=self.runner.url))
        elif self.runner.error:
            self.state.setText(say(self.runner.error))
        else:
            self.state.setText(t("Not running. `desktop-chat serve` runs it without the window."))

    # Tokens ----------------------------------------------------------------------

    def refresh_tokens(self) -> None:
        self.bridge.spawn(in_words(self._read()), self._show_tokens)

    async def _read(self) -> tuple[list[Agent], list[ApiToken]]:
        return await self.core.agents.list(), await self.tokens.list()

    def _show_agents(self, agents: list[Agent]) -> None:
        chosen = self._chosen_agents()
        self.agent_choice.clear()
        self.agent_names = {agent.agent_id: agent.name for agent in agents}
        for agent in agents:
            item = QListWidgetItem(agent.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = agent.agent_id in chosen
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            item.setData(TOKEN_NAME_ROLE, agent.agent_id)
            self.agent_choice.addItem(item)

    def _chosen_agents(self) -> list[str]:
        items = (self.agent_choice.item(row) for row in range(self.agent_choice.count()))
        return [i.data(TOKEN_NAME_ROLE) for i in items if i.checkState() == Qt.CheckState.Checked]

    def _token_line(self, token: ApiToken) -> str:
        used = (
            token.last_used_at.astimezone().strftime("%Y-%m-%d %H:%M")
            if token.last_used_at
            else t("never used")
        )
        parts = [token.name, used]
        if token.agents is not None:
            names = [self.agent_names.get(agent_id, agent_id) for agent_id in token.agents]
            parts.append(t("agents: {names}").format(names=", ".join(names) or t("none")))
        if token.store_conversations:
            parts.append(t("requests kept"))
        return "  ·  ".join(parts)

    def _show_tokens(self, outcome: Outcome[tuple[list[Agent], list[ApiToken]]]) -> None:
        if not isValid(self.token_list):
            return  # the dialog was closed (Esc) before the tokens were read
        agents, tokens = outcome.value or ([], [])
        self._show_agents(agents)
        self.token_list.clear()
        for token in tokens:
            self.token_list.addItem(self._token_line(token))
            self.token_list.item(self.token_list.count() - 1).setData(TOKEN_NAME_ROLE, token.name)

    def _create(self) -> None:
        self.token_status.clear()
        self.bridge.spawn(self._create_token(self.token_name.text().strip()))

    async def _create_token(self, name: str) -> None:
        agents = self._chosen_agents() if self.only_agents.isChecked() else None
        created = self.tokens.create(name, agents, self.keep_requests.isChecked())
        outcome = await in_words(created)  # a bad name is said in words
        if outcome.value is None:
            self.token_status.setText(outcome.error or "")
            return
        _record, secret = outcome.value
        self.new_token.setText(secret)
        self.new_token.show()
        self.copy_button.show()
        self.token_name.clear()
        self.only_agents.setChecked(False)
        self.keep_requests.setChecked(False)
        self.token_status.setText(t("Copy the token now: it is not shown again."))
        self.refresh_tokens()

    def _revoke(self) -> None:
        item = self.token_list.currentItem()
        if item is not None:
            self.bridge.spawn(self._revoke_token(item.data(TOKEN_NAME_ROLE)))

    async def _revoke_token(self, name: str) -> None:
        question = t("Revoke the token {name}? Programs using it lose access at once.")
        if await ask(self, t("Revoke token"), question.format(name=name), t("Revoke"), t("Cancel")):
            await in_words(self.tokens.revoke(name))
            self.refresh_tokens()
