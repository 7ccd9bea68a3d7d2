"""The settings dialog: agents, general engine settings, appearance, the local API.

Each tab saves on its own Save button and through the same doors the rest of the app
uses (the engine's agent service for agents, `Core.apply_settings` for settings), so the
dialog has no private copy of anything that could drift from what the engine runs with.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from desktop_chat.app import Core
from desktop_chat.ui.agents_tab import AgentsTab
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.data_folder_tab import DataFolderTab
from desktop_chat.ui.i18n import t
from desktop_chat.ui.settings_pages import AppearanceTab, GeneralTab


class SettingsDialog(QDialog):
    """Agents, General, Appearance and Data; tells the window what changed through its signals."""

    agents_changed = Signal()
    settings_changed = Signal(object)  # Settings

    def __init__(
        self,
        core: Core,
        bridge: EngineBridge,
        parent: QWidget | None = None,
        with_api: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(t("Settings"))
        self.agents_tab = AgentsTab(core, bridge)
        self.general_tab = GeneralTab(core, bridge)
        self.appearance_tab = AppearanceTab(core, bridge)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.agents_tab, t("Agents"))
        self.tabs.addTab(self.general_tab, t("General"))
        self.tabs.addTab(self.appearance_tab, t("Appearance"))
        self.data_tab = DataFolderTab(core, bridge)
        self.tabs.addTab(self.data_tab, t("Data"))
        from desktop_chat.ui.mcp_tab import McpServersTab

        self.tools_tab = McpServersTab(core, bridge)
        self.tabs.addTab(self.tools_tab, t("Tools"))
        self.tools_tab.saved.connect(self.settings_changed)
        if with_api:  # the window's settings: the API runs in its loop
            from desktop_chat.ui.api_tab import LocalApiTab

            self.api_tab = LocalApiTab(core, bridge)
            self.tabs.addTab(self.api_tab, t("Local API"))
        self.agents_tab.agents_changed.connect(self.agents_changed)
        self.general_tab.saved.connect(self.settings_changed)
        self.appearance_tab.saved.connect(self.settings_changed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        # Sized in text units so that the dialog grows with the font and the screen scale,
        # but never beyond the screen.
        metrics = self.fontMetrics()
        self.setMinimumSize(metrics.averageCharWidth() * 60, metrics.lineSpacing() * 20)
        width, height = metrics.averageCharWidth() * 130, metrics.lineSpacing() * 44
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            width, height = min(width, screen.width()), min(height, screen.height())
        self.resize(width, height)
