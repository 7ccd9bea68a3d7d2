"""A deadline on a stream's progress: the time without content, whatever else arrives.

The HTTP read timeout restarts with every byte, so a proxy that sends keep-alive comments
(or chunks without text) while nothing happens would hold a reply for ever. This bounds the
time between two pieces of content instead.

`asyncio.timeout_at` around each read would do the same, but it arms and cancels a timer
per chunk: several microseconds, as much as the rest of the engine spends on a chunk. Here
one timer serves the whole stream: content only moves the deadline, and the timer, when it
fires early, re-arms itself for the moved deadline. Reads are interrupted only while one
is under way, never the consumer between two chunks: a cancellation landing there would
look like a Stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

END = object()  # what read() returns when the stream has no more chunks


class ContentDeadline:
    """Fails reads once `timeout` seconds pass without `progress()`; close() when done."""

    def __init__(self, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._timeout = timeout
        self._deadline = self._loop.time() + timeout
        self._reading = False
        self._cancelled = False
        self._handle: asyncio.TimerHandle | None = self._loop.call_at(self._deadline, self._fire)

    def progress(self) -> None:
        """Content arrived: the time without it starts again (no timer work here)."""
        self._deadline = self._loop.time() + self._timeout

    async def read(self, chunks: AsyncIterator[Any]) -> Any:
        """The next chunk, or END; TimeoutError once the deadline passes without content."""
        if self._loop.time() >= self._deadline:  # passed while the consumer was busy
            raise TimeoutError
        self._reading = True
        try:
            return await anext(chunks, END)
        except asyncio.CancelledError:
            # Ours, unless a Stop came at the same moment: that one keeps its cancellation.
            if self._cancelled and self._task is not None:
                self._cancelled = False
                if self._task.uncancel() == 0:
                    raise TimeoutError from None
            raise
        finally:
            self._reading = False

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if self._loop.time() < self._deadline:  # content came since the timer was armed
            self._handle = self._loop.call_at(self._deadline, self._fire)
        elif self._reading and self._task is not None:
            self._cancelled = True
            self._task.cancel()
        # Else the consumer is busy between two reads: read() fails the next one.
