"""The collector is paused while the window or `ask` starts, and runs again afterwards."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.fake_openai import FakeOpenAI, Scenario

# Records whether the collector runs when the core opens, and once the command is over
# (for the window also while its content is built, and once it is ready).
PROBE = """
import gc, sys
import desktop_chat.app as app
seen = {}
opening = app.Core.open.__func__

async def open_and_note(cls, *args, **kwargs):
    seen["core opens"] = gc.isenabled()
    return await opening(cls, *args, **kwargs)

app.Core.open = classmethod(open_and_note)
if sys.argv[1:] == ["window"]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    qt = QApplication([])
    from desktop_chat.ui.main_window import MainWindow
    attaching = MainWindow.attach

    def attach_and_note(self, *args):
        seen["content built"] = gc.isenabled()
        return attaching(self, *args)

    MainWindow.attach = attach_and_note

    def close_when_ready():
        for window in qt.topLevelWidgets():
            if isinstance(window, MainWindow) and window.ready:
                seen["window ready"] = gc.isenabled()
                QTimer.singleShot(500, window.close)  # past the resume, after the paint
                return
        QTimer.singleShot(20, close_when_ready)

    QTimer.singleShot(20, close_when_ready)
    args = []
else:
    args = sys.argv[1:]
from desktop_chat.cli import main
code = main(args)
seen["after"] = gc.isenabled()
print(repr(seen), file=sys.stderr)
sys.exit(code)
"""


def probe(home: Path, *args: str) -> dict[str, bool]:
    env = {**os.environ, "DESKTOP_CHAT_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return ast.literal_eval(done.stderr.strip().splitlines()[-1])


def test_the_window_starts_with_the_collector_paused_and_resumes_it(tmp_path: Path) -> None:
    seen = probe(tmp_path, "window")
    assert seen == {
        "core opens": False,
        "content built": False,
        "window ready": True,
        "after": True,
    }


def test_ask_starts_with_the_collector_paused_and_resumes_it(tmp_path: Path) -> None:
    with FakeOpenAI(scenario=Scenario(tokens=["Yes."])) as fake:
        env = {**os.environ, "DESKTOP_CHAT_HOME": str(tmp_path)}
        add = ["agents", "add", "--name", "F", "--model", "m", "--base-url", fake.base_url]
        subprocess.run(
            [sys.executable, "-m", "desktop_chat", *add, "--default"],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        seen = probe(tmp_path, "ask", "hi")
    assert seen == {"core opens": False, "after": True}


def test_other_commands_leave_the_collector_alone(tmp_path: Path) -> None:
    assert probe(tmp_path, "list") == {"core opens": True, "after": True}
