"""The window's loop: delayed callbacks under one Qt timer (ui/event_loop.py).

qasync gave every `call_later` a Qt timer of its own and kept it after the handle was
cancelled; aiohttp moves a reply's read timeout with every chunk, so long replies piled up
tens of thousands of them and the window's loop slept for hundreds of milliseconds.
"""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QEvent, QObject


class TimerEvents(QObject):
    """Counts the Qt timer events delivered to any object of the application."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Timer:
            self.count += 1
        return False


async def _after(seconds: float) -> None:
    """Returns once the loop has run a callback scheduled `seconds` from now."""
    loop = asyncio.get_running_loop()
    reached = loop.create_future()
    loop.call_later(seconds, reached.set_result, None)
    await asyncio.wait_for(reached, 10)


@pytest.mark.asyncio
async def test_cancelled_delayed_callbacks_leave_no_qt_timers_behind(qapp):
    loop = asyncio.get_running_loop()
    timers = TimerEvents()
    qapp.installEventFilter(timers)
    try:
        for _ in range(2000):  # as a reply's read timeout, moved at every chunk
            loop.call_later(0.05, pytest.fail, "a cancelled callback ran").cancel()
        await _after(0.2)  # they would all have come due
    finally:
        qapp.removeEventFilter(timers)

    assert timers.count < 200


@pytest.mark.asyncio
async def test_delayed_callbacks_run_in_time_order_and_cancelled_ones_never(qapp):
    loop = asyncio.get_running_loop()
    ran: list[str] = []
    loop.call_later(0.06, ran.append, "third")
    loop.call_later(0.02, ran.append, "first")
    cancelled = loop.call_later(0.04, ran.append, "cancelled")
    loop.call_at(loop.time() + 0.04, ran.append, "second")
    loop.call_later(-1, ran.append, "now")
    cancelled.cancel()

    await _after(0.1)

    assert ran == ["now", "first", "second", "third"]


@pytest.mark.asyncio
async def test_timeouts_and_sleeps_work_among_many_cancelled_handles(qapp):
    loop = asyncio.get_running_loop()
    far = loop.call_later(40 * 86400, pytest.fail, "a callback 40 days early")  # > 2**31 ms
    for _ in range(500):
        loop.call_later(30, pytest.fail, "a cancelled callback ran").cancel()

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.02):
            await asyncio.sleep(30)
    started = loop.time()
    await asyncio.sleep(0.03)

    assert loop.time() - started >= 0.03
    far.cancel()
