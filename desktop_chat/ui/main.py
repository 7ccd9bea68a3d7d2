"""Starts the window on a qasync loop and shuts it down cleanly.

The window paints its first frame before anything heavy loads: the engine, the database,
pydantic and the SDK together take several hundred milliseconds to import and open, and a
window that appears at once (then fills in) feels faster than one that appears late. So
this module imports only Qt and the light parts of the app at the top, and the content
is attached afterwards by `ui.window_factory.open_window`, as the tests and the
benchmarks build it.

Closing the window must not stop the loop before the engine has stored the replies in
flight (qasync stops the loop when the last window closes), so the app quits only after
`Core.aclose()` has finished.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop_chat import APP_DISPLAY_NAME, APP_NAME, ORGANIZATION, __version__, startup_gc
from desktop_chat.appearance import read_theme
from desktop_chat.paths import AppPaths
from desktop_chat.ui.event_loop import AppEventLoop
from desktop_chat.ui.i18n import install_translator, say, t
from desktop_chat.ui.main_window import MainWindow
from desktop_chat.ui.resources import resource_dir
from desktop_chat.ui.single_instance import SingleInstance, raise_window
from desktop_chat.ui.theme import apply_theme

if TYPE_CHECKING:
    from desktop_chat.app import Core

log = logging.getLogger(__name__)


def make_app(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv or sys.argv)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationVersion(__version__)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setDesktopFileName(APP_NAME)  # the Wayland app id: resources/desktop/desktop_chat.desktop
    app.setQuitOnLastWindowClosed(False)
    icon = resource_dir() / "icons" / "desktop_chat.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


async def open_core(paths: AppPaths) -> Core | None:
    """Open the database; offer to set a damaged one aside (or to rebuild a damaged search
    index) instead of failing silently."""
    from desktop_chat.app import Core, rebuild_search_index, set_damaged_database_aside
    from desktop_chat.engine.failures import describe

    try:
        return await Core.open(paths)
    except Exception as exc:
        failure = describe(exc)
        if failure is None:
            raise
        if failure.kind == "index_damaged":
            question = t("Rebuild the search index now? Your conversations are kept as they are.")
            if not _agreed(failure.message, question):
                return None
            await asyncio.to_thread(rebuild_search_index, paths)
            return await Core.open(paths)
        if failure.kind != "corrupt":
            QMessageBox.critical(None, APP_DISPLAY_NAME, say(failure.message))
            return None
        question = t("Keep the damaged file as a backup and start with an empty database?")
        if not _agreed(failure.message, question):
            return None
        set_damaged_database_aside(paths)
        return await Core.open(paths)


def _agreed(problem: str, question: str) -> bool:
    answer = QMessageBox.question(None, APP_DISPLAY_NAME, say(problem) + "\n\n" + question)
    return answer == QMessageBox.StandardButton.Yes


async def run_window(
    app: QApplication, paths: AppPaths, instance: SingleInstance | None = None
) -> int:
    window = MainWindow(paths, dark=apply_theme(app, read_theme(paths.settings_file)))
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.show()
    if instance is not None:  # a later launch for this data folder brings this window forward
        instance.activation_requested.connect(lambda: raise_window(window))
    await window.first_paint()

    from desktop_chat.settings import load_settings
    from desktop_chat.ui.window_factory import open_window

    install_translator(app, load_settings(paths.settings_file).language)
    core = await open_core(paths)
    if core is None:
        window.close()
        return 4
    if closed.is_set():  # the person closed the window while the database opened
        await core.aclose()
        return 0
    opened = await open_window(core, window)
    core.backups.start()
    # What start-up made (modules, widgets, the list, then the SDK's types) lives as long
    # as the window; taken out of the collector's view, full collections stop walking it:
    # with a long list they paused the window for 30-100 ms. The collector, paused since
    # the start (desktop_chat/startup_gc.py), runs again from here.
    startup_gc.resume()
    freeze_after_warm_up = asyncio.ensure_future(_freeze_after(opened.warmed))
    await closed.wait()
    freeze_after_warm_up.cancel()
    await opened.aclose(close_core=True)
    return 0


async def _freeze_after(warmed: asyncio.Event) -> None:
    await warmed.wait()
    gc.freeze()


class PoliteExceptHook:
    """Logs any exception that escapes a slot and tells the user once, without a traceback."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, kind: type[BaseException], value: BaseException, tb: object) -> None:
        log.critical("Unexpected error", exc_info=(kind, value, tb))  # type: ignore[arg-type]
        if self.shown or QApplication.instance() is None:
            return
        self.shown = True
        QMessageBox.warning(
            None,
            APP_DISPLAY_NAME,
            t(
                "Something unexpected went wrong. Your conversations are safe and the app "
                "keeps working; the details are in the log file."
            ),
        )


def run_gui(paths: AppPaths, debug: bool = False) -> int:
    app = make_app()
    instance = SingleInstance(paths.data)
    if not instance.claim():
        return 0  # another window runs on this data folder and was asked to come forward
    sys.excepthook = PoliteExceptHook()
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run_window(app, paths, instance))
    finally:
        instance.close()
        loop.close()
