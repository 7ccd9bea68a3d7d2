"""The test harness itself: which loop a test runs on."""

from __future__ import annotations

import asyncio

import pytest
import qasync

SEEN_LOOPS: list[asyncio.AbstractEventLoop] = []


@pytest.mark.asyncio
@pytest.mark.parametrize("run", [1, 2])
async def test_a_qt_test_runs_on_a_fresh_qasync_loop(qapp, run):
    loop = asyncio.get_running_loop()
    assert isinstance(loop, qasync.QEventLoop)
    assert all(loop is not seen for seen in SEEN_LOOPS)
    SEEN_LOOPS.append(loop)


@pytest.mark.asyncio
async def test_a_test_without_qt_runs_on_asyncios_own_loop():
    assert not isinstance(asyncio.get_running_loop(), qasync.QEventLoop)
