"""Sampling numbers an agent may leave to the server.

Unset is not zero: a temperature of "Server default" sends nothing at all, so the
server's own default applies, which a spin box alone cannot say.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QSpinBox, QWidget

from desktop_chat.ui.i18n import t


class OptionalNumber(QWidget):
    """A number that may be left to the server: a "Server default" box and a spin box."""

    def __init__(
        self, label: str, spin: QSpinBox | QDoubleSpinBox, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.spin = spin
        self.spin.setAccessibleName(label)
        self.default_box = QCheckBox(t("Server default"))
        self.default_box.setAccessibleName(t("{name}: server default").format(name=label))
        self.default_box.toggled.connect(lambda on: self.spin.setEnabled(not on))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.default_box)
        layout.addWidget(self.spin, 1)
        self.set_value(None)

    def value(self) -> float | int | None:
        return None if self.default_box.isChecked() else self.spin.value()

    def set_value(self, value: float | None) -> None:
        self.default_box.setChecked(value is None)
        self.spin.setEnabled(value is not None)
        if value is not None:
            self.spin.setValue(value)  # type: ignore[arg-type]


def double_spin(maximum: float, step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, maximum)
    spin.setDecimals(2)
    spin.setSingleStep(step)
    spin.setValue(min(1.0, maximum))
    return spin
