"""The window appears before the heavy parts load, in the last session's size and theme."""

from __future__ import annotations

import json
import subprocess
import sys

from PySide6.QtCore import QByteArray, QSettings

from desktop_chat.appearance import read_theme
from desktop_chat.paths import AppPaths
from tests.gui_support import run_on_qt_loop

HEAVY = ("openai", "pydantic", "peewee", "aiohttp", "keyring", "desktop_chat.engine")


def test_what_the_first_frame_needs_imports_none_of_the_heavy_parts() -> None:
    probe = (
        "import sys, desktop_chat.cli, desktop_chat.ui.main;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_frame_paints_in_the_last_sessions_geometry_before_any_content(qapp, paths):
    from desktop_chat.ui.main_window import MainWindow

    async def scenario() -> None:
        earlier = MainWindow(paths)
        earlier.setGeometry(10, 20, 760, 520)  # the offscreen screen is 800 x 600
        earlier.show()
        await earlier.first_paint()
        earlier.close()  # writes window.ini, as quitting does
        saved = QSettings(str(paths.config / "window.ini"), QSettings.Format.IniFormat)
        assert isinstance(saved.value("window/geometry"), QByteArray)

        window = MainWindow(paths)
        window.show()
        await window.first_paint()
        assert window.skeleton.was_painted and not window.attached
        assert (window.width(), window.height()) == (760, 520)
        window.close()

    run_on_qt_loop(qapp, scenario())


def test_the_theme_is_read_without_the_settings_model(paths: AppPaths) -> None:
    assert read_theme(paths.settings_file) == "system"  # no file yet
    paths.settings_file.write_text(json.dumps({"theme": "dark", "font_size": 14}), "utf-8")
    assert read_theme(paths.settings_file) == "dark"
    paths.settings_file.write_text(json.dumps({"theme": "purple"}), "utf-8")
    assert read_theme(paths.settings_file) == "system"
    paths.settings_file.write_text("{not json", "utf-8")
    assert read_theme(paths.settings_file) == "system"
    paths.settings_file.write_text("[1, 2]", "utf-8")
    assert read_theme(paths.settings_file) == "system"
