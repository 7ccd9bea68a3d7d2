"""The welcome shown while no agent exists: pick where the model runs, and start.

A first-time user should get from nothing to a working chat with as few decisions as
possible: the presets know the addresses, the key field appears only where a key is
needed, and "Find models" fills the model list from the server itself.
"""

from __future__ import annotations

from functools import partial

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.engine.agents import SavedAgent
from desktop_chat.schemas import Agent, validation_message
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, ask_keep_for_session, in_words, plain_label
from desktop_chat.ui.i18n import t
from desktop_chat.ui.model_picker import ModelPicker, Probe
from desktop_chat.ui.presets import PRESETS, ProviderPreset, agent_from_preset


class FirstRunPane(QWidget):
    """Creates the first (default) agent; emits `agent_created` once it is stored."""

    agent_created = Signal(object)  # Agent

    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunPane")
        self.core = core
        self.bridge = bridge
        self.preset: ProviderPreset | None = None
        self._key_wanted = False

        heading = QLabel(t("Connect to a model"))
        heading.setObjectName("firstRunHeading")
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        heading.setFont(font)
        intro = QLabel(
            t(
                "Choose where your model runs. You can change this, and add more agents, "
                "later in Settings."
            )
        )
        intro.setWordWrap(True)

        self.preset_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        grid = QGridLayout()
        for index, preset in enumerate(PRESETS):
            button = QPushButton(t(preset.label))
            button.setObjectName(f"preset_{preset.key}")
            button.setAccessibleName(t(preset.label))
            button.setAccessibleDescription(t(preset.hint))
            button.setToolTip(t(preset.hint))
            button.setCheckable(True)
            button.clicked.connect(partial(self.select_preset, preset))
            group.addButton(button)
            grid.addWidget(button, index // 3, index % 3)
            self.preset_buttons[preset.key] = button

        self.base_url = QLineEdit()
        self.base_url.setObjectName("firstRunBaseUrl")
        self.base_url.setAccessibleName(t("Base URL"))
        self.key = QLineEdit()
        self.key.setObjectName("firstRunApiKey")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setAccessibleName(t("API key"))
        self.key_label = QLabel(t("API key"))
        self.key_label.setBuddy(self.key)
        self.picker = ModelPicker(bridge, t("Find models"), self._probe)
        self.start_button = QPushButton(t("Start chatting"))
        self.start_button.setObjectName("startChatting")
        self.start_button.setAccessibleName(t("Start chatting"))
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.error = plain_label("firstRunError")
        self.hint = plain_label("firstRunHint")

        self.details = QWidget()
        form = QFormLayout(self.details)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(t("Base URL"), self.base_url)
        form.addRow(self.key_label, self.key)
        form.addRow(t("Model"), self.picker)
        start_row = QHBoxLayout()
        start_row.addWidget(self.error, 1)
        start_row.addWidget(self.start_button, 0, Qt.AlignmentFlag.AlignTop)
        form.addRow(start_row)
        self.details.setVisible(False)

        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(heading)
        column.addWidget(intro)
        column.addLayout(grid)
        column.addWidget(self.hint)
        column.addWidget(self.details)
        column.addStretch(2)
        # Stretch on both sides keeps the column readable on a wide window at any scale.
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column, 4)
        outer.addStretch(1)

    def select_preset(self, preset: ProviderPreset) -> None:
        """Fill in what the preset knows; ask for a key only where one is needed."""
        self.preset = preset
        self.preset_buttons[preset.key].setChecked(True)
        self.base_url.setText(preset.base_url)
        self.base_url.setPlaceholderText("https://example.com/v1")
        self.key.clear()
        self.hint.setText(t(preset.hint))
        needs_key = preset.needs_key or preset.key == "custom"
        self.key_label.setText(t("API key") if preset.needs_key else t("API key (optional)"))
        self._key_wanted = needs_key
        self.key_label.setVisible(needs_key)
        self.key.setVisible(needs_key)
        self.picker.set_model(preset.model)
        self.error.clear()
        self.details.setVisible(True)
        if not preset.base_url:
            self.base_url.setFocus()
        elif preset.needs_key:
            self.key.setFocus()
        else:
            self.picker.combo.setFocus()

    def _typed_key(self) -> str:
        return self.key.text().strip() if self._key_wanted else ""

    def _probe(self) -> Probe | str:
        try:
            agent = Agent.model_validate(
                {"name": "probe", "base_url": self.base_url.text(), "model": "probe"}
            )
        except ValidationError as exc:
            return validation_message(exc)
        return agent, self._typed_key() or None

    def start(self) -> None:
        preset = self.preset
        if preset is None:
            return
        self.error.clear()
        try:
            agent = agent_from_preset(
                preset, base_url=self.base_url.text(), model=self.picker.model(), is_default=True
            )
        except ValidationError as exc:
            self.error.setText(
                t("Please check {problems}").format(problems=validation_message(exc))
            )
            return
        key = self._typed_key()
        if preset.needs_key and not key and not self.core.agents.fallback_available():
            self.error.setText(t("{provider} needs an API key.").format(provider=t(preset.label)))
            self.key.setFocus()
            return
        self.start_button.setEnabled(False)
        keep_for_session = partial(ask_keep_for_session, self)
        self.bridge.spawn(
            in_words(self.core.agents.save(agent, key, keep_for_session)), self._created
        )

    def _created(self, outcome: Outcome[SavedAgent]) -> None:
        if not isValid(self):
            return
        self.start_button.setEnabled(True)
        if outcome.value is None:
            self.error.setText(outcome.error or "")
            return
        self.key.clear()
        self.agent_created.emit(outcome.value.agent)
