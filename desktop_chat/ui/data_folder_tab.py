"""The Data tab: where conversations are kept, and moving them to another folder.

The move is planned here and made by the next start (store/relocation.py says why); this
tab tells what is planned, what a move left behind, and why a planned move failed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from shiboken6 import isValid

from desktop_chat import APP_DISPLAY_NAME
from desktop_chat.app import Core
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, ask, in_words, plain_label
from desktop_chat.ui.i18n import say, t


class DataFolderTab(QWidget):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self.where = QLabel()
        self.where.setObjectName("dataFolderWhere")
        self.where.setWordWrap(True)
        self.open_button = QPushButton(t("Open the folder"))
        self.open_button.clicked.connect(self._open_folder)
        self.move_button = QPushButton(t("Move…"))
        self.move_button.setObjectName("moveDataFolder")
        self.move_button.setAccessibleName(t("Move the data folder"))
        self.move_button.clicked.connect(self.choose_destination)
        self.plan = plain_label("dataFolderPlan")
        self.cancel_button = QPushButton(t("Cancel the move"))
        self.cancel_button.setObjectName("cancelDataFolderMove")
        self.cancel_button.clicked.connect(self.cancel_move)
        self.previous = plain_label("dataFolderPrevious")
        self.delete_button = QPushButton(t("Delete the old folder"))
        self.delete_button.setObjectName("deletePreviousDataFolder")
        self.delete_button.clicked.connect(self.delete_previous)
        self.error = plain_label("dataFolderError")
        self.dialog: QFileDialog | None = None

        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.move_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addLayout(buttons)
        for label, button in ((self.plan, self.cancel_button), (self.previous, self.delete_button)):
            row = QHBoxLayout()
            row.addWidget(label, 1)
            row.addWidget(button)
            layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.refresh()

    def refresh(self) -> None:
        folder = self.core.data_folder
        self.where.setText(
            t(
                "Conversations, backups and the crash journal are kept in:\n{folder}\nMoving "
                "them copies everything at the next start, checks the copy, and keeps the "
                "old folder until you delete it."
            ).format(folder=folder.current)
        )
        location = folder.location()
        planned = location.planned
        self.plan.setText(
            t("Moves to {target} the next time desktop_chat starts.").format(target=planned)
            if planned
            else ""
        )
        self.cancel_button.setVisible(planned is not None)
        previous = location.previous
        self.previous.setText(
            t("Moved from {folder}; that folder is kept until you delete it.").format(
                folder=previous
            )
            if previous
            else ""
        )
        self.delete_button.setVisible(previous is not None)
        if location.failure:
            self.error.setText(say(location.failure))

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.core.data_folder.current)))

    def choose_destination(self) -> None:
        """A folder picker that does not block the loop: replies go on streaming."""
        dialog = QFileDialog(self, t("Move the data folder to…"))
        dialog.setObjectName("dataFolderPicker")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
        dialog.setDirectory(str(Path.home()))
        dialog.fileSelected.connect(self.plan_move)
        self.dialog = dialog
        dialog.open()

    def plan_move(self, folder: str) -> None:
        self.error.clear()
        self.bridge.spawn(in_words(self.core.data_folder.plan_move(Path(folder))), self._planned)

    def _planned(self, outcome: Outcome[Path]) -> None:
        if not isValid(self):
            return
        self.refresh()
        if outcome.error:
            self.error.setText(outcome.error)

    def cancel_move(self) -> None:
        self.core.data_folder.cancel_move()
        self.refresh()

    def delete_previous(self) -> None:
        async def confirm_and_delete() -> Path | None:
            previous = self.core.data_folder.location().previous
            sure = await ask(
                self,
                APP_DISPLAY_NAME,
                t("Delete {folder} and everything in it? The data in use is not touched.").format(
                    folder=previous
                ),
                t("Delete"),
                t("Keep"),
            )
            return await self.core.data_folder.delete_previous() if sure else None

        self.bridge.spawn(in_words(confirm_and_delete()), self._planned)
