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
        # Listeners by the conversation they follow (None: every one), each map in the order
        # of subscription: an event costs its own listeners, not every listener of the app.
        self._listeners: dict[str | None, dict[int, Listener]] = {None: {}}
        self._ids = itertools.count()

    def subscribe(
        self, listener: Listener, conversation_id: str | None = None
    ) -> Callable[[], None]:
        """Call `listener` for every event (or one conversation's); returns the unsubscriber."""
        token = next(self._ids)
        self._listeners.setdefault(conversation_id, {})[token] = listener

        def unsubscribe() -> None:
            listeners = self._listeners.get(conversation_id)
            if listeners is not None:
                listeners.pop(token, None)
                if not listeners and conversation_id is not None:
                    del self._listeners[conversation_id]

        return unsubscribe

    @property
    def listener_count(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

    def publish(self, type_: EventType, conversation_id: str, data: dict[str, Any]) -> Event:
        event = Event(type=type_, conversation_id=conversation_id, seq=next(self._seq), data=data)
        listeners = list(self._listeners[None].items())
        followers = self._listeners.get(conversation_id)
        if followers:
            listeners = sorted([*listeners, *followers.items()], key=lambda item: item[0])
        for _, listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("An event listener failed on %s", type_)
        return event
