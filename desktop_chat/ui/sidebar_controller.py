"""Keeps the conversation list in step with the store, the session's search and the engine.

The list shows pages of summaries: the first page when the window starts or the search
changes, the next ones as it scrolls, and single rows for conversations that become
active far down (a reply ended there) or are opened before their page loaded. Its rows
then follow the engine's events, so it never reads the whole list again. Its context
menu's actions (rename, pin, export, delete) are here too.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from desktop_chat.engine.events import (
    ConversationChanged,
    ConversationDeleted,
    MessageStored,
    PathChanged,
    ReplyDelta,
    ReplyDone,
    TitleChanged,
)
from desktop_chat.schemas import Conversation, Message
from desktop_chat.session import ChatSession, ListPage
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.conversation_list import ID_ROLE
from desktop_chat.ui.conversation_sidebar import ConversationList
from desktop_chat.ui.i18n import t


def _snippets(page: ListPage) -> dict[str, str]:
    return {cid: hit.snippet for cid, hit in page.hits.items() if hit.snippet}


class SidebarController(QObject):
    notice = Signal(str)  # a short confirmation for the status bar

    def __init__(
        self,
        sidebar: ConversationList,
        session: ChatSession,
        bridge: EngineBridge,
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self.sidebar = sidebar
        self.model = sidebar.model
        self.session = session
        self.bridge = bridge
        self.window = window
        bridge.reply_delta.connect(self._on_delta)
        bridge.reply_done.connect(self._on_reply_done)
        bridge.message_stored.connect(self._on_message_stored)
        bridge.title_changed.connect(self._on_title_changed)
        bridge.conversation_changed.connect(self._on_conversation_changed)
        bridge.path_changed.connect(self._on_path_changed)
        bridge.conversation_deleted.connect(self._on_conversation_deleted)
        sidebar.search_changed.connect(self._on_search)
        sidebar.model.fetch_requested.connect(self._fetch_more)
        sidebar.rename_requested.connect(self.rename)
        sidebar.pin_requested.connect(self.pin)
        sidebar.export_requested.connect(self.export)
        sidebar.delete_requested.connect(self.delete)

    # Pages ------------------------------------------------------------------------------

    async def load(self) -> None:
        """Fill the list with its first page (of the search results, while searching)."""
        page = await self.session.first_page()
        if page is None:
            return  # a newer search is already on its way
        current = self.session.current_id
        shown = (self.model.get(current) if current else None) or self.session.current_summary()
        self.model.set_conversations(page.conversations, more=page.more, snippets=_snippets(page))
        self.sidebar.view.set_empty_text(
            t("No conversation matches “{query}”. Try fewer or other words.").format(
                query=self.session.search
            )
            if self.session.search
            else t("No conversations yet. Press Ctrl+N or New chat to start one.")
        )
        if shown is not None and not self.session.search and self.model.get(shown.id) is None:
            self.model.include(shown)  # the open conversation stays listed, wherever its page
        if current:
            self.select_quietly(current)

    def _fetch_more(self, after: Conversation) -> None:
        def add(page: ListPage | None) -> None:
            if page is not None:  # else it continues a list that was replaced since
                self.model.add_page(page.conversations, more=page.more, snippets=_snippets(page))

        self.bridge.run(self.session.next_page(after), add)

    async def list_one(self, conversation_id: str) -> bool:
        """List a conversation whose page is not loaded (to select it); False if it is gone."""
        if self.model.get(conversation_id) is None:
            summary = await self.session.summary(conversation_id)
            if summary is None:
                return False
            self.model.include(summary)
        return True

    def include_open(self) -> None:
        """The conversation just opened is listed and selected, wherever its page is."""
        summary = self.session.current_summary()
        if summary is not None and not self.session.search and self.model.get(summary.id) is None:
            self.model.include(summary)
            self.sidebar.select(summary.id)

    def show_new(self, conversation: Conversation) -> None:
        """A conversation made here (a fork): list it and open it."""
        self.model.upsert(conversation)
        self.sidebar.select(conversation.id)

    def select_quietly(self, conversation_id: str) -> None:
        """Show `conversation_id` selected without asking to open it."""
        self.sidebar.view.blockSignals(True)
        self.sidebar.select(conversation_id)
        self.sidebar.view.blockSignals(False)

    def first_listed(self) -> str | None:
        for row in range(self.model.rowCount()):
            conversation_id = self.model.index(row).data(ID_ROLE)
            if conversation_id:
                return str(conversation_id)
        return None

    def _on_search(self, text: str) -> None:
        self.session.set_search(text)
        self.bridge.spawn(self.load())

    def focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    # Engine events ----------------------------------------------------------------------

    def _on_delta(self, event: ReplyDelta) -> None:
        cid = event.conversation_id
        if self.model.get(cid) and not self.model.is_streaming(cid):
            self.model.set_streaming(cid, True)

    def _on_reply_done(self, event: ReplyDone) -> None:
        self.model.set_streaming(event.conversation_id, False)

    def _on_message_stored(self, event: MessageStored) -> None:
        self._touch(event.conversation_id, event.message)

    def _touch(self, cid: str, message: Message) -> None:
        conversation = self.model.get(cid)
        if conversation is None:
            if not self.session.search:  # active again, so at the top: its page may be far down
                self.bridge.spawn(self.list_one(cid))
            return
        updated = conversation.model_copy(
            update={
                "updated_at": message.created_at,
                "message_count": conversation.message_count + 1,
            }
        )
        self.model.upsert(updated)

    def _on_title_changed(self, event: TitleChanged) -> None:
        conversation = self.model.get(event.conversation_id)
        if conversation is not None:
            self.model.upsert(conversation.model_copy(update={"title": event.title}))

    def _on_conversation_changed(self, event: ConversationChanged) -> None:
        self._upsert(event.conversation)

    def _on_path_changed(self, event: PathChanged) -> None:
        self._upsert(event.conversation.summary())

    def _upsert(self, summary: Conversation) -> None:
        if self.session.search and self.model.get(summary.id) is None:
            return  # not part of the current search results
        self.model.upsert(summary)

    def _on_conversation_deleted(self, event: ConversationDeleted) -> None:
        self.model.remove(event.conversation_id)

    # The context menu ---------------------------------------------------------------------

    def rename(self, conversation_id: str) -> None:
        conversation = self.model.get(conversation_id)
        title, ok = QInputDialog.getText(
            self.window,
            t("Rename conversation"),
            t("Title:"),
            text=conversation.title if conversation else "",
        )
        if ok and title.strip():
            self.bridge.run(self.session.service.update_conversation(conversation_id, title=title))

    def pin(self, conversation_id: str, pinned: bool) -> None:
        self.bridge.run(self.session.service.update_conversation(conversation_id, pinned=pinned))

    def delete(self, conversation_id: str) -> None:
        conversation = self.model.get(conversation_id)
        title = conversation.title if conversation and conversation.title else t("New conversation")
        answer = QMessageBox.question(
            self.window,
            t("Delete conversation"),
            t("Delete “{title}” and all its messages? This cannot be undone.").format(title=title),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.bridge.run(self.session.service.delete_conversation(conversation_id))

    def export(self, conversation_id: str) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self.window,
            t("Export conversation"),
            "conversation.md",
            t("Markdown (*.md);;JSON (*.json)"),
        )
        if path:
            self.bridge.run(
                self.session.export(conversation_id, Path(path), "JSON" in chosen),
                lambda _: self.notice.emit(t("Exported to {path}").format(path=path)),
            )
