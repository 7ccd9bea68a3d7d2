"""Ready provider presets and agent preset files, as plain data (no Qt).

A person setting up the app should not have to know that Ollama listens on port 11434
or that DeepSeek wants `/v1`: the presets carry those facts, and the first-run pane and
the settings dialog only show them. Agent files (export/import) live here too so that the
file format can be tested without any dialog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from desktop_chat.schemas import Agent, new_id, validation_message


def N_(text: str) -> str:
    """Marks a string for translation without importing Qt; the window calls `t()` on it."""
    return text


@dataclass(frozen=True)
class ProviderPreset:
    """Where a kind of server usually listens and what it needs from the user."""

    key: str  # stored as Agent.provider
    label: str  # a product name, shown as is
    base_url: str  # "" when the user has to type it
    needs_key: bool
    model: str  # a sensible first model, "" when the server decides
    hint: str  # one line for the user, marked with N_

    def agent_name(self) -> str:
        """The name a new agent gets; products are named as such, Custom gets a plain word."""
        return "Custom" if self.key == "custom" else self.label


PRESETS: tuple[ProviderPreset, ...] = (
    ProviderPreset(
        "openai",
        "OpenAI",
        "https://api.openai.com/v1",
        True,
        "gpt-4o-mini",
        N_("GPT models from OpenAI; needs an API key."),
    ),
    ProviderPreset(
        "ollama",
        "Ollama",
        "http://localhost:11434/v1",
        False,
        "llama3.2",
        N_("Models running on this computer with Ollama; no key needed."),
    ),
    ProviderPreset(
        "lmstudio",
        "LM Studio",
        "http://localhost:1234/v1",
        False,
        "",
        N_("The model loaded in LM Studio's local server; no key needed."),
    ),
    ProviderPreset(
        "llamacpp",
        "llama.cpp server",
        "http://localhost:8080/v1",
        False,
        "",
        N_("A llama.cpp server on this computer; no key needed."),
    ),
    ProviderPreset(
        "deepseek",
        "DeepSeek",
        "https://api.deepseek.com/v1",
        True,
        "deepseek-chat",
        N_("DeepSeek's models; needs an API key."),
    ),
    ProviderPreset(
        "custom",
        N_("Custom (OpenAI-compatible)"),
        "",
        False,
        "",
        N_("Any other OpenAI-compatible server: vLLM, LiteLLM, a gateway…"),
    ),
)


def preset_by_key(key: str) -> ProviderPreset | None:
    return next((p for p in PRESETS if p.key == key), None)


def agent_from_preset(
    preset: ProviderPreset,
    *,
    name: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    is_default: bool = False,
) -> Agent:
    """A new agent for `preset`; raises ValidationError (naming the field) when incomplete.

    LM Studio, llama.cpp and Custom have no model of their own, so the caller must pass one
    (usually picked from the server's list).
    """
    return Agent.model_validate(
        {
            "name": name if name is not None else preset.agent_name(),
            "provider": preset.key,
            "base_url": base_url if base_url is not None else preset.base_url,
            "model": model if model is not None else preset.model,
            "is_default": is_default,
        }
    )


# Agent preset files ----------------------------------------------------------------------

FILE_FORMAT = "desktop_chat.agent"
FILE_VERSION = 1
MAX_FILE_BYTES = 16 * 1024 * 1024
# Local to this installation: never written, ignored when read.
_LOCAL_FIELDS = {"id", "agent_id", "key_ref", "is_default", "created_at", "updated_at"}


class AgentFileError(Exception):
    """A preset file that cannot be written or read; the message is for the user."""


def agent_to_document(agent: Agent) -> dict[str, Any]:
    """What an exported file holds: the agent without local ids and without any key."""
    return {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "agent": agent.model_dump(mode="json", exclude=_LOCAL_FIELDS),
    }


def agent_from_document(document: object) -> Agent:
    """A new agent (fresh id, no key, not default) from an exported document or a bare agent."""
    if not isinstance(document, dict):
        raise AgentFileError("The file does not contain an agent preset.")
    if "format" in document and document.get("format") != FILE_FORMAT:
        raise AgentFileError("The file is not a desktop_chat agent preset.")
    if isinstance(document.get("version"), int) and document["version"] > FILE_VERSION:
        raise AgentFileError("The file was written by a newer version of desktop_chat.")
    fields = document.get("agent", document)
    if not isinstance(fields, dict):
        raise AgentFileError("The file does not contain an agent preset.")
    fields = {k: v for k, v in fields.items() if k not in _LOCAL_FIELDS | {"format", "version"}}
    try:
        return Agent.model_validate({**fields, "agent_id": new_id()})
    except ValidationError as exc:
        raise AgentFileError(f"The preset is not valid: {validation_message(exc)}") from None


def export_agent_file(agent: Agent, path: Path) -> None:
    """Write `agent` as JSON; the API key is never part of it."""
    text = json.dumps(agent_to_document(agent), ensure_ascii=False, indent=2)
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise AgentFileError(f"Cannot write {path}: {exc.strerror or exc}") from None


def import_agent_file(path: Path) -> Agent:
    """Read an agent preset written by `export_agent_file` (or a bare agent JSON object)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise AgentFileError(f"{path.name} is too large to be an agent preset.")
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AgentFileError(f"Cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AgentFileError(f"{path.name} is not a text file.") from None
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise AgentFileError(f"{path.name} is not valid JSON ({exc}).") from None
    return agent_from_document(document)
