"""One request through the OpenAI-compatible gateway, from its slot to its last chunk.

The engine's task (gateway.py) produces; the API's handler consumes. Between them sits a
small buffer with backpressure: when the client reads slowly, the task stops reading from
upstream instead of holding a reply's worth of chunks in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from desktop_chat.engine.errors import EngineError
from desktop_chat.schemas import Agent

HIGH_WATER = 64  # chunks waiting for the client before upstream is read no further


class GatewayError(EngineError):
    """A refusal or an upstream failure, with the HTTP status a gateway answers it with."""

    def __init__(
        self, status: int, kind: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(kind, message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class GatewayRequest:
    """A chat-completions request as a client sent it, checked by the API.

    `model` names an agent; `params` holds every other field (temperature, tools, ...),
    passed on as it is, over the agent's own parameters.
    """

    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    include_usage: bool = False
    params: dict[str, Any] = field(default_factory=dict)


class GatewayCall:
    """A request in flight; what the Manage window's live view shows of it, too."""

    def __init__(self, call_id: str, token: str, agent: Agent, request: GatewayRequest) -> None:
        self.id = call_id
        self.token = token
        self.agent = agent
        self.request = request
        self.queued = True  # waiting for a free request slot
        self.started = time.monotonic()  # reset when the slot is granted, as for replies
        self.first_token: float | None = None
        self.tokens = 0  # chunks with text or reasoning, as the live view counts them
        self.task: asyncio.Task[None] | None = None
        self.cancel_reason: GatewayError | None = None
        loop = asyncio.get_running_loop()
        self._answer: asyncio.Future[dict[str, Any] | None] = loop.create_future()
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._ended = False
        self._failure: GatewayError | None = None

    async def answer(self) -> dict[str, Any] | None:
        """The whole answer (not streamed), or None once a stream has its first chunk.

        Raises GatewayError when the request failed before that: the client still gets
        a status of its own (a 429 with its Retry-After, a 404 for an unknown model).
        """
        return await self._answer

    async def chunks(self) -> AsyncIterator[dict[str, Any]]:
        """The stream's chunks as upstream sent them; GatewayError if it fails midway."""
        while True:
            while self._pending:
                chunk = self._pending.popleft()
                self._room.set()
                yield chunk
            if self._ended:
                if self._failure is not None:
                    raise self._failure
                return
            self._wake.clear()
            await self._wake.wait()

    def cancel(self, reason: GatewayError | None = None) -> None:
        """Abort the request upstream: the client went away (None), or `reason`.

        Once it has ended there is nothing to abort, and its usage record is being
        written: that is left to finish.
        """
        if self.task is not None and not self._ended:
            if self.cancel_reason is None:
                self.cancel_reason = reason
            self.task.cancel()

    # Called by the engine's task -------------------------------------------------------

    async def put(self, chunk: dict[str, Any]) -> None:
        if not self._answer.done():
            self._answer.set_result(None)
        self._pending.append(chunk)
        self._wake.set()
        if len(self._pending) >= HIGH_WATER:
            self._room.clear()
            await self._room.wait()

    def answered(self, answer: dict[str, Any]) -> None:
        if not self._answer.done():
            self._answer.set_result(answer)

    def end(self, failure: GatewayError | None) -> None:
        """No more chunks; `failure` goes to whoever is still waiting."""
        self._ended = True
        self._failure = failure
        if not self._answer.done():
            if failure is not None:
                self._answer.set_exception(failure)
                self._answer.exception()  # told to whoever awaits it; no one else must log it
            else:
                self._answer.set_result(None)
        self._wake.set()
