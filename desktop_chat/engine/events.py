"""The event bus: the one channel through which the window and the API learn what happened."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from desktop_chat.schemas import Event, EventType

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out on the event loop's thread.

    Sequence ids start from the wall clock in microseconds and count up by one per event,
    so they rise across restarts too: a client that reconnects with an old Last-Event-ID
    is never mistaken for one that is ahead.
    """

    def __init__(self) -> None:
        self._seq = itertools.count(time.time_ns() // 1000)
        self._listeners: dict[int, tuple[str | None, Listener]] = {}
        self._ids = itertools.count()

    def subscribe(
        self, listener: Listener, conversation_id: str | None = None
    ) -> Callable[[], None]:
        """Call `listener` for every event (or one conversation's); returns the unsubscriber."""
        token = next(self._ids)
        self._listeners[token] = (conversation_id, listener)
        return lambda: self._listeners.pop(token, None)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def publish(self, type_: EventType, conversation_id: str, data: dict[str, Any]) -> Event:
        event = Event(type=type_, conversation_id=conversation_id, seq=next(self._seq), data=data)
        for wanted, listener in list(self._listeners.values()):
            if wanted is not None and wanted != conversation_id:
                continue
            try:
                listener(event)
            except Exception:
                log.exception("An event listener failed on %s", type_)
        return event
