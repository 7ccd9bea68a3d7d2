"""The one way to build the main window around an opened core.

The app, the tests and the benchmarks all build it here, so what is tested and measured
is what people run. The order is fixed: the frame (a MainWindow without content, which
the app paints before the engine loads, see ui/main.py), the theme and font from the
settings, one bridge from engine events to Qt signals, the content attached to the core,
then `start()` (agents, the list, the last conversation, the local API). Closing undoes
it in the reverse order; see `OpenedWindow.aclose`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication

from desktop_chat.engine.collector import FullCollectionsWaitForReplies
from desktop_chat.ui import lexers
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.main_window import MainWindow
from desktop_chat.ui.theme import apply_theme

if TYPE_CHECKING:
    from desktop_chat.app import Core


@dataclass
class OpenedWindow:
    core: Core
    window: MainWindow
    bridge: EngineBridge
    collector: FullCollectionsWaitForReplies

    warmed: asyncio.Event = field(default_factory=asyncio.Event)  # set once warm_up ran

    def warm_up(self) -> None:
        """Load the SDK and compile the code lexers in the background; `warmed` when done."""
        from desktop_chat.ui.markdown import warm_up_in_background

        lexers.release()
        warm_up_in_background()

        async def load() -> None:
            try:
                await self.core.service.warm_up()
            finally:
                self.warmed.set()

        self.bridge.spawn(load())

    async def aclose(self, close_core: bool = False) -> None:
        """Close the window and stop what serves it.

        The local API stops first: its streams read the engine. With `close_core` (for
        whoever owns the core: the app, a benchmark) the engine closes next, so replies
        in flight are stored as interrupted instead of awaited. The window's own tasks
        finish last, and then the bridge lets go of the engine.
        """
        self.window.close()
        lexers.release()  # if it closed before its content painted
        await self.window.api.stop()
        self.collector.close()
        if close_core:
            await self.core.aclose()
        await self.bridge.drain()
        self.bridge.close()


async def open_window(core: Core, frame: MainWindow | None = None) -> OpenedWindow:
    """Attach the main window to an opened core and start it.

    `frame` is the window already on screen (the app shows it before the core opens);
    without one, a frame is made and shown here.
    """
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        raise RuntimeError("the main window needs a QApplication")
    dark = apply_theme(app, core.settings.theme, core.settings.font_size)
    if frame is None:
        frame = MainWindow(core.paths, dark=dark)
        frame.show()
    bridge = EngineBridge(core.service)
    collector = FullCollectionsWaitForReplies(core.service)
    frame.attach(core, bridge)
    opened = OpenedWindow(core, frame, bridge, collector)
    # The SDK and the code lexers load in threads while the person reads: the first send
    # and the first code block need them. Not sooner: they would hold the interpreter
    # while the list and the conversation are built (about a third of the time to them);
    # so would the lexer of a code block in the conversation shown.
    lexers.hold()
    frame.when_content_painted(lambda: opened.warm_up())
    await frame.start()
    return opened
