"""Editing one agent: the form of the settings dialog's Agents tab.

The form never holds a half-valid Agent: it keeps what the user typed in widgets and
builds an Agent only on Save, so pydantic is the one judge of what is valid and its
verdict names the field. API keys go straight from the password field to the engine's
agent service (engine.agents, which keeps the rules for shared and session-only keys)
and are never shown again; the form only says where the agent's key comes from.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop_chat.app import Core
from desktop_chat.engine.agents import KeyStatus, SavedAgent
from desktop_chat.schemas import (
    Agent,
    ChatMessage,
    guess_vision,
    new_id,
    utcnow,
    validation_message,
)
from desktop_chat.ui.bridge import EngineBridge
from desktop_chat.ui.forms import Outcome, ask, ask_keep_for_session, in_words, plain_label
from desktop_chat.ui.i18n import t
from desktop_chat.ui.mcp_tab import parse_tools, tools_text
from desktop_chat.ui.model_picker import ModelPicker, Probe
from desktop_chat.ui.optional_number import OptionalNumber, double_spin
from desktop_chat.ui.preset_messages import PresetMessagesEditor
from desktop_chat.ui.presets import PRESETS, ProviderPreset, preset_by_key


def lines(edit: QPlainTextEdit) -> list[str]:
    return [line.strip() for line in edit.toPlainText().splitlines() if line.strip()]


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
        self.tools = self._line("agentTools", t("Tools"))
        self.tools.setPlaceholderText(t("all, none, or MCP server names separated by commas"))
        self.greetings = self._text("agentGreetings", t("Greetings, one per line"))
        self.questions = self._text("agentQuestions", t("Suggested questions, one per line"))
        self.is_default = QCheckBox(t("Default agent for new conversations"))
        self.is_default.setObjectName("agentDefault")
        self.is_default.setAccessibleName(t("Default agent"))
        self.vision = QCheckBox(t("Vision: its model reads images"))
        self.vision.setObjectName("agentVision")
        self.vision.setAccessibleName(t("Vision"))
        self.vision.setToolTip(t("Images are sent only to agents with Vision on."))
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
        connection.addRow(t("Tools"), self.tools)
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
        column.addWidget(self.vision)
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
        self.tools.setText(tools_text(None))
        self._fill(name="", provider="openai", base_url="", model="")
        self.setEnabled(False)

    def load_agent(self, agent: Agent) -> None:
        self.current = agent
        self.tools.setText(tools_text(agent))
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
            vision=agent.vision,
        )
        self._refresh_key_state()

    def load_preset(self, preset: ProviderPreset, make_default: bool = False) -> None:
        """A new, unsaved agent filled from `preset`; nothing is stored until Save."""
        self.current = None
        self._draft_id = new_id()
        self.tools.setText(tools_text(None))
        self._fill(
            name=preset.agent_name(),
            provider=preset.key,
            base_url=preset.base_url,
            model=preset.model,
            is_default=make_default,
            vision=guess_vision(preset.key),
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
        vision: bool = False,
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
        self.vision.setChecked(vision)
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
            self.core.agents.key_status(ref),
            lambda status: self._show_key_state(generation, status),
        )

    def _show_key_state(self, generation: int, status: KeyStatus) -> None:
        if not isValid(self) or generation != self._key_generation:
            return
        own = status in (KeyStatus.STORED, KeyStatus.SESSION)
        self.forget_key.setEnabled(own)
        self.key.setPlaceholderText(
            t("Type a new key to replace it") if own else t("Type a key to store it")
        )
        self.key_state.setText(
            {
                KeyStatus.STORED: t("A key is stored for this agent; it is never shown."),
                KeyStatus.SESSION: t(
                    "A key is kept for this session only; it is forgotten when desktop_chat quits."
                ),
                KeyStatus.ENVIRONMENT: t("No key stored; the OPENAI_API_KEY variable is used."),
                KeyStatus.NONE: t("No key stored. Local servers need none."),
            }[status]
        )

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
        if not await self.confirm_forget_key(agent):
            return None
        return await self.core.agents.forget_key(agent)

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
            vision=self.vision.isChecked(),
            updated_at=utcnow(),
            tools=parse_tools(self.tools.text()),
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
        keep_for_session = partial(ask_keep_for_session, self)
        self.bridge.spawn(
            in_words(self.core.agents.save(agent, self.key.text(), keep_for_session)),
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

    def _saved(self, outcome: Outcome[SavedAgent]) -> None:
        if not isValid(self):
            return
        saved = outcome.value
        if saved is not None and saved.agent.agent_id != self.editing_id:
            self.saved.emit(saved.agent)  # stored, but the form has moved on to another agent
            return
        self.save_button.setEnabled(True)
        if saved is None:
            self.error.setText(outcome.error or "")
            return
        agent = self.current = saved.agent
        self.key.clear()
        self._refresh_key_state()
        if saved.key is KeyStatus.SESSION:
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
