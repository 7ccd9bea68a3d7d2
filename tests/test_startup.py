"""The window appears before the heavy parts load, in the last session's size and theme."""

from __future__ import annotations

import ast
import asyncio
import gc
import json
import subprocess
import sys

import pytest
from PySide6.QtCore import QByteArray, QSettings

from desktop_chat.appearance import read_theme
from desktop_chat.paths import AppPaths, default_paths
from tests.gui_support import wait_until

HEAVY = ("openai", "pydantic", "peewee", "aiohttp", "keyring", "desktop_chat.engine")


def _loaded_by(imports: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has loaded after `import {imports}`."""
    probe = f"import sys, {imports}; print([m for m in {modules!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return ast.literal_eval(result.stdout.strip())


def test_what_the_first_frame_needs_imports_none_of_the_heavy_parts() -> None:
    assert _loaded_by("desktop_chat.cli, desktop_chat.ui.main", HEAVY) == []


LATER = ("PIL", "pypdf", "mcp", "desktop_chat.engine.stats", "desktop_chat.transfer")


def test_the_first_content_imports_none_of_the_features_used_later() -> None:
    """Attachments (Pillow, pypdf), tools (the MCP SDK), statistics and import/export load
    with their first use, not before the list and the last conversation are shown (#19)."""
    first_content = "desktop_chat.app, desktop_chat.session, desktop_chat.ui.window_factory"
    assert _loaded_by(first_content, LATER) == []


@pytest.mark.asyncio
async def test_the_frame_paints_in_the_last_sessions_geometry_before_any_content(qapp, paths):
    from desktop_chat.ui.main_window import MainWindow

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


def _main_window():
    from PySide6.QtWidgets import QApplication

    from desktop_chat.ui.main_window import MainWindow

    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return next((w for w in found if w.isVisible()), None)


async def _start_and_close(qapp) -> tuple[int, bool]:
    """Run the app's start as `desktop-chat` does, close its window once it is ready."""
    from desktop_chat.ui.main import run_window

    try:
        started = asyncio.ensure_future(run_window(qapp, default_paths()))
        await wait_until(lambda: (w := _main_window()) is not None and w.ready, 20, "ready")
        window = _main_window()
        was_attached = window.attached
        window.close()
        return await asyncio.wait_for(started, 20), was_attached
    finally:
        gc.unfreeze()  # the app freezes what start-up made; the test process goes on


@pytest.mark.asyncio
async def test_the_app_starts_in_its_frame_fills_it_and_closes_cleanly(qapp, paths):
    code, attached = await _start_and_close(qapp)
    assert (code, attached) == (0, True)
    assert list(paths.journal.glob("*.jsonl")) == []


@pytest.mark.asyncio
async def test_a_damaged_database_is_set_aside_when_the_person_agrees(qapp, paths, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    paths.database.write_bytes(b"this is not a database " * 400)
    asked = []

    def answer_yes(*args: object) -> QMessageBox.StandardButton:
        asked.append(args[2])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer_yes)
    code, attached = await _start_and_close(qapp)
    assert (code, attached) == (0, True)
    assert len(asked) == 1 and "damaged" in str(asked[0]).lower()
    (kept,) = paths.database.parent.glob(f"{paths.database.name}.damaged-*")
    assert kept.read_bytes().startswith(b"this is not a database")
