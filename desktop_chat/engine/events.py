"""What happens to conversations, as typed events, and the bus that tells everyone.

One class per kind of event, so a listener says what it wants with `isinstance` (or
`match`) and reads named fields; nobody compares type strings or re-parses dicts. The
local API turns them into its wire format in one place (api/events.py), the window's
bridge turns each class into its own Qt signal.

They are plain slotted dataclasses rather than pydantic models: a reply publishes one
`ReplyDelta` per chunk, and the engine keeps those of the reply in flight for the API's
replay, so each costs a few attribute slots and no validation.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from desktop_chat.schemas import Conversation, ConversationDetail, Message, MessageStatus

log = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class EngineEvent:
    """Something that happened to one conversation; `seq` is given by the bus."""

    conversation_id: str
    seq: int = 0


@dataclass(slots=True, kw_only=True)
class MessageStored(EngineEvent):
    """A message was written: the user's, or a reply once it ended (in any status)."""

    message: Message


@dataclass(slots=True, kw_only=True)
class ReplyStarted(EngineEvent):
    """A reply was asked for; it may wait for a free request slot before streaming."""

    agent_id: str
    model: str


@dataclass(slots=True, kw_only=True)
class ReplyDelta(EngineEvent):
    """A piece of the reply in flight: answer text, reasoning, or both."""

    text: str
    reasoning: str


@dataclass(slots=True, kw_only=True)
class ReplyDone(EngineEvent):
    """The reply in flight ended; `message_id` is None when it could not be stored."""

    status: MessageStatus
    message_id: int | None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    duration_ms: float | None = None


@dataclass(slots=True, kw_only=True)
class ReplyFailed(EngineEvent):
    """A reply failed, or could not be saved: `message` is the sentence for the user."""

    kind: str
    message: str
    retryable: bool = False
    retry_after: float | None = None


@dataclass(slots=True, kw_only=True)
class TitleChanged(EngineEvent):
    title: str


@dataclass(slots=True, kw_only=True)
class ConversationChanged(EngineEvent):
    """A conversation was created, imported, renamed, pinned or moved to another agent.

    `conversation` is its summary, as the conversation list shows it (no messages).
    """

    conversation: Conversation


@dataclass(slots=True, kw_only=True)
class PathChanged(EngineEvent):
    """The current path changed other than by a message added at its end.

    A version chosen, a reply regenerated (the path now ends at its question), a
    question edited, a message deleted, the context replaced. `conversation` holds the
    new path and its versions, so views show it without reading it again.
    """

    conversation: ConversationDetail


@dataclass(slots=True, kw_only=True)
class ConversationDeleted(EngineEvent):
    pass


@dataclass(slots=True, kw_only=True)
class ToolApprovalRequested(EngineEvent):
    """A tool call waits for the user: run it once, always, or refuse it.

    `arguments` is the JSON text the model sent, cut to a size a prompt can show.
    """

    call_id: str
    server: str
    tool: str
    arguments: str


@dataclass(slots=True, kw_only=True)
class ToolCallStarted(EngineEvent):
    """The model called a tool (before approval); `arguments` cut to a size to show."""

    call_id: str
    server: str
    tool: str
    arguments: str


@dataclass(slots=True, kw_only=True)
class ToolCallFinished(EngineEvent):
    """A tool call ended: its result, or the sentence of its error (cut to show)."""

    call_id: str
    server: str
    tool: str
    result: str
    is_error: bool
    duration_ms: float
    message_id: int | None = None  # the stored tool message, when it was stored


Listener = Callable[[EngineEvent], None]
E = TypeVar("E", bound=EngineEvent)


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
        # Who hears an event of a followed conversation (its key) or of any other (None),
        # in subscription order: made when first needed after a change, not per event.
        self._merged: dict[str | None, list[Listener]] = {}
        self._ids = itertools.count()

    def subscribe(
        self, listener: Listener, conversation_id: str | None = None
    ) -> Callable[[], None]:
        """Call `listener` for every event (or one conversation's); returns the unsubscriber."""
        token = next(self._ids)
        self._listeners.setdefault(conversation_id, {})[token] = listener
        self._merged.clear()

        def unsubscribe() -> None:
            listeners = self._listeners.get(conversation_id)
            if listeners is not None:
                listeners.pop(token, None)
                if not listeners and conversation_id is not None:
                    del self._listeners[conversation_id]
                self._merged.clear()

        return unsubscribe

    @property
    def listener_count(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

    def publish(self, event: E) -> E:
        """Number `event` and hand it to its listeners, in the order they subscribed."""
        event.seq = next(self._seq)
        key = event.conversation_id if event.conversation_id in self._listeners else None
        listeners = self._merged.get(key)
        if listeners is None:
            listeners = self._merged[key] = self._merge(key)
        # A listener that subscribes or leaves meanwhile changes the next event's list.
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("An event listener failed on %s", type(event).__name__)
        return event

    def _merge(self, conversation_id: str | None) -> list[Listener]:
        items = list(self._listeners[None].items())
        if conversation_id is not None:
            items = sorted([*items, *self._listeners[conversation_id].items()])
        return [listener for _, listener in items]
