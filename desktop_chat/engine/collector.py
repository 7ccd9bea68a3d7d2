"""Full garbage collections wait while replies stream.

A streaming reply keeps thousands of objects alive until it is stored (the engine keeps
every delta event for the local API's replay; the first request also loads the SDK's
types), and a full collection walks them all: mid-stream it paused the window for 15-30
ms, a dropped frame or two per reply, and held up every SSE stream of `serve` alike.
Young collections go on as usual; the full one postponed runs once the last reply is
done, when most of those objects are gone.
"""

from __future__ import annotations

import gc

from desktop_chat.engine.events import EngineEvent, ReplyDelta, ReplyDone
from desktop_chat.engine.service import ConversationService

NO_FULL_COLLECTION = 1 << 30  # a third threshold no program reaches


class FullCollectionsWaitForReplies:
    """Raises the collector's third threshold while any reply streams; `close()` undoes it."""

    def __init__(self, service: ConversationService) -> None:
        self._service = service
        self._streaming: set[str] = set()
        self._saved: tuple[int, int, int] | None = None
        self._unsubscribe = service.bus.subscribe(self._on_event)

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, ReplyDelta) and event.conversation_id not in self._streaming:
            self._streaming.add(event.conversation_id)
            if self._saved is None:
                self._saved = gc.get_threshold()
                young, middle, _ = self._saved
                gc.set_threshold(young, middle, NO_FULL_COLLECTION)
        elif isinstance(event, ReplyDone):
            # A reply that never ended (cancelled at shutdown) must not hold it forever.
            self._streaming = {
                cid
                for cid in self._streaming
                if cid != event.conversation_id and self._service.in_flight(cid)
            }
            if not self._streaming:
                self._restore()

    def _restore(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def close(self) -> None:
        self._unsubscribe()
        self._streaming.clear()
        self._restore()
