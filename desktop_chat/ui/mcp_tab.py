"""Settings page for tools: the MCP servers (add, edit, turn off, test, import) and the
limits every reply keeps to (rounds of tool calls, seconds per call).

Header and environment values are typed here and go straight to the keyring through the
engine; the page never shows them again (an empty field keeps those stored).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.schemas import Agent, McpServer, validation_message
from desktop_chat.settings import Settings
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, in_words, plain_label
from desktop_chat.ui.i18n import say, t
from desktop_chat.ui.settings_pages import SettingsPage

NAME_ROLE = Qt.ItemDataRole.UserRole + 1


def tools_text(choice: Agent | None) -> str:
    """An agent's choice of tools as the form shows it: all, none, or server names."""
    tools = choice.tools if choice is not None else "all"
    return tools if isinstance(tools, str) else ", ".join(tools)


def parse_tools(text: str) -> str | list[str]:
    text = text.strip() or "all"
    if text in ("all", "none"):
        return text
    return [name.strip() for name in text.split(",") if name.strip()]


def _pairs(text: str, sep: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        key, found_sep, value = line.partition(sep)
        if line.strip() and found_sep and key.strip():
            found[key.strip()] = value.strip()
    return found


class McpServersTab(SettingsPage):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(core, bridge, parent)
        self.tools = core.tools
        self.rounds = QSpinBox()
        self.rounds.setObjectName("toolRounds")
        self.rounds.setRange(1, 100)
        self.rounds.setAccessibleName(t("Tool rounds per reply at most"))
        self.call_timeout = QSpinBox()
        self.call_timeout.setObjectName("toolTimeout")
        self.call_timeout.setRange(1, 3600)
        self.call_timeout.setSuffix(t(" s"))
        self.call_timeout.setAccessibleName(t("Seconds a tool call may take"))
        self.form.addRow(t("Tool rounds per reply at most"), self.rounds)
        self.form.addRow(t("Seconds a tool call may take"), self.call_timeout)

        self.server_list = QListWidget()
        self.server_list.setObjectName("mcpServers")
        self.server_list.setAccessibleName(t("MCP servers"))
        self.server_list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.name = QLineEdit()
        self.name.setObjectName("mcpName")
        self.transport = QComboBox()
        self.transport.setObjectName("mcpTransport")
        self.transport.addItem(t("Program (stdio)"), "stdio")
        self.transport.addItem(t("Address (streamable HTTP)"), "http")
        self.command = QLineEdit()
        self.command.setObjectName("mcpCommand")
        self.command.setPlaceholderText("npx -y @modelcontextprotocol/server-filesystem ~/notes")
        self.cwd = QLineEdit()
        self.cwd.setObjectName("mcpCwd")
        self.env = QPlainTextEdit()
        self.env.setObjectName("mcpEnv")
        self.env.setPlaceholderText(
            t("One KEY=value per line; kept in the keyring. Empty keeps those stored.")
        )
        self.url = QLineEdit()
        self.url.setObjectName("mcpUrl")
        self.url.setPlaceholderText("https://example.com/mcp")
        self.headers = QPlainTextEdit()
        self.headers.setObjectName("mcpHeaders")
        self.headers.setPlaceholderText(
            t("One Name: value per line; kept in the keyring. Empty keeps those stored.")
        )
        self.enabled = QCheckBox(t("Turned on"))
        self.enabled.setObjectName("mcpEnabled")
        editor = QFormLayout()
        editor.addRow(t("Name"), self.name)
        editor.addRow(t("Kind"), self.transport)
        editor.addRow(t("Command"), self.command)
        editor.addRow(t("Working folder"), self.cwd)
        editor.addRow(t("Environment"), self.env)
        editor.addRow(t("URL"), self.url)
        editor.addRow(t("Headers"), self.headers)
        editor.addRow("", self.enabled)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (
            ("new", t("New server"), self._new),
            ("save", t("Save server"), self._save_server),
            ("test", t("Test: list its tools"), self._test),
            ("remove", t("Remove server"), self._remove),
            ("import", t("Import JSON…"), self._import_clicked),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[key] = button
        self.test_result = plain_label("mcpTestResult")
        self.test_result.setWordWrap(True)
        servers = QVBoxLayout()
        servers.addWidget(self.server_list)
        servers.addLayout(editor)
        servers.addLayout(buttons)
        servers.addWidget(self.test_result)
        self.form.addRow(servers)
        self.finish_layout()
        self.load(core.settings)
        self._new()
        self.refresh()

    # Limits (the page's Save) ------------------------------------------------------

    def load(self, settings: Settings) -> None:
        self.rounds.setValue(settings.tool_rounds)
        self.call_timeout.setValue(round(settings.tool_timeout))

    def changes(self) -> dict[str, Any]:
        return {
            "tool_rounds": self.rounds.value(),
            "tool_timeout": float(self.call_timeout.value()),
        }

    # Servers -----------------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        self.bridge.spawn(in_words(self.tools.servers()), lambda o: self._listed(o, select))

    def _listed(self, outcome: Outcome[list[McpServer]], select: str | None) -> None:
        if not isValid(self) or outcome.value is None:
            return
        self.servers = {s.name: s for s in outcome.value}
        self.server_list.clear()
        for server in outcome.value:
            off = "" if server.enabled else " " + t("(off)")
            self.server_list.addItem(f"{server.name} · {server.transport}{off}")
            item = self.server_list.item(self.server_list.count() - 1)
            item.setData(NAME_ROLE, server.name)
            if server.name == select:
                self.server_list.setCurrentItem(item)

    def _show_selected(self) -> None:
        item = self.server_list.currentItem()
        server = self.servers.get(item.data(NAME_ROLE)) if item is not None else None
        if server is None:
            return
        self.name.setText(server.name)
        self.transport.setCurrentIndex(self.transport.findData(server.transport))
        self.command.setText(shlex.join([server.command, *server.args]) if server.command else "")
        self.cwd.setText(server.cwd or "")
        self.env.clear()
        self.env.setPlaceholderText(
            ", ".join(server.secret_env) + " — " + t("kept in the keyring")
            if server.secret_env
            else t("One KEY=value per line; kept in the keyring. Empty keeps those stored.")
        )
        self.url.setText(server.url)
        self.headers.clear()
        self.headers.setPlaceholderText(
            ", ".join(server.secret_headers) + " — " + t("kept in the keyring")
            if server.secret_headers
            else t("One Name: value per line; kept in the keyring. Empty keeps those stored.")
        )
        self.enabled.setChecked(server.enabled)
        self.test_result.clear()

    def _new(self) -> None:
        self.server_list.setCurrentItem(None)
        for field in (self.name, self.command, self.cwd, self.url):
            field.clear()
        self.env.clear()
        self.headers.clear()
        self.enabled.setChecked(True)
        self.test_result.clear()

    def server_from_form(self) -> McpServer:
        """The server as typed; raises ValueError with the fields at fault."""
        words = shlex.split(self.command.text())
        stored = self.servers.get(self.name.text().strip()) if hasattr(self, "servers") else None
        return McpServer(
            name=self.name.text().strip(),
            transport=self.transport.currentData(),
            command=words[0] if words else "",
            args=words[1:],
            env=_pairs(self.env.toPlainText(), "="),
            cwd=self.cwd.text().strip() or None,
            url=self.url.text().strip(),
            headers=_pairs(self.headers.toPlainText(), ":"),
            secret_headers=stored.secret_headers if stored else [],
            secret_env=stored.secret_env if stored else [],
            enabled=self.enabled.isChecked(),
        )

    def _save_server(self) -> None:
        self.error.clear()
        try:
            server = self.server_from_form()
        except (ValidationError, ValueError) as exc:
            problem = validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
            self.error.setText(t("Not saved. Please check {problems}").format(problems=problem))
            return
        self.bridge.spawn(in_words(self.tools.save_server(server)), self._server_saved)

    def _server_saved(self, outcome: Outcome[McpServer]) -> None:
        if not isValid(self):
            return
        if outcome.value is None:
            self.error.setText(str(outcome.error or ""))
            return
        self.headers.clear()
        self.env.clear()
        self.status.setText(t("Saved."))
        self.refresh(select=outcome.value.name)

    def _test(self) -> None:
        name = self.name.text().strip()
        self.test_result.setText(t("Starting {server}…").format(server=name))
        self.bridge.spawn(in_words(self.tools.restart(name)), self._tested)

    def _tested(self, outcome: Outcome[Any]) -> None:
        if not isValid(self):
            return
        if outcome.value is None:
            self.test_result.setText(say(str(outcome.error or "")))
            return
        names = ", ".join(tool.name for tool in outcome.value) or t("none")
        self.test_result.setText(t("Tools: {names}").format(names=names))

    def _remove(self) -> None:
        name = self.name.text().strip()
        if name in getattr(self, "servers", {}):
            self.bridge.spawn(in_words(self.tools.remove_server(name)), lambda _: self._removed())

    def _removed(self) -> None:
        if isValid(self):
            self._new()
            self.refresh()

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, t("Import MCP servers"), "", "JSON (*.json)")
        if path:
            self.import_text(Path(path).read_text(encoding="utf-8"))

    def import_text(self, raw: str) -> None:
        """Add the servers of an `mcpServers` JSON text (the file other clients write)."""
        self.bridge.spawn(in_words(self.tools.import_servers(raw)), self._imported)

    def _imported(self, outcome: Outcome[list[McpServer]]) -> None:
        if not isValid(self):
            return
        if outcome.value is None:
            self.error.setText(str(outcome.error or ""))
            return
        names = ", ".join(s.name for s in outcome.value)
        self.status.setText(t("Imported: {names}").format(names=names))
        self.refresh()
