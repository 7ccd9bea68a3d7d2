"""Start a window and print when it first paints; used by bench_cold_start.py.

    python bench/_first_paint.py app    # the real app, exactly as `python -m desktop_chat`
    python bench/_first_paint.py bare   # a bare PySide6 QMainWindow, for comparison

Both modes create the QApplication first and install the same event filter on it; the app
then runs `desktop_chat.cli.main([])`, which reuses that QApplication (see
`desktop_chat.ui.main.make_app`). Nothing else is changed. The filter prints `painted` at
the first paint event of any widget in a QMainWindow and, for the app, `content` at the
first paint once the conversation list is filled and a conversation is shown. The parent
process times these lines from the moment it launched this script; the window then closes
itself normally.
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
            if self.mode == "bare":
                self.app.removeEventFilter(self)
                QTimer.singleShot(0, self.app.quit)
                return False
            QTimer.singleShot(15_000, window.close)  # never hang the benchmark
        if not self.content and _has_content(window):
            self.content = True
            print("content", flush=True)
            self.app.removeEventFilter(self)
            QTimer.singleShot(0, window.close)
        return False


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "app"
    app = QApplication(sys.argv[:1])
    probe = FirstPaint(app, mode)
    app.installEventFilter(probe)
    if mode == "bare":
        window = QMainWindow()
        window.setWindowTitle("bare")
        window.resize(1180, 760)
        window.show()
        return app.exec()
    from desktop_chat.cli import main as desktop_chat_main

    return desktop_chat_main([])


if __name__ == "__main__":
    sys.exit(main())
