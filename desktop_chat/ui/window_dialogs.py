"""The main window's dialogs: Settings and Manage, each loaded the first time it opens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from desktop_chat.ui.i18n import t

if TYPE_CHECKING:
    from desktop_chat.app import Core
    from desktop_chat.ui.bridge import EngineBridge
    from desktop_chat.ui.settings_dialog import SettingsDialog


class WindowDialogs(QObject):
    agents_changed = Signal()
    settings_changed = Signal()  # theme, font size or language: the window renders again
    notice = Signal(str)  # a short sentence for the status bar

    def __init__(self, core: Core, bridge: EngineBridge, window: QWidget) -> None:
        super().__init__(window)
        self.core = core
        self.bridge = bridge
        self.window = window
        self.language = core.settings.language  # the one the window was built in

    def open_manage(self) -> None:
        from desktop_chat.ui.manage import open_manage_window  # loads on first use, not at start-up

        open_manage_window(self.core, self.bridge, self.window)

    def open_settings(self, agent_id: str | None = None) -> SettingsDialog:
        """Settings; with `agent_id`, on that agent's key field (its key is missing)."""
        from desktop_chat.ui.settings_dialog import SettingsDialog  # loads on first use

        dialog = SettingsDialog(self.core, self.bridge, self.window, with_api=True)
        if agent_id is not None:
            dialog.tabs.setCurrentWidget(dialog.agents_tab)
            dialog.agents_tab.show_key_of(agent_id)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.agents_changed.connect(self.agents_changed)
        dialog.settings_changed.connect(self._settings_saved)
        dialog.open()
        return dialog

    def _settings_saved(self, _settings: object) -> None:
        self.settings_changed.emit()
        if self.core.settings.language != self.language:
            # Every label was made in the old language: say plainly when the new one applies.
            self.notice.emit(t("The new language is used from the next start of desktop_chat."))
