"""The model box of an agent: typed by hand, or filled from the server's own list.

"Test connection" (or "Find models" on the first-run pane) asks the server's
`/v1/models` with the address and key as typed, so a working list also proves both
before anything is saved.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget
from shiboken6 import isValid

from desktop_chat.schemas import Agent
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, in_words, plain_label
from desktop_chat.ui.i18n import t

# What to ask: the address (with the stored key's name) and a key typed but not yet saved.
Probe = tuple[Agent, str | None]


class ModelPicker(QWidget):
    """An editable model box with a button that asks the server which models it has."""

    models_loaded = Signal(list)

    def __init__(
        self,
        bridge: EngineBridge,
        button_text: str,
        probe: Callable[[], Probe | str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._probe = probe
        self._generation = 0
        self.combo = QComboBox()
        self.combo.setObjectName("modelCombo")
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setMinimumContentsLength(16)
        self.combo.setAccessibleName(t("Model"))
        self.button = QPushButton(button_text)
        self.button.setObjectName("testConnectionButton")
        self.button.setAccessibleName(button_text)
        self.button.clicked.connect(self.test)
        self.status = plain_label("connectionStatus")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)

    def model(self) -> str:
        return self.combo.currentText().strip()

    def set_model(self, model: str) -> None:
        self.reset()
        self.combo.clear()
        self.combo.setEditText(model)

    def reset(self) -> None:
        """Forget any answer still on its way: it belongs to what was shown before."""
        self._generation += 1
        self.button.setEnabled(True)
        self.status.clear()

    def test(self) -> None:
        probe = self._probe()
        if isinstance(probe, str):
            self.status.setText(probe)
            return
        agent, key = probe
        self._generation += 1
        generation = self._generation
        self.button.setEnabled(False)
        self.status.setText(t("Connecting to {url}…").format(url=agent.base_url))
        self.bridge.spawn(
            in_words(self.bridge.service.list_models(agent, api_key=key or None)),
            lambda outcome: self._tested(generation, outcome),
        )

    def _tested(self, generation: int, outcome: Outcome[list[str]]) -> None:
        if not isValid(self) or generation != self._generation:
            return
        self.button.setEnabled(True)
        if outcome.value is None:
            self.status.setText(outcome.error or "")
            return
        models = outcome.value
        typed = self.model()
        self.combo.clear()
        self.combo.addItems(models)
        self.combo.setEditText(typed or (models[0] if models else ""))
        if not models:
            self.status.setText(t("Connected, but the server lists no models."))
        elif len(models) == 1:
            self.status.setText(t("Connected — 1 model"))
        else:
            self.status.setText(t("Connected — {count} models").format(count=len(models)))
        self.models_loaded.emit(models)
