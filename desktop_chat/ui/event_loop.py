"""The window's asyncio loop: qasync's, with delayed callbacks under one Qt timer.

qasync starts a Qt timer for every `call_later` and `call_at`, and a cancelled handle
keeps its timer until the delay has passed. aiohttp moves a response's read timeout with
every chunk it receives (cancel, then schedule again), so a 20,000-token reply left about
13,500 cancelled timers behind, each alive for the 60 s timeout. Past 50,000 of them the
window's loop slept for 200-400 ms at a time, and when they came due, each was a Python
call. Here delayed handles wait in a heap, as in asyncio's own loop, and one precise Qt
timer wakes the loop for the earliest; cancelled ones are dropped when they reach the top
or when they are most of the heap. Callbacks due now still go through qasync.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from contextvars import Context
from typing import Any

import qasync
from PySide6.QtCore import QCoreApplication, Qt, QTimer

# As asyncio's loop: rebuild the heap once cancelled handles are half of it (and many).
_COMPACT_FROM = 100
# A Qt timer's interval is a 32-bit count of milliseconds; a later handle is woken for
# after an hour's wait, which sets the timer again.
_LONGEST_WAIT_MS = 3_600_000


class AppEventLoop(qasync.QEventLoop):
    def __init__(self, app: QCoreApplication | None = None, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._delayed: list[asyncio.TimerHandle] = []
        self._cancelled_delayed = 0
        self._wake = QTimer()
        self._wake.setSingleShot(True)
        self._wake.setTimerType(Qt.TimerType.PreciseTimer)
        self._wake.timeout.connect(self._run_due)
        self._wake_at = math.inf  # when the Qt timer is set to fire, in loop time

    def call_later(
        self, delay: float, callback: Any, *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        if delay <= 0:
            return super().call_later(0, callback, *args, context=context)
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def call_at(
        self, when: float, callback: Any, *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        if when <= self.time():
            return super().call_later(0, callback, *args, context=context)
        self._check_closed()
        handle = asyncio.TimerHandle(when, callback, args, self, context)
        handle._scheduled = True  # so that cancel() tells _timer_handle_cancelled
        heapq.heappush(self._delayed, handle)
        if when < self._wake_at:
            self._set_wake(when)
        return handle

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        if not handle._scheduled:  # it has run, or left the heap already
            return
        self._cancelled_delayed += 1
        if len(self._delayed) > _COMPACT_FROM and self._cancelled_delayed * 2 > len(self._delayed):
            kept = [h for h in self._delayed if not h.cancelled()]
            for dropped in self._delayed:
                if dropped.cancelled():
                    dropped._scheduled = False
            heapq.heapify(kept)
            self._delayed = kept
            self._cancelled_delayed = 0

    def _set_wake(self, when: float) -> None:
        self._wake_at = when
        # Rounded up: waking before the handle is due would only set the timer again.
        wait = math.ceil((when - self.time()) * 1000)
        self._wake.start(min(max(0, wait), _LONGEST_WAIT_MS))

    def _run_due(self) -> None:
        self._wake_at = math.inf
        now = self.time()
        due: list[asyncio.TimerHandle] = []
        while self._delayed and (self._delayed[0].cancelled() or self._delayed[0].when() <= now):
            handle = heapq.heappop(self._delayed)
            handle._scheduled = False
            if handle.cancelled():
                self._cancelled_delayed -= 1
            else:
                due.append(handle)
        if self._delayed:
            self._set_wake(self._delayed[0].when())
        for handle in due:
            if not handle.cancelled():  # an earlier one in this batch may cancel it
                handle._run()

    def close(self) -> None:
        super().close()
        self._wake.stop()
        for handle in self._delayed:
            handle._scheduled = False
        self._delayed.clear()
