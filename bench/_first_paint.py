"""Start a window and print when it first paints; used by bench_cold_start.py.

    python bench/_first_paint.py app    # the real app, exactly as `python -m desktop_chat`
    python bench/_first_paint.py bare   # a bare PySide6 QMainWindow, for comparison
    python bench/_first_paint.py stack  # the libraries the app's first screen needs, no app

`stack` is the floor under the app's time to usable: it imports what the list and the
conversation are built with (qasync, pydantic, peewee, markdown-it), validates one
message, opens a database and renders the message into a window, then paints. None of the
app's own code runs.

All modes create the QApplication first and install the same event filter on it; the app
then runs `desktop_chat.cli.main([])`, which reuses that QApplication (see
`desktop_chat.ui.main.make_app`). Nothing else is changed. The filter prints `painted` at
the first paint event of any widget in a QMainWindow, and is then removed in both modes.
For the app, `content` is printed in the event-loop pass after the first paint that shows
the filled list and the opened conversation (the window's `when_content_painted`), once
this script has checked both are there. The parent process times these lines from the
moment it launched this script; the window then closes itself normally.

Not an application-wide filter until the content: it ran Python for each of the
thousands of events the window's construction sends, and its conversions of their types
made PySide6 build about 120 enum types, 100 ms or more that a real launch never pays.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


def _has_content(window: QMainWindow) -> bool:
    sidebar = getattr(window, "sidebar", None)
    chat = getattr(window, "chat", None)
    if sidebar is None or chat is None:
        return False
    session = getattr(window, "session", None)
    return (
        sidebar.model.rowCount() > 0
        and session is not None
        and session.current is not None
        and chat.shown_count > 0
    )


class FirstPaint(QObject):
    def __init__(self, app: QApplication, mode: str) -> None:
        super().__init__()
        self.app = app
        self.mode = mode
        self.painted = False
        self.content = False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Paint or not obj.isWidgetType():
            return False
        window = obj.window()  # type: ignore[attr-defined]
        if not isinstance(window, QMainWindow):
            return False
        if not self.painted:
            self.painted = True
            print("painted", flush=True)
            self.app.removeEventFilter(self)
            if self.mode != "app":
                QTimer.singleShot(0, self.app.quit)
                return False
            QTimer.singleShot(15_000, window.close)  # never hang the benchmark
            window.when_content_painted(lambda: self._content_painted(window))  # type: ignore[attr-defined]
        return False

    def _content_painted(self, window: QMainWindow) -> None:
        self.content = _has_content(window)
        print("content" if self.content else "no-content", flush=True)
        QTimer.singleShot(0, window.close)


def _stack_window() -> QMainWindow:
    import peewee
    import qasync  # noqa: F401  (the app's event loop)
    from markdown_it import MarkdownIt
    from pydantic import BaseModel
    from PySide6.QtWidgets import QListWidget, QSplitter, QTextBrowser

    class Message(BaseModel):
        role: str
        content: str

    message = Message.model_validate({"role": "assistant", "content": "**WAL** keeps readers."})
    database = peewee.SqliteDatabase(":memory:")
    database.connect()
    database.execute_sql("SELECT 1")
    window = QMainWindow()
    split = QSplitter()
    split.addWidget(QListWidget())
    text = QTextBrowser()
    text.setHtml(MarkdownIt("commonmark").enable("table").render(message.content))
    split.addWidget(text)
    window.setCentralWidget(split)
    return window


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "app"
    app = QApplication(sys.argv[:1])
    probe = FirstPaint(app, mode)
    app.installEventFilter(probe)
    if mode in ("bare", "stack"):
        window = QMainWindow() if mode == "bare" else _stack_window()
        window.setWindowTitle(mode)
        window.resize(1180, 760)
        window.show()
        return app.exec()
    from desktop_chat.cli import main as desktop_chat_main

    return desktop_chat_main([])


if __name__ == "__main__":
    sys.exit(main())
