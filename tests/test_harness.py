"""The test harness itself: which loop a test runs on, and what the environment holds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import qasync

REPO = Path(__file__).resolve().parent.parent
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


# What a person's shell may hold: a keyring backend (as the app's own message suggests),
# an API key, a proxy that answers nothing (port 9), a data folder, a locale this system
# does not have.
CALLERS_ENVIRONMENT = {
    "PYTHON_KEYRING_BACKEND": "tests.memory_keyring.MemoryKeyring",
    "OPENAI_API_KEY": "sk-from-the-callers-shell",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "LANG": "zh_CN.UTF-8",
    "LC_ALL": "zh_CN.UTF-8",
}
# One test that each of them broke.
SENSITIVE_TESTS = (
    "tests/test_gui_settings.py::test_without_keyring_the_key_is_kept_for_the_session_when_asked",
    "tests/test_secrets.py::test_the_key_never_leaves_the_keyring",
    "tests/test_llm.py::test_streams_text_then_reasoning_then_one_finish_with_usage",
    "tests/test_startup.py::test_the_frame_paints_in_the_last_sessions_geometry_before_any_content",
)


def test_the_suite_passes_whatever_the_callers_environment_holds(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    env = {**os.environ, **CALLERS_ENVIRONMENT, "DESKTOP_CHAT_HOME": str(elsewhere)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SENSITIVE_TESTS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{len(SENSITIVE_TESTS)} passed" in result.stdout
    assert not elsewhere.exists(), "a test wrote into the caller's DESKTOP_CHAT_HOME"
