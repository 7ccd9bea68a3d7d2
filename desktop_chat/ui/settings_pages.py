"""Tabs of plain settings (General, Appearance): a form, a Save button, and the outcome.

Each tab saves through `Core.apply_settings`, the same door the rest of the app uses, so
no tab keeps a private copy of anything that could drift from what the engine runs with.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.schemas import validation_message
from desktop_chat.settings import MAX_CONCURRENT_REQUESTS, Settings
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, in_words, plain_label
from desktop_chat.ui.i18n import LANGUAGES, N_, t

THEMES = {"system": N_("Follow the system"), "light": N_("Light"), "dark": N_("Dark")}
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")  # what the HTTP stack speaks


class SettingsPage(QWidget):
    """A tab of plain settings: a form, a Save button, and where the outcome is told."""

    saved = Signal(object)  # Settings

    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self.form = QFormLayout()
        self.save_button = QPushButton(t("Save"))
        self.save_button.setAccessibleName(t("Save settings"))
        self.save_button.clicked.connect(self.save)
        self.error = plain_label("settingsError")
        self.status = plain_label("settingsStatus")

    def finish_layout(self) -> None:
        bottom = QHBoxLayout()
        messages = QVBoxLayout()
        messages.addWidget(self.error)
        messages.addWidget(self.status)
        bottom.addLayout(messages, 1)
        bottom.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addStretch(1)
        layout.addLayout(bottom)

    def load(self, settings: Settings) -> None:
        raise NotImplementedError

    def changes(self) -> dict[str, Any]:
        """The fields this page owns; raises ValueError with a sentence when one is wrong."""
        raise NotImplementedError

    def save(self) -> None:
        self.error.clear()
        self.status.clear()
        try:
            new = Settings.model_validate({**self.core.settings.model_dump(), **self.changes()})
        except ValidationError as exc:
            self.error.setText(
                t("Not saved. Please check {problems}").format(problems=validation_message(exc))
            )
            return
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.save_button.setEnabled(False)
        self.bridge.spawn(in_words(self._apply(new)), self._applied)

    async def _apply(self, new: Settings) -> Settings | str:
        try:
            await self.core.apply_settings(new)
        except OSError as exc:
            return t("The settings could not be written: {reason}").format(
                reason=exc.strerror or exc
            )
        return new

    def _applied(self, outcome: Outcome[Settings | str]) -> None:
        if not isValid(self):
            return
        self.save_button.setEnabled(True)
        if not isinstance(outcome.value, Settings):
            self.error.setText(str(outcome.value or outcome.error or ""))
            return
        self.status.setText(t("Saved."))
        self.saved.emit(outcome.value)


class GeneralTab(SettingsPage):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(core, bridge, parent)
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("maxConcurrentRequests")
        self.concurrency.setRange(1, MAX_CONCURRENT_REQUESTS)
        self.concurrency.setAccessibleName(t("Maximum concurrent requests"))
        self.timeout = QSpinBox()
        self.timeout.setObjectName("requestTimeout")
        self.timeout.setRange(1, 3600)
        self.timeout.setSuffix(t(" s"))
        self.timeout.setAccessibleName(t("Request timeout in seconds"))
        self.proxy = QLineEdit()
        self.proxy.setObjectName("httpProxy")
        self.proxy.setPlaceholderText(t("None — e.g. http://proxy.example:3128"))
        self.proxy.setAccessibleName(t("HTTP proxy"))
        self.auto_title = QCheckBox(t("Name new conversations automatically"))
        self.auto_title.setObjectName("autoTitle")
        self.auto_title.setAccessibleName(t("Automatic titles"))
        self.max_file = QSpinBox()
        self.max_file.setObjectName("attachmentMaxFile")
        self.max_file.setRange(1, 1024)
        self.max_file.setSuffix(t(" MB"))
        self.max_file.setAccessibleName(t("Largest file to attach, in MB"))
        self.image_side = QSpinBox()
        self.image_side.setObjectName("imageMaxSide")
        self.image_side.setRange(64, 16384)
        self.image_side.setSingleStep(256)
        self.image_side.setSuffix(t(" px"))
        self.image_side.setAccessibleName(t("Longest side of images sent, in pixels"))
        self.form.addRow(t("Maximum concurrent requests"), self.concurrency)
        self.form.addRow(t("Request timeout"), self.timeout)
        self.form.addRow(t("HTTP proxy"), self.proxy)
        self.form.addRow("", self.auto_title)
        self.form.addRow(t("Largest file to attach"), self.max_file)
        self.form.addRow(t("Scale images down to"), self.image_side)
        self.finish_layout()
        self.load(core.settings)

    def load(self, settings: Settings) -> None:
        self.concurrency.setValue(settings.max_concurrent_requests)
        self.timeout.setValue(round(settings.request_timeout))
        self.proxy.setText(settings.http_proxy or "")
        self.auto_title.setChecked(settings.auto_title)
        self.max_file.setValue(settings.attachment_max_file_mb)
        self.image_side.setValue(settings.image_max_side)

    def changes(self) -> dict[str, Any]:
        proxy = self.proxy.text().strip() or None
        if proxy is not None:
            parsed = urlparse(proxy)
            if parsed.scheme not in PROXY_SCHEMES or not parsed.netloc:
                raise ValueError(
                    t("The HTTP proxy must be an address like http://proxy.example:3128.")
                )
        return {
            "max_concurrent_requests": self.concurrency.value(),
            "request_timeout": float(self.timeout.value()),
            "http_proxy": proxy,
            "auto_title": self.auto_title.isChecked(),
            "attachment_max_file_mb": self.max_file.value(),
            "image_max_side": self.image_side.value(),
        }


class AppearanceTab(SettingsPage):
    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(core, bridge, parent)
        self.theme = QComboBox()
        self.theme.setObjectName("theme")
        self.theme.setAccessibleName(t("Theme"))
        for value, label in THEMES.items():
            self.theme.addItem(t(label), value)
        self.font_size = QSpinBox()
        self.font_size.setObjectName("fontSize")
        self.font_size.setRange(0, 48)
        self.font_size.setSpecialValueText(t("Default"))
        self.font_size.setSuffix(t(" pt"))
        self.font_size.setAccessibleName(t("Font size"))
        self.language = QComboBox()
        self.language.setObjectName("language")
        self.language.setAccessibleName(t("Language"))
        for code, label in LANGUAGES.items():
            self.language.addItem(t(label), code)
        hint = QLabel(t("A new language is used from the next start of desktop_chat."))
        hint.setWordWrap(True)
        self.form.addRow(t("Theme"), self.theme)
        self.form.addRow(t("Font size"), self.font_size)
        self.form.addRow(t("Language"), self.language)
        self.form.addRow("", hint)
        self.finish_layout()
        self.load(core.settings)

    def load(self, settings: Settings) -> None:
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.font_size.setValue(settings.font_size)
        if self.language.findData(settings.language) < 0:
            self.language.addItem(settings.language, settings.language)
        self.language.setCurrentIndex(self.language.findData(settings.language))

    def changes(self) -> dict[str, Any]:
        return {
            "theme": self.theme.currentData(),
            "font_size": self.font_size.value(),
            "language": self.language.currentData(),
        }
