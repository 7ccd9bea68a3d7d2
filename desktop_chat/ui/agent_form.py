"""Editing one agent: the form of the settings dialog and the pieces first-run shares.

The form never holds a half-valid Agent: it keeps what the user typed in widgets and
builds an Agent only on Save, so pydantic is the one judge of what is valid and its
verdict names the field. API keys go straight from the password field to the keyring and
are never shown again; the form only says whether one is stored.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.engine.failures import describe
from desktop_chat.schemas import Agent, ChatMessage, new_id, utcnow, validation_message
from desktop_chat.secrets import ENV_FALLBACK, KeyringUnavailableError, SecretStore
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.i18n import N_, t
from desktop_chat.ui.presets import PRESETS, ProviderPreset, preset_by_key

T = TypeVar("T")
KeyStorage = Literal["keyring", "session"]
KeyStatus = Literal["own", "environment", "none"]
ROLES = {"system": N_("System"), "user": N_("User"), "assistant": N_("Assistant")}


# Plumbing shared with the first-run pane ---------------------------------------------------


@dataclass
class Outcome(Generic[T]):
    """A result or a sentence; lets a form show a known failure next to the button."""

    value: T | None = None
    error: str | None = None


async def in_words(awaitable: Awaitable[T]) -> Outcome[T]:
    """Known failures become a sentence for the form; bugs still reach `bridge.failed`."""
    try:
        return Outcome(value=await awaitable)
    except Exception as exc:
        failure = describe(exc)
        if failure is None:
            raise
        return Outcome(error=failure.message)


async def ask(parent: QWidget, title: str, text: str, yes: str, no: str) -> bool:
    """A yes/no question that does not block the loop: the box is opened, not exec()'d."""
    box = QMessageBox(parent)
    box.setObjectName("question")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no_button)
    box.setEscapeButton(no_button)
    answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def settle(result: bool) -> None:
        if not answer.done():
            answer.set_result(result)

    box.finished.connect(lambda _code: settle(box.clickedButton() == yes_button))
    box.destroyed.connect(lambda: settle(False))
    box.open()
    try:
        return await answer
    finally:
        if isValid(box):
            box.deleteLater()


async def ask_keep_for_session(parent: QWidget) -> bool:
    return await ask(
        parent,
        t("No keyring"),
        t(
            "No system keyring is available to store the API key safely. Keep the key for "
            "this session only? It is forgotten when desktop_chat quits. To keep keys, "
            "install a keyring (GNOME Keyring, KWallet or KeePassXC) and restart."
        ),
        t("Keep for this session"),
        t("Cancel"),
    )


async def store_key(
    secrets: SecretStore,
    key_ref: str,
    key: str,
    keep_for_session: Callable[[], Awaitable[bool]],
) -> KeyStorage | None:
    """Keyring first; session memory only when the user agrees; None when they decline."""
    try:
        # The keyring may talk over D-Bus: keep that off the event loop.
        await asyncio.to_thread(secrets.set, key_ref, key)
        return "keyring"
    except KeyringUnavailableError:
        if not await keep_for_session():
            return None
    secrets.set(key_ref, key, session_only=True)
    return "session"


async def save_agent_with_key(
    core: Core,
    agent: Agent,
    key: str,
    keep_for_session: Callable[[], Awaitable[bool]],
) -> Outcome[tuple[Agent, KeyStorage | None]]:
    """Store the typed key (if any) under the agent's key_ref, then the agent itself.

    A key_ref another agent also uses (after Duplicate) is not overwritten: the agent gets
    a key_ref of its own, so typing a key here never changes another agent's key.
    """
    storage: KeyStorage | None = None
    original_ref = agent.key_ref
    key = key.strip()
    if key:
        ref = agent.key_ref
        if ref is None or await key_shared(core, agent.agent_id, ref):
            ref = f"agent:{agent.agent_id}"
        storage = await store_key(core.secrets, ref, key, keep_for_session)
        if storage is None:
            return Outcome(error=t("Nothing was saved: the API key has nowhere to be kept."))
        agent = agent.model_copy(update={"key_ref": ref})
    outcome = await in_words(core.service.save_agent(agent))
    if outcome.value is None:
        if storage is not None and agent.key_ref != original_ref and agent.key_ref:
            # The agent was not stored, so nothing refers to the key just written.
            await asyncio.to_thread(core.secrets.delete, agent.key_ref)
        return Outcome(error=outcome.error)
    return Outcome(value=(outcome.value, storage))


async def key_shared(core: Core, agent_id: str, key_ref: str) -> bool:
    """Whether an agent other than `agent_id` refers to the same stored key."""
    agents = await core.service.list_agents()
    return any(a.key_ref == key_ref and a.agent_id != agent_id for a in agents)


def key_status(secrets: SecretStore, key_ref: str | None) -> KeyStatus:
    """Whether the agent has a key of its own, borrows OPENAI_API_KEY, or has none."""
    environment = os.environ.get(ENV_FALLBACK) or None
    secret = secrets.get(key_ref) if key_ref else None
    if secret is not None and secret != environment:
        return "own"
    return "environment" if environment else "none"


def plain_label(object_name: str) -> QLabel:
    """A label for messages that may quote a server: never rich text, always wrapped."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def lines(edit: QPlainTextEdit) -> list[str]:
    return [line.strip() for line in edit.toPlainText().splitlines() if line.strip()]


# Small widgets --------------------------------------------------------------------------------

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


class MessageRow(QFrame):
    """One preset message: its role, its text, and buttons to move or remove it."""

    def __init__(self, role: str, content: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.role = QComboBox()
        for value, label in ROLES.items():
            self.role.addItem(t(label), value)
        self.role.setCurrentIndex(max(0, self.role.findData(role)))
        self.role.setAccessibleName(t("Role"))
        self.content = QPlainTextEdit(content)
        self.content.setTabChangesFocus(True)
        self.content.setAccessibleName(t("Message text"))
        self.content.setMinimumHeight(self.fontMetrics().lineSpacing() * 4)
        self.up = QPushButton(t("Up"))
        self.down = QPushButton(t("Down"))
        self.remove = QPushButton(t("Remove"))
        for button, name in (
            (self.up, t("Move message up")),
            (self.down, t("Move message down")),
            (self.remove, t("Remove message")),
        ):
            button.setAccessibleName(name)
            button.setToolTip(name)
        buttons = QVBoxLayout()
        buttons.addWidget(self.role)
        buttons.addWidget(self.up)
        buttons.addWidget(self.down)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.content, 1)

    def message(self) -> dict[str, str]:
        return {"role": str(self.role.currentData()), "content": self.content.toPlainText()}


class PresetMessagesEditor(QWidget):
    """The prompt that starts every conversation, as a list of role + text rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[MessageRow] = []
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self.add_button = QPushButton(t("Add message"))
        self.add_button.setObjectName("addPresetMessage")
        self.add_button.setAccessibleName(t("Add preset message"))
        self.add_button.clicked.connect(lambda: self.add())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._rows_layout)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

    def messages(self) -> list[dict[str, str]]:
        """Rows left blank are dropped: an empty instruction is never what was meant."""
        return [m for m in (r.message() for r in self.rows) if m["content"].strip()]

    def set_messages(self, messages: list[ChatMessage]) -> None:
        for row in self.rows:
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for message in messages:
            self.add(message.role, message.content, focus=False)
        self._relayout()

    def add(self, role: str | None = None, content: str = "", focus: bool = True) -> MessageRow:
        if role is None:
            last = self.rows[-1].message()["role"] if self.rows else None
            role = "system" if last is None else "assistant" if last == "user" else "user"
        row = MessageRow(role, content, self)
        row.up.clicked.connect(lambda: self.move(row, -1))
        row.down.clicked.connect(lambda: self.move(row, 1))
        row.remove.clicked.connect(lambda: self.remove(row))
        self.rows.append(row)
        self._relayout()
        if focus:
            row.content.setFocus()
        return row

    def move(self, row: MessageRow, step: int) -> None:
        index = self.rows.index(row)
        target = index + step
        if 0 <= target < len(self.rows):
            self.rows[index], self.rows[target] = self.rows[target], self.rows[index]
            self._relayout()

    def remove(self, row: MessageRow) -> None:
        self.rows.remove(row)
        self._rows_layout.removeWidget(row)
        row.deleteLater()
        self._relayout()
        self.add_button.setFocus()

    def _relayout(self) -> None:
        """Show the rows in list order and make Tab follow that order too."""
        for row in self.rows:
            self._rows_layout.removeWidget(row)
        chain: list[QWidget] = []
        for index, row in enumerate(self.rows):
            self._rows_layout.addWidget(row)
            row.up.setEnabled(index > 0)
            row.down.setEnabled(index < len(self.rows) - 1)
            chain += [row.role, row.up, row.down, row.remove, row.content]
        chain.append(self.add_button)
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)


# The form -------------------------------------------------------------------------------------


class AgentForm(QWidget):
    """Everything about one agent; Save validates, stores the key, then the agent."""

    saved = Signal(object)  # Agent

    def __init__(self, core: Core, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.bridge = bridge
        self.current: Agent | None = None  # the stored agent being edited; None for a new one
        self._draft_id = new_id()
        self._key_generation = 0

        self.name = self._line("agentName", t("Name"))
        self.description = self._line("agentDescription", t("Description"))
        self.icon = self._line("agentIcon", t("Icon"))
        self.icon.setMaxLength(8)
        self.icon.setPlaceholderText(t("An emoji or a few letters"))
        self.provider = QComboBox()
        self.provider.setObjectName("agentProvider")
        self.provider.setAccessibleName(t("Provider"))
        for preset in PRESETS:
            self.provider.addItem(t(preset.label), preset.key)
        self.base_url = self._line("agentBaseUrl", t("Base URL"))
        self.base_url.setPlaceholderText("http://localhost:11434/v1")
        self.key = self._line("agentApiKey", t("API key"))
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.forget_key = QPushButton(t("Forget key"))
        self.forget_key.setObjectName("forgetKeyButton")
        self.forget_key.setAccessibleName(t("Forget the stored API key"))
        self.forget_key.clicked.connect(self._forget_clicked)
        self.key_state = plain_label("keyStatus")
        self.picker = ModelPicker(bridge, t("Test connection"), self._probe)
        self.temperature = OptionalNumber(t("Temperature"), double_spin(2.0, 0.1))
        self.top_p = OptionalNumber(t("Top P"), double_spin(1.0, 0.05))
        tokens = QSpinBox()
        tokens.setRange(1, 10_000_000)
        tokens.setValue(1024)
        self.max_tokens = OptionalNumber(t("Maximum tokens"), tokens)
        self.messages = PresetMessagesEditor()
        self.greetings = self._text("agentGreetings", t("Greetings, one per line"))
        self.questions = self._text("agentQuestions", t("Suggested questions, one per line"))
        self.is_default = QCheckBox(t("Default agent for new conversations"))
        self.is_default.setObjectName("agentDefault")
        self.is_default.setAccessibleName(t("Default agent"))
        self.save_button = QPushButton(t("Save"))
        self.save_button.setObjectName("saveAgentButton")
        self.save_button.setAccessibleName(t("Save agent"))
        self.save_button.clicked.connect(self.save)
        self.error = plain_label("formError")
        self.status = plain_label("formStatus")
        self._build_layout()
        self.clear()

    # Layout ---------------------------------------------------------------------------

    def _line(self, object_name: str, accessible: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(object_name)
        edit.setAccessibleName(accessible)
        return edit

    def _text(self, object_name: str, accessible: str) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setObjectName(object_name)
        edit.setAccessibleName(accessible)
        edit.setTabChangesFocus(True)
        edit.setMinimumHeight(edit.fontMetrics().lineSpacing() * 3)
        return edit

    def _build_layout(self) -> None:
        identity = QFormLayout()
        identity.addRow(t("Name"), self.name)
        identity.addRow(t("Description"), self.description)
        identity.addRow(t("Icon"), self.icon)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.forget_key)
        connection = QFormLayout()
        connection.addRow(t("Provider"), self.provider)
        connection.addRow(t("Base URL"), self.base_url)
        connection.addRow(t("API key"), key_row)
        connection.addRow("", self.key_state)
        connection.addRow(t("Model"), self.picker)
        sampling = QFormLayout()
        sampling.addRow(t("Temperature"), self.temperature)
        sampling.addRow(t("Top P"), self.top_p)
        sampling.addRow(t("Maximum tokens"), self.max_tokens)
        welcome = QFormLayout()
        welcome.addRow(t("Greetings"), self.greetings)
        welcome.addRow(t("Suggested questions"), self.questions)
        prompt_hint = QLabel(t("Sent before every conversation, in this order."))
        prompt_hint.setWordWrap(True)
        prompt = QVBoxLayout()
        prompt.addWidget(prompt_hint)
        prompt.addWidget(self.messages)

        body = QWidget()
        column = QVBoxLayout(body)
        for title, section in (
            (t("Agent"), identity),
            (t("Connection"), connection),
            (t("Sampling"), sampling),
            (t("Preset messages"), prompt),
            (t("Welcome"), welcome),
        ):
            box = QGroupBox(title)
            box.setLayout(section)
            column.addWidget(box)
        column.addWidget(self.is_default)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)

        bottom = QHBoxLayout()
        messages = QVBoxLayout()
        messages.addWidget(self.error)
        messages.addWidget(self.status)
        bottom.addLayout(messages, 1)
        bottom.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)

    # Loading ----------------------------------------------------------------------------

    def clear(self) -> None:
        """Nothing to edit (no agent yet): empty and disabled until one is chosen."""
        self.current = None
        self._fill(name="", provider="openai", base_url="", model="")
        self.setEnabled(False)

    def load_agent(self, agent: Agent) -> None:
        self.current = agent
        preset = agent.app_preset
        self._fill(
            name=agent.name,
            provider=agent.provider,
            base_url=agent.base_url,
            model=agent.model,
            description=preset.description,
            icon=preset.icon or "",
            temperature=agent.params.temperature,
            top_p=agent.params.top_p,
            max_tokens=agent.params.max_tokens,
            messages=agent.preset_messages,
            greetings=preset.greetings,
            questions=preset.suggested_questions,
            is_default=agent.is_default,
        )
        self._refresh_key_state()

    def load_preset(self, preset: ProviderPreset, make_default: bool = False) -> None:
        """A new, unsaved agent filled from `preset`; nothing is stored until Save."""
        self.current = None
        self._draft_id = new_id()
        self._fill(
            name=preset.agent_name(),
            provider=preset.key,
            base_url=preset.base_url,
            model=preset.model,
            is_default=make_default,
        )
        self._refresh_key_state()
        self.name.setFocus()
        self.name.selectAll()

    def _fill(
        self,
        *,
        name: str,
        provider: str,
        base_url: str,
        model: str,
        description: str = "",
        icon: str = "",
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        messages: list[ChatMessage] | None = None,
        greetings: list[str] | None = None,
        questions: list[str] | None = None,
        is_default: bool = False,
    ) -> None:
        self.setEnabled(True)
        self.save_button.setEnabled(True)
        self.name.setText(name)
        self.description.setText(description)
        self.icon.setText(icon)
        index = self.provider.findData(provider)
        if index < 0:
            known = preset_by_key(provider)
            self.provider.addItem(t(known.label) if known else provider, provider)
            index = self.provider.count() - 1
        self.provider.setCurrentIndex(index)
        self.base_url.setText(base_url)
        self.key.clear()
        self.picker.set_model(model)
        self.temperature.set_value(temperature)
        self.top_p.set_value(top_p)
        self.max_tokens.set_value(max_tokens)
        self.messages.set_messages(messages or [])
        self.greetings.setPlainText("\n".join(greetings or []))
        self.questions.setPlainText("\n".join(questions or []))
        self.is_default.setChecked(is_default)
        self.error.clear()
        self.status.clear()

    # Keys --------------------------------------------------------------------------------

    def _refresh_key_state(self) -> None:
        """Ask the keyring off the loop; an answer for an agent no longer shown is dropped."""
        self._key_generation += 1
        generation = self._key_generation
        ref = self.current.key_ref if self.current else None
        self.forget_key.setEnabled(False)
        self.key.setPlaceholderText("")
        self.bridge.spawn(
            asyncio.to_thread(key_status, self.core.secrets, ref),
            lambda status: self._show_key_state(generation, status),
        )

    def _show_key_state(self, generation: int, status: KeyStatus) -> None:
        if not isValid(self) or generation != self._key_generation:
            return
        self.forget_key.setEnabled(status == "own")
        if status == "own":
            self.key_state.setText(t("A key is stored for this agent; it is never shown."))
            self.key.setPlaceholderText(t("Type a new key to replace it"))
        elif status == "environment":
            self.key_state.setText(t("No key stored; the OPENAI_API_KEY variable is used."))
            self.key.setPlaceholderText(t("Type a key to store it"))
        else:
            self.key_state.setText(t("No key stored. Local servers need none."))
            self.key.setPlaceholderText(t("Type a key to store it"))

    async def ask_keep_for_session(self) -> bool:
        """Asked when no keyring works; tests may replace it."""
        return await ask_keep_for_session(self)

    async def confirm_forget_key(self, agent: Agent) -> bool:
        return await ask(
            self,
            t("Forget key"),
            t("Forget the API key of {name}? You will have to type it again.").format(
                name=agent.name
            ),
            t("Forget key"),
            t("Cancel"),
        )

    def _forget_clicked(self) -> None:
        if self.current is not None and self.current.key_ref:
            self.bridge.spawn(self._forget(self.current), self._forgotten)

    async def _forget(self, agent: Agent) -> Agent | None:
        if not await self.confirm_forget_key(agent) or agent.key_ref is None:
            return None
        if await key_shared(self.core, agent.agent_id, agent.key_ref):
            # Another agent uses the same key: only this agent lets go of it.
            return await self.core.service.save_agent(agent.model_copy(update={"key_ref": None}))
        await asyncio.to_thread(self.core.secrets.delete, agent.key_ref)
        return agent

    def _forgotten(self, agent: Agent | None) -> None:
        if agent is None or not isValid(self):
            return
        if self.current is not None and self.current.agent_id == agent.agent_id:
            self.current = agent
            self._refresh_key_state()
            self.status.setText(t("The key was forgotten."))

    # Building and saving ------------------------------------------------------------------

    def build(self) -> Agent:
        """The agent as typed; raises ValidationError naming the field at fault."""
        base = self.current
        params = base.params.model_dump() if base else {}
        params.update(
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            max_tokens=self.max_tokens.value(),
        )
        name = self.name.text()
        app_preset = base.app_preset.model_dump() if base else {}
        app_preset.update(
            name=name.strip(),
            description=self.description.text().strip(),
            icon=self.icon.text().strip() or None,
            greetings=lines(self.greetings),
            suggested_questions=lines(self.questions),
        )
        fields: dict[str, Any] = base.model_dump() if base else {"agent_id": self._draft_id}
        fields.update(
            name=name,
            provider=self.provider.currentData(),
            base_url=self.base_url.text(),
            model=self.picker.model(),
            params=params,
            preset_messages=self.messages.messages(),
            app_preset=app_preset,
            is_default=self.is_default.isChecked(),
            updated_at=utcnow(),
        )
        return Agent.model_validate(fields)

    @property
    def editing_id(self) -> str:
        """The agent_id the form is showing, for a stored agent or a new one alike."""
        return self.current.agent_id if self.current is not None else self._draft_id

    def save(self) -> None:
        self.error.clear()
        self.status.clear()
        try:
            agent = self.build()
        except ValidationError as exc:
            self._show_invalid(exc)
            return
        self.save_button.setEnabled(False)
        self.bridge.spawn(
            save_agent_with_key(self.core, agent, self.key.text(), self.ask_keep_for_session),
            self._saved,
        )

    def _show_invalid(self, exc: ValidationError) -> None:
        self.error.setText(
            t("Not saved. Please check {problems}").format(problems=validation_message(exc))
        )
        first = exc.errors()[0]["loc"][0] if exc.errors() else None
        widget = {
            "name": self.name,
            "provider": self.provider,
            "base_url": self.base_url,
            "model": self.picker.combo,
            "preset_messages": self.messages,
        }.get(str(first))
        if widget is not None:
            widget.setFocus()

    def _saved(self, outcome: Outcome[tuple[Agent, KeyStorage | None]]) -> None:
        if not isValid(self):
            return
        agent = outcome.value[0] if outcome.value is not None else None
        if agent is not None and agent.agent_id != self.editing_id:
            self.saved.emit(agent)  # stored, but the form has moved on to another agent
            return
        self.save_button.setEnabled(True)
        if outcome.value is None:
            self.error.setText(outcome.error or "")
            return
        agent, storage = outcome.value
        self.current = agent
        self.key.clear()
        self._refresh_key_state()
        if storage == "session":
            self.status.setText(t("Saved. The key is kept for this session only."))
        else:
            self.status.setText(t("Saved."))
        self.saved.emit(agent)

    def _probe(self) -> Probe | str:
        """What "Test connection" needs: the address, the stored key's name, a typed key."""
        try:
            agent = Agent.model_validate(
                {
                    "name": "probe",
                    "base_url": self.base_url.text(),
                    "model": self.picker.model() or "probe",
                    "key_ref": self.current.key_ref if self.current else None,
                }
            )
        except ValidationError as exc:
            return validation_message(exc)
        return agent, self.key.text().strip() or None
