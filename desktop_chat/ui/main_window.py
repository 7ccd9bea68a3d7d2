"""The main window: conversation list, chat view, composer and the context panel.

It is a thin client of the engine: every action is a call to ConversationService, and
everything it shows comes back as engine events through the bridge, so a reply started
elsewhere (the command line, the local API) shows here the same way.

It starts in two steps so that it appears at once: `MainWindow(paths)` is a frame in the
user's theme and size, which paints before the engine, the database and pydantic have
loaded; `attach(core, bridge)` then builds the real content. That is why this module
imports only Qt at the top, and the rest where it is first used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_chat import APP_DISPLAY_NAME
from desktop_chat.ui.i18n import t

if TYPE_CHECKING:
    from desktop_chat.app import Core
    from desktop_chat.engine.events import (
        ConversationChanged,
        ConversationDeleted,
        HistoryChanged,
        MessageStored,
        ReplyDelta,
        ReplyDone,
        ReplyFailed,
        ReplyStarted,
        TitleChanged,
    )
    from desktop_chat.paths import AppPaths
    from desktop_chat.schemas import Agent, Conversation, ConversationDetail, Message
    from desktop_chat.ui.bridge import EngineBridge

log = logging.getLogger(__name__)

SIDEBAR_WIDTH = 260  # the list's width until the user drags the splitter


class FrameSkeleton(QWidget):
    """What the window shows until its content is built: the sidebar's band, in the theme.

    It is the first thing painted at start-up, so it draws itself instead of building
    widgets, and it says when it has been painted.
    """

    painted = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.was_painted = False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.window())
        painter.fillRect(0, 0, SIDEBAR_WIDTH, self.height(), palette.alternateBase())
        painter.end()
        if not self.was_painted:
            self.was_painted = True
            self.painted.emit()


class ErrorBanner(QFrame):
    """An error in words above the composer; the app keeps working underneath."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        close = QToolButton()
        close.setText("✕")
        close.setAccessibleName(t("Dismiss"))
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, paths: AppPaths, dark: bool = False) -> None:
        """The frame only: title, the last session's size and place, and a skeleton."""
        super().__init__()
        self.paths = paths
        self.dark = dark
        self.setWindowTitle(APP_DISPLAY_NAME)
        self.setMinimumSize(720, 480)
        self.resize(1180, 760)
        geometry = self._state().value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self.skeleton = FrameSkeleton()
        self.setCentralWidget(self.skeleton)
        self.attached = False
        self.agents: list[Agent] = []
        self.current_id: str | None = None
        self.current: ConversationDetail | None = None
        self._drafts: dict[str, str] = {}
        self._editing: Message | None = None
        self._search = ""
        self._search_seq = 0
        self._ready = False
        self._closing = False

    async def first_paint(self, timeout: float = 1.0) -> None:
        """Wait until the frame is on screen, so the work that follows does not delay it.

        A window that is never painted (started minimised, say) must not hold up the
        start, hence the timeout.
        """
        if self.skeleton.was_painted:
            return
        painted = asyncio.Event()
        self.skeleton.painted.connect(painted.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(painted.wait(), timeout)

    def attach(self, core: Core, bridge: EngineBridge) -> None:
        """Build the content around the opened core; call `start()` next to fill it."""
        from desktop_chat.ui.api_runner import ApiRunner
        from desktop_chat.ui.chat_view import ChatView
        from desktop_chat.ui.composer import Composer
        from desktop_chat.ui.context_editor import ContextEditor
        from desktop_chat.ui.conversation_list import ConversationList
        from desktop_chat.ui.first_run import FirstRunPane

        self.core = core
        self.bridge = bridge
        self.service = core.service
        self.api = ApiRunner(core.service)
        self.sidebar = ConversationList()
        self.sidebar.setMinimumWidth(200)
        self.chat = ChatView()
        self.chat.dark = self.dark
        self.composer = Composer()
        self.banner = ErrorBanner()
        self.context_editor = ContextEditor(bridge)
        self.context_editor.setMinimumWidth(280)
        self.context_editor.hide()

        self.title_label = QLabel()
        self.title_label.setObjectName("chatTitle")
        self.agent_combo = QComboBox()
        self.agent_combo.setAccessibleName(t("Agent for this conversation"))
        self.agent_combo.setMinimumWidth(160)
        self.agent_combo.activated.connect(self._agent_chosen)
        self.context_button = QToolButton()
        self.context_button.setText(t("Context"))
        self.context_button.setCheckable(True)
        self.context_button.setToolTip(t("Show what the next request will send"))
        self.context_button.toggled.connect(self._toggle_context)
        self.settings_button = QToolButton()
        self.settings_button.setText(t("Settings"))
        self.settings_button.setToolTip(t("Settings (Ctrl+,)"))
        self.settings_button.clicked.connect(self.open_settings)
        header = QHBoxLayout()
        header.setContentsMargins(24, 10, 16, 6)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.agent_combo)
        self.manage_button = QToolButton()
        self.manage_button.setText(t("Manage…"))
        self.manage_button.setToolTip(t("Conversations in bulk, providers, statistics (Ctrl+M)"))
        self.manage_button.clicked.connect(self.open_manage)
        header.addWidget(self.context_button)
        header.addWidget(self.manage_button)
        header.addWidget(self.settings_button)

        chat_pane = QWidget()
        chat_layout = QVBoxLayout(chat_pane)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        chat_layout.addLayout(header)
        chat_layout.addWidget(self.chat, 1)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(24, 0, 24, 0)
        banner_row.addWidget(self.banner)
        chat_layout.addLayout(banner_row)
        chat_layout.addWidget(self.composer)

        self.first_run = FirstRunPane(core, bridge)
        self.first_run.agent_created.connect(self._first_agent_created)
        self.center = QStackedWidget()
        self.center.addWidget(chat_pane)
        self.center.addWidget(self.first_run)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.center)
        self.splitter.addWidget(self.context_editor)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([SIDEBAR_WIDTH, 760, 320])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)  # deletes the skeleton

        self._connect()
        self._shortcuts()
        self.statusBar().setSizeGripEnabled(True)
        self.attached = True

    # Wiring --------------------------------------------------------------------

    def _connect(self) -> None:
        bridge = self.bridge
        bridge.reply_started.connect(self._on_reply_started)
        bridge.reply_delta.connect(self._on_delta)
        bridge.message_stored.connect(self._on_message_stored)
        bridge.reply_done.connect(self._on_reply_done)
        bridge.reply_failed.connect(self._on_reply_failed)
        bridge.title_changed.connect(self._on_title_changed)
        bridge.conversation_changed.connect(self._on_conversation_changed)
        bridge.history_changed.connect(self._on_conversation_changed)
        bridge.conversation_deleted.connect(self._on_conversation_deleted)
        self.bridge.failed.connect(self.show_error)
        self.sidebar.selected.connect(self.open_conversation)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.search_changed.connect(self._on_search)
        self.sidebar.model.fetch_requested.connect(self._fetch_more)
        self.sidebar.rename_requested.connect(self.rename_conversation)
        self.sidebar.pin_requested.connect(self._pin)
        self.sidebar.export_requested.connect(self.export_conversation)
        self.sidebar.delete_requested.connect(self.delete_conversation)
        self.composer.send.connect(self.send)
        self.composer.stop.connect(self.stop)
        self.chat.question_clicked.connect(self.send)
        self.chat.message_action.connect(self._message_action)
        self.chat.notice.connect(lambda text: self.statusBar().showMessage(text, 2500))
        self.context_editor.applied.connect(self._reload_current)

    def _shortcuts(self) -> None:
        def action(keys: QKeySequence | str, slot: object, name: str) -> None:
            act = QAction(name, self)
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(slot)
            self.addAction(act)

        action(QKeySequence.StandardKey.New, self.new_conversation, t("New conversation"))
        action("Ctrl+N", self.new_conversation, t("New conversation"))
        action("Ctrl+F", self._focus_search, t("Search"))
        action("Ctrl+,", self.open_settings, t("Settings"))
        action("Ctrl+M", self.open_manage, t("Manage…"))
        action("Ctrl+Shift+C", self.copy_last_reply, t("Copy the last reply"))
        action("Esc", self.stop, t("Stop"))

    def _state(self) -> QSettings:
        """Window state lives beside the settings, so DESKTOP_CHAT_HOME moves it too."""
        return QSettings(str(self.paths.config / "window.ini"), QSettings.Format.IniFormat)

    # Start-up --------------------------------------------------------------------

    async def start(self) -> None:
        """Load agents and conversations, restore the last session's state."""
        await self._load_agents()
        await self._load_list()
        await self.api.apply(self.core.settings)
        if self.api.error:
            self.show_error(self.api.error)
        state = self._state()
        splitter = state.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        self.context_button.setChecked(state.value("window/context", False, type=bool))
        last = state.value("window/conversation", "", type=str)
        if not self.agents:
            self.center.setCurrentWidget(self.first_run)
        elif last and await self._list_one(last):
            self.sidebar.select(last)
        else:
            await self._open_newest_or_new()
        self._ready = True

    async def _open_newest_or_new(self) -> None:
        model = self.sidebar.model
        for row in range(model.rowCount()):
            conversation_id = model.index(row).data(Qt.ItemDataRole.UserRole + 1)
            if conversation_id:
                self.sidebar.select(conversation_id)
                return
        await self._create_conversation()

    async def _load_agents(self) -> None:
        self.agents = await self.service.list_agents()
        self.agent_combo.clear()
        for agent in self.agents:
            label = f"{agent.app_preset.icon or ''} {agent.name}".strip()
            self.agent_combo.addItem(label, agent.agent_id)
        self._sync_agent_combo()

    async def _load_list(self) -> None:
        """Fill the list with its first page (of the search results, while searching)."""
        from desktop_chat.ui.conversation_list import PAGE_SIZE

        self._search_seq += 1
        seq = self._search_seq
        conversations = await self.service.list_conversations(
            query=self._search or None, limit=PAGE_SIZE
        )
        if seq != self._search_seq:
            return  # a newer search is already on its way
        current = self.current_id
        model = self.sidebar.model
        shown = model.get(current) if current else None
        if shown is None and self.current is not None:
            shown = _summary(self.current)
        model.set_conversations(conversations, more=len(conversations) == PAGE_SIZE)
        if shown is not None and not self._search and model.get(shown.id) is None:
            model.include(shown)  # the open conversation stays listed, wherever its page
        if current:
            self.sidebar.view.blockSignals(True)
            self.sidebar.select(current)
            self.sidebar.view.blockSignals(False)

    def _fetch_more(self, after: Conversation) -> None:
        self.bridge.spawn(self._load_page(after))

    async def _load_page(self, after: Conversation) -> None:
        from desktop_chat.ui.conversation_list import PAGE_SIZE

        seq = self._search_seq
        page = await self.service.list_conversations(
            query=self._search or None, limit=PAGE_SIZE, after=after
        )
        if seq == self._search_seq:  # else it continues a list that was replaced since
            self.sidebar.model.add_page(page, more=len(page) == PAGE_SIZE)

    async def _list_one(self, conversation_id: str) -> bool:
        """List a conversation whose page is not loaded (to select it); False if it is gone."""
        from desktop_chat.store import NotFoundError

        if self.sidebar.model.get(conversation_id) is None:
            try:
                detail = await self.service.get_conversation(conversation_id)
            except NotFoundError:
                return False
            self.sidebar.model.include(_summary(detail))
        return True

    def agent_of(self, conversation: ConversationDetail | None) -> Agent | None:
        if conversation is None:
            return None
        for agent in self.agents:
            if agent.agent_id == conversation.agent_id:
                return agent
        return next(
            (a for a in self.agents if a.is_default), self.agents[0] if self.agents else None
        )

    def _sync_agent_combo(self) -> None:
        agent = self.agent_of(self.current)
        if agent is not None:
            self.agent_combo.setCurrentIndex(self.agent_combo.findData(agent.agent_id))

    # Conversations ------------------------------------------------------------

    def new_conversation(self) -> None:
        if not self.agents:
            self.center.setCurrentWidget(self.first_run)
            return
        self.bridge.spawn(self._create_conversation())

    async def _create_conversation(self) -> None:
        agent = self.agent_of(self.current) if self.current else None
        created = await self.service.create_conversation(agent_id=agent.agent_id if agent else None)
        self.sidebar.model.upsert(created)
        self.sidebar.select(created.id)
        self.composer.edit.setFocus()

    def open_conversation(self, conversation_id: str) -> None:
        if conversation_id == self.current_id:
            return
        if not self._may_leave_context_edits():
            if self.current_id:
                self.sidebar.view.blockSignals(True)
                self.sidebar.select(self.current_id)
                self.sidebar.view.blockSignals(False)
            return
        self._stash_draft()
        self.current_id = conversation_id
        self.current = None  # until it has loaded, events for it are not shown twice
        self.bridge.spawn(self._open(conversation_id))

    async def _open(self, conversation_id: str) -> None:
        detail = await self.service.get_conversation(conversation_id)
        if conversation_id != self.current_id:
            return  # the user moved on while this loaded
        self.current = detail
        if not self._search and self.sidebar.model.get(conversation_id) is None:
            self.sidebar.model.include(_summary(detail))  # opened before its page loaded
            self.sidebar.select(conversation_id)
        self.center.setCurrentIndex(0)
        self.banner.hide()
        self._editing = None
        self.title_label.setText(detail.title or t("New conversation"))
        self._sync_agent_combo()
        self.chat.show_conversation(detail.messages, self.agent_of(detail))
        reply = self.service.in_flight(conversation_id)
        if reply is not None:
            self.chat.begin_stream(reply.content, reply.reasoning_text)
        self.composer.set_busy(reply is not None)
        self.composer.set_text(self._drafts.get(conversation_id, detail.draft))
        if self.context_editor.isVisible():
            self.context_editor.load(conversation_id)

    def _may_leave_context_edits(self) -> bool:
        """Unapplied context edits are work: ask before a switch throws them away."""
        if not (self.context_editor.isVisible() and self.context_editor.is_dirty):
            return True
        answer = QMessageBox.question(
            self,
            t("Unapplied context changes"),
            t("The context of this conversation has changes that are not applied. Discard them?"),
        )
        return answer == QMessageBox.StandardButton.Yes

    def _reload_current(self) -> None:
        if self.current_id:
            conversation_id, self.current_id = self.current_id, None
            self.current_id = conversation_id
            self.bridge.spawn(self._open(conversation_id))

    def _stash_draft(self) -> None:
        if self.current_id is None:
            return
        text = self.composer.text()
        previous = self._drafts.get(self.current_id, self.current.draft if self.current else "")
        self._drafts[self.current_id] = text
        if text != previous:
            self.bridge.spawn(self.service.save_draft(self.current_id, text))

    def _on_search(self, text: str) -> None:
        self._search = text.strip()
        self.bridge.spawn(self._load_list())

    def _focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    def rename_conversation(self, conversation_id: str) -> None:
        conversation = self.sidebar.model.get(conversation_id)
        title, ok = QInputDialog.getText(
            self,
            t("Rename conversation"),
            t("Title:"),
            text=conversation.title if conversation else "",
        )
        if ok and title.strip():
            self.bridge.spawn(self.service.update_conversation(conversation_id, title=title))

    def _pin(self, conversation_id: str, pinned: bool) -> None:
        self.bridge.spawn(self.service.update_conversation(conversation_id, pinned=pinned))

    def delete_conversation(self, conversation_id: str) -> None:
        conversation = self.sidebar.model.get(conversation_id)
        title = conversation.title if conversation and conversation.title else t("New conversation")
        answer = QMessageBox.question(
            self,
            t("Delete conversation"),
            t("Delete “{title}” and all its messages? This cannot be undone.").format(title=title),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.bridge.spawn(self.service.delete_conversation(conversation_id))

    def export_conversation(self, conversation_id: str) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, t("Export conversation"), "conversation.md", t("Markdown (*.md);;JSON (*.json)")
        )
        if path:
            self.bridge.spawn(self._export(conversation_id, Path(path), "JSON" in chosen))

    async def _export(self, conversation_id: str, path: Path, as_json: bool) -> None:
        from desktop_chat.transfer import export_json, export_markdown

        conversations = await self.service.export([conversation_id])
        text = export_json(conversations) if as_json else export_markdown(conversations)
        path.write_text(text, encoding="utf-8")
        self.statusBar().showMessage(t("Exported to {path}").format(path=path), 4000)

    def _agent_chosen(self, index: int) -> None:
        agent_id = self.agent_combo.itemData(index)
        if self.current_id and agent_id and self.current and agent_id != self.current.agent_id:
            self.bridge.spawn(self.service.update_conversation(self.current_id, agent_id=agent_id))
            self.current.agent_id = agent_id

    # Sending -------------------------------------------------------------------

    def send(self, text: str) -> None:
        if self.current_id is None or self.service.in_flight(self.current_id):
            return
        self.banner.hide()
        editing, self._editing = self._editing, None
        conversation_id = self.current_id
        self.composer.set_text("")
        self._drafts[conversation_id] = ""
        self.composer.set_busy(True)

        async def go() -> None:
            try:
                if editing is not None and editing.id is not None:
                    await self.service.edit_and_resend(conversation_id, editing.id, text)
                    if conversation_id == self.current_id:
                        await self._open_again(conversation_id)
                else:
                    await self.service.send(conversation_id, text)
                await self.service.save_draft(conversation_id, "")
            except BaseException:
                if conversation_id == self.current_id:
                    self.composer.set_busy(False)
                    self.composer.set_text(text)  # give the words back: nothing lost
                raise

        self.bridge.spawn(go())

    async def _open_again(self, conversation_id: str) -> None:
        self.current_id = None
        self.current_id = conversation_id
        await self._open(conversation_id)

    def stop(self) -> None:
        if self.current_id and self.service.in_flight(self.current_id):
            self.bridge.spawn(self.service.stop(self.current_id))

    def _message_action(self, action: str, message: Message) -> None:
        if self.current_id is None or message is None:
            return
        conversation_id = self.current_id
        if action == "edit":
            self._editing = message
            self.composer.set_text(message.content)
            self.composer.edit.setFocus()
            self.statusBar().showMessage(
                t("Editing: sending replaces this message and what follows")
            )
        elif action == "delete" and message.id is not None:
            self.bridge.spawn(self._delete_message(conversation_id, message.id))
        elif action in ("regenerate", "retry"):
            self.composer.set_busy(True)
            self.bridge.spawn(self._regenerate(conversation_id))
        elif action == "continue":
            self.send(t("Continue"))

    async def _delete_message(self, conversation_id: str, message_id: int) -> None:
        await self.service.delete_message(conversation_id, message_id)
        if conversation_id == self.current_id:
            self.chat.remove_message(message_id)

    async def _regenerate(self, conversation_id: str) -> None:
        try:
            await self.service.regenerate(conversation_id)
        except BaseException:
            self.composer.set_busy(False)
            raise
        if conversation_id == self.current_id:
            await self._open_again(conversation_id)

    def copy_last_reply(self) -> None:
        text = self.chat.last_reply_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage(t("Last reply copied"), 2500)

    # Engine events -------------------------------------------------------------

    def _is_open(self, conversation_id: str) -> bool:
        return conversation_id == self.current_id and self.current is not None

    def _on_reply_started(self, event: ReplyStarted) -> None:
        if self._is_open(event.conversation_id):
            self.composer.set_busy(True)

    def _on_delta(self, event: ReplyDelta) -> None:
        cid = event.conversation_id
        model = self.sidebar.model
        if model.get(cid) and not model.is_streaming(cid):
            model.set_streaming(cid, True)
        if self._is_open(cid):
            self.chat.append_delta(event.text, event.reasoning)
            self.composer.set_busy(True)

    def _on_message_stored(self, event: MessageStored) -> None:
        message = event.message
        if self._is_open(event.conversation_id):
            if message.role == "assistant" or not self._shown(message):
                self.chat.add_message(message)
            if message.role == "user" and not self.chat.streaming:
                self.chat.begin_stream(label=self._agent_label())
        self._touch(event.conversation_id, message)

    def _on_reply_done(self, event: ReplyDone) -> None:
        self.sidebar.model.set_streaming(event.conversation_id, False)
        if self._is_open(event.conversation_id):
            self.composer.set_busy(False)
            if self.chat.streaming:
                self.chat.cancel_stream()

    def _on_reply_failed(self, event: ReplyFailed) -> None:
        if self._is_open(event.conversation_id):
            self.show_error(event.message)

    def _on_title_changed(self, event: TitleChanged) -> None:
        model = self.sidebar.model
        conversation = model.get(event.conversation_id)
        if conversation is not None:
            model.upsert(conversation.model_copy(update={"title": event.title}))
        if self._is_open(event.conversation_id):
            self.title_label.setText(event.title)

    def _on_conversation_deleted(self, event: ConversationDeleted) -> None:
        self.sidebar.model.remove(event.conversation_id)
        if self._is_open(event.conversation_id):
            self.current_id = None
            self.current = None
            self.bridge.spawn(self._open_newest_or_new())

    def _shown(self, message: Message) -> bool:
        return any(
            w.message is not None and w.message.id == message.id for w in self.chat.message_widgets
        )

    def _agent_label(self) -> str:
        agent = self.agent_of(self.current)
        return agent.app_preset.name or agent.name if agent else ""

    def _touch(self, cid: str, message: Message) -> None:
        conversation = self.sidebar.model.get(cid)
        if conversation is None:
            if not self._search:  # active again, so at the top: its page may be far down
                self.bridge.spawn(self._list_one(cid))
            return
        updated = conversation.model_copy(
            update={
                "updated_at": message.created_at,
                "message_count": conversation.message_count + 1,
            }
        )
        self.sidebar.model.upsert(updated)

    def _on_conversation_changed(self, event: ConversationChanged | HistoryChanged) -> None:
        summary, cid = event.conversation, event.conversation_id
        if self._search and self.sidebar.model.get(cid) is None:
            return  # not part of the current search results
        self.sidebar.model.upsert(summary)
        if self._is_open(cid):
            assert self.current is not None
            self.current.agent_id = summary.agent_id
            self._sync_agent_combo()

    def show_error(self, text: str) -> None:
        self.banner.show_message(text)
        self.statusBar().showMessage(text, 8000)

    # Panels and dialogs --------------------------------------------------------

    def _toggle_context(self, shown: bool) -> None:
        sizes = self.splitter.sizes()
        self.context_editor.setVisible(shown)
        if shown and sizes[2] < self.context_editor.minimumWidth():
            # Take the panel's room from the chat, never from the conversation list.
            panel = max(self.context_editor.minimumWidth(), 340)
            self.splitter.setSizes([sizes[0], max(sizes[1] - panel, 300), panel])
        if shown and self.current_id:
            self.context_editor.load(self.current_id)

    def open_manage(self) -> None:
        from desktop_chat.ui.manage import open_manage_window  # loads on first use, not at start-up

        open_manage_window(self.core, self.bridge, self)

    def open_settings(self) -> None:
        from desktop_chat.ui.settings_dialog import SettingsDialog  # loads on first use

        dialog = SettingsDialog(self.core, self.bridge, self, api_runner=self.api)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.agents_changed.connect(lambda: self.bridge.spawn(self._load_agents()))
        dialog.settings_changed.connect(self._settings_changed)
        dialog.open()

    def _settings_changed(self, settings: object) -> None:
        from desktop_chat.ui.theme import apply_theme

        app = QGuiApplication.instance()
        self.chat.dark = apply_theme(app, self.core.settings.theme, self.core.settings.font_size)  # type: ignore[arg-type]
        self._reload_current()

    def _first_agent_created(self, agent: Agent) -> None:
        async def go() -> None:
            await self._load_agents()
            await self._create_conversation()
            self.center.setCurrentIndex(0)

        self.bridge.spawn(go())

    # Closing -------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            state = self._state()
            state.setValue("window/geometry", self.saveGeometry())
            if self.attached:
                self._stash_draft()
                state.setValue("window/splitter", self.splitter.saveState())
                state.setValue("window/context", self.context_button.isChecked())
                state.setValue("window/conversation", self.current_id or "")
            state.sync()
            self.closed.emit()
        event.accept()


def _summary(conversation: ConversationDetail) -> Conversation:
    """What the list shows of an opened conversation: all but its messages."""
    from desktop_chat.schemas import Conversation

    return Conversation.model_validate(conversation.model_dump(exclude={"messages"}))
