"""The Providers tab: is each agent's server reachable, is its key there and accepted?

The key itself is never read into the window: only where it comes from (the keyring,
this session only, OPENAI_API_KEY, or nowhere), the status the settings form shows too.
"Rejected" comes from the usage records — the server answered the last request with an
authentication error and nothing has worked since — so it needs no request of its own;
the Test button asks the server for its models.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.engine.agents import KeyStatus
from desktop_chat.engine.stats import ProviderHealth
from desktop_chat.schemas import Agent
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, in_words
from desktop_chat.ui.i18n import N_, t
from desktop_chat.ui.manage.format import DASH, when

COLUMNS = (
    N_("Agent"),
    N_("Model"),
    N_("Base URL"),
    N_("Key"),
    N_("Last error"),
    N_("Seen"),
    N_("Test"),
    N_("Result"),
)
AGENT, MODEL, URL, KEY, ERROR, SEEN, TEST, RESULT = range(len(COLUMNS))

KEY_WORDS: dict[KeyStatus, str] = {
    KeyStatus.STORED: N_("Set"),
    KeyStatus.SESSION: N_("This session only"),
    KeyStatus.ENVIRONMENT: N_("From OPENAI_API_KEY"),
    KeyStatus.NONE: N_("Missing"),
}
ERROR_WORDS = {
    "auth": N_("Key rejected"),
    "permission": N_("Not permitted"),
    "not_found": N_("Model not found"),
    "rate_limit": N_("Rate limited"),
    "context_too_long": N_("Context too long"),
    "bad_request": N_("Bad request"),
    "server": N_("Server error"),
    "timeout": N_("Timed out"),
    "connection": N_("Cannot connect"),
    "stream_cut": N_("Stream cut off"),
    "malformed": N_("Malformed reply"),
    "no_key": N_("No key"),
}


def error_words(kind: str) -> str:
    return t(ERROR_WORDS[kind]) if kind in ERROR_WORDS else kind


class ProvidersTab(QWidget):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self.agents: list[Agent] = []
        self.health: dict[str, ProviderHealth] = {}
        self.key_states: dict[str, KeyStatus] = {}
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("manageProviders")
        self.table.setAccessibleName(t("Providers"))
        self.table.setHorizontalHeaderLabels([t(c) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(RESULT, QHeaderView.ResizeMode.Stretch)
        note = QLabel(
            t(
                "Keys are never shown here, only whether one is stored. “Rejected” means the "
                "server refused the key on the last request and none has worked since."
            )
        )
        note.setWordWrap(True)
        note.setObjectName("providersNote")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)

    def set_agents(self, agents: list[Agent]) -> None:
        self.agents = agents
        self.table.setRowCount(len(agents))
        for row, agent in enumerate(agents):
            self._item(row, AGENT, agent.name)
            self._item(row, MODEL, agent.model)
            self._item(row, URL, agent.base_url)
            self._item(row, RESULT, "")
            button = QPushButton(t("Test"))
            button.setAccessibleName(t("Test {name}").format(name=agent.name))
            button.clicked.connect(partial(self.test, agent.agent_id))
            self.table.setCellWidget(row, TEST, button)
        self._show_health()
        self.bridge.spawn(self._read_key_states(agents))

    def set_health(self, health: dict[str, ProviderHealth]) -> None:
        self.health = health
        self._show_health()

    async def _read_key_states(self, agents: list[Agent]) -> None:
        for agent in agents:
            self.key_states[agent.agent_id] = await self.core.agents.key_status(agent.key_ref)
        if isValid(self):
            self._show_health()

    def _item(self, row: int, column: int, text: str, tooltip: str = "") -> None:
        item = self.table.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(row, column, item)
        item.setText(text)
        item.setToolTip(tooltip or text)

    def _show_health(self) -> None:
        for row, agent in enumerate(self.agents):
            health = self.health.get(agent.agent_id, ProviderHealth())
            if health.key_rejected:
                self._item(
                    row,
                    KEY,
                    t("Rejected"),
                    t("The server refused this key on {when}; no request has worked since.").format(
                        when=when(health.last_error_at)
                    ),
                )
            else:
                state = self.key_states.get(agent.agent_id)
                self._item(row, KEY, t(KEY_WORDS[state]) if state else "…")
            kind = health.last_error_kind
            self._item(row, ERROR, error_words(kind) if kind else t("None"))
            self._item(row, SEEN, when(health.last_error_at) if kind else DASH)

    def key_text(self, agent_id: str) -> str:
        row = self._row_of(agent_id)
        item = self.table.item(row, KEY) if row is not None else None
        return item.text() if item is not None else ""

    def result_text(self, agent_id: str) -> str:
        row = self._row_of(agent_id)
        item = self.table.item(row, RESULT) if row is not None else None
        return item.text() if item is not None else ""

    def _row_of(self, agent_id: str) -> int | None:
        return next((i for i, a in enumerate(self.agents) if a.agent_id == agent_id), None)

    def test(self, agent_id: str) -> None:
        agent = next((a for a in self.agents if a.agent_id == agent_id), None)
        row = self._row_of(agent_id)
        if agent is None or row is None:
            return
        self._item(row, RESULT, t("Testing…"))
        self.bridge.spawn(
            in_words(self.core.service.list_models(agent)),
            partial(self._tested, agent_id),
        )

    def _tested(self, agent_id: str, outcome: Outcome[list[str]]) -> None:
        row = self._row_of(agent_id)
        if not isValid(self) or row is None:
            return
        if outcome.error is not None:
            self._item(row, RESULT, outcome.error)
        else:
            models = outcome.value or []
            self._item(
                row,
                RESULT,
                t("Works: {count} models").format(count=len(models)),
                ", ".join(models[:30]),
            )
