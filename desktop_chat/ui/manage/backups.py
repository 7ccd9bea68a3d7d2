"""The Backups tab: the database's backups, a backup now, and a restore at the next start.

The window has the database open, and a restore must not replace the file under a process
that has it open; so Restore checks the backup now and leaves it for the next start,
which restores it (keeping a backup of what it replaces) before opening the database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat import APP_DISPLAY_NAME
from desktop_chat.app import Core
from desktop_chat.engine.backups import Backup
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.i18n import N_, t

COLUMNS = (N_("Made"), N_("Why"), N_("Size"), N_("File"))
MADE, WHY, SIZE, FILE = range(len(COLUMNS))
REASONS = {
    "daily": N_("Scheduled"),
    "manual": N_("By hand"),
    "before-restore": N_("Before a restore"),
}


def reason_words(reason: str) -> str:
    if reason.startswith("before-schema-"):
        return t("Before an upgrade")
    return t(REASONS[reason]) if reason in REASONS else reason


class BackupsTab(QWidget):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self.backups: list[Backup] = []
        self.folder = core.backups.folder
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("manageBackups")
        self.table.setAccessibleName(t("Backups"))
        self.table.setHorizontalHeaderLabels([t(c) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.where = QLabel(
            t("Data folder: {data}\nBackups: {folder}").format(
                data=core.paths.data, folder=self.folder
            )
        )
        self.where.setObjectName("backupsWhere")
        self.where.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("backupsStatus")
        self.status.setWordWrap(True)
        self.backup_button = QPushButton(t("Back up now"))
        self.backup_button.clicked.connect(self.back_up)
        self.restore_button = QPushButton(t("Restore at next start…"))
        self.restore_button.clicked.connect(self.restore_selected)
        self.cancel_button = QPushButton(t("Cancel the restore"))
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button = QPushButton(t("Open folder"))
        self.open_button.clicked.connect(self.open_folder)
        buttons = QHBoxLayout()
        for button in (self.backup_button, self.restore_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self._update_buttons()

    def showEvent(self, event: QShowEvent) -> None:
        """The folder can change behind our back (the schedule, the command line)."""
        super().showEvent(event)
        self.bridge.spawn(self.reload())

    async def reload(self) -> None:
        backups = await asyncio.to_thread(self.core.backups.list)
        pending = self.core.backups.planned_restore()
        if not isValid(self):
            return
        self.backups = backups
        self.table.setRowCount(len(backups))
        for row, backup in enumerate(backups):
            texts = {
                MADE: backup.created.strftime("%Y-%m-%d %H:%M"),
                WHY: reason_words(backup.reason),
                SIZE: t("{size:.1f} MB").format(size=backup.size / 1_000_000),
                FILE: backup.path.name,
            }
            for column, text in texts.items():
                item = QTableWidgetItem(text)
                item.setToolTip(str(backup.path) if column == FILE else text)
                self.table.setItem(row, column, item)
        if pending is not None:
            self.status.setText(
                t("{name} will be restored the next time desktop_chat starts.").format(
                    name=pending.name
                )
            )
        self._update_buttons(pending)

    def _update_buttons(self, pending: Path | None = None) -> None:
        if pending is None:
            pending = self.core.backups.planned_restore()
        self.restore_button.setEnabled(bool(self.table.selectedItems()))
        self.cancel_button.setVisible(pending is not None)

    def selected(self) -> Backup | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        return self.backups[rows.pop()] if len(rows) == 1 else None

    def back_up(self) -> None:
        self.backup_button.setEnabled(False)
        self.status.setText(t("Backing up…"))

        async def go() -> None:
            try:
                made = await self.core.backups.backup_now()
            finally:
                if isValid(self):
                    self.backup_button.setEnabled(True)
            if isValid(self):
                self.status.setText(t("Backed up to {path}.").format(path=made.path))
                await self.reload()

        self.bridge.spawn(go())

    def restore_selected(self) -> None:
        backup = self.selected()
        if backup is None:
            return
        answer = QMessageBox.question(
            self,
            APP_DISPLAY_NAME,
            t(
                "Restore the conversations from {made}? They replace the current ones the "
                "next time desktop_chat starts; the current ones are backed up first. Close "
                "desktop_chat and start it again to finish."
            ).format(made=backup.created.strftime("%Y-%m-%d %H:%M")),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return

        async def go() -> None:
            await self.core.backups.plan_restore(backup)
            if isValid(self):
                await self.reload()

        self.bridge.spawn(go())

    def cancel(self) -> None:
        self.core.backups.cancel_restore()
        self.status.setText(t("The restore was cancelled."))
        self._update_buttons()

    def open_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))
