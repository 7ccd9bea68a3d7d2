"""The main window: conversation list, chat view, composer and the context panel.

It lays out widgets, renders what the session (desktop_chat/session.py) and the engine's
events say, and turns clicks and keys into the session's intents. Which conversation is
open, what a send means, where drafts go: the session decides, without Qt. Everything
shown comes back as engine events through the bridge, so a reply started elsewhere (the
command line, the local API) shows here the same way.

It starts in two steps so that it appears at once: `MainWindow(paths)` is a frame in the
user's theme and size, which paints before the engine, the database and pydantic have
loaded; `attach(core, bridge)` then builds the real content. That is why this module
imports only Qt at the top, and the rest where it is first used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_chat import APP_DISPLAY_NAME
from desktop_chat.ui.i18n import say, t
from desktop_chat.ui.window_parts import SIDEBAR_WIDTH, FrameSkeleton

if TYPE_CHECKING:
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
    from desktop_chat.paths import AppPaths
    from desktop_chat.schemas import Agent, ConversationDetail
    from desktop_chat.ui.bridge import EngineBridge

log = logging.getLogger(__name__)


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
        self.ready = False  # the content is built and the last conversation is shown
        self._closing = False
        self._after_content: list[Callable[[], object]] = []
        self._content_painted = False

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
        from desktop_chat.session import ChatSession
        from desktop_chat.ui.chat_view import ChatView
        from desktop_chat.ui.compose_controller import ComposeController
        from desktop_chat.ui.composer import Composer
        from desktop_chat.ui.context_editor import ContextEditor
        from desktop_chat.ui.conversation_sidebar import ConversationList
        from desktop_chat.ui.file_drop import FileDrop
        from desktop_chat.ui.first_run import FirstRunPane
        from desktop_chat.ui.sidebar_controller import SidebarController
        from desktop_chat.ui.tool_block import ToolPanel
        from desktop_chat.ui.window_dialogs import WindowDialogs
        from desktop_chat.ui.window_parts import ChatHeader, ErrorBanner, QueueBar

        self.core = core
        self.bridge = bridge
        self.session = ChatSession(core.service)
        self.api = core.api
        self.dialogs = WindowDialogs(core, bridge, self)
        self.sidebar = ConversationList()
        self.sidebar.setMinimumWidth(200)
        self.list = SidebarController(self.sidebar, self.session, bridge, self)
        self.header = ChatHeader()
        self.chat = ChatView()
        self.chat.dark = self.dark
        self.composer = Composer()
        self.banner = ErrorBanner()
        self.queue_bar = QueueBar()
        self.tool_panel = ToolPanel(bridge, core.tools.approvals)
        self.compose = ComposeController(
            self.session, bridge, self.composer, self.queue_bar, self.banner, self.chat
        )
        self.composer.tray.limits = lambda: core.service.config.attachments
        self.chat.files = core.service.attachment_folder
        self.file_drop = FileDrop(self, self.composer.tray)
        self.context_editor = ContextEditor(bridge)
        self.context_editor.setMinimumWidth(280)
        self.context_editor.hide()

        chat_pane = QWidget()
        chat_layout = QVBoxLayout(chat_pane)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        chat_layout.addWidget(self.header)
        chat_layout.addWidget(self.chat, 1)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(24, 0, 24, 0)
        banner_row.addWidget(self.banner)
        chat_layout.addLayout(banner_row)
        queue_row = QHBoxLayout()
        queue_row.setContentsMargins(24, 0, 24, 0)
        queue_row.addWidget(self.queue_bar)
        chat_layout.addLayout(queue_row)
        tool_row = QHBoxLayout()  # the calls running, and those waiting for approval
        tool_row.setContentsMargins(24, 0, 24, 0)
        tool_row.addWidget(self.tool_panel)
        chat_layout.addLayout(tool_row)
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
        bridge.path_changed.connect(self._on_path_changed)
        bridge.conversation_deleted.connect(self._on_conversation_deleted)
        bridge.failed.connect(self.show_error)
        self.sidebar.selected.connect(self.open_conversation)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.list.notice.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.header.agent_combo.activated.connect(self._agent_chosen)
        self.header.context_button.toggled.connect(self._toggle_context)
        self.header.manage_button.clicked.connect(self.dialogs.open_manage)
        self.header.settings_button.clicked.connect(self.dialogs.open_settings)
        self.dialogs.agents_changed.connect(lambda: self.bridge.spawn(self._load_agents()))
        self.dialogs.settings_changed.connect(self._settings_changed)
        self.dialogs.notice.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.banner.action_clicked.connect(
            lambda: self.dialogs.open_settings(agent_id=self._current_agent_id())
        )
        self.compose.notice.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.compose.forked.connect(self.list.show_new)
        self.chat.version_requested.connect(
            lambda message_id: self.bridge.run(self.session.show_version(message_id))
        )
        self.chat.notice.connect(lambda text: self.statusBar().showMessage(text, 2500))

    def _shortcuts(self) -> None:
        """One action per key combination: two with the same keys make Qt fire neither.

        (`StandardKey.New` is Ctrl+N on Linux and Windows, so it and "Ctrl+N" together
        silenced Ctrl+N.) README's "Shortcuts" line lists these; a test presses each.
        """

        def action(keys: str, slot: object, name: str) -> None:
            act = QAction(name, self)
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(slot)
            self.addAction(act)

        action("Ctrl+N", self.new_conversation, t("New conversation"))
        action("Ctrl+F", self.list.focus_search, t("Search"))
        action("Ctrl+,", self.dialogs.open_settings, t("Settings"))
        action("Ctrl+M", self.dialogs.open_manage, t("Manage…"))
        action("Ctrl+Shift+C", self.compose.copy_last_reply, t("Copy the last reply"))
        action("Ctrl+Q", self.close, t("Quit"))
        action("Esc", self.compose.stop, t("Stop"))

    def _state(self) -> QSettings:
        """Window state lives beside the settings, so DESKTOP_CHAT_HOME moves it too."""
        return QSettings(str(self.paths.config / "window.ini"), QSettings.Format.IniFormat)

    # Start-up --------------------------------------------------------------------

    async def start(self) -> None:
        """Load agents and conversations, restore the last session's state."""
        await self._load_agents()
        await self.list.load()
        await self.api.apply(self.core.settings)
        if self.api.error:
            self.show_error(say(self.api.error))
        state = self._state()
        splitter = state.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        self.header.context_button.setChecked(state.value("window/context", False, type=bool))
        last = state.value("window/conversation", "", type=str)
        if not self.session.agents:
            self.center.setCurrentWidget(self.first_run)
            self._content_shown(self.first_run)
        elif last and await self.list.list_one(last):
            self.sidebar.select(last)
        else:
            await self._open_newest_or_new()
        self.ready = True

    async def _open_newest_or_new(self) -> None:
        newest = self.list.first_listed()
        if newest is not None:
            self.sidebar.select(newest)
        else:
            await self._create_conversation()

    async def _load_agents(self) -> None:
        agents = await self.session.load_agents()
        choices = [(f"{a.app_preset.icon or ''} {a.name}".strip(), a.agent_id) for a in agents]
        self.header.set_agents(choices, self._current_agent_id())

    def _current_agent_id(self) -> str | None:
        agent = self.session.current_agent
        return agent.agent_id if agent else None

    # Conversations ------------------------------------------------------------

    def new_conversation(self) -> None:
        if not self.session.agents:
            self.center.setCurrentWidget(self.first_run)
            return
        self.bridge.spawn(self._create_conversation())

    async def _create_conversation(self) -> None:
        created = await self.session.create_conversation()
        self.sidebar.model.upsert(created)
        self.sidebar.select(created.id)
        self.composer.edit.setFocus()

    def open_conversation(self, conversation_id: str) -> None:
        if conversation_id == self.session.current_id:
            return
        if not self.context_editor.may_leave():
            if self.session.current_id:
                self.list.select_quietly(self.session.current_id)
            return
        self.bridge.run(self.session.switch_to(conversation_id, self.composer.text()))
        self.bridge.spawn(self._open(self.session.load(), fresh=True))

    def _reload_current(self) -> None:
        self.bridge.spawn(self._open(self.session.reopen(), fresh=False))

    async def _open(self, loading: Awaitable[ConversationDetail | None], fresh: bool) -> None:
        # Shown in the same step as the session takes it: no event falls in between.
        self._show_open(await loading, fresh)

    def when_content_painted(self, callback: Callable[[], object]) -> None:
        """Call `callback` once, after the list and the first conversation opened (or the
        first-run pane) have been painted: background work started earlier would hold the
        interpreter while the window builds what the person is waiting to see."""
        if self._content_painted:
            QTimer.singleShot(0, callback)
        else:
            self._after_content.append(callback)

    def _content_shown(self, page: QWidget) -> None:
        """`page` now shows what the window opened on: run the waiting callbacks once it
        has painted."""
        if self._after_content and not self._content_painted:
            from desktop_chat.ui.chat_parts import AfterFirstPaint

            callbacks, self._after_content = self._after_content, []

            def run() -> None:
                self._content_painted = True
                for callback in callbacks:
                    callback()

            AfterFirstPaint(page, run)

    def _show_open(self, detail: ConversationDetail | None, fresh: bool) -> None:
        """Render the conversation just read; `fresh` when it was just opened, not re-read."""
        if detail is None:
            return  # the user moved on while it loaded
        session = self.session
        self.list.include_open()
        self.center.setCurrentIndex(0)
        self.header.set_title(detail.title)
        self.header.show_agent(self._current_agent_id())
        hit = session.landing() if fresh else None
        self.chat.show_conversation(
            detail.messages,
            session.current_agent,
            detail.versions,
            reveal=hit.message_id if hit else None,
            terms=session.search,
        )
        reply = session.service.in_flight(detail.id)
        if reply is not None:
            self.chat.begin_stream(reply.content, reply.reasoning_text)
        self.composer.set_busy(reply is not None)
        self.queue_bar.show_queue(session.queued())
        if fresh:
            self.banner.hide()
            self.composer.set_text(session.draft())
            self.composer.tray.show_for(detail.id)
        if self.context_editor.isVisible():
            self.context_editor.load(detail.id)
        self._content_shown(self.chat.viewport())

    def _agent_chosen(self, index: int) -> None:
        agent_id = self.header.agent_combo.itemData(index)
        if agent_id:
            self.bridge.run(self.session.choose_agent(agent_id))

    # Engine events -------------------------------------------------------------

    def _on_reply_started(self, event: ReplyStarted) -> None:
        if self.session.is_open(event.conversation_id):
            self.composer.set_busy(True)
            if not self.chat.streaming:
                self.chat.begin_stream()

    def _on_delta(self, event: ReplyDelta) -> None:
        if self.session.is_open(event.conversation_id):
            self.chat.append_delta(event.text, event.reasoning)

    def _on_message_stored(self, event: MessageStored) -> None:
        message, cid = event.message, event.conversation_id
        self.session.note_change(cid)
        shown = self.chat.shows(message.id)
        if self.session.message_stored(message) and (message.role == "assistant" or not shown):
            self.chat.add_message(message)

    def _on_reply_done(self, event: ReplyDone) -> None:
        cid = event.conversation_id
        is_open = self.session.is_open(cid)
        if is_open:
            self.composer.set_busy(False)
            if self.chat.streaming:
                self.chat.cancel_stream()
            self.bridge.run(self.session.keep_draft(self.composer.text()))
        self.bridge.run(self.session.reply_ended(cid, event.status))
        if is_open:
            self.queue_bar.show_queue(self.session.queued())
            if self.composer.text() != self.session.draft():  # the queue came back
                self.composer.set_text(self.session.draft())

    def _on_reply_failed(self, event: ReplyFailed) -> None:
        if self.session.is_open(event.conversation_id):
            # A missing key is fixed in the agent's key field: offer to open it.
            action = t("Enter the key") if event.kind == "no_key" else ""
            self.show_error(say(event.message), action)

    def _on_title_changed(self, event: TitleChanged) -> None:
        if self.session.is_open(event.conversation_id):
            self.header.set_title(event.title)

    def _on_conversation_changed(self, event: ConversationChanged | PathChanged) -> None:
        current = self.session.current
        if current is not None and current.id == event.conversation_id:
            current.agent_id = event.conversation.agent_id
            self.header.show_agent(self._current_agent_id())
            self.chat.agent = self.session.current_agent  # names the next reply

    def _on_path_changed(self, event: PathChanged) -> None:
        self._on_conversation_changed(event)
        self.session.note_change(event.conversation_id)
        detail = event.conversation
        if self.session.path_changed(detail):
            self.chat.show_path(detail.messages, detail.versions, self.session.current_agent)

    def _on_conversation_deleted(self, event: ConversationDeleted) -> None:
        if self.session.closed(event.conversation_id):
            self.bridge.spawn(self._open_newest_or_new())

    def show_error(self, text: str, action: str = "") -> None:
        self.banner.show_message(text, action)
        self.statusBar().showMessage(text, 8000)

    # Panels and dialogs --------------------------------------------------------

    def _toggle_context(self, shown: bool) -> None:
        sizes = self.splitter.sizes()
        self.context_editor.setVisible(shown)
        if shown and sizes[2] < self.context_editor.minimumWidth():
            # Take the panel's room from the chat, never from the conversation list.
            panel = max(self.context_editor.minimumWidth(), 340)
            self.splitter.setSizes([sizes[0], max(sizes[1] - panel, 300), panel])
        if shown and self.session.current_id:
            self.context_editor.load(self.session.current_id)

    def _settings_changed(self) -> None:
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
                self.bridge.run(self.session.keep_draft(self.composer.text()))
                state.setValue("window/splitter", self.splitter.saveState())
                state.setValue("window/context", self.header.context_button.isChecked())
                state.setValue("window/conversation", self.session.current_id or "")
            state.sync()
            self.closed.emit()
        event.accept()
