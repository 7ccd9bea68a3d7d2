"""Engine events as Qt signals, and a safe way to start coroutines from widgets.

Widgets never subscribe to the engine directly: the bridge is the one listener, so a
closed window cannot leave a callback behind, and every async task started from a slot
is kept alive (qasync's own slots drop their task references) and has its failure
reported to the user in words instead of a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_chat.engine import ConversationService
from desktop_chat.engine.events import (
    ConversationChanged,
    ConversationDeleted,
    EngineEvent,
    MessageStored,
    PathChanged,
    ReplyDelta,
    ReplyDone,
    ReplyFailed,
    ReplyStarted,
    TitleChanged,
    ToolApprovalRequested,
    ToolCallFinished,
    ToolCallStarted,
)
from desktop_chat.engine.failures import describe
from desktop_chat.ui.i18n import say, t

log = logging.getLogger(__name__)


def failure_sentence(exc: BaseException) -> str:
    """What to tell the user about `exc`: its own sentence, or for a bug a plain apology.

    A bug's traceback goes to the log, never into the window.
    """
    failure = describe(exc)
    if failure is not None:
        return say(failure.message)
    log.error("Unexpected error", exc_info=exc)
    return t("Something unexpected went wrong; the details are in the log.")


class EngineBridge(QObject):
    """One signal per kind of engine event, each carrying the event object."""

    message_stored = Signal(object)  # MessageStored
    reply_started = Signal(object)  # ReplyStarted
    reply_delta = Signal(object)  # ReplyDelta
    reply_done = Signal(object)  # ReplyDone
    reply_failed = Signal(object)  # ReplyFailed
    title_changed = Signal(object)  # TitleChanged
    conversation_changed = Signal(object)  # ConversationChanged
    path_changed = Signal(object)  # PathChanged
    conversation_deleted = Signal(object)  # ConversationDeleted
    tool_call_started = Signal(object)  # ToolCallStarted
    tool_approval_requested = Signal(object)  # ToolApprovalRequested
    tool_call_finished = Signal(object)  # ToolCallFinished
    failed = Signal(str)  # a sentence for the user

    def __init__(self, service: ConversationService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._tasks: set[asyncio.Task[Any]] = set()
        self._signals = {
            MessageStored: self.message_stored,
            ReplyStarted: self.reply_started,
            ReplyDelta: self.reply_delta,
            ReplyDone: self.reply_done,
            ReplyFailed: self.reply_failed,
            TitleChanged: self.title_changed,
            ConversationChanged: self.conversation_changed,
            PathChanged: self.path_changed,
            ConversationDeleted: self.conversation_deleted,
            ToolCallStarted: self.tool_call_started,
            ToolApprovalRequested: self.tool_approval_requested,
            ToolCallFinished: self.tool_call_finished,
        }
        self._unsubscribe = service.bus.subscribe(self._forward)

    def _forward(self, event: EngineEvent) -> None:
        signal = self._signals.get(type(event))
        if signal is not None:
            signal.emit(event)

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        on_done: Callable[[Any], None] | None = None,
    ) -> asyncio.Task[Any]:
        """Run `coro` on the loop; call `on_done(result)` on success, report failures."""
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)

        def finished(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is None:
                if on_done is not None:
                    on_done(t.result())
                return
            self.failed.emit(failure_sentence(exc))

        task.add_done_callback(finished)
        return task

    def run(
        self, work: Awaitable[Any] | None, on_done: Callable[[Any], None] | None = None
    ) -> None:
        """Run the work of an intent, when it has any (the session answers None otherwise)."""
        if work is not None:
            self.spawn(_awaited(work), on_done)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    def close(self) -> None:
        self._unsubscribe()


async def _awaited(work: Awaitable[Any]) -> Any:
    return await work
