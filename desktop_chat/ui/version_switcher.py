"""The "2 / 3" switcher: moves between the versions of a message (regenerated, edited).

It says which version is shown and asks for another; the engine makes that version's path
current and the chat view shows it. Alt+Left and Alt+Right do the same from anywhere in
the message, for people who keep their hands on the keyboard.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from desktop_chat.ui.i18n import t


class VersionSwitcher(QWidget):
    chosen = Signal(int)  # the id of the version to show

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("versionSwitcher")
        self._versions: list[int] = []
        self._index = 0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.previous = self._button("‹", t("Previous version (Alt+Left)"))
        self.label = QLabel()
        self.label.setObjectName("versionLabel")
        self.next = self._button("›", t("Next version (Alt+Right)"))
        layout.addWidget(self.previous)
        layout.addWidget(self.label)
        layout.addWidget(self.next)
        self.previous.clicked.connect(lambda: self.step(-1))
        self.next.clicked.connect(lambda: self.step(1))
        self.hide()

    def _button(self, text: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setAutoRaise(True)
        button.setToolTip(name)
        button.setAccessibleName(name)
        return button

    def follow_keys(self, owner: QWidget) -> None:
        """Alt+Left / Alt+Right anywhere inside `owner` (the message) switch versions."""
        for keys, step in (("Alt+Left", -1), ("Alt+Right", 1)):
            shortcut = QShortcut(QKeySequence(keys), owner)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda s=step: self.step(s))

    def set_versions(self, versions: list[int], current: int | None) -> None:
        """All versions of the message, oldest first, and the one shown."""
        self._versions = list(versions)
        self._index = versions.index(current) if current in versions else 0
        shown = len(versions) > 1
        self.setVisible(shown)
        if shown:
            number, count = self._index + 1, len(versions)
            self.label.setText(f"{number} / {count}")
            self.label.setAccessibleName(
                t("Version {number} of {count}").format(number=number, count=count)
            )
            self.previous.setEnabled(self._index > 0)
            self.next.setEnabled(self._index < count - 1)

    @property
    def count(self) -> int:
        return len(self._versions)

    def step(self, by: int) -> None:
        index = self._index + by
        if len(self._versions) > 1 and 0 <= index < len(self._versions):
            self.chosen.emit(self._versions[index])
