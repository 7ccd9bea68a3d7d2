"""What the composer and the messages' buttons ask for: send, stop, queue, edit, retry, fork.

The session decides what each means; this turns the answers into what the composer,
the queue and the banner show, so that the main window only wires it in.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QMessageBox

from desktop_chat.schemas import ConversationDetail, Message
from desktop_chat.session import ChatSession
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.chat_view import ChatView
from desktop_chat.ui.composer import Composer
from desktop_chat.ui.i18n import t
from desktop_chat.ui.window_parts import ErrorBanner, QueueBar


class ComposeController(QObject):
    notice = Signal(str)  # a short confirmation for the status bar
    forked = Signal(object)  # Conversation: a fork made here, to list and open

    def __init__(
        self,
        session: ChatSession,
        bridge: EngineBridge,
        composer: Composer,
        queue_bar: QueueBar,
        banner: ErrorBanner,
        chat: ChatView,
    ) -> None:
        super().__init__(composer)
        self.session = session
        self.bridge = bridge
        self.composer = composer
        self.queue_bar = queue_bar
        self.banner = banner
        self.chat = chat
        composer.send.connect(self.send)
        composer.tray.refused.connect(banner.show_message)
        composer.stop.connect(self.stop)
        queue_bar.cancel_requested.connect(self.cancel_queued)
        chat.question_clicked.connect(self.send)
        chat.message_action.connect(self.message_action)

    def send(self, text: str) -> None:
        tray = self.composer.tray
        if tray.files() and self.session.replying:
            self.notice.emit(t("Wait for the reply being written to end, then send the files."))
            return
        files = tray.take()
        sending = self.session.send(text, files)
        if sending is None:
            if self.session.queued():  # a reply is being written: sent when it ends
                self.composer.set_text("")
                self.queue_bar.show_queue(self.session.queued())
            return
        conversation_id = self.session.current_id
        self.banner.hide()
        self.composer.set_text("")
        self.composer.set_busy(True)

        async def go() -> None:
            try:
                await sending
            except BaseException:
                if conversation_id == self.session.current_id:
                    self.composer.set_busy(False)
                    self.composer.set_text(text)  # give the words back: nothing lost
                    tray.set_files(files)  # and the files
                raise

        self.bridge.spawn(go())

    def stop(self) -> None:
        self.bridge.run(self.session.stop())

    def cancel_queued(self, index: int) -> None:
        """The queued message goes back into the composer, in front of what is typed."""
        text = self.session.cancel_queued(index)
        typed = self.composer.text()
        self.composer.set_text(f"{text}\n\n{typed}" if typed.strip() else text)
        self.queue_bar.show_queue(self.session.queued())

    def message_action(self, action: str, message: Message) -> None:
        if self.session.current_id is None or message is None:
            return
        if action == "edit":
            self.session.begin_edit(message)
            self.composer.set_text(message.content)
            self.composer.edit.setFocus()
            self.notice.emit(
                t("Editing: sending makes a new version of this message; the old one stays")
            )
        elif action == "delete" and message.id is not None:
            self._delete(message.id)
        elif action in ("regenerate", "retry"):
            self._regenerate()
        elif action == "fork" and message.id is not None:
            self.bridge.run(self.session.fork(message.id), self._open_fork)
        elif action == "continue":
            self.send(t("Continue"))

    def _delete(self, message_id: int) -> None:
        """One message, or it and what follows: asked only when something follows it."""
        if not self.session.followed(message_id):
            self.bridge.run(self.session.delete_message(message_id))
            return
        box = QMessageBox(self.composer.window())
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(t("Delete message"))
        box.setText(t("Messages follow this one. Delete only it, or it and what follows?"))
        only = box.addButton(t("Only this message"), QMessageBox.ButtonRole.AcceptRole)
        everything = box.addButton(t("It and what follows"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(button: QAbstractButton) -> None:
            if button in (only, everything):
                deleting = self.session.delete_message(
                    message_id, with_replies=button is everything
                )
                self.bridge.run(deleting)

        box.buttonClicked.connect(chosen)
        box.open()  # not exec(): the event loop (and the replies streaming) go on meanwhile

    def _regenerate(self) -> None:
        regenerating = self.session.regenerate()
        if regenerating is None:
            return
        self.composer.set_busy(True)

        async def go() -> None:
            try:
                await regenerating
            except BaseException:
                self.composer.set_busy(self.session.replying)
                raise

        self.bridge.spawn(go())

    def _open_fork(self, fork: ConversationDetail) -> None:
        self.forked.emit(fork.summary())
        self.notice.emit(t("Forked into a new conversation"))

    def copy_last_reply(self) -> None:
        text = self.chat.last_reply_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.notice.emit(t("Last reply copied"))
