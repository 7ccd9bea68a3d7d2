"""The end of each conversation's last reply, for clients that reconnect after it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from desktop_chat.engine.events import (
    ConversationDeleted,
    EngineEvent,
    EventBus,
    MessageStored,
)


@dataclass(frozen=True)
class FinalRecord:
    seq: int
    message_id: int | None


class FinalMessages:
    """Remembers the sequence id and message id of each conversation's last stored reply.

    The engine forgets a reply once it is stored; this is how a client reconnecting after
    that learns whether it missed the end. Bounded: the least recently finished
    conversations are forgotten first, and a client asking about one of those simply gets
    the last stored reply again (a `message` event is an idempotent upsert by id).
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._records: OrderedDict[str, FinalRecord] = OrderedDict()
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self, bus: EventBus) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = bus.subscribe(self._on_event)

    def detach(self) -> None:
        """Stop following the bus, and forget: replies may end before `attach` again.

        A record kept across a stop would be stale once another reply ends meanwhile, and
        would tell a client resuming after that that there is nothing newer to resend.
        Without records, such a client gets the last stored reply (see sse.py).
        """
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._records.clear()

    def get(self, conversation_id: str) -> FinalRecord | None:
        return self._records.get(conversation_id)

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, ConversationDeleted):
            self._records.pop(event.conversation_id, None)
        elif isinstance(event, MessageStored) and event.message.role == "assistant":
            record = FinalRecord(event.seq, event.message.id)
            self._records[event.conversation_id] = record
            self._records.move_to_end(event.conversation_id)
            while len(self._records) > self._capacity:
                self._records.popitem(last=False)
