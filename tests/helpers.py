"""Small waiting helpers: tests wait on events and conditions, never on the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from desktop_chat.engine import ConversationService
from desktop_chat.engine.events import EngineEvent, ReplyDone

E = TypeVar("E", bound=EngineEvent)


class EventLog:
    """Records the bus's events and lets a test await a particular one."""

    def __init__(self, service: ConversationService, conversation_id: str | None = None) -> None:
        self.events: list[EngineEvent] = []
        self._changed = asyncio.Event()
        self.unsubscribe = service.bus.subscribe(self._on_event, conversation_id)

    def _on_event(self, event: EngineEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[E], conversation_id: str | None = None) -> list[E]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and conversation_id in (None, e.conversation_id)
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def done(
        self, conversation_id: str, count: int = 1, timeout: float = 10.0
    ) -> ReplyDone:
        await self.wait_for(lambda: len(self.of(ReplyDone, conversation_id)) >= count, timeout)
        return self.of(ReplyDone, conversation_id)[count - 1]


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
    """Let the loop run until `predicate()` is true; fail with `what` after `timeout`.

    For conditions nothing signals (a file's content, a widget's state); events have
    EventLog.wait_for.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)
