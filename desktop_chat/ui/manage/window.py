"""The Manage window: conversations, providers, statistics, live activity and backups.

It opens beside the main window and is another client of the same engine: it reads the
conversations with one list query and the usage records once (shared by every tab), and
from then on follows the engine's events, so what it shows stays current without polling
the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, SignalInstance
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QPushButton, QTabWidget, QVBoxLayout, QWidget
from shiboken6 import isValid

from desktop_chat import APP_DISPLAY_NAME
from desktop_chat.app import Core
from desktop_chat.engine.events import (
    ConversationChanged,
    ConversationDeleted,
    MessageStored,
    PathChanged,
    ReplyDelta,
    ReplyDone,
    ReplyFailed,
    ReplyStarted,
    TitleChanged,
)
from desktop_chat.engine.stats import provider_health, tokens_by_conversation
from desktop_chat.schemas import Agent, UsageRecord
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.i18n import N_, t
from desktop_chat.ui.manage.backups import BackupsTab
from desktop_chat.ui.manage.conversations import ConversationsTab
from desktop_chat.ui.manage.live import LiveTab
from desktop_chat.ui.manage.providers import ProvidersTab
from desktop_chat.ui.manage.statistics import StatisticsTab

log = logging.getLogger(__name__)

MANAGE_ACTION = N_("Manage…")  # the main window's menu entry and shortcut name
USAGE_SETTLE_MS = 2000  # after replies end, read the usage table once they have settled


class ManageWindow(QWidget):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("manageWindow")
        self.setWindowTitle(t("Manage — {app}").format(app=APP_DISPLAY_NAME))
        self.core = core
        self.bridge = bridge
        self.service = core.service
        self.agents: list[Agent] = []
        self.usage: list[UsageRecord] = []  # oldest first, as the store lists them
        self.titles: dict[str, str] = {}
        self.opened_in: float | None = None  # seconds from start() to a filled table
        self.ready = False
        self.closing = False
        self._errors_seeded = False

        self.conversations = ConversationsTab(core, bridge)
        self.providers = ProvidersTab(core, bridge)
        self.statistics = StatisticsTab(core, bridge)
        self.live = LiveTab(core.service, core.gateway, self.title_of)
        self.backups = BackupsTab(core, bridge)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.conversations, t("Conversations"))
        self.tabs.addTab(self.providers, t("Providers"))
        self.tabs.addTab(self.statistics, t("Statistics"))
        self.tabs.addTab(self.live, t("Live"))
        self.tabs.addTab(self.backups, t("Backups"))
        self.refresh_button = QPushButton(t("Refresh"))
        self.refresh_button.setObjectName("manageRefresh")
        self.refresh_button.setToolTip(t("Read agents, conversations and usage again (F5)"))
        self.refresh_button.clicked.connect(self.refresh)
        self.tabs.setCornerWidget(self.refresh_button)
        QShortcut(QKeySequence("F5"), self, self.refresh)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)
        QShortcut(QKeySequence("Esc"), self, self.close)  # as a dialog closes
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tabs)

        self._usage_timer = QTimer(self)
        self._usage_timer.setSingleShot(True)
        self._usage_timer.setInterval(USAGE_SETTLE_MS)
        self._usage_timer.timeout.connect(lambda: self.bridge.spawn(self.reload_usage()))
        self.live.gateway_done.connect(self._usage_timer.start)
        self._connections = self._follow_engine()
        if parent is not None:
            parent.installEventFilter(self)  # close together with the window that opened us
        self.resize(1040, 680)

    def title_of(self, conversation_id: str) -> str:
        return self.titles.get(conversation_id) or t("New conversation")

    async def start(self) -> None:
        """Fill the conversation table first (what the window opens on), then the rest."""
        began = time.perf_counter()
        agents = await self.service.list_agents()
        conversations = await self.service.list_conversations()
        if not self._alive():
            return
        self._set_agents(agents)
        self.titles = {c.id: c.title for c in conversations}
        self.conversations.set_conversations(conversations)
        self.opened_in = time.perf_counter() - began
        log.info(
            "Manage window: %d conversations listed in %.0f ms",
            len(conversations),
            self.opened_in * 1000,
        )
        await self.reload_usage()
        if self._alive():
            self.ready = True

    async def reload_usage(self, everything: bool = False) -> None:
        """Read the usage records new since the last read (all of them the first time)."""
        since = None if everything or not self.usage else self.usage[-1].created_at
        fresh = await self.service.usage.records(since)
        if not self._alive():
            return
        if since is None:
            new = records = fresh
        else:  # `since` is inclusive: the records at that very moment are already here
            seen = {_identity(r) for r in self.usage if r.created_at >= since}
            new = [r for r in fresh if _identity(r) not in seen]
            records = self.usage + new
        self.usage = records
        self.conversations.model.set_tokens(tokens_by_conversation(records))
        self.providers.set_health(provider_health(records))
        if not self._errors_seeded:
            self.live.seed_errors(records)
            self._errors_seeded = True
        else:
            self.live.add_gateway_failures(new)
        await self.statistics.set_usage(records, self.agents)

    def refresh(self) -> None:
        self.bridge.spawn(self._refresh())

    async def _refresh(self) -> None:
        agents = await self.service.list_agents()
        if not self._alive():
            return
        self._set_agents(agents)
        await self.conversations.load(self.conversations.query)
        await self.reload_usage(everything=True)

    def _set_agents(self, agents: list[Agent]) -> None:
        self.agents = agents
        self.conversations.set_agents(agents)
        self.providers.set_agents(agents)
        self.live.set_agents(agents)

    def _alive(self) -> bool:
        return isValid(self) and not self.closing

    # Engine events -------------------------------------------------------------------

    def _follow_engine(self) -> list[tuple[SignalInstance, Callable[[Any], None]]]:
        """Connect to the engine's events; returns the connections, to undo on close."""
        bridge = self.bridge
        connections: list[tuple[SignalInstance, Callable[[Any], None]]] = [
            (bridge.title_changed, self._on_title_changed),
            (bridge.conversation_changed, self._on_conversation_changed),
            (bridge.path_changed, self._on_path_changed),
            (bridge.conversation_deleted, self._on_conversation_deleted),
            (bridge.message_stored, self._on_message_stored),
            (bridge.reply_started, self._on_reply_started),
            (bridge.reply_delta, self._on_reply_delta),
            (bridge.reply_done, self._on_reply_done),
            (bridge.reply_failed, self._on_reply_failed),
        ]
        for signal, slot in connections:
            signal.connect(slot)
        return connections

    def _on_title_changed(self, event: TitleChanged) -> None:
        if self._alive():
            self.titles[event.conversation_id] = event.title
            self.conversations.on_title_changed(event)

    def _on_conversation_changed(self, event: ConversationChanged) -> None:
        if self._alive():
            self.titles[event.conversation_id] = event.conversation.title
            self.conversations.on_conversation_changed(event.conversation)

    def _on_path_changed(self, event: PathChanged) -> None:
        if self._alive():
            self.conversations.on_conversation_changed(event.conversation.summary())

    def _on_conversation_deleted(self, event: ConversationDeleted) -> None:
        if self._alive():
            self.titles.pop(event.conversation_id, None)
            self.conversations.on_conversation_deleted(event.conversation_id)

    def _on_message_stored(self, event: MessageStored) -> None:
        if self._alive():
            self.conversations.on_message_stored(event)

    def _on_reply_started(self, event: ReplyStarted) -> None:
        if self._alive():
            self.live.on_reply_started(event)

    def _on_reply_delta(self, event: ReplyDelta) -> None:
        if self._alive():
            self.live.on_reply_delta(event)

    def _on_reply_done(self, event: ReplyDone) -> None:
        if self._alive():
            self._usage_timer.start()
            self.live.on_reply_done(event)

    def _on_reply_failed(self, event: ReplyFailed) -> None:
        if self._alive():
            self.live.on_reply_failed(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Close and not self.closing:
            self.close()
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.closing:
            self.closing = True
            for signal, slot in self._connections:
                signal.disconnect(slot)
            self.live.timer.stop()
            self._usage_timer.stop()
        event.accept()


def _identity(record: UsageRecord) -> tuple[object, ...]:
    """Usage records have no id of their own; these fields tell two requests apart."""
    return (record.created_at, record.conversation_id, record.model, record.status)


def open_manage_window(
    core: Core, bridge: EngineBridge, parent: QWidget | None = None
) -> ManageWindow:
    """Show the Manage window, reusing the one already open for `parent`."""
    if parent is not None:
        for existing in parent.findChildren(ManageWindow):
            if isValid(existing) and not existing.closing:
                existing.show()
                existing.raise_()
                existing.activateWindow()
                return existing
    window = ManageWindow(core, bridge, parent)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.show()
    bridge.spawn(window.start())
    return window
